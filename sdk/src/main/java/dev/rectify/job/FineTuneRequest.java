package dev.rectify.job;

import dev.rectify.core.Example;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.model.BaseModel;
import dev.rectify.train.FineTuneOptions;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * One fine-tune to run as a job.
 *
 * @param id the job's name in the {@link JobStore} (letters, digits, '.', '_', '-'), or null to name it by its
 *     fingerprint; submitting a job with the id of a finished identical one reuses its adapter, with the id of an
 *     unfinished identical one resumes it
 * @param output the adapter folder to write (replaced atomically), or null to write none
 */
public record FineTuneRequest(String id, BaseModel base, List<Example> examples, FineTuneOptions options, Path output) {
    public FineTuneRequest {
        Objects.requireNonNull(base, "base");
        Objects.requireNonNull(options, "options");
        if (examples == null || examples.isEmpty()) {
            throw new InvalidArgumentException("no examples to fine-tune on: the list is empty");
        }
        examples = List.copyOf(examples);
        if (id != null && !id.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,127}")) {
            throw new InvalidArgumentException("job id '" + id + "' must be 1 to 128 letters, digits, '.', '_' or '-', "
                    + "starting with a letter or digit");
        }
    }

    /** A request named by its fingerprint, writing no adapter folder. */
    public static FineTuneRequest of(BaseModel base, List<Example> examples, FineTuneOptions options) {
        return new FineTuneRequest(null, base, examples, options, null);
    }

    /** This request under job id {@code jobId}. */
    public FineTuneRequest withId(String jobId) {
        return new FineTuneRequest(jobId, base, examples, options, output);
    }

    /** This request writing its adapter to {@code dir}. */
    public FineTuneRequest withOutput(Path dir) {
        return new FineTuneRequest(id, base, examples, options, dir);
    }
}
