package dev.rectify.server.config;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.bind.annotation.Bindable;

/**
 * The {@code rectify.*} settings of the model and its data: {@code data-dir}, {@code model}, {@code model-name},
 * {@code device} (documented in application.yml).
 */
@ConfigurationProperties("rectify")
public record ServerConfig(
        @Bindable(defaultValue = "./rectify-data") String dataDir,
        @Bindable(defaultValue = "") String model,
        @Bindable(defaultValue = "") String modelName,
        @Bindable(defaultValue = "cpu") String device) {}
