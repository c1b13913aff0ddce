package dev.rectify.ort;

import dev.rectify.core.InvalidArgumentException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.onnxruntime.OrtApi;
import org.bytedeco.onnxruntime.OrtCUDAProviderOptionsV2;
import org.bytedeco.onnxruntime.OrtSessionOptions;

/**
 * Immutable settings for an ONNX Runtime session: threads, graph optimisation, execution provider, and raw
 * session config entries. Build with {@link #builder()}; {@link #defaults()} suits inference on this machine.
 * Worker threads sleep when idle unless {@link Builder#spinning(boolean)} is set.
 */
public final class SessionConfig {
    private static final String USE_ENV_ALLOCATORS = "session.use_env_allocators";

    private final int intraOpThreads;
    private final int interOpThreads;
    private final OptimizationLevel optimization;
    private final ExecutionProvider provider;
    private final Map<String, String> entries;
    private final boolean spinning;
    private final boolean cudaTf32;
    private final boolean cpuArena;
    private final boolean memoryPattern;
    private final ArenaGrowth arenaGrowth;
    private final Path profilePrefix;

    private SessionConfig(Builder b) {
        this.profilePrefix = b.profilePrefix;
        this.cpuArena = b.cpuArena;
        this.arenaGrowth = b.arenaGrowth;
        this.memoryPattern = b.memoryPattern;
        this.spinning = b.spinning;
        this.cudaTf32 = b.cudaTf32;
        this.intraOpThreads = b.intraOpThreads;
        this.interOpThreads = b.interOpThreads;
        this.optimization = b.optimization;
        this.provider = b.provider;
        this.entries = Map.copyOf(b.entries);
    }

    /** CPU, all optimisations, one intra-op thread per available processor. */
    public static SessionConfig defaults() {
        return builder().build();
    }

    /** A builder starting from the defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this config's values. */
    public Builder toBuilder() {
        Builder b = new Builder()
                .intraOpThreads(intraOpThreads)
                .interOpThreads(interOpThreads)
                .optimization(optimization)
                .provider(provider);
        b.entries.putAll(entries);
        b.spinning = spinning;
        b.cudaTf32 = cudaTf32;
        b.cpuArena = cpuArena;
        b.memoryPattern = memoryPattern;
        b.arenaGrowth = arenaGrowth;
        b.profilePrefix = profilePrefix;
        return b;
    }

    public int intraOpThreads() {
        return intraOpThreads;
    }

    public int interOpThreads() {
        return interOpThreads;
    }

    public OptimizationLevel optimization() {
        return optimization;
    }

    public ExecutionProvider provider() {
        return provider;
    }

    public Map<String, String> entries() {
        return entries;
    }

    /** Whether CPU tensors come from ORT's arena (ORT's default) rather than straight from the system allocator. */
    public boolean cpuArena() {
        return cpuArena;
    }

    /** How the CPU arena grows; only meaningful while {@link #cpuArena()} is on. */
    public ArenaGrowth arenaGrowth() {
        return arenaGrowth;
    }

    /** Whether ORT pre-plans one block per run from the shapes it has seen (ORT's default). */
    public boolean memoryPattern() {
        return memoryPattern;
    }

    /** Whether idle ORT worker threads spin (ORT's default) instead of sleeping (Rectify's default). */
    public boolean spinning() {
        return spinning;
    }

    /**
     * Where ORT's profiler writes its trace (one Chrome-trace JSON file per session, named from this prefix and the
     * start time, written when the session closes); empty when profiling is off (the default).
     */
    public Optional<Path> profilePrefix() {
        return Optional.ofNullable(profilePrefix);
    }

