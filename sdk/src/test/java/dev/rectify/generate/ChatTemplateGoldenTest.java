package dev.rectify.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rectify.TestModels;
import dev.rectify.generate.jinja.TemplateRenderException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Real chat templates (Llama-3.1, Llama-3.2, Qwen2.5, Phi-3, Gemma-2, Mistral v0.3) rendered over a set of
 * conversations must be byte-identical to Jinja2's renders under transformers' settings, which
 * src-test/fixtures/chat-templates/render_golden.py produced into golden.json; raises must carry the template's
 * message, and evaluation errors must be errors here too.
 */
class ChatTemplateGoldenTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path DIR = TestModels.fixtures().resolve("chat-templates");
    private static final Path WILD_LLAMA = Path.of("..", "..", "shared", "models", "wild", "llama-genai-fp16")
            .toAbsolutePath()
            .normalize();

    static Clock goldenClock() throws IOException {
        String now = read("golden.json").get("now").asText();
        return Clock.fixed(Instant.parse(now + "Z"), ZoneOffset.UTC);
    }

    private static JsonNode read(String name) throws IOException {
        return JSON.readTree(DIR.resolve(name).toFile());
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> messages(JsonNode c) {
        return JSON.convertValue(c.get("messages"), List.class);
    }

    private static Map<String, Object> extra(JsonNode c, JsonNode tools) {
        Map<String, Object> extra = new LinkedHashMap<>();
        if (c.has("extra")) {
            c.get("extra")
                    .fields()
                    .forEachRemaining(e -> extra.put(e.getKey(), e.getValue().asText()));
        }
        if (c.path("tools").asBoolean(false)) {
            extra.put("tools", JSON.convertValue(tools, List.class));
        }
        return extra;
    }

    private static void check(ChatTemplate t, JsonNode c, JsonNode tools, JsonNode expected) {
        List<Map<String, Object>> msgs = messages(c);
        boolean gen = c.get("add_generation_prompt").asBoolean();
        Map<String, Object> extra = extra(c, tools);
        if (expected.has("text")) {
            assertEquals(expected.get("text").asText(), t.render(msgs, gen, extra));
        } else if (expected.has("raised")) {
            var e = assertThrows(TemplateRenderException.class, () -> t.render(msgs, gen, extra));
            assertTrue(e.raisedByTemplate(), e.getMessage());
            assertEquals(expected.get("raised").asText(), e.templateMessage());
        } else {
            var e = assertThrows(TemplateRenderException.class, () -> t.render(msgs, gen, extra));
            assertFalse(
                    e.raisedByTemplate(),
                    "Jinja2 failed with " + expected.get("error").asText() + ", not a raise");
        }
    }

    private static TokenizerConfig config(String template, JsonNode tokens) {
        return new TokenizerConfig(
                template,
                tokens.path("bos_token").asText(null),
                tokens.path("eos_token").asText(null),
                tokens.path("pad_token").asText(null),
                -1,
                false,
                tokens.path("unk_token").asText(null),
                Map.of());
    }

    @TestFactory
    List<DynamicTest> rendersAsJinja2UnderTransformersSettings() throws IOException {
        JsonNode models = read("models.json");
        JsonNode spec = read("cases.json");
        JsonNode golden = read("golden.json").get("renders");
        Clock clock = goldenClock();
        List<DynamicTest> tests = new ArrayList<>();
        for (Iterator<String> it = models.fieldNames(); it.hasNext(); ) {
            String model = it.next();
            JsonNode m = models.get(model);
            String source = Files.readString(DIR.resolve(m.get("template").asText()));
            ChatTemplate t = new ChatTemplate(source, config(source, m.get("tokens")), clock);
            for (JsonNode c : spec.get("cases")) {
                String name = c.get("name").asText();
                JsonNode expected = golden.get(model).get(name);
                tests.add(dynamicTest(model + " / " + name, () -> check(t, c, spec.get("tools"), expected)));
            }
        }
        assertEquals(6 * spec.get("cases").size(), tests.size());
        return tests;
    }

    @Test
    void wildLlamaTemplateRendersAndRaisesAsJinja2() throws IOException {
        JsonNode gold = read("golden.json");
        TokenizerConfig cfg = TokenizerConfig.read(WILD_LLAMA);
        assertEquals(gold.get("wild_template").asText(), cfg.chatTemplate(), "golden.json was made from this template");
        ChatTemplate t = new ChatTemplate(cfg.chatTemplate(), cfg, goldenClock());
        JsonNode spec = read("cases.json");
        int raised = 0;
        for (JsonNode c : spec.get("cases")) {
            JsonNode expected =
                    gold.get("renders").get("llama-2-wild").get(c.get("name").asText());
            check(t, c, spec.get("tools"), expected);
            raised += expected.has("raised") ? 1 : 0;
        }
        assertTrue(raised >= 2, "the golden set exercises the template's raise_exception");
    }
}
