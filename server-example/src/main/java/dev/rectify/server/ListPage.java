package dev.rectify.server;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.micronaut.serde.annotation.Serdeable;
import java.util.List;
import java.util.function.Function;

/** An OpenAI {@code list} object: one page of items, the ids of its first and last (null when empty). */
@Serdeable
@JsonInclude(JsonInclude.Include.ALWAYS)
public record ListPage<T>(
        String object,
        List<T> data,
        @JsonProperty("first_id") String firstId,
        @JsonProperty("last_id") String lastId,
        @JsonProperty("has_more") boolean hasMore) {

    /** A page of {@code items}, each named by {@code id}. */
    static <T> ListPage<T> of(List<T> items, Function<T, String> id, boolean hasMore) {
        return items.isEmpty()
                ? new ListPage<>("list", items, null, null, hasMore)
                : new ListPage<>("list", items, id.apply(items.get(0)), id.apply(items.get(items.size() - 1)), hasMore);
    }
}
