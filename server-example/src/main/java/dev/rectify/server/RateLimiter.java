package dev.rectify.server;

import dev.rectify.core.io.ContentHash;
import dev.rectify.server.config.RateLimitConfig;
import jakarta.inject.Singleton;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Per-key request limits ({@code rectify.rate-limit}): a token bucket per API key holding up to {@code burst}
 * requests, refilled at {@code requests-per-minute}. Keys are held as hashes, never as given.
 */
@Singleton
public class RateLimiter {
    private final double perNano;
    private final double burst;
    private final boolean enabled;
    private final Map<String, Bucket> buckets = new ConcurrentHashMap<>();

    public RateLimiter(Settings settings) {
        RateLimitConfig c = settings.rateLimit();
        this.enabled = c.requestsPerMinute() > 0;
        this.perNano = c.requestsPerMinute() / 60e9;
        this.burst = Math.max(1, c.burst());
    }

    /** Takes one request from the key's bucket: 0 if allowed, else the whole seconds to wait before the next. */
    public long acquire(String key) {
        if (!enabled) {
            return 0;
        }
        Bucket b = buckets.computeIfAbsent(hash(key), k -> new Bucket(burst, System.nanoTime()));
        synchronized (b) {
            long now = System.nanoTime();
            b.tokens = Math.min(burst, b.tokens + (now - b.at) * perNano);
            b.at = now;
            if (b.tokens >= 1) {
                b.tokens -= 1;
                return 0;
            }
            return Math.max(1, (long) Math.ceil((1 - b.tokens) / perNano / 1e9));
        }
    }

    private static String hash(String key) {
        return ContentHash.of(key);
    }

    private static final class Bucket {
        double tokens;
        long at;

        Bucket(double tokens, long at) {
            this.tokens = tokens;
            this.at = at;
        }
    }
}
