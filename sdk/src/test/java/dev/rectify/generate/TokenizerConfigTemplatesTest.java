package dev.rectify.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.core.ChatMessage;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.ModelFormatException;
import dev.rectify.generate.jinja.TemplateSyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where chat templates and special tokens come from in a model folder, as transformers reads them. */
class TokenizerConfigTemplatesTest {
    private static final String DEFAULT =
            "{% for m in messages %}[{{ m.role }}]{{ m.content }}{{ eos_token }}{% endfor %}";
    private static final String TOOL_USE = "TOOLS {{ tools|length }} {{ bos_token }}";

    private static void write(Path dir, String json) throws Exception {
        Files.writeString(dir.resolve("tokenizer_config.json"), json);
    }

    @Test
    void listValuedTemplatesPickDefaultAndToolUse(@TempDir Path dir) throws Exception {
        write(
                dir,
                "{\"chat_template\": [{\"name\": \"default\", \"template\": \"" + DEFAULT.replace("\"", "\\\"")
                        + "\"}, {\"name\": \"tool_use\", \"template\": \"" + TOOL_USE + "\"}],"
                        + " \"bos_token\": {\"content\": \"<s>\", \"lstrip\": false, \"__type\": \"AddedToken\"},"
                        + " \"eos_token\": {\"content\": \"</s>\"}, \"unk_token\": \"<unk>\"}");
        TokenizerConfig cfg = TokenizerConfig.read(dir);
        assertEquals(DEFAULT, cfg.chatTemplate());
        assertEquals(
                List.of("default", "tool_use"), List.copyOf(cfg.chatTemplates().keySet()));
        assertEquals("<s>", cfg.bosToken());
        assertEquals("</s>", cfg.eosToken());
        assertEquals("<unk>", cfg.unkToken());
        ChatTemplate t = new ChatTemplate(cfg.chatTemplate(), cfg);
        assertEquals("[user]hi</s>", t.render(List.of(ChatMessage.user("hi")), false));
        // with tools, transformers switches to the template named tool_use
        assertEquals(
                "TOOLS 2 <s>",
                t.render(
                        List.of(Map.of("role", "user", "content", "hi")),
                        true,
                        Map.of("tools", List.of(Map.of("name", "a"), Map.of("name", "b")))));
        assertEquals(
                "TOOLS 0 <s>",
                ChatTemplate.named(cfg, "tool_use", Clock.systemUTC())
                        .render(List.of(Map.of("role", "user", "content", "hi")), true, Map.of("tools", List.of())));
        var e = assertThrows(InvalidArgumentException.class, () -> ChatTemplate.named(cfg, "rag", Clock.systemUTC()));
        assertTrue(e.getMessage().contains("rag") && e.getMessage().contains("tool_use"), e.getMessage());
    }

    @Test
    void chatTemplateJinjaFileBesideTheConfigIsTheDefault(@TempDir Path dir) throws Exception {
        write(dir, "{\"eos_token\": \"<|im_end|>\", \"chat_template\": \"old {{ messages|length }}\"}");
        Files.writeString(
                dir.resolve("chat_template.jinja"), "{% for m in messages %}\n  {{ m.content }}\n{% endfor %}\n");
        Files.createDirectories(dir.resolve("additional_chat_templates"));
        Files.writeString(dir.resolve("additional_chat_templates/rag.jinja"), "RAG {{ documents|length }}");
        TokenizerConfig cfg = TokenizerConfig.read(dir);
        ChatTemplate t = new ChatTemplate(cfg.chatTemplate(), cfg);
        assertEquals("  a\n  b\n", t.render(List.of(ChatMessage.user("a"), ChatMessage.assistant("b")), false));
        assertEquals(
                "RAG 1",
                ChatTemplate.named(cfg, "rag", Clock.systemUTC())
                        .render(
                                List.of(Map.of("role", "user", "content", "q")),
                                false,
                                Map.of("documents", List.of(Map.of("text", "d")))));
    }

    @Test
    void onlyTheJinjaFileIsEnoughAndMissingTokensAreUndefined(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("chat_template.jinja"), "{{ bos_token is defined }} {{ messages[0].content }}");
        TokenizerConfig cfg = TokenizerConfig.read(dir);
        assertNull(cfg.eosToken());
        assertEquals(
                "False x", new ChatTemplate(cfg.chatTemplate(), cfg).render(List.of(ChatMessage.user("x")), false));
    }

    @Test
    void malformedTemplatesAndTokensAreTypedErrors(@TempDir Path dir) throws Exception {
        write(dir, "{\"chat_template\": 42}");
        var e = assertThrows(ModelFormatException.class, () -> TokenizerConfig.read(dir));
        assertTrue(e.getMessage().contains("chat_template") && e.getMessage().contains("tokenizer_config.json"));
        write(dir, "{\"chat_template\": [{\"name\": \"default\"}]}");
        assertThrows(ModelFormatException.class, () -> TokenizerConfig.read(dir));
        write(dir, "{\"eos_token\": {\"id\": 2}}");
        var t = assertThrows(ModelFormatException.class, () -> TokenizerConfig.read(dir));
        assertTrue(t.getMessage().contains("eos_token"), t.getMessage());
        // a template that is not valid Jinja: the model still loads; rendering names the line
        write(dir, "{\"chat_template\": \"ok\\n{% for m in messages %}{{ m.content }}\"}");
        TokenizerConfig cfg = TokenizerConfig.read(dir);
        ChatTemplate bad = new ChatTemplate(cfg.chatTemplate(), cfg);
        var s = assertThrows(TemplateSyntaxException.class, () -> bad.render(List.of(ChatMessage.user("x")), true));
        assertTrue(s.getMessage().contains("endfor"), s.getMessage());
    }
}
