package dev.rectify.cli;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.rectify.ort.OrtRuntime;
import org.bytedeco.javacpp.Loader;
import picocli.CommandLine;

/** {@code rectify --version}: Rectify's, ONNX Runtime's and DJL's (the tokenizer's) versions, and the native platform. */
final class VersionProvider implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
        String v = RectifyCli.class.getPackage().getImplementationVersion();
        String djl = HuggingFaceTokenizer.class.getPackage().getSpecificationVersion();
        return new String[] {
            "rectify " + (v == null ? "dev (not run from a packaged jar)" : v),
            "ONNX Runtime " + OrtRuntime.get().version() + " (" + Loader.getPlatform() + ")",
            "DJL tokenizers " + (djl == null ? "unknown" : djl),
            "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ")"
        };
    }
}
