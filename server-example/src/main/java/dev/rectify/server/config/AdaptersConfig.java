package dev.rectify.server.config;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.bind.annotation.Bindable;

/** {@code rectify.adapters.*}: how many adapters stay loaded (documented in application.yml). */
@ConfigurationProperties("rectify.adapters")
public record AdaptersConfig(
        @Bindable(defaultValue = "268435456") long cacheBytes,
        @Bindable(defaultValue = "8") int cacheSize) {}
