package dev.rectify.server.config;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.bind.annotation.Bindable;

/** {@code rectify.store.*}: the shared store of files, checkpoints and adapters (documented in application.yml). */
@ConfigurationProperties("rectify.store")
public record StoreConfig(@Bindable(defaultValue = "") String dir) {}
