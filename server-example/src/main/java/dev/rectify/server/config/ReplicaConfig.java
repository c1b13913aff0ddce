package dev.rectify.server.config;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.bind.annotation.Bindable;
import java.time.Duration;

/** {@code rectify.replica.*}: this replica's identity, job leases and cross-replica signals (documented in application.yml). */
@ConfigurationProperties("rectify.replica")
public record ReplicaConfig(
        @Bindable(defaultValue = "") String id,
        @Bindable(defaultValue = "30s") Duration lease,
        @Bindable(defaultValue = "500ms") Duration signalPoll) {}
