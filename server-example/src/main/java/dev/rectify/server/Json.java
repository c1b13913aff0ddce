package dev.rectify.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpResponse;
import java.util.List;

/**
 * JSON in and out with Jackson, so the API shapes are exact (fields that are null or empty are written, as OpenAI
 * clients expect) and bad request bodies get messages that name the field and the expected type.
 */
public final class Json {
    public static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() {}

    public static ObjectNode object() {
        return MAPPER.createObjectNode();
    }

    public static ArrayNode array() {
        return MAPPER.createArrayNode();
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

    public static MutableHttpResponse<String> ok(JsonNode body) {
        return respond(HttpStatus.OK, body);
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

    /** An OpenAI list object. */
    public static ObjectNode list(List<? extends JsonNode> items, boolean hasMore) {
        ObjectNode o = object();
        o.put("object", "list");
        ArrayNode d = o.putArray("data");
        items.forEach(d::add);
        if (items.isEmpty()) {
            o.putNull("first_id");
            o.putNull("last_id");
        } else {
            o.set("first_id", items.get(0).get("id"));
            o.set("last_id", items.get(items.size() - 1).get("id"));
        }
        o.put("has_more", hasMore);
        return o;
    }

    /** Parses a request body, which must be a JSON object. */
    public static ObjectNode body(String text) {
        if (text == null || text.isBlank()) {
            throw ApiException.invalid(null, "the request body is empty: send a JSON object");
        }
        JsonNode n;
        try {
            n = MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            var loc = e.getLocation();
            throw ApiException.invalid(
                    null,
                    "invalid_json",
                    "the request body is not valid JSON"
                            + (loc == null ? "" : " (line " + loc.getLineNr() + ", column " + loc.getColumnNr() + ")")
                            + ": "
                            + e.getOriginalMessage());
        }
        if (n == null || !n.isObject()) {
            throw ApiException.invalid(
                    null, "the request body must be a JSON object, found " + (n == null ? "nothing" : kind(n)));
        }
        return (ObjectNode) n;
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

    // ---- typed field access with clear errors -------------------------------------------------------------------

    private static JsonNode field(JsonNode o, String name) {
        JsonNode v = o.get(name);
        return v == null || v.isNull() ? null : v;
    }

    public static String string(JsonNode o, String name, String param, boolean required) {
        JsonNode v = field(o, name);
        if (v == null) {
            if (required) {
                throw ApiException.invalid(param, "missing required parameter '" + param + "'");
            }
            return null;
        }
        if (!v.isTextual()) {
            throw ApiException.invalid(param, "'" + param + "' must be a string, found " + kind(v));
        }
        return v.asText();
    }

    public static Double number(JsonNode o, String name, String param) {
        JsonNode v = field(o, name);
        if (v == null) {
            return null;
        }
        if (!v.isNumber()) {
            throw ApiException.invalid(param, "'" + param + "' must be a number, found " + kind(v));
        }
        double d = v.asDouble();
        if (!Double.isFinite(d)) {
            throw ApiException.invalid(param, "'" + param + "' must be a finite number");
        }
        return d;
    }

    public static Long integer(JsonNode o, String name, String param) {
        JsonNode v = field(o, name);
        if (v == null) {
            return null;
        }
        if (!v.isIntegralNumber() && !(v.isNumber() && v.asDouble() == Math.rint(v.asDouble()))) {
            throw ApiException.invalid(
                    param,
                    "'" + param + "' must be an integer, found " + kind(v) + (v.isNumber() ? " " + v.asText() : ""));
        }
        if (!v.canConvertToLong()) {
            throw ApiException.invalid(param, "'" + param + "' is out of range");
        }
        return v.asLong();
    }

    public static Integer integer(JsonNode o, String name, String param, long min, long max) {
        Long v = integer(o, name, param);
        if (v == null) {
            return null;
        }
        if (v < min || v > max) {
            throw ApiException.invalid(param, "'" + param + "' must be in [" + min + ", " + max + "], got " + v);
        }
        return v.intValue();
    }

    public static Boolean bool(JsonNode o, String name, String param) {
        JsonNode v = field(o, name);
        if (v == null) {
            return null;
        }
        if (!v.isBoolean()) {
            throw ApiException.invalid(param, "'" + param + "' must be true or false, found " + kind(v));
        }
        return v.asBoolean();
    }

    public static ObjectNode obj(JsonNode o, String name, String param) {
        JsonNode v = field(o, name);
        if (v == null) {
            return null;
        }
        if (!v.isObject()) {
            throw ApiException.invalid(param, "'" + param + "' must be an object, found " + kind(v));
        }
        return (ObjectNode) v;
    }
}
