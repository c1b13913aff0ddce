package dev.rectify.server;

import jakarta.validation.ConstraintViolation;
import jakarta.validation.ConstraintViolationException;
import jakarta.validation.ElementKind;
import jakarta.validation.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Bean Validation's violations on a request body in the API's words: the parameter is the JSON field path
 * ({@code messages[1].role}, {@code max_tokens}), not the Java property path of the controller method.
 */
final class ConstraintViolations {
    private static final Pattern UPPER = Pattern.compile("([A-Z])");

    private ConstraintViolations() {}

    /** The violations as one 400: the first field (by path) is the param, the message names every one. */
    static ApiException toApi(ConstraintViolationException e) {
        Set<ConstraintViolation<?>> all = e.getConstraintViolations();
        List<ConstraintViolation<?>> sorted = all == null
                ? List.of()
                : all.stream()
                        .sorted(Comparator.comparing(ConstraintViolations::jsonPath))
                        .toList();
        if (sorted.isEmpty()) {
            return ApiException.invalid(null, String.valueOf(e.getMessage()));
        }
        String message =
                sorted.stream().map(ConstraintViolations::describe).distinct().collect(Collectors.joining("; "));
        return ApiException.invalid(jsonPath(sorted.get(0)), message);
    }

    /** "missing required parameter 'model'" for a missing value, else "'top_p' must be in (0, 1], got 0.0". */
    static String describe(ConstraintViolation<?> v) {
        String param = jsonPath(v);
        Object value = v.getInvalidValue();
        if (value == null) {
            return "missing required parameter '" + param + "'";
        }
        return "'" + param + "' " + v.getMessage() + ", got "
                + (value instanceof CharSequence s ? Ids.quote(s.toString()) : String.valueOf(value));
    }

    /** The JSON path of the violating field: properties in snake_case, list elements indexed. */
    static String jsonPath(ConstraintViolation<?> v) {
        StringBuilder out = new StringBuilder();
        for (Path.Node node : v.getPropertyPath()) {
            ElementKind kind = node.getKind();
            if (kind == ElementKind.METHOD || kind == ElementKind.PARAMETER || kind == ElementKind.CONSTRUCTOR) {
                continue;
            }
            if (node.isInIterable() && node.getIndex() != null) {
                out.append('[').append(node.getIndex()).append(']');
            }
            if (node.getName() != null && !node.getName().isEmpty() && kind != ElementKind.CONTAINER_ELEMENT) {
                if (!out.isEmpty()) {
                    out.append('.');
                }
                out.append(snake(node.getName()));
            }
        }
        return out.toString();
    }

    /** A record component's JSON name: the body records name every multi-word field in snake_case. */
    private static String snake(String javaName) {
        return UPPER.matcher(javaName).replaceAll("_$1").toLowerCase();
    }
}
