package dev.rectify.server.config;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.bind.annotation.Bindable;

/** {@code rectify.security.*}: the API and admin keys (documented in application.yml). */
@ConfigurationProperties("rectify.security")
public record SecurityConfig(
        @Bindable(defaultValue = "true") boolean enabled,
        @Bindable(defaultValue = "") String apiKey,
        @Bindable(defaultValue = "") String adminKey,
        @Bindable(defaultValue = "true") boolean healthPublic) {}
