package dev.rectify.server;

import dev.rectify.job.SharedStore;
import dev.rectify.server.config.AdaptersConfig;
import dev.rectify.server.config.InferenceConfig;
import dev.rectify.server.config.JobsConfig;
import dev.rectify.server.config.LimitsConfig;
import dev.rectify.server.config.RateLimitConfig;
import dev.rectify.server.config.ReplicaConfig;
import dev.rectify.server.config.SecurityConfig;
import dev.rectify.server.config.ServerConfig;
import dev.rectify.server.config.StoreConfig;
import jakarta.inject.Singleton;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;

/**
 * The server's settings in one place: the {@code rectify.*} groups of application.yml (documented there), each bound
 * by a {@code @ConfigurationProperties} record in {@code dev.rectify.server.config}, checked and normalised here.
 * Each key can be set by an environment variable in Micronaut's way (upper case, dots and dashes as underscores):
 * {@code RECTIFY_DATA_DIR}, {@code RECTIFY_SECURITY_API_KEY}, ...
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
    private final Duration checkpointRetention;
    private final int keepCheckpoints;
    private final int maxUriLength;
    private final Duration requestTimeout;
    private final RateLimitConfig rateLimit;
    private final SharedStore store;
    private final String replicaId;
    private final Duration lease;
    private final Duration signalPoll;

    public Settings(
            ServerConfig server,
            SecurityConfig security,
            LimitsConfig limits,
            InferenceConfig inference,
            AdaptersConfig adapters,
            JobsConfig jobs,
            RateLimitConfig rateLimit,
            StoreConfig store,
            ReplicaConfig replica) {
        this.dataDir = Path.of(server.dataDir()).toAbsolutePath().normalize();
        this.store = SharedStore.open(
                store.dir().isBlank() ? dataDir : Path.of(store.dir().strip()));
        this.replicaId = replica.id().isBlank()
                ? "replica-" + UUID.randomUUID().toString().substring(0, 8)
                : replica.id().strip();
        this.lease = replica.lease().compareTo(Duration.ofSeconds(1)) < 0 ? Duration.ofSeconds(1) : replica.lease();
        this.signalPoll = replica.signalPoll().compareTo(Duration.ofMillis(50)) < 0
                ? Duration.ofMillis(50)
                : replica.signalPoll();
        this.model = server.model().strip();
        this.modelName = server.modelName().strip();
        this.device = server.device();
        this.securityEnabled = security.enabled();
        this.apiKey = security.apiKey();
        this.adminKey = security.adminKey();
        this.healthPublic = security.healthPublic();
        this.maxJsonBody = limits.maxJsonBody();
        this.maxTokensLimit = limits.maxTokens();
        this.maxMessages = limits.maxMessages();
        this.maxUriLength = Math.max(64, limits.maxUriLength());
        this.requestTimeout = limits.requestTimeout();
        this.defaultMaxTokens = inference.defaultMaxTokens();
        this.inferenceThreads = Math.max(1, inference.threads());
        this.inferenceMaxWaiting = Math.max(0, inference.maxWaiting());
        this.adapterCacheSize = Math.max(1, adapters.cacheSize());
        this.adapterCacheBytes = Math.max(0, adapters.cacheBytes());
        this.jobConcurrency = Math.max(1, jobs.concurrency());
        this.jobMaxQueued = Math.max(0, jobs.maxQueued());
        this.checkpointEvery = Math.max(0, jobs.checkpointEvery());
        this.resumeOnRestart = jobs.resumeOnRestart();
        this.maxSeqLength = jobs.maxSeqLength();
        this.shutdownWait = jobs.shutdownWait();
        this.checkpointRetention = jobs.checkpointRetention();
        this.keepCheckpoints = Math.max(1, jobs.keepCheckpoints());
        this.rateLimit = rateLimit;
        if (securityEnabled && (this.apiKey.isBlank() || this.adminKey.isBlank())) {
            throw new IllegalStateException("rectify.security.api-key and rectify.security.admin-key must be set "
                    + "(env RECTIFY_SECURITY_API_KEY and RECTIFY_SECURITY_ADMIN_KEY), or set rectify.security.enabled=false "
                    + "for a local test server");
        }
        if (securityEnabled && this.apiKey.equals(this.adminKey)) {
            throw new IllegalStateException("rectify.security.api-key and rectify.security.admin-key must differ");
        }
    }

    public Path dataDir() {
        return dataDir;
    }
    /** The store shared by replicas ({@code rectify.store.dir}; the data folder when not set). */
    public SharedStore store() {
        return store;
    }

    public Path filesDir() {
        return store.filesDir();
    }

    public Path runsDir() {
        return store.runsDir();
    }

    public Path adaptersDir() {
        return store.adaptersDir();
    }
    /** The content-addressed store the multi-LoRA model serves LoRA adapters from. */
    public Path adapterStoreDir() {
        return store.adapterStoreDir();
    }
    /** This replica's id: the owner named in the leases of the jobs it runs. */
    public String replicaId() {
        return replicaId;
    }
    /** How long a job's lease lasts unless renewed (renewed every third of it). */
    public Duration lease() {
        return lease;
    }
    /** How often replicas look for signals (cancel, pin, unload, delete) without a PostgreSQL notification. */
    public Duration signalPoll() {
        return signalPoll;
    }

    public String model() {
        return model;
    }

    public String modelName() {
        return modelName;
    }

    public String device() {
        return device;
    }

    public boolean securityEnabled() {
        return securityEnabled;
    }

    public String apiKey() {
        return apiKey;
    }

    public String adminKey() {
        return adminKey;
    }

    public boolean healthPublic() {
        return healthPublic;
    }

    public long maxJsonBody() {
        return maxJsonBody;
    }

    public int maxTokensLimit() {
        return maxTokensLimit;
    }

    public int defaultMaxTokens() {
        return defaultMaxTokens;
    }

    public int maxMessages() {
        return maxMessages;
    }

    public int inferenceThreads() {
        return inferenceThreads;
    }

    public int inferenceMaxWaiting() {
        return inferenceMaxWaiting;
    }

    public int adapterCacheSize() {
        return adapterCacheSize;
    }

    public long adapterCacheBytes() {
        return adapterCacheBytes;
    }

    public int jobConcurrency() {
        return jobConcurrency;
    }

    public int jobMaxQueued() {
        return jobMaxQueued;
    }

    public int checkpointEvery() {
        return checkpointEvery;
    }

    public boolean resumeOnRestart() {
        return resumeOnRestart;
    }

    public int maxSeqLength() {
        return maxSeqLength;
    }

    public Duration shutdownWait() {
        return shutdownWait;
    }
    /** How long the checkpoints of a finished, failed or cancelled job are kept. */
    public Duration checkpointRetention() {
        return checkpointRetention;
    }

    /** How many of its newest checkpoints a job keeps while it trains (and after, until the retention deletes them). */
    public int keepCheckpoints() {
        return keepCheckpoints;
    }
    /** Longest request URI (path and query) in characters; longer ones get 414. */
    public int maxUriLength() {
        return maxUriLength;
    }
    /** Longest time from a request's first byte to its last; slower connections are closed. */
    public Duration requestTimeout() {
        return requestTimeout;
    }

    public RateLimitConfig rateLimit() {
        return rateLimit;
    }
}
