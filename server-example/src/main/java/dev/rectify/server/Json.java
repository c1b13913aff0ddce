package dev.rectify.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpResponse;

/**
 * Jackson for what has no fixed shape: OpenAI-shaped error bodies and free-form parts (hyperparameters, metadata,
 * event data, logprobs). Fixed-shape responses are {@code @Serdeable} records; request bodies are bound by Micronaut
 * to records whose components read strictly ({@link StrictJson}).
 */
public final class Json {
    public static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() {}

    public static ObjectNode object() {
        return MAPPER.createObjectNode();
    }

    public static String write(JsonNode n) {
        try {
            return MAPPER.writeValueAsString(n);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public static JsonNode parse(String text) {
        try {
            return MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public static MutableHttpResponse<String> respond(HttpStatus status, JsonNode body) {
        return HttpResponse.<String>status(status)
                .contentType(MediaType.APPLICATION_JSON_TYPE)
                .body(write(body));
    }

    /** The OpenAI error body. */
    public static ObjectNode error(String message, String type, String param, String code) {
        ObjectNode root = object();
        ObjectNode e = root.putObject("error");
        e.put("message", message);
        e.put("type", type);
        e.put("param", param);
        e.put("code", code);
        return root;
    }

    public static MutableHttpResponse<String> errorResponse(
            HttpStatus status, String message, String type, String param, String code) {
        return respond(status, error(message, type, param, code));
    }

    /** The bound request body; Micronaut hands null for an empty one. */
    public static <T> T present(T body) {
        if (body == null) {
            throw ApiException.invalid(null, "the request body is empty: send a JSON object");
        }
        return body;
    }

    static String kind(JsonNode n) {
        if (n == null || n.isMissingNode()) {
            return "nothing";
        }
        if (n.isNull()) {
            return "null";
        }
        if (n.isTextual()) {
            return "a string";
        }
        if (n.isBoolean()) {
            return "a boolean";
        }
        if (n.isNumber()) {
            return "a number";
        }
        if (n.isArray()) {
            return "an array";
        }
        return "an object";
    }
}
