package dev.rectify.server.config;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.bind.annotation.Bindable;

/** {@code rectify.inference.*}: the generation pool (documented in application.yml). */
@ConfigurationProperties("rectify.inference")
public record InferenceConfig(
        @Bindable(defaultValue = "128") int defaultMaxTokens,
        @Bindable(defaultValue = "4") int threads,
        @Bindable(defaultValue = "64") int maxWaiting) {}
