package dev.rectify.cli;

import picocli.CommandLine;

/** Rectify's and ONNX Runtime's versions for {@code --version}. */
final class VersionProvider implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
        String v = RectifyCli.class.getPackage().getImplementationVersion();
        return new String[] {"rectify " + (v == null ? "dev" : v)};
    }
}
