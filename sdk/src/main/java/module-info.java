/**
 * The Rectify SDK as a Java module: the facade {@code dev.rectify}, the public API of every layer that applications
 * use (models, adapters, jobs, training options, generation, data, evaluation, ONNX Runtime handles and devices, the
 * ONNX model view), and the extension points: custom gradient rules ({@code autodiff}: {@code Autodiff.withRule},
 * {@code GradientRule}) and custom job stores ({@code job.JobStore}). Internal: {@code canon} (fused-op lowering for
 * training) and {@code generate.jinja} (the chat-template interpreter behind {@code generate.ChatTemplate}).
 * docs/architecture.md, "The module", says why each package is exported.
 */
module dev.rectify.sdk {
    exports dev.rectify;
    exports dev.rectify.adapter;
    exports dev.rectify.autodiff;
    exports dev.rectify.core;
    exports dev.rectify.core.io;
    exports dev.rectify.data;
    exports dev.rectify.eval;
    exports dev.rectify.generate;
    exports dev.rectify.job;
    exports dev.rectify.lora;
    exports dev.rectify.model;
    exports dev.rectify.onnx;
    exports dev.rectify.onnx.proto;
    exports dev.rectify.ort;
    exports dev.rectify.train;

    requires transitive com.google.protobuf;
    requires transitive org.bytedeco.javacpp;
    requires transitive org.bytedeco.onnxruntime;
    requires transitive com.fasterxml.jackson.databind;
    requires com.github.benmanes.caffeine;
    requires ai.djl.api;
    requires ai.djl.tokenizers;
    requires org.slf4j;
    // flatbuffers-java has neither a module descriptor nor an Automatic-Module-Name: this is its file-name-derived
    // automatic name (flatbuffers-java-VERSION.jar), see docs/architecture.md.
    requires flatbuffers.java;
}
