package dev.rectify.server;

import dev.rectify.model.BaseModel;
import dev.rectify.model.BundledModel;
import dev.rectify.ort.Device;
import io.micronaut.context.annotation.Bean;
import io.micronaut.context.annotation.Factory;
import jakarta.inject.Singleton;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The base model: {@code rectify.model} (a folder), or the bundled model when empty. */
@Factory
public class ModelFactory {
    private static final Logger LOG = LoggerFactory.getLogger(ModelFactory.class);

    static {
        Application.offline();
    }

    @Singleton
    @Bean(preDestroy = "close")
    public BaseModel baseModel(Settings settings) {
        Device device = Device.parse(settings.device());
        BaseModel m = settings.model().isEmpty()
                ? BaseModel.bundled(device)
                : BaseModel.open(Path.of(settings.model()), device);
        LOG.info("base model {} from {} on {}", modelName(settings, m), m.directory(), device);
        return m;
    }

    /** The name the base model is served under. */
    static String modelName(Settings settings, BaseModel m) {
        if (!settings.modelName().isEmpty()) {
            return settings.modelName();
        }
        if (settings.model().isEmpty()) {
            return BundledModel.NAME;
        }
        Path name = m.directory().toAbsolutePath().normalize().getFileName();
        return name == null ? "base" : name.toString();
    }
}
