package dev.rectify.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import io.micronaut.serde.ObjectMapper;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The response records write the nulls OpenAI clients expect and leave out only the optional Rectify extras. */
class ResponseRecordsTest {
    private static JsonNode write(Object value) throws IOException {
        return Json.parse(ObjectMapper.getDefault().writeValueAsString(value));
    }

    @Test
    void jobWritesRequiredNullsAndOmitsProgressBeforeTheFirstStep() throws IOException {
        FineTuningJobObject job = new FineTuningJobObject(
                "ftjob-1",
                "fine_tuning.job",
                "base",
                10,
                null,
                null,
                "org-rectify",
                List.of(),
                "queued",
                null,
                "file-1",
                Json.object(),
                Json.object(),
                null,
                null,
                7,
                null,
                null,
                List.of(),
                null,
                null);
        JsonNode j = write(job);
        for (String field : List.of(
                "finished_at",
                "fine_tuned_model",
                "validation_file",
                "trained_tokens",
                "error",
                "estimated_finish",
                "metadata",
                "user_provided_suffix")) {
            assertTrue(j.has(field) && j.get(field).isNull(), field + " is written as null: " + j);
        }
        assertFalse(j.has("progress"), "no progress before the first step: " + j);
        assertTrue(j.get("result_files").isArray() && j.get("integrations").isArray());
        assertEquals(7, j.get("seed").asLong());

        JsonNode running = write(new FineTuningJobObject(
                "ftjob-1",
                "fine_tuning.job",
                "base",
                10,
                20L,
                "ft:base:x:1",
                "org-rectify",
                List.of("file-2"),
                "failed",
                null,
                "file-1",
                Json.object(),
                Json.object(),
                5L,
                new FineTuningJobObject.JobError("oom", "out of memory", null),
                7,
                null,
                null,
                List.of(),
                null,
                new FineTuningJobObject.Progress(3, 9)));
        assertEquals(9, running.at("/progress/total_steps").asInt());
        assertEquals("out of memory", running.at("/error/message").asText());
        assertTrue(running.at("/error/param").isNull(), "error.param is written as null");
    }

    @Test
    void fileWritesExpiresAtNullAndOmitsExamplesOnlyWhenAbsent() throws IOException {
        JsonNode training = write(new FileObject("file-1", "file", 5, 1, "a.jsonl", "fine-tune", "processed", null, 3));
        assertTrue(training.get("expires_at").isNull());
        assertEquals(3, training.get("examples").asInt());
        JsonNode results =
                write(new FileObject("file-2", "file", 5, 1, "r.csv", "fine-tune-results", "processed", null, null));
        assertFalse(results.has("examples"), "a result file has no example count: " + results);
    }

    @Test
    void completionWritesNullLogprobsRefusalAndFingerprint() throws IOException {
        ChatCompletion.Message m = new ChatCompletion.Message("assistant", "hi", null);
        JsonNode c = write(new ChatCompletion(
                "chatcmpl-1",
                "chat.completion",
                1,
                "base",
                null,
                List.of(new ChatCompletion.Choice(0, m, null, "stop")),
                new Usage(2, 1, 3)));
        assertTrue(c.get("system_fingerprint").isNull());
        assertTrue(c.at("/choices/0/logprobs").isNull()
                && c.at("/choices/0/message/refusal").isNull());
        assertEquals("stop", c.at("/choices/0/finish_reason").asText());
        assertEquals(3, c.at("/usage/total_tokens").asInt());
    }

    @Test
    void emptyListPageHasNullBoundaryIds() throws IOException {
        JsonNode empty = write(ListPage.of(List.<FileObject>of(), FileObject::id, false));
        assertTrue(empty.get("first_id").isNull() && empty.get("last_id").isNull());
        assertEquals("list", empty.get("object").asText());
    }

    @Test
    void streamChunkWritesUsageNullOnlyWhenAskedAndAnEmptyFinalDelta() throws IOException {
        CompletionChunk.Choice last =
                new CompletionChunk.Choice(0, new CompletionChunk.Delta(null, null), null, null, "stop");
        JsonNode asked = write(new CompletionChunk(
                "chatcmpl-1", "chat.completion.chunk", 1, "base", null, List.of(last), NullNode.getInstance()));
        assertTrue(asked.has("usage") && asked.get("usage").isNull(), "usage: null when asked for: " + asked);
        assertTrue(asked.at("/choices/0/delta").isObject()
                && asked.at("/choices/0/delta").isEmpty());
        assertFalse(asked.at("/choices/0").has("text"), "a chat chunk has no text: " + asked);
        assertTrue(asked.at("/choices/0/logprobs").isNull());
        JsonNode plain = write(new CompletionChunk(
                "cmpl-1",
                "text_completion",
                1,
                "base",
                null,
                List.of(new CompletionChunk.Choice(0, null, "", null, null)),
                null));
        assertFalse(plain.has("usage"), "no usage unless asked for: " + plain);
        assertTrue(plain.at("/choices/0/finish_reason").isNull()
                && plain.at("/choices/0/text").asText().isEmpty());
        assertFalse(plain.at("/choices/0").has("delta"));
    }
}
