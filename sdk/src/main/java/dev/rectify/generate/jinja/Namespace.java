package dev.rectify.generate.jinja;

import java.util.LinkedHashMap;
import java.util.Map;

/** Jinja2's {@code namespace()}: the one object whose attributes {@code {% set ns.x = ... %}} may assign. */
final class Namespace {
    final Map<String, Object> attrs = new LinkedHashMap<>();

    @Override
    public String toString() {
        return "<Namespace " + attrs + ">";
    }
}
