package dev.rectify.server;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Settings for servers under test: a fresh data folder, the repository's model, test keys, small limits; and a fresh
 * PostgreSQL database when the run is on PostgreSQL ({@link TestPostgres}), else the default H2 file database.
 */
final class TestServer {
    private TestServer() {}

    static Path newDataDir(String name) {
        try {
            Path root = Path.of(System.getProperty("rectify.home", "target/rectify-home"))
                    .resolve("server-tests");
            Files.createDirectories(root);
            return Files.createTempDirectory(root, name + "-");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static Map<String, String> properties(Path dataDir) {
        Map<String, String> p = new HashMap<>();
        p.put("rectify.data-dir", dataDir.toString());
        String model = System.getProperty("rectify.test.model");
        if (model != null) {
            p.put("rectify.model", model);
        }
        p.put("rectify.security.api-key", Api.API_KEY);
        p.put("rectify.security.admin-key", Api.ADMIN_KEY);
        p.put("rectify.limits.max-json-body", "65536");
        p.put("rectify.inference.threads", "2");
        p.put("rectify.jobs.checkpoint-every", "1");
        p.put("rectify.jobs.shutdown-wait", "60s");
        p.put("rectify.rate-limit.requests-per-minute", "0");
        if (TestPostgres.enabled()) {
            p.put("datasources.default.url", TestPostgres.newDatabase());
            p.put("datasources.default.driver-class-name", "org.postgresql.Driver");
            p.put("datasources.default.username", "postgres");
            p.put("datasources.default.password", "");
        }
        return p;
    }

    /** The hyperparameters of a tiny job. */
    static String job(String fileId, int maxSteps, String suffix) {
        return "{\"model\": \"rectify-tiny\", \"training_file\": \"" + fileId + "\", \"seed\": 7"
                + (suffix == null ? "" : ", \"suffix\": \"" + suffix + "\"")
                + ", \"method\": {\"type\": \"dft\", \"dft\": {\"hyperparameters\": {\"max_steps\": " + maxSteps
                + ", \"batch_size\": 4, \"lora_rank\": 4, \"lora_alpha\": 8, \"learning_rate\": 0.001, \"max_seq_length\": 96}}}}";
    }
}
