package dev.rectify.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.TestModels;
import dev.rectify.core.ChatMessage;
import dev.rectify.core.Example;
import dev.rectify.generate.ChatTemplate;
import dev.rectify.generate.EndOfTurn;
import dev.rectify.generate.Tokenizer;
import dev.rectify.generate.TokenizerConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The token a chat template closes assistant turns with is trained even where it is not {@code eos_token}:
 * Qwen2.5's real template on a ChatML tokenizer whose eos is {@code <|endoftext|>} (as Qwen2.5 base models
 * ship), and the wild Llama-2 model's template, which writes {@code ' ' + reply + ' </s>'}.
 */
class EndOfTurnTargetTest {
    private static final Path WILD_LLAMA = Path.of("..", "..", "shared", "models", "wild", "llama-genai-fp16")
            .toAbsolutePath()
            .normalize();

    private static String targets(EncodedExample e, Tokenizer t) {
        List<Long> ids = new ArrayList<>();
        for (int i = 0; i < e.length(); i++) {
            if (e.target()[i]) {
                ids.add(e.ids()[i]);
            }
        }
        return t.decode(ids.stream().mapToLong(Long::longValue).toArray(), false);
    }

    private static ChatTemplate qwen25() throws Exception {
        String src = Files.readString(TestModels.fixtures().resolve("chat-templates/templates/qwen2.5.jinja"));
        return new ChatTemplate(src, new TokenizerConfig(src, null, "<|endoftext|>", "<|endoftext|>", -1, false));
    }

    @Test
    void qwenEndOfTurnIsTrainedThoughEosIsEndOfText() throws Exception {
        Tokenizer t = TestModels.tiny().tokenizer();
        long endOfText = t.specialTokenId("<|endoftext|>");
        ChatTemplate tpl = qwen25();
        assertEquals(Optional.of("<|im_end|>"), EndOfTurn.of(tpl, t));
        ExampleEncoder enc = new ExampleEncoder(t, tpl, endOfText, 512);
        EncodedExample e = enc.encode(
                0,
                Example.chat(List.of(
                        ChatMessage.user("hi"),
                        ChatMessage.assistant("Hello."),
                        ChatMessage.user("Count to 3."),
                        ChatMessage.assistant("1, 2, 3."))));
        String rendered = tpl.render(
                List.of(
                        ChatMessage.user("hi"),
                        ChatMessage.assistant("Hello."),
                        ChatMessage.user("Count to 3."),
                        ChatMessage.assistant("1, 2, 3.")),
                false);
        assertEquals(rendered, t.decode(e.ids(), false), "the sequence is the rendered conversation, nothing added");
        assertEquals("Hello.<|im_end|>1, 2, 3.<|im_end|>", targets(e, t));
        for (long id : e.ids()) {
            assertTrue(id != endOfText, "eos_token is not inserted where the template has none");
        }
        assertArrayEquals(t.encode(rendered), e.ids());
    }

    @Test
    void untrainedTurnsAndTheirEndOfTurnStayContext() throws Exception {
        Tokenizer t = TestModels.tiny().tokenizer();
        ExampleEncoder enc = new ExampleEncoder(t, qwen25(), t.specialTokenId("<|endoftext|>"), 512);
        EncodedExample e = enc.encode(
                0,
                Example.chat(List.of(
                        ChatMessage.system("Be brief."),
                        ChatMessage.user("hi"),
                        new ChatMessage("assistant", "draft", 0),
                        ChatMessage.user("again"),
                        ChatMessage.assistant("  hello \n"))));
        assertEquals("  hello \n<|im_end|>", targets(e, t));
    }

    @Test
    void wildLlama2ReplyAndItsClosingEosAreTrained() {
        TokenizerConfig cfg = TokenizerConfig.read(WILD_LLAMA);
        try (Tokenizer t = Tokenizer.open(WILD_LLAMA)) {
            ChatTemplate tpl = new ChatTemplate(cfg.chatTemplate(), cfg);
            assertEquals(Optional.of("</s>"), EndOfTurn.of(tpl, t));
            ExampleEncoder enc = new ExampleEncoder(t, tpl, t.specialTokenId("</s>"), 512);
            List<ChatMessage> chat = List.of(
                    ChatMessage.system("Answer briefly."),
                    ChatMessage.user("What is 2 + 2?"),
                    ChatMessage.assistant("4"),
                    ChatMessage.user("And 3 + 3?"),
                    ChatMessage.assistant(" 6 "));
            EncodedExample e = enc.encode(0, Example.chat(chat));
            String target = targets(e, t);
            assertTrue(target.matches("\\s*4 </s>\\s*6 </s>"), target);
            int eosTargets = 0;
            for (int i = 0; i < e.length(); i++) {
                eosTargets += e.target()[i] && e.ids()[i] == t.specialTokenId("</s>") ? 1 : 0;
            }
            assertEquals(2, eosTargets);
            assertFalse(e.target()[e.length() - 1] && e.ids()[e.length() - 1] != t.specialTokenId("</s>"));
        }
    }
}
