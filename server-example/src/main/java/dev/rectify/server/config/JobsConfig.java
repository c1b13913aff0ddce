package dev.rectify.server.config;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.bind.annotation.Bindable;
import java.time.Duration;

/** {@code rectify.jobs.*}: the fine-tuning queue and its checkpoints (documented in application.yml). */
@ConfigurationProperties("rectify.jobs")
public record JobsConfig(
        @Bindable(defaultValue = "1") int concurrency,
        @Bindable(defaultValue = "8") int maxQueued,
        @Bindable(defaultValue = "10") int checkpointEvery,
        @Bindable(defaultValue = "true") boolean resumeOnRestart,
        @Bindable(defaultValue = "512") int maxSeqLength,
        @Bindable(defaultValue = "30s") Duration shutdownWait,
        @Bindable(defaultValue = "24h") Duration checkpointRetention,
        @Bindable(defaultValue = "3") int keepCheckpoints) {}
