package dev.rectify.server;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.micronaut.context.BeanProvider;
import io.micronaut.core.type.Argument;
import io.micronaut.json.JsonMapper;
import io.micronaut.json.tree.JsonNode;
import io.micronaut.serde.Decoder;
import io.micronaut.serde.Deserializer;
import io.micronaut.serde.config.annotation.SerdeConfig;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;

/**
 * Strict Serde deserializers for the request records ({@code @Serdeable.Deserializable(using = ...)} on a component).
 * Serde on its own coerces ({@code "yes"} reads as false, {@code 1.5} as 1, {@code [1]} as a string) and its errors
 * do not name the field; these accept exactly one JSON type each and throw {@link BadField}, whose path grows as it
 * leaves nested objects ({@link Nested}) and arrays ({@link Indexed}), so the error's {@code param} reads
 * {@code messages[1].role}. JSON null reads as Java null everywhere (an absent field).
 */
final class StrictJson {
    private StrictJson() {}

    /** A request field with a value of the wrong type or form; answered as a 400 naming the field. */
    static final class BadField extends RuntimeException {
        private static final long serialVersionUID = 1L;

        private final String path;
        private final String before;
        private final String after;

        /** The message is {@code before + path + after}, so the path can grow without touching the rest. */
        BadField(String before, String path, String after) {
            super(before + path + after, null, false, false);
            this.before = before;
            this.path = path;
            this.after = after;
        }

        /** {@code 'path' problem}. */
        static BadField of(String path, String problem) {
            return new BadField("'", path, "' " + problem);
        }

        BadField under(String outer) {
            return new BadField(before, outer + (path.startsWith("[") ? "" : ".") + path, after);
        }

        String path() {
            return path;
        }

        ApiException toApi() {
            return ApiException.invalid(path, getMessage());
        }

        /** The first {@link BadField} in {@code t}'s causes (Serde wraps what a deserializer throws), or null. */
        static BadField in(Throwable t) {
            for (Throwable c = t; c != null; c = c.getCause()) {
                if (c instanceof BadField b) {
                    return b;
                }
                if (c.getCause() == c) {
                    break;
                }
            }
            return null;
        }
    }

    /** The JSON name of the component a deserializer was created for. */
    static String name(Argument<?> a) {
        return a.getAnnotationMetadata()
                .stringValue(JsonProperty.class)
                .or(() -> a.getAnnotationMetadata().stringValue(SerdeConfig.class, SerdeConfig.PROPERTY))
                .orElse(a.getName());
    }

    static String kind(JsonNode n) {
        if (n == null || n.isNull()) {
            return "null";
        }
        if (n.isString()) {
            return "a string";
        }
        if (n.isBoolean()) {
            return "a boolean";
        }
        if (n.isNumber()) {
            return "a number";
        }
        return n.isArray() ? "an array" : "an object";
    }

    /** A string, nothing else. */
    @Singleton
    static final class Text implements Deserializer<String> {
        private final String name;

        Text() {
            this("value");
        }

        private Text(String name) {
            this.name = name;
        }

        @Override
        public Deserializer<String> createSpecific(DecoderContext context, Argument<? super String> type) {
            return new Text(name(type));
        }

        @Override
        public String deserialize(Decoder decoder, DecoderContext context, Argument<? super String> type)
                throws IOException {
            JsonNode n = decoder.decodeNode();
            if (!n.isString()) {
                throw BadField.of(name, "must be a string, found " + kind(n));
            }
            return n.getStringValue();
        }
    }

    /** A finite number. */
    @Singleton
    static final class Decimal implements Deserializer<Double> {
        private final String name;

        Decimal() {
            this("value");
        }

        private Decimal(String name) {
            this.name = name;
        }

        @Override
        public Deserializer<Double> createSpecific(DecoderContext context, Argument<? super Double> type) {
            return new Decimal(name(type));
        }

        @Override
        public Double deserialize(Decoder decoder, DecoderContext context, Argument<? super Double> type)
                throws IOException {
            JsonNode n = decoder.decodeNode();
            if (!n.isNumber()) {
                throw BadField.of(name, "must be a number, found " + kind(n));
            }
            double d = n.getNumberValue().doubleValue();
            if (!Double.isFinite(d)) {
                throw BadField.of(name, "must be a finite number");
            }
            return d;
        }
    }

    /** An integer (a number without a fraction, so {@code 2.0} too) that fits a long. */
    @Singleton
    static final class Whole implements Deserializer<Long> {
        private final String name;

        Whole() {
            this("value");
        }

        private Whole(String name) {
            this.name = name;
        }

        @Override
        public Deserializer<Long> createSpecific(DecoderContext context, Argument<? super Long> type) {
            return new Whole(name(type));
        }

