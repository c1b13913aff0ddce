package dev.rectify.ort;

import dev.rectify.core.InvalidArgumentException;
import java.util.Locale;

/** Where models run: the CPU with a number of threads, or a CUDA device. */
public record Device(ExecutionProvider provider, int threads) {
    public Device {
        if (threads < 0) {
            throw new InvalidArgumentException("threads must be >= 0 (0 = let ONNX Runtime choose), got " + threads);
        }
    }

    /** The CPU, one thread per available processor. */
    public static Device cpu() {
        return new Device(ExecutionProvider.cpu(), Runtime.getRuntime().availableProcessors());
    }

    /** The CPU with {@code threads} intra-op threads. */
    public static Device cpu(int threads) {
        return new Device(ExecutionProvider.cpu(), threads);
    }

    /** CUDA device {@code id} (needs the cuda build and a GPU; fails clearly otherwise). */
    public static Device cuda(int id) {
        return new Device(ExecutionProvider.cuda(id), Runtime.getRuntime().availableProcessors());
    }

    /** Parses {@code cpu}, {@code cpu:4} (threads) or {@code cuda}, {@code cuda:1} (device). */
    public static Device parse(String spec) {
        String s = spec.trim().toLowerCase(Locale.ROOT);
        try {
            if (s.equals("cpu")) {
                return cpu();
            } else if (s.startsWith("cpu:")) {
                return cpu(Integer.parseInt(s.substring(4)));
            } else if (s.equals("cuda")) {
                return cuda(0);
            } else if (s.startsWith("cuda:")) {
                return cuda(Integer.parseInt(s.substring(5)));
            }
        } catch (NumberFormatException e) {
            // fall through
        }
        throw new InvalidArgumentException("unknown device '" + spec + "': use cpu, cpu:THREADS, cuda or cuda:ID");
    }

    /** The session settings for this device. */
    public SessionConfig sessionConfig() {
        return SessionConfig.builder()
                .provider(provider)
                .intraOpThreads(threads)
                .build();
    }

    @Override
    public String toString() {
        return provider.kind() == ExecutionProvider.Kind.CPU ? "cpu:" + threads : "cuda:" + provider.deviceId();
    }
}
