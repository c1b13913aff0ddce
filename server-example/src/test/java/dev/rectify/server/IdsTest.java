package dev.rectify.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Served model names: Hugging Face style {@code org/name} is a name, anything path-like is not. */
class IdsTest {
    @Test
    void acceptsNamesWithSlashesBetweenParts() {
        for (String ok : List.of(
                "rectify-tiny",
                "Qwen/Qwen2.5-0.5B-Instruct",
                "acme/math/v1.2",
                "ft:acme/base:math:abcd1234",
                "a".repeat(200))) {
            assertEquals(ok, Ids.checkModel(ok, "model"));
        }
    }

    @Test
    void refusesPathLikeNamesNamingTheParam() {
        for (String bad : List.of(
                "",
                "/abs",
                "trailing/",
                "a//b",
                "../etc/passwd",
                "a/../b",
                "a/./b",
                "a/.hidden",
                ".x",
                "a b",
                "a\\b",
                "a".repeat(201))) {
            ApiException e = assertThrows(ApiException.class, () -> Ids.checkModel(bad, "model"), bad);
            assertEquals("model", e.param());
            assertEquals("invalid_model", e.code());
        }
    }
}
