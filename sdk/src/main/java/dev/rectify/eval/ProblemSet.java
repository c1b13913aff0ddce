package dev.rectify.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.data.DataFormatException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Reads problems from JSON Lines: {@code {"prompt": ..., "answer": ..., "completion"?: ...}} per line. */
public final class ProblemSet {
    private ProblemSet() {}

    public static List<Problem> read(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new InvalidArgumentException(file + ": problem file not found");
        } catch (IOException e) {
            throw new InvalidArgumentException(file + ": cannot read: " + e.getMessage(), e);
        }
        ObjectMapper json = new ObjectMapper();
        List<Problem> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank()) {
                continue;
            }
            JsonNode n;
            try {
                n = json.readTree(line);
            } catch (IOException e) {
                throw new DataFormatException(file, i + 1, "not valid JSON");
            }
            if (n == null || !n.isObject() || !n.path("prompt").isTextual() || !n.has("answer")) {
                throw new DataFormatException(
                        file, i + 1, "expected an object with \"prompt\" (string) and \"answer\"");
            }
            out.add(new Problem(
                    n.get("prompt").asText(),
                    n.get("answer").asText(),
                    n.path("completion").asText(null)));
        }
        if (out.isEmpty()) {
            throw new InvalidArgumentException(file + ": no problems");
        }
        return out;
    }
}
