package dev.rectify.ort;

import static org.bytedeco.onnxruntime.global.onnxruntime.GetAvailableProviders;
import static org.bytedeco.onnxruntime.global.onnxruntime.ORT_API_VERSION;
import static org.bytedeco.onnxruntime.global.onnxruntime.ORT_LOGGING_LEVEL_ERROR;
import static org.bytedeco.onnxruntime.global.onnxruntime.ORT_LOGGING_LEVEL_WARNING;
import static org.bytedeco.onnxruntime.global.onnxruntime.OrtArenaAllocator;
import static org.bytedeco.onnxruntime.global.onnxruntime.OrtGetApiBase;
import static org.bytedeco.onnxruntime.global.onnxruntime.OrtMemTypeDefault;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.onnxruntime.OrtAllocator;
import org.bytedeco.onnxruntime.OrtApi;
import org.bytedeco.onnxruntime.OrtArenaCfg;
import org.bytedeco.onnxruntime.OrtEnv;
import org.bytedeco.onnxruntime.OrtMemoryInfo;
import org.bytedeco.onnxruntime.OrtStatus;
import org.bytedeco.onnxruntime.OrtTrainingApi;
import org.bytedeco.onnxruntime.StringVector;

/**
 * The process-wide ONNX Runtime: native libraries, the C API tables, one {@code OrtEnv}, the default CPU
 * allocator and memory info. Everything in Rectify that touches ORT goes through this class, and every
 * status ORT returns is turned into an {@link OrtException} here.
 */
public final class OrtRuntime {
    /**
     * JavaCPP refuses to allocate any native pointer, with an OutOfMemoryError, once the process's non-shared
     * memory passes this limit (default: twice the maximum Java heap). In Rectify that memory is ONNX Runtime's
     * (weights, activations, optimizer state), which JavaCPP neither allocates nor can free, so the default made a
     * full fine-tune of a 125M-parameter model fail in a JVM with a 1 GiB heap. Lifted (0 = no limit) before any
     * JavaCPP class is loaded, unless the application set it.
     */
    static final String MAX_PHYSICAL_BYTES = "org.bytedeco.javacpp.maxPhysicalBytes";

    static {
        if (System.getProperty(MAX_PHYSICAL_BYTES) == null) {
            System.setProperty(MAX_PHYSICAL_BYTES, "0");
        }
    }

    private static volatile OrtRuntime instance;

    private final OrtApi api;
    private final OrtTrainingApi trainingApi;
    private final OrtEnv env;
    private final OrtAllocator allocator;
    private final OrtMemoryInfo cpuMemory;
    private final String version;
    private final List<String> providers;
    private ArenaGrowth registeredArena;

    private OrtRuntime() {
        try {
            Loader.load(org.bytedeco.onnxruntime.global.onnxruntime.class);
        } catch (UnsatisfiedLinkError e) {
            throw new OrtException(
                    OrtErrorCode.FAIL,
                    "cannot load ONNX Runtime's native libraries: " + e.getMessage()
                            + " (ONNX Runtime's natives for " + Loader.getPlatform()
                            + " must be on the classpath: depend on "
                            + "org.bytedeco:onnxruntime-platform, and if you restrict platforms with -Djavacpp.platform, name this one)");
        }
        var base = OrtGetApiBase();
        this.version = base.GetVersionString().call().getString();
        this.api = base.GetApi().call(ORT_API_VERSION);
        if (api == null || api.isNull()) {
            throw new OrtException(
                    OrtErrorCode.FAIL, "ONNX Runtime " + version + " does not offer C API version " + ORT_API_VERSION);
        }
        this.trainingApi = api.GetTrainingApi().call(ORT_API_VERSION);
        this.env = new OrtEnv();
        int level = Boolean.getBoolean("rectify.ort.verbose") ? ORT_LOGGING_LEVEL_WARNING : ORT_LOGGING_LEVEL_ERROR;
        check(api.CreateEnv(level, "rectify", env), "creating the ONNX Runtime environment");
        this.allocator = new OrtAllocator();
        check(api.GetAllocatorWithDefaultOptions(allocator), "getting the default allocator");
        this.cpuMemory = new OrtMemoryInfo();
        check(api.CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, cpuMemory), "creating CPU memory info");
        this.providers = readProviders();
    }

    /** The runtime, loaded on first use (about half a second the first time in a process). */
    public static OrtRuntime get() {
        OrtRuntime r = instance;
        if (r == null) {
            synchronized (OrtRuntime.class) {
                r = instance;
                if (r == null) {
                    r = new OrtRuntime();
                    instance = r;
                }
            }
        }
        return r;
    }

    /** ONNX Runtime's version string, for example {@code 1.24.1}. */
    public String version() {
        return version;
    }

    /** The execution providers compiled into the loaded natives, for example {@code [CPUExecutionProvider]}. */
    public List<String> availableProviders() {
        return providers;
    }

    /** Whether the natives carry the training API (they do in the bytedeco build Rectify uses). */
    public boolean trainingAvailable() {
        return trainingApi != null && !trainingApi.isNull();
    }

    OrtApi api() {
        return api;
    }

    OrtTrainingApi trainingApi() {
        if (!trainingAvailable()) {
            throw new OrtException(
                    OrtErrorCode.NOT_IMPLEMENTED, "these ONNX Runtime natives were built without the training API");
        }
        return trainingApi;
    }

    OrtEnv env() {
        return env;
    }

    OrtAllocator allocator() {
        return allocator;
    }

    OrtMemoryInfo cpuMemory() {
        return cpuMemory;
    }

    /**
     * Registers, once per process, a CPU arena growing by {@code growth} in the environment, for sessions that set
     * {@code session.use_env_allocators}. Asking for a different growth later is an error: the environment holds one.
     */
    synchronized void registerCpuArena(ArenaGrowth growth) {
        if (registeredArena == growth) {
            return;
        }
        if (registeredArena != null) {
            throw new OrtException(
                    OrtErrorCode.INVALID_ARGUMENT,
                    "this process's shared CPU arena already grows " + registeredArena + "; cannot register " + growth);
        }
        OrtArenaCfg cfg = new OrtArenaCfg();
        check(api.CreateArenaCfg(0, growth.ortValue, -1, -1, cfg), "creating the CPU arena settings");
        try {
            check(api.CreateAndRegisterAllocator(env, cpuMemory, cfg), "registering the shared CPU arena");
        } finally {
            api.ReleaseArenaCfg(cfg);
        }
        registeredArena = growth;
    }

    /** Throws an {@link OrtException} carrying ORT's code and message when {@code status} is an error. */
    void check(OrtStatus status, String doing) {
        if (status == null || status.isNull()) {
            return;
        }
        String message;
        int code;
        try {
            BytePointer m = api.GetErrorMessage().call(status);
            message = m == null || m.isNull() ? "(no message)" : m.getString();
            code = api.GetErrorCode().call(status);
        } finally {
            api.ReleaseStatus(status);
        }
        throw new OrtException(OrtErrorCode.of(code), "ONNX Runtime failed " + doing + ": " + message);
    }

    /** Reads a string ORT allocated with the default allocator, then frees it. */
    String takeString(BytePointer p) {
        try {
            return p.getString();
        } finally {
            check(api.AllocatorFree(allocator, p), "freeing a name");
        }
    }

    private static List<String> readProviders() {
        StringVector v = GetAvailableProviders();
        try {
            List<String> out = new ArrayList<>();
            for (long i = 0; i < v.size(); i++) {
                out.add(v.get(i).getString());
            }
            return Collections.unmodifiableList(out);
        } finally {
            v.close();
        }
    }
}
