package dev.rectify.server.config;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.bind.annotation.Bindable;
import java.time.Duration;

/** {@code rectify.limits.*}: request size and time limits (documented in application.yml). */
@ConfigurationProperties("rectify.limits")
public record LimitsConfig(
        @Bindable(defaultValue = "1048576") long maxJsonBody,
        @Bindable(defaultValue = "2048") int maxTokens,
        @Bindable(defaultValue = "256") int maxMessages,
        @Bindable(defaultValue = "4096") int maxUriLength,
        @Bindable(defaultValue = "10s") Duration requestTimeout) {}
