package dev.rectify.server.config;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.bind.annotation.Bindable;

/**
 * {@code rectify.rate-limit.*}: requests each API key may make (a token bucket per key: {@code burst} at once,
 * refilled at {@code requests-per-minute}); 0 turns it off. Documented in application.yml.
 */
@ConfigurationProperties("rectify.rate-limit")
public record RateLimitConfig(
        @Bindable(defaultValue = "600") int requestsPerMinute,
        @Bindable(defaultValue = "60") int burst) {}
