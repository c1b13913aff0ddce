package dev.rectify.generate;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * The {@code model} block of an ONNX Runtime GenAI configuration: from {@code genai_config.json}, or the same
 * block inside {@code config.json} (older GenAI folders and ONNX Runtime's GPT-2 exports put it there). It names the
 * decoder graph file ({@code decoder.filename}, or {@code decoder} as a plain string), renames inputs and outputs
 * ({@code decoder.inputs/outputs}, or the older {@code past_names}/{@code present_names}), and gives token ids,
 * the context length and KV sizes. Missing numbers are -1; a missing file name is null.
 */
public record GenAiConfig(
        Path source,
        String modelType,
        String decoderFile,
        IoNames names,
        long bosTokenId,
        Set<Long> eosTokenIds,
        long padTokenId,
        int contextLength,
        int vocabSize,
        int numLayers,
        int numKeyValueHeads,
        int headSize) {

    /** Reads the block from a parsed {@code model} object found in {@code source}. */
    static GenAiConfig of(Path source, JsonNode model) {
        JsonNode decoder = model.path("decoder");
        String file = decoder.isTextual()
                ? decoder.asText()
                : decoder.path("filename").asText(null);
        IoNames d = IoNames.defaults();
        JsonNode in = decoder.path("inputs");
        JsonNode out = decoder.path("outputs");
        IoNames names = new IoNames(
                in.path("input_ids").asText(d.inputIds()),
                in.path("attention_mask").asText(d.attentionMask()),
                in.path("position_ids").asText(d.positionIds()),
                out.path("logits").asText(d.logits()),
                in.path("past_key_names").asText(d.pastKey()),
                in.path("past_value_names").asText(d.pastValue()),
                out.path("present_key_names").asText(d.presentKey()),
                out.path("present_value_names").asText(d.presentValue()),
                in.path("past_names").asText(model.path("past_names").asText(d.pastStacked())),
                out.path("present_names").asText(model.path("present_names").asText(d.presentStacked())));
        Set<Long> eos = new LinkedHashSet<>();
        JsonNode e = model.get("eos_token_id");
        if (e != null && e.isArray()) {
            e.forEach(x -> eos.add(x.asLong()));
        } else if (e != null && e.canConvertToLong()) {
            eos.add(e.asLong());
        }
        int heads =
                decoder.path("num_attention_heads").asInt(model.path("n_head").asInt(-1));
        return new GenAiConfig(
                source,
                model.path("type").asText(""),
                file,
                names,
                model.path("bos_token_id").asLong(-1),
                Set.copyOf(eos),
                model.path("pad_token_id").asLong(-1),
                model.path("context_length").asInt(-1),
                model.path("vocab_size").asInt(-1),
                decoder.path("num_hidden_layers").asInt(model.path("n_layer").asInt(-1)),
                decoder.path("num_key_value_heads").asInt(heads),
                decoder.path("head_size").asInt(-1));
    }
}
