package dev.rectify.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.core.Example;
import dev.rectify.core.InvalidArgumentException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JsonlDatasetTest {
    @Test
    void readsEveryFormat(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("d.jsonl");
        Files.writeString(
                f,
                String.join(
                        "\n",
                        "{\"prompt\": \"What is 2 + 2?\", \"completion\": \"Answer: 4\", \"answer\": \"4\"}",
                        "",
                        "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", \"content\": \"hi\"},"
                                + " {\"role\": \"assistant\", \"content\": \"draft\", \"weight\": 0}, {\"role\": \"user\", \"content\": \"again\"},"
                                + " {\"role\": \"assistant\", \"content\": \"hello\"}]}",
                        "{\"prompt\": [{\"role\": \"user\", \"content\": \"q\"}], \"completion\": [{\"role\": \"assistant\", \"content\": \"a\"}]}"));
        List<Example> ex = JsonlDataset.read(f);
        assertEquals(3, ex.size());
        assertEquals("Answer: 4", ex.get(0).completion());
        assertTrue(ex.get(1).isChat());
        assertEquals(0.0, ex.get(1).messages().get(2).weight());
        assertEquals(2, ex.get(2).messages().size());
    }

    @Test
    void errorsNameFileAndLine(@TempDir Path dir) throws Exception {
        assertLineError(dir, "{\"prompt\": \"a\", \"completion\": \"b\"}\n[1, 2]\n", 2, "JSON object");
        assertLineError(
                dir,
                "{\"prompt\": \"a\", \"completion\": \"b\"}\n{\"prompt\": \"a\", \"completion\": \"b\"}\n{oops\n",
                3,
                "not valid JSON");
        assertLineError(dir, "{\"prompt\": \"a\"}\n", 1, "no \"completion\"");
        assertLineError(dir, "{\"prompt\": \"a\", \"completion\": \"\"}\n", 1, "empty");
        assertLineError(dir, "{\"messages\": [{\"role\": \"robot\", \"content\": \"x\"}]}\n", 1, "role");
        assertLineError(dir, "{\"messages\": [{\"role\": \"user\", \"content\": 3}]}\n", 1, "content");
        assertLineError(dir, "{\"messages\": [{\"role\": \"user\", \"content\": \"q\"}]}\n", 1, "assistant");
        assertLineError(
                dir, "{\"messages\": [{\"role\": \"assistant\", \"content\": \"a\", \"weight\": 0.5}]}\n", 1, "weight");
        assertLineError(dir, "{\"text\": \"free text\"}\n", 1, "not supported");
        assertLineError(dir, "{\"question\": \"q\"}\n", 1, "question");
    }

    @Test
    void emptyOrMissingFiles(@TempDir Path dir) throws Exception {
        Path empty = Files.writeString(dir.resolve("e.jsonl"), "\n\n");
        assertTrue(assertThrows(InvalidArgumentException.class, () -> JsonlDataset.read(empty))
                .getMessage()
                .contains("no examples"));
        assertTrue(assertThrows(InvalidArgumentException.class, () -> JsonlDataset.read(dir.resolve("nope.jsonl")))
                .getMessage()
                .contains("not found"));
    }

    private static void assertLineError(Path dir, String content, int line, String fragment) throws Exception {
        Path f = Files.writeString(dir.resolve("bad.jsonl"), content);
        DataFormatException e = assertThrows(DataFormatException.class, () -> JsonlDataset.read(f));
        assertEquals(line, e.line(), e.getMessage());
        assertTrue(e.getMessage().startsWith(f + ":" + line + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
    }
}
