package dev.rectify.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Shared bits of the benchmark programs: running the Python peer and small statistics. */
final class BenchSupport {
    private BenchSupport() {}

    /** Runs a peer command, echoes its output, and returns its last line parsed as JSON. */
    static JsonNode runPeer(List<String> command) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        Process p = pb.start();
        String last = null;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                System.out.println("  [peer] " + line);
                if (!line.isBlank()) {
                    last = line;
                }
            }
        }
        int code = p.waitFor();
        if (code != 0 || last == null) {
            throw new IOException("peer " + command + " failed with exit code " + code);
        }
        return new ObjectMapper().readTree(last);
    }

    static double median(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        Collections.sort(s);
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }

    static String python() {
        return System.getProperty("rectify.bench.python", "/usr/bin/python3");
    }
}
