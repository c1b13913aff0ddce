package dev.rectify.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rectify.core.RectifyException;
import dev.rectify.core.io.AtomicFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;

/**
 * Job states as files under one folder: {@code <root>/<id>.job.json} (written atomically: temporary file, fsync,
 * rename) and checkpoints in {@code <root>/<id>/}. What the CLI uses; several processes must not run the same job
 * id at once.
 */
public final class FileJobStore implements JobStore {
    private static final String FORMAT = "rectify-job/1";
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path root;

    public FileJobStore(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    public Path root() {
        return root;
    }

    private Path file(String id) {
        return root.resolve(id + ".job.json");
    }

    @Override
    public Optional<JobState> load(String id) {
        Path f = file(id);
        if (!Files.isRegularFile(f)) {
            return Optional.empty();
        }
        try {
            JsonNode n = JSON.readTree(f.toFile());
            if (!FORMAT.equals(n.path("format").asText())) {
                return Optional.empty(); // another format: start the job over
            }
            return Optional.of(new JobState(
                    n.path("id").asText(id),
                    n.path("fingerprint").asText(null),
                    JobStatus.valueOf(n.path("status").asText()),
                    n.path("step").asInt(),
                    n.path("total_steps").asInt(),
                    n.hasNonNull("output") ? Path.of(n.get("output").asText()) : null,
                    n.path("error").asText(null),
                    Instant.parse(n.path("updated").asText())));
        } catch (IOException | RuntimeException e) {
            // absent, or unreadable (a foreign or damaged file): the job starts over, which is always safe
            return Optional.empty();
        }
    }

    @Override
    public void save(JobState s) {
        ObjectNode n = JSON.createObjectNode();
        n.put("format", FORMAT);
        n.put("id", s.id());
        n.put("fingerprint", s.fingerprint());
        n.put("status", s.status().name());
        n.put("step", s.step());
        n.put("total_steps", s.totalSteps());
        n.put("output", s.output() == null ? null : s.output().toString());
        n.put("error", s.error());
        n.put("updated", s.updated().toString());
        Path target = file(s.id());
        try {
            AtomicFile.write(target, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(n));
        } catch (IOException e) {
            throw new RectifyException(
                    "cannot save the state of job " + s.id() + " to " + target + ": " + e.getMessage(), e);
        }
    }

    @Override
    public Path runDir(String id) {
        return root.resolve(id);
    }

    @Override
    public String toString() {
        return "FileJobStore[" + root + "]";
    }
}
