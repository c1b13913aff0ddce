package dev.rectify.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.micronaut.core.type.Argument;
import io.micronaut.serde.Decoder;
import io.micronaut.serde.Deserializer;
import jakarta.inject.Singleton;
import java.io.IOException;

/**
 * Any JSON value as a Jackson tree, for the request fields that take several shapes (a string or an array, "auto" or a
 * number) or are open maps (hyperparameters, metadata); the request's own checks read them. JSON null reads as null.
 */
@Singleton
final class JsonTreeDeserializer implements Deserializer<JsonNode> {
    @Override
    public JsonNode deserialize(Decoder decoder, DecoderContext context, Argument<? super JsonNode> type)
            throws IOException {
        return Json.MAPPER.valueToTree(decoder.decodeArbitrary());
    }
}
