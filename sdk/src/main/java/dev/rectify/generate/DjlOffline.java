package dev.rectify.generate;

/**
 * Keeps DJL offline and without telemetry in any JVM that loads Rectify, even one started without
 * {@code -Dai.djl.offline=true}: without it DJL tries to reach a cloud metadata address.
 */
final class DjlOffline {
    private DjlOffline() {}

    static void ensure() {
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        if (System.getProperty("OPT_OUT_TRACKING") == null) {
            System.setProperty("OPT_OUT_TRACKING", "true");
        }
    }
}
