package dev.rectify;

import dev.rectify.model.BaseModel;
import dev.rectify.ort.Device;
import java.nio.file.Path;

/** Where tests find the project's own models and fixtures (set by surefire in sdk/pom.xml). */
public final class TestModels {
    private TestModels() {}

    /** The bundled model's source folder, models/rectify-tiny. */
    public static Path tinyDir() {
        return Path.of(System.getProperty("rectify.test.model", "../models/rectify-tiny"))
                .toAbsolutePath()
                .normalize();
    }

    /** src-test/fixtures. */
    public static Path fixtures() {
        return Path.of(System.getProperty("rectify.test.fixtures", "../src-test/fixtures"))
                .toAbsolutePath()
                .normalize();
    }

    private static BaseModel shared;

    /** One CPU instance of the bundled model shared by a test run (opening it costs ~1 s). */
    public static synchronized BaseModel tiny() {
        if (shared == null) {
            shared = BaseModel.open(tinyDir(), Device.cpu(2));
        }
        return shared;
    }
}
