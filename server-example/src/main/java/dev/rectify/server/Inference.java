package dev.rectify.server;

import dev.rectify.generate.Generation;
import dev.rectify.generate.Sampling;
import dev.rectify.generate.TokenListener;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * Runs generations on a bounded pool ({@code rectify.inference.threads} at once, {@code rectify.inference.max-waiting}
 * waiting); beyond that a request is refused with 429. Records tokens, tokens/s and first-token latency.
 */
@Singleton
public class Inference {
    private final ThreadPoolExecutor pool;
    private final Counter promptTokens;
    private final Counter completionTokens;
    private final DistributionSummary tokensPerSecond;
    private final Timer firstToken;
    private final Timer requestTime;

    public Inference(Settings settings, MeterRegistry meters) {
        BlockingQueue<Runnable> q = settings.inferenceMaxWaiting() == 0
                ? new SynchronousQueue<>()
                : new ArrayBlockingQueue<>(settings.inferenceMaxWaiting());
        AtomicInteger n = new AtomicInteger();
        pool = new ThreadPoolExecutor(
                settings.inferenceThreads(), settings.inferenceThreads(), 60, TimeUnit.SECONDS, q, r -> {
                    Thread t = new Thread(r, "rectify-generate-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        promptTokens = Counter.builder("rectify.generation.tokens")
                .tag("kind", "prompt")
                .register(meters);
        completionTokens = Counter.builder("rectify.generation.tokens")
                .tag("kind", "completion")
                .register(meters);
        tokensPerSecond = DistributionSummary.builder("rectify.generation.tokens.per.second")
                .description("decode speed of each request")
                .publishPercentiles(0.5, 0.99)
                .register(meters);
        firstToken = Timer.builder("rectify.generation.first.token")
                .description("time to the first new token")
                .publishPercentiles(0.5, 0.99)
                .register(meters);
        requestTime = Timer.builder("rectify.generation.duration")
                .publishPercentiles(0.5, 0.99)
                .register(meters);
        meters.gauge("rectify.generation.waiting", pool, p -> p.getQueue().size());
        meters.gauge("rectify.generation.active", pool, ThreadPoolExecutor::getActiveCount);
    }

    /**
     * Prepares the prompt and generates, both on the pool (rendering and tokenizing a long prompt take time, and must
     * not run on a request thread); the lease is closed when done. {@code prepared} completes with the prompt once it
     * is ready (or with the preparation's error), before the first token. RejectedExecutionException (429) when the
     * pool is full.
     */
    public CompletableFuture<Generation> submit(
            ModelLease lease,
            Function<ModelLease, String> prepare,
            CompletableFuture<String> prepared,
            Sampling sampling,
            TokenListener listener) {
        CompletableFuture<Generation> f = new CompletableFuture<>();
        try {
            pool.execute(() -> {
                try {
                    String prompt = prepare.apply(lease);
                    prepared.complete(prompt);
                    f.complete(run(lease, prompt, sampling, listener));
                } catch (Throwable t) {
                    prepared.completeExceptionally(t);
                    f.completeExceptionally(t);
                } finally {
                    lease.close();
                }
            });
        } catch (RuntimeException e) {
            lease.close();
            throw e;
        }
        return f;
    }

    private Generation run(ModelLease lease, String prompt, Sampling sampling, TokenListener listener) {
        Generation g = lease.generate(prompt, sampling, listener);
        promptTokens.increment(g.promptTokens());
        completionTokens.increment(g.completionTokens());
        if (g.completionTokens() > 0) {
            firstToken.record(g.firstTokenNanos(), TimeUnit.NANOSECONDS);
        }
        if (g.decodeTokensPerSecond() > 0) {
            tokensPerSecond.record(g.decodeTokensPerSecond());
        }
        requestTime.record(g.totalNanos(), TimeUnit.NANOSECONDS);
        return g;
    }

    @PreDestroy
    void close() {
        pool.shutdownNow();
    }
}
