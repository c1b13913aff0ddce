package dev.rectify.onnx;

import dev.rectify.onnx.proto.OnnxProto.FunctionProto;
import dev.rectify.onnx.proto.OnnxProto.GraphProto;
import dev.rectify.onnx.proto.OnnxProto.ModelProto;
import dev.rectify.onnx.proto.OnnxProto.OperatorSetIdProto;
import dev.rectify.onnx.proto.OnnxProto.StringStringEntryProto;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A fluent {@link OnnxModel} builder. Defaults: IR version 8, producer "rectify", and default-domain opset 17
 * when no default-domain opset is given.
 */
public final class ModelBuilder {
    /** IR version used unless {@link #irVersion} says otherwise (ORT 1.24 training artifacts use 8). */
    public static final long DEFAULT_IR_VERSION = 8;
    /** Default-domain opset used unless {@link #opset} sets one. */
    public static final int DEFAULT_OPSET = 17;

    private long irVersion = DEFAULT_IR_VERSION;
    private final Map<String, Long> opsets = new LinkedHashMap<>();
    private String producerName = "rectify";
    private String producerVersion = "";
    private String docString = "";
    private GraphProto graph = GraphProto.getDefaultInstance();
    private final Map<String, String> metadata = new LinkedHashMap<>();
    private final ModelProto.Builder extra = ModelProto.newBuilder();

    private ModelBuilder() {}

    public static ModelBuilder create() {
        return new ModelBuilder();
    }

    public ModelBuilder irVersion(long v) {
        this.irVersion = v;
        return this;
    }

    /** Imports {@code domain} at {@code version} ("" or "ai.onnx": the default domain; e.g. "com.microsoft"). */
    public ModelBuilder opset(String domain, long version) {
        opsets.put(OnnxModel.isDefaultDomain(domain) ? "" : domain, version);
        return this;
    }

    public ModelBuilder producer(String name, String version) {
        this.producerName = name;
        this.producerVersion = version;
        return this;
    }

    public ModelBuilder docString(String doc) {
        this.docString = doc;
        return this;
    }

    /** Adds a metadata_props entry. */
    public ModelBuilder metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    /** Adds a model-local function. */
    public ModelBuilder function(FunctionProto f) {
        extra.addFunctions(f);
        return this;
    }

    public ModelBuilder graph(GraphProto g) {
        this.graph = g;
        return this;
    }

    public ModelBuilder graph(Graph g) {
        return graph(g.toProto());
    }

    public ModelBuilder graph(GraphBuilder g) {
        return graph(g.build());
    }

    public OnnxModel build() {
        ModelProto.Builder b = extra.clone().setIrVersion(irVersion).setGraph(graph);
        if (!producerName.isEmpty()) {
            b.setProducerName(producerName);
        }
        if (!producerVersion.isEmpty()) {
            b.setProducerVersion(producerVersion);
        }
        if (!docString.isEmpty()) {
            b.setDocString(docString);
        }
        Map<String, Long> all = new LinkedHashMap<>();
        if (!opsets.containsKey("")) {
            all.put("", (long) DEFAULT_OPSET);
        }
        all.putAll(opsets);
        all.forEach((d, v) ->
                b.addOpsetImport(OperatorSetIdProto.newBuilder().setDomain(d).setVersion(v)));
        metadata.forEach((k, v) ->
                b.addMetadataProps(StringStringEntryProto.newBuilder().setKey(k).setValue(v)));
        return OnnxModel.of(b.build());
    }
}
