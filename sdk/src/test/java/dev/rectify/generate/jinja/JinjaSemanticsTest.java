package dev.rectify.generate.jinja;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rectify.TestModels;
import dev.rectify.core.ModelFormatException;
import java.io.IOException;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Each small template of src-test/fixtures/chat-templates/snippets.json (one piece of Jinja2 or Python semantics:
 * string methods, slicing, scoping, whitespace control, tojson, tests, filters, error kinds) renders
 * byte-identically to Jinja2 under transformers' settings (golden.json, from render_golden.py).
 */
class JinjaSemanticsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path DIR = TestModels.fixtures().resolve("chat-templates");

    @TestFactory
    List<DynamicTest> snippetsRenderAsJinja2() throws IOException {
        JsonNode spec = JSON.readTree(DIR.resolve("snippets.json").toFile());
        JsonNode golden = JSON.readTree(DIR.resolve("golden.json").toFile());
        @SuppressWarnings("unchecked")
        Map<String, Object> vars = JSON.convertValue(spec.get("variables"), Map.class);
        LocalDateTime now = LocalDateTime.parse(golden.get("now").asText());
        Supplier<LocalDateTime> clock = () -> now;
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode s : spec.get("snippets")) {
            String name = s.get("name").asText();
            JsonNode expected = golden.get("snippets").get(name);
            tests.add(dynamicTest(name, () -> {
                JinjaTemplate t = JinjaTemplate.compile(s.get("template").asText());
                if (expected.has("text")) {
                    assertEquals(expected.get("text").asText(), t.render(vars, clock));
                } else if (expected.has("raised")) {
                    var e = assertThrows(TemplateRenderException.class, () -> t.render(vars, clock));
                    assertTrue(e.raisedByTemplate());
                    assertEquals(expected.get("raised").asText(), e.templateMessage());
                } else {
                    var e = assertThrows(
                            TemplateRenderException.class,
                            () -> t.render(vars, clock),
                            "Jinja2 fails with " + expected.get("error").asText());
                    assertFalse(e.raisedByTemplate());
                }
            }));
        }
        assertTrue(tests.size() >= 60);
        return tests;
    }

    @Test
    void syntaxErrorsNameTheLine() {
        var e = assertThrows(
                TemplateSyntaxException.class, () -> JinjaTemplate.compile("line one\n{% if x %}\nno end"));
        assertTrue(e.getMessage().contains("endif"), e.getMessage());
        assertTrue(e instanceof ModelFormatException);
        var u = assertThrows(TemplateSyntaxException.class, () -> JinjaTemplate.compile("a\n\n{% include 'x.j2' %}"));
        assertTrue(u.getMessage().contains("line 3") && u.getMessage().contains("include"), u.getMessage());
    }

    @Test
    void evaluationErrorsNameTheLine() {
        JinjaTemplate t = JinjaTemplate.compile("ok\n{{ 'a' + 1 }}");
        var e = assertThrows(TemplateRenderException.class, () -> t.render(Map.of(), LocalDateTime::now));
        assertTrue(e.getMessage().contains("line 2") && e.getMessage().contains("concatenate"), e.getMessage());
    }
}