    /** Creates the native options; the caller closes them once the session exists. */
    NativeSessionOptions createNative() {
        OrtRuntime rt = OrtRuntime.get();
        OrtApi api = rt.api();
        OrtSessionOptions opts = new OrtSessionOptions();
        rt.check(api.CreateSessionOptions(opts), "creating session options");
        NativeSessionOptions handle = new NativeSessionOptions(opts);
        try {
            rt.check(api.SetIntraOpNumThreads(opts, intraOpThreads), "setting intra-op threads");
            rt.check(api.SetInterOpNumThreads(opts, interOpThreads), "setting inter-op threads");
            rt.check(
                    api.SetSessionGraphOptimizationLevel(opts, optimization.ortValue),
                    "setting the optimisation level");
            if (!cpuArena) {
                rt.check(api.DisableCpuMemArena(opts), "disabling the CPU memory arena");
            } else if (arenaGrowth == ArenaGrowth.AS_REQUESTED && !entries.containsKey(USE_ENV_ALLOCATORS)) {
                rt.registerCpuArena(arenaGrowth);
                rt.check(api.AddSessionConfigEntry(opts, USE_ENV_ALLOCATORS, "1"), "using the shared CPU arena");
            }
            if (!memoryPattern) {
                rt.check(api.DisableMemPattern(opts), "disabling memory patterns");
            }
            if (profilePrefix != null) {
                try (BytePointer prefix = new BytePointer(profilePrefix.toString())) {
                    rt.check(api.EnableProfiling(opts, prefix), "enabling the profiler");
                }
            }
            String spin = spinning ? "1" : "0";
            for (String key : new String[] {"session.intra_op.allow_spinning", "session.inter_op.allow_spinning"}) {
                if (!entries.containsKey(key)) {
                    rt.check(api.AddSessionConfigEntry(opts, key, spin), "setting thread spinning");
                }
            }
            for (Map.Entry<String, String> e : entries.entrySet()) {
                rt.check(
                        api.AddSessionConfigEntry(opts, e.getKey(), e.getValue()),
                        "setting session config " + e.getKey());
            }
            if (provider.kind() == ExecutionProvider.Kind.CUDA) {
                appendCuda(rt, opts, provider.deviceId(), cudaTf32);
            }
            return handle;
        } catch (RuntimeException e) {
            handle.close();
            throw e;
        }
    }

