package dev.rectify.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.core.ChatMessage;
import dev.rectify.core.Example;
import dev.rectify.core.Objective;
import dev.rectify.train.FineTuneOptions;
import dev.rectify.train.Hyperparameters;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The fingerprint depends on exactly the content: base, each example's fields, held-out data, hyperparameters. */
class FingerprintTest {
    private static final String BASE = "ab".repeat(32);
    private static final Hyperparameters H = Hyperparameters.DEFAULTS;
    private static final List<Example> DATA = List.of(Example.of("1 + 1 =", " 2"), Example.of("2 + 2 =", " 4"));

    @Test
    void equalInputsGiveEqualIdsAndEveryInputCounts() {
        String id = Fingerprint.of(BASE, DATA, null, H);
        assertEquals(64, id.length());
        assertEquals(
                id, Fingerprint.of(BASE, List.of(Example.of("1 + 1 =", " 2"), Example.of("2 + 2 =", " 4")), null, H));
        assertNotEquals(id, Fingerprint.of("cd".repeat(32), DATA, null, H), "base model");
        assertNotEquals(id, Fingerprint.of(BASE, List.of(DATA.get(1), DATA.get(0)), null, H), "example order");
        assertNotEquals(id, Fingerprint.of(BASE, DATA, List.of(), H), "explicit (empty) held-out set vs split");
        assertNotEquals(id, Fingerprint.of(BASE, DATA, List.of(DATA.get(0)), H), "held-out examples");
        assertNotEquals(
                id,
                Fingerprint.of(
                        BASE,
                        DATA,
                        null,
                        FineTuneOptions.builder().seed(1).build().hyperparameters()),
                "seed");
        assertNotEquals(
                id,
                Fingerprint.of(
                        BASE, DATA, null, FineTuneOptions.of(Objective.SFT).hyperparameters()),
                "objective");
        // moving text across the prompt/completion boundary is another example
        assertNotEquals(id, Fingerprint.of(BASE, List.of(Example.of("1 + 1 = ", "2"), DATA.get(1)), null, H));
        // a conversation with the same words is another example; message weights count
        List<ChatMessage> chat = List.of(ChatMessage.user("1 + 1 ="), ChatMessage.assistant(" 2"));
        String c = Fingerprint.of(BASE, List.of(Example.chat(chat), DATA.get(1)), null, H);
        assertNotEquals(id, c);
        List<ChatMessage> twoTurns = List.of(
                ChatMessage.user("a"),
                new ChatMessage("assistant", "b", 0),
                ChatMessage.user("c"),
                ChatMessage.assistant("d"));
        List<ChatMessage> weighted = List.of(
                ChatMessage.user("a"), ChatMessage.assistant("b"), ChatMessage.user("c"), ChatMessage.assistant("d"));
        assertNotEquals(
                Fingerprint.of(BASE, List.of(Example.chat(twoTurns)), null, H),
                Fingerprint.of(BASE, List.of(Example.chat(weighted)), null, H));
    }

    @Test
    void theEncodingIsExplicitAndVersioned() {
        String text = new String(Fingerprint.encode(BASE, DATA, null, H), StandardCharsets.UTF_8);
        assertTrue(text.startsWith(Fingerprint.ENCODING.length() + ":" + Fingerprint.ENCODING), text);
        assertTrue(text.contains("7:1 + 1 =2: 2"), "examples field by field, length-prefixed: " + text);
        assertTrue(text.contains(H.encode()), text);
        assertTrue(!text.contains("Example["), "no record toString in the encoding");
    }
}
