package dev.rectify.generate;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rectify.core.ModelFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A Hugging Face {@code tokenizer.json} tokenizer (DJL's Rust binding), always offline, with no truncation and no
 * padding applied behind the caller's back. Special tokens come from the file's {@code added_tokens}.
 */
public final class Tokenizer implements AutoCloseable {
    static {
        DjlOffline.ensure();
    }

    private final HuggingFaceTokenizer tokenizer;
    private final Path file;
    private final Map<String, Long> specialTokens;
    private final Set<Long> specialIds;

    private Tokenizer(HuggingFaceTokenizer tokenizer, Path file, Map<String, Long> specials) {
        this.tokenizer = tokenizer;
        this.file = file;
        this.specialTokens = Collections.unmodifiableMap(specials);
        this.specialIds = Set.copyOf(specials.values());
    }

    /** Loads {@code tokenizer.json} from a file (or a folder that holds one). */
    public static Tokenizer open(Path path) {
        Path file = Files.isDirectory(path) ? path.resolve("tokenizer.json") : path;
        if (!Files.isRegularFile(file)) {
            throw ModelFormatException.at(
                    file, "tokenizer.json not found (every model folder needs the Hugging Face tokenizer file)");
        }
        Map<String, Long> specials = new LinkedHashMap<>();
        try {
            JsonNode root = new ObjectMapper().readTree(file.toFile());
            if (root == null || !root.has("model")) {
                throw ModelFormatException.at(file, "not a Hugging Face tokenizer.json (no \"model\" section)");
            }
            for (JsonNode t : root.path("added_tokens")) {
                if (t.path("special").asBoolean(false)) {
                    specials.put(t.path("content").asText(), t.path("id").asLong());
                }
            }
        } catch (IOException e) {
            throw ModelFormatException.at(file, "cannot read tokenizer.json: " + e.getMessage(), e);
        }
        try {
            HuggingFaceTokenizer hf = HuggingFaceTokenizer.newInstance(
                    file, Map.of("padding", "false", "truncation", "false", "addSpecialTokens", "false"));
            return new Tokenizer(hf, file, specials);
        } catch (IOException | RuntimeException e) {
            throw ModelFormatException.at(file, "the tokenizer cannot be loaded: " + e.getMessage(), e);
        }
    }

    /** Token ids of {@code text}; special-token strings in the text become their single ids. */
    public long[] encode(String text) {
        return tokenizer.encode(text, false, false).getIds();
    }

    /**
     * Token ids of {@code text} with each token's character span in {@code text}: {@code starts[i]} to
     * {@code ends[i]} (exclusive), as Java string indices. A token that covers no text (none is added here) has an
     * empty span.
     */
    public record Offsets(long[] ids, int[] starts, int[] ends) {}

    /** As {@link #encode}, with each token's character span in {@code text} (transformers' offset mapping). */
    public Offsets encodeWithOffsets(String text) {
        Encoding e = tokenizer.encode(text, false, false);
        long[] ids = e.getIds();
        CharSpan[] spans = e.getCharTokenSpans();
        int[] starts = new int[ids.length];
        int[] ends = new int[ids.length];
        boolean bmp = text.codePoints().count() == text.length();
        for (int i = 0; i < ids.length; i++) {
            CharSpan c = spans == null || i >= spans.length ? null : spans[i];
            if (c == null) {
                starts[i] = i == 0 ? 0 : ends[i - 1];
                ends[i] = starts[i];
                continue;
            }
            // the tokenizer counts Unicode code points; Java strings count UTF-16 units
            starts[i] = bmp ? c.getStart() : text.offsetByCodePoints(0, c.getStart());
            ends[i] = bmp ? c.getEnd() : text.offsetByCodePoints(0, c.getEnd());
        }
        return new Offsets(ids, starts, ends);
    }

    /** Text of {@code ids}; special tokens are dropped when {@code skipSpecial}. */
    public String decode(long[] ids, boolean skipSpecial) {
        return tokenizer.decode(ids, skipSpecial);
    }

    /** The id of a special token such as {@code <|im_end|>}, or -1 when the tokenizer has none by that name. */
    public long specialTokenId(String token) {
        return specialTokens.getOrDefault(token, -1L);
    }

    /** Special tokens by content. */
    public Map<String, Long> specialTokens() {
        return specialTokens;
    }

    /** Whether {@code id} is a special token. */
    public boolean isSpecial(long id) {
        return specialIds.contains(id);
    }

    /** The tokenizer file. */
    public Path file() {
        return file;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