        @Override
        public Long deserialize(Decoder decoder, DecoderContext context, Argument<? super Long> type)
                throws IOException {
            JsonNode n = decoder.decodeNode();
            if (!n.isNumber()) {
                throw BadField.of(name, "must be an integer, found " + kind(n));
            }
            Number v = n.getNumberValue();
            if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
                return v.longValue();
            }
            if (v instanceof BigInteger b) {
                if (b.bitLength() > 63) {
                    throw BadField.of(name, "is out of range");
                }
                return b.longValue();
            }
            double d = v.doubleValue();
            if (d != Math.rint(d)) {
                throw BadField.of(name, "must be an integer, found a number " + v);
            }
            if (d < Long.MIN_VALUE || d >= 0x1p63) {
                throw BadField.of(name, "is out of range");
            }
            return (long) d;
        }
    }

    /** true or false. */
    @Singleton
    static final class Flag implements Deserializer<Boolean> {
        private final String name;

        Flag() {
            this("value");
        }

        private Flag(String name) {
            this.name = name;
        }

        @Override
        public Deserializer<Boolean> createSpecific(DecoderContext context, Argument<? super Boolean> type) {
            return new Flag(name(type));
        }

        @Override
        public Boolean deserialize(Decoder decoder, DecoderContext context, Argument<? super Boolean> type)
                throws IOException {
            JsonNode n = decoder.decodeNode();
            if (!n.isBoolean()) {
                throw BadField.of(name, "must be true or false, found " + kind(n));
            }
            return n.getBooleanValue();
        }
    }

    /** A JSON object read as the component's record; errors inside are named under the component. */
    @Singleton
    static final class Nested implements Deserializer<Object> {
        private final BeanProvider<JsonMapper> mapper;
        private final String name;
        private final Argument<Object> type;

        Nested(BeanProvider<JsonMapper> mapper) {
            this(mapper, "value", Argument.OBJECT_ARGUMENT);
        }

        private Nested(BeanProvider<JsonMapper> mapper, String name, Argument<Object> type) {
            this.mapper = mapper;
            this.name = name;
            this.type = type;
        }

        @Override
        @SuppressWarnings("unchecked")
        public Deserializer<Object> createSpecific(DecoderContext context, Argument<? super Object> type) {
            return new Nested(mapper, name(type), (Argument<Object>) Argument.of(type.getType()));
        }

        @Override
        public Object deserialize(Decoder decoder, DecoderContext context, Argument<? super Object> t)
                throws IOException {
            JsonNode n = decoder.decodeNode();
            if (!n.isObject()) {
                throw BadField.of(name, "must be an object, found " + kind(n));
            }
            return read(mapper.get(), n, type, name);
        }
    }

    /**
     * A JSON array read as the component's list; errors inside are named {@code name[i]...}. The only such list,
     * {@code messages}, must not be empty, so the type error says so (the request's check refuses an empty one).
     */
    @Singleton
    static final class Indexed implements Deserializer<List<Object>> {
        private final BeanProvider<JsonMapper> mapper;
        private final String name;
        private final Argument<Object> element;

        Indexed(BeanProvider<JsonMapper> mapper) {
            this(mapper, "value", Argument.OBJECT_ARGUMENT);
        }

        private Indexed(BeanProvider<JsonMapper> mapper, String name, Argument<Object> element) {
            this.mapper = mapper;
            this.name = name;
            this.element = element;
        }

        @Override
        @SuppressWarnings("unchecked")
        public Deserializer<List<Object>> createSpecific(DecoderContext context, Argument<? super List<Object>> type) {
            Argument<Object> e = (Argument<Object>) type.getFirstTypeVariable().orElse(Argument.OBJECT_ARGUMENT);
            return new Indexed(mapper, name(type), e);
        }

        @Override
        public List<Object> deserialize(Decoder decoder, DecoderContext context, Argument<? super List<Object>> t)
                throws IOException {
            JsonNode n = decoder.decodeNode();
            if (!n.isArray()) {
                throw BadField.of(name, "must be a non-empty array, found " + kind(n));
            }
            List<Object> out = new ArrayList<>(n.size());
            for (int i = 0; i < n.size(); i++) {
                JsonNode e = n.get(i);
                String where = name + "[" + i + "]";
                if (e.isNull()) {
                    throw BadField.of(where, "must not be null");
                }
                out.add(read(mapper.get(), e, element, where));
            }
            return out;
        }
    }

    private static Object read(JsonMapper mapper, JsonNode n, Argument<Object> type, String where) throws IOException {
        if (String.class.equals(type.getType())) {
            if (!n.isString()) {
                throw BadField.of(where, "must be a string, found " + kind(n));
            }
            return n.getStringValue();
        }
        if (!n.isObject()) {
            throw BadField.of(where, "must be an object, found " + kind(n));
        }
        try {
            return mapper.readValueFromTree(n, type);
        } catch (IOException | RuntimeException e) {
            BadField b = BadField.in(e);
            if (b != null) {
                throw b.under(where);
            }
            throw e;
        }
    }
}
