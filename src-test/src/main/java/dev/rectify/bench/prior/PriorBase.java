package dev.rectify.bench.prior;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * A base model of known prior strength: the bundled model's recipe pretrained at a step budget, optionally on a corpus
 * that never shows the chat format the fine-tuning data is rendered in. Built by the recipe's {@code build_base.sh}
 * (Python, dev time) into a work folder, once; the full budget is the bundled model itself (the same recipe at 3,000
 * steps), which is not rebuilt.
 *
 * @param name short name ({@code b10}, {@code b30}, {@code b30-nochat}, {@code b100})
 * @param steps pretraining steps (the bundled model: 3,000)
 * @param chatShare share of arithmetic pretraining documents rendered in ChatML (recipe default 0.4)
 * @param existing a model folder to use as is, or {@code null} to build it
 */
public record PriorBase(String name, int steps, double chatShare, Path existing) {
    /** Steps of the bundled model's pretraining (models/rectify-tiny/recipe/pretrain-log.json). */
    public static final int FULL_STEPS = 3000;

    /** The bundled model's chat share. */
    public static final double RECIPE_CHAT_SHARE = 0.4;

    /** The standard bases by name: b10, b30, b30-nochat (pretrained here) and b100 (the bundled model at {@code bundled}). */
    public static PriorBase named(String name, Path bundled) {
        return switch (name) {
            case "b10" -> new PriorBase(name, FULL_STEPS / 10, RECIPE_CHAT_SHARE, null);
            case "b30" -> new PriorBase(name, FULL_STEPS * 3 / 10, RECIPE_CHAT_SHARE, null);
            case "b30-nochat" -> new PriorBase(name, FULL_STEPS * 3 / 10, 0.0, null);
            case "b100" -> new PriorBase(name, FULL_STEPS, RECIPE_CHAT_SHARE, bundled);
            default ->
                throw new IllegalArgumentException("unknown base '" + name + "': use b10, b30, b30-nochat or b100");
        };
    }

    /** A human label: the budget as a share of the bundled model's, and whether the corpus shows the chat format. */
    public String label() {
        String budget = String.format(Locale.ROOT, "%d %%", Math.round(100.0 * steps / FULL_STEPS));
        return chatShare == 0 ? budget + ", no chat format" : budget;
    }

    /** The model folder, building it with {@code recipe/build_base.sh} under {@code work} when it is not there yet. */
    public Path resolve(Path work, Path recipe, int threads) throws IOException, InterruptedException {
        if (existing != null) {
            return existing;
        }
        Path dir = work.resolve("bases").resolve(name);
        if (Files.isRegularFile(dir.resolve("model.onnx"))) {
            return dir;
        }
        List<String> command = List.of(
                "bash",
                recipe.resolve("build_base.sh").toString(),
                work.toString(),
                name,
                Integer.toString(steps),
                Double.toString(chatShare),
                Integer.toString(threads));
        System.out.println("building base " + name + ": " + String.join(" ", command));
        Process p = new ProcessBuilder(command).inheritIO().start();
        int rc = p.waitFor();
        if (rc != 0 || !Files.isRegularFile(dir.resolve("model.onnx"))) {
            throw new IOException("building base " + name + " failed (exit " + rc + "): " + String.join(" ", command)
                    + " — it needs Debian's python3-torch, python3-onnx and libopenblas0-pthread");
        }
        return dir;
    }
}
