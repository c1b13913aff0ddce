package dev.rectify.server;

import io.micronaut.runtime.Micronaut;

/** Starts the Rectify server. DJL (the tokenizer) is told to stay offline before anything loads it. */
public final class Application {
    private Application() {}

    /** Sets DJL's offline and no-telemetry switches unless the caller already set them. */
    public static void offline() {
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        if (System.getProperty("OPT_OUT_TRACKING") == null) {
            System.setProperty("OPT_OUT_TRACKING", "true");
        }
    }

    public static void main(String[] args) {
        offline();
        Micronaut.build(args).mainClass(Application.class).banner(false).start();
    }
}
