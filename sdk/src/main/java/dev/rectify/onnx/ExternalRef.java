package dev.rectify.onnx;

import dev.rectify.onnx.proto.OnnxProto.StringStringEntryProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import java.util.function.Function;

/** A tensor's external data reference ({@code location}, {@code offset}, {@code length}; -1 when absent), checked. */
record ExternalRef(String location, long offset, long length) {
    /** Parses {@code t}'s external data entries; {@code fail} turns a description of what is wrong into the error. */
    static ExternalRef of(TensorProto t, Function<String, ExternalDataException> fail) {
        String location = null;
        long offset = 0;
        long length = -1;
        for (StringStringEntryProto e : t.getExternalDataList()) {
            try {
                switch (e.getKey()) {
                    case "location" -> location = e.getValue();
                    case "offset" -> offset = Long.parseLong(e.getValue());
                    case "length" -> length = Long.parseLong(e.getValue());
                    default -> {} // checksum and others: ignored
                }
            } catch (NumberFormatException ex) {
                throw fail.apply("external_data '" + e.getKey() + "' is not a number: '" + e.getValue() + "'");
            }
        }
        if (location == null || location.isEmpty()) {
            throw fail.apply("external data has no 'location'");
        }
        if (offset < 0) {
            throw fail.apply("negative external data offset " + offset);
        }
        return new ExternalRef(location, offset, length);
    }
}