    private static void appendCuda(OrtRuntime rt, OrtSessionOptions opts, int device, boolean tf32) {
        if (!rt.availableProviders().contains("CUDAExecutionProvider")) {
            throw new OrtException(
                    OrtErrorCode.EP_FAIL,
                    "CUDA was requested but these ONNX Runtime natives have no CUDA provider " + "(available: "
                            + rt.availableProviders() + "); build with -Pcuda on a machine with CUDA 13 and cuDNN 9");
        }
        OrtApi api = rt.api();
        OrtCUDAProviderOptionsV2 cuda = new OrtCUDAProviderOptionsV2();
        rt.check(api.CreateCUDAProviderOptions(cuda), "creating CUDA provider options");
        try {
            PointerPointer<?> keys = new PointerPointer<>("device_id", "use_tf32");
            PointerPointer<?> values = new PointerPointer<>(String.valueOf(device), tf32 ? "1" : "0");
            rt.check(api.UpdateCUDAProviderOptions(cuda, keys, values, 2), "setting the CUDA device options");
            rt.check(
                    api.SessionOptionsAppendExecutionProvider_CUDA_V2(opts, cuda),
                    "adding the CUDA execution provider");
        } finally {
            api.ReleaseCUDAProviderOptions().call(cuda);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SessionConfig c
                && c.intraOpThreads == intraOpThreads
                && c.interOpThreads == interOpThreads
                && c.optimization == optimization
                && c.provider.equals(provider)
                && c.entries.equals(entries)
                && c.spinning == spinning
                && c.cudaTf32 == cudaTf32
                && c.cpuArena == cpuArena
                && c.memoryPattern == memoryPattern
                && c.arenaGrowth == arenaGrowth
                && Objects.equals(c.profilePrefix, profilePrefix);
    }

    @Override
    public int hashCode() {
        return Objects.hash(
                intraOpThreads,
                interOpThreads,
                optimization,
                provider,
                entries,
                spinning,
                cudaTf32,
                cpuArena,
                memoryPattern,
                arenaGrowth,
                profilePrefix);
    }

    @Override
    public String toString() {
        return "SessionConfig[" + provider.ortName() + ", intraOp=" + intraOpThreads + ", interOp=" + interOpThreads
                + ", " + optimization + (spinning ? ", spinning" : "")
                + (cpuArena
                        ? (arenaGrowth == ArenaGrowth.POWER_OF_TWO ? "" : ", arena grows as requested")
                        : ", no arena")
                + (memoryPattern ? "" : ", no memory pattern")
                + (profilePrefix == null ? "" : ", profiling to " + profilePrefix)
                + (entries.isEmpty() ? "" : ", " + entries) + "]";
    }

    /** Builder for {@link SessionConfig}. */
    public static final class Builder {
        private int intraOpThreads = Runtime.getRuntime().availableProcessors();
        private int interOpThreads = 1;
        private OptimizationLevel optimization = OptimizationLevel.ALL;
        private ExecutionProvider provider = ExecutionProvider.cpu();
        private final Map<String, String> entries = new LinkedHashMap<>();
        private boolean spinning;
        private boolean cudaTf32;
        private boolean cpuArena = true;
        private boolean memoryPattern = true;
        private ArenaGrowth arenaGrowth = ArenaGrowth.POWER_OF_TWO;
        private Path profilePrefix;

        private Builder() {}

        /**
         * Turns on ORT's profiler: every kernel's duration, written as Chrome-trace JSON to
         * {@code <prefix>_<start time>.json} when the session closes (a training session writes one file for each of
         * its training, eval and optimizer graphs). {@code null} turns it off (the default). Profiling slows runs.
         */
        public Builder profiling(Path prefix) {
            this.profilePrefix = prefix;
            return this;
        }

        /**
         * How the CPU arena grows (default {@link ArenaGrowth#POWER_OF_TWO}, ORT's). {@link ArenaGrowth#AS_REQUESTED}
         * makes the session use a process-wide CPU arena that grows by exactly what each request needs.
         */
        public Builder arenaGrowth(ArenaGrowth growth) {
            this.arenaGrowth = Objects.requireNonNull(growth, "growth");
            return this;
        }

        /**
         * Whether CPU tensors come from ORT's growing arena (default true). Off, each tensor is allocated and freed
         * on its own, so memory a run no longer needs goes back to the system instead of staying in the arena.
         */
        public Builder cpuArena(boolean arena) {
            this.cpuArena = arena;
            return this;
        }

        /**
         * Whether ORT plans one pre-sized block per run from the input shapes it has seen (default true). Off, runs
         * allocate tensor by tensor; with variable shapes (training micro-batches) this avoids one plan per shape.
         */
        public Builder memoryPattern(boolean pattern) {
            this.memoryPattern = pattern;
            return this;
        }

        /**
         * Lets CUDA matrix products use TF32 tensor cores (faster, about 1e-3 relative error). Off by default, so CUDA
         * logits match the CPU's to 1e-3 or better.
         */
        public Builder cudaTf32(boolean tf32) {
            this.cudaTf32 = tf32;
            return this;
        }

        /**
         * Lets idle worker threads spin-wait. ORT spins by default, which lowers latency on dedicated cores but
         * wastes them when threads compete (a JVM's own threads, other processes): measured here, a training step
         * ran 2–2.5x slower with spinning on a busy 2-core machine. Rectify defaults to off.
         */
        public Builder spinning(boolean spin) {
            this.spinning = spin;
            return this;
        }

        /** Threads used inside one operator; 0 lets ORT choose. */
        public Builder intraOpThreads(int n) {
            if (n < 0 || n > 1024) {
                throw new InvalidArgumentException("intraOpThreads must be in [0, 1024], got " + n);
            }
            this.intraOpThreads = n;
            return this;
        }

        /** Threads used to run independent operators in parallel; 0 lets ORT choose. */
        public Builder interOpThreads(int n) {
            if (n < 0 || n > 1024) {
                throw new InvalidArgumentException("interOpThreads must be in [0, 1024], got " + n);
            }
            this.interOpThreads = n;
            return this;
        }

        public Builder optimization(OptimizationLevel level) {
            this.optimization = Objects.requireNonNull(level, "level");
            return this;
        }

        public Builder provider(ExecutionProvider provider) {
            this.provider = Objects.requireNonNull(provider, "provider");
            return this;
        }

        /** A raw ORT session config entry ({@code AddSessionConfigEntry}). */
        public Builder entry(String key, String value) {
            entries.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
            return this;
        }

        public SessionConfig build() {
            return new SessionConfig(this);
        }
    }
}
