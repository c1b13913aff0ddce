package dev.rectify.langchain4j;

import dev.rectify.model.BaseModel;
import dev.rectify.ort.Device;
import java.nio.file.Path;

/** The bundled model's source folder (models/rectify-tiny, set by surefire in langchain4j/pom.xml), opened once. */
final class TinyModel {
    private static BaseModel shared;

    private TinyModel() {}

    static Path dir() {
        return Path.of(System.getProperty("rectify.test.model", "../models/rectify-tiny"))
                .toAbsolutePath()
                .normalize();
    }

    /** data/math. */
    static Path data() {
        return Path.of(System.getProperty("rectify.test.data", "../data/math"))
                .toAbsolutePath()
                .normalize();
    }

    static synchronized BaseModel get() {
        if (shared == null) {
            shared = BaseModel.open(dir(), Device.cpu(2));
        }
        return shared;
    }
}
