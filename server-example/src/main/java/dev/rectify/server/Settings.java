package dev.rectify.server;

import io.micronaut.context.annotation.Property;
import jakarta.inject.Singleton;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The server's settings: every {@code rectify.*} key of application.yml, documented there. Each can be set by an
 * environment variable in Micronaut's way (upper case, dots and dashes as underscores): {@code RECTIFY_DATA_DIR},
 * {@code RECTIFY_SECURITY_API_KEY}, ...
 */
@Singleton
public final class Settings {
    private final Path dataDir;
    private final String model;
    private final String modelName;
    private final String device;
    private final boolean securityEnabled;
    private final String apiKey;
    private final String adminKey;
    private final boolean healthPublic;
    private final long maxJsonBody;
    private final int maxTokensLimit;
    private final int defaultMaxTokens;
    private final int maxMessages;
    private final int inferenceThreads;
    private final int inferenceMaxWaiting;
    private final int adapterCacheSize;
    private final long adapterCacheBytes;
    private final int jobConcurrency;
    private final int jobMaxQueued;
    private final int checkpointEvery;
    private final boolean resumeOnRestart;
    private final int maxSeqLength;
    private final Duration shutdownWait;

    public Settings(@Property(name = "rectify.data-dir", defaultValue = "./rectify-data") String dataDir,
            @Property(name = "rectify.model", defaultValue = "") String model,
            @Property(name = "rectify.model-name", defaultValue = "") String modelName,
            @Property(name = "rectify.device", defaultValue = "cpu") String device,
            @Property(name = "rectify.security.enabled", defaultValue = "true") boolean securityEnabled,
            @Property(name = "rectify.security.api-key", defaultValue = "") String apiKey,
            @Property(name = "rectify.security.admin-key", defaultValue = "") String adminKey,
            @Property(name = "rectify.security.health-public", defaultValue = "true") boolean healthPublic,
            @Property(name = "rectify.limits.max-json-body", defaultValue = "1048576") long maxJsonBody,
            @Property(name = "rectify.limits.max-tokens", defaultValue = "2048") int maxTokensLimit,
            @Property(name = "rectify.limits.max-messages", defaultValue = "256") int maxMessages,
            @Property(name = "rectify.inference.default-max-tokens", defaultValue = "128") int defaultMaxTokens,
            @Property(name = "rectify.inference.threads", defaultValue = "4") int inferenceThreads,
            @Property(name = "rectify.inference.max-waiting", defaultValue = "64") int inferenceMaxWaiting,
            @Property(name = "rectify.adapters.cache-size", defaultValue = "8") int adapterCacheSize,
            @Property(name = "rectify.adapters.cache-bytes", defaultValue = "268435456") long adapterCacheBytes,
            @Property(name = "rectify.jobs.concurrency", defaultValue = "1") int jobConcurrency,
            @Property(name = "rectify.jobs.max-queued", defaultValue = "8") int jobMaxQueued,
            @Property(name = "rectify.jobs.checkpoint-every", defaultValue = "10") int checkpointEvery,
            @Property(name = "rectify.jobs.resume-on-restart", defaultValue = "true") boolean resumeOnRestart,
            @Property(name = "rectify.jobs.max-seq-length", defaultValue = "512") int maxSeqLength,
            @Property(name = "rectify.jobs.shutdown-wait", defaultValue = "30s") Duration shutdownWait) {
        this.dataDir = Path.of(dataDir).toAbsolutePath().normalize();
        this.model = model.strip();
        this.modelName = modelName.strip();
        this.device = device;
        this.securityEnabled = securityEnabled;
        this.apiKey = apiKey;
        this.adminKey = adminKey;
        this.healthPublic = healthPublic;
        this.maxJsonBody = maxJsonBody;
        this.maxTokensLimit = maxTokensLimit;
        this.defaultMaxTokens = defaultMaxTokens;
        this.maxMessages = maxMessages;
        this.inferenceThreads = Math.max(1, inferenceThreads);
        this.inferenceMaxWaiting = Math.max(0, inferenceMaxWaiting);
        this.adapterCacheSize = Math.max(1, adapterCacheSize);
        this.adapterCacheBytes = Math.max(0, adapterCacheBytes);
        this.jobConcurrency = Math.max(1, jobConcurrency);
        this.jobMaxQueued = Math.max(0, jobMaxQueued);
        this.checkpointEvery = Math.max(0, checkpointEvery);
        this.resumeOnRestart = resumeOnRestart;
        this.maxSeqLength = maxSeqLength;
        this.shutdownWait = shutdownWait;
        if (securityEnabled && (this.apiKey.isBlank() || this.adminKey.isBlank())) {
            throw new IllegalStateException("rectify.security.api-key and rectify.security.admin-key must be set "
                    + "(env RECTIFY_SECURITY_API_KEY and RECTIFY_SECURITY_ADMIN_KEY), or set rectify.security.enabled=false "
                    + "for a local test server");
        }
        if (securityEnabled && this.apiKey.equals(this.adminKey)) {
            throw new IllegalStateException("rectify.security.api-key and rectify.security.admin-key must differ");
        }
    }

    public Path dataDir() { return dataDir; }
    public Path filesDir() { return dataDir.resolve("files"); }
    public Path runsDir() { return dataDir.resolve("runs"); }
    public Path adaptersDir() { return dataDir.resolve("adapters"); }
    /** The content-addressed store the multi-LoRA model serves LoRA adapters from. */
    public Path adapterStoreDir() { return dataDir.resolve("adapter-store"); }
    public String model() { return model; }
    public String modelName() { return modelName; }
    public String device() { return device; }
    public boolean securityEnabled() { return securityEnabled; }
    public String apiKey() { return apiKey; }
    public String adminKey() { return adminKey; }
    public boolean healthPublic() { return healthPublic; }
    public long maxJsonBody() { return maxJsonBody; }
    public int maxTokensLimit() { return maxTokensLimit; }
    public int defaultMaxTokens() { return defaultMaxTokens; }
    public int maxMessages() { return maxMessages; }
    public int inferenceThreads() { return inferenceThreads; }
    public int inferenceMaxWaiting() { return inferenceMaxWaiting; }
    public int adapterCacheSize() { return adapterCacheSize; }
    public long adapterCacheBytes() { return adapterCacheBytes; }
    public int jobConcurrency() { return jobConcurrency; }
    public int jobMaxQueued() { return jobMaxQueued; }
    public int checkpointEvery() { return checkpointEvery; }
    public boolean resumeOnRestart() { return resumeOnRestart; }
    public int maxSeqLength() { return maxSeqLength; }
    public Duration shutdownWait() { return shutdownWait; }
}
