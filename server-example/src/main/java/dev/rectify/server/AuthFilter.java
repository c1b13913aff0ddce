package dev.rectify.server;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.core.order.Ordered;
import io.micronaut.http.HttpHeaders;
import io.micronaut.http.HttpMethod;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.annotation.RequestFilter;
import io.micronaut.http.annotation.ServerFilter;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * API-key authentication on every endpoint ({@code Authorization: Bearer KEY}): the admin key for fine-tuning,
 * files and adapter management; the API key (or the admin key) for everything else. {@code /health} is open when
 * {@code rectify.security.health-public} is true (for liveness probes). Then each key's requests are rate-limited
 * ({@link RateLimiter}: 429 with {@code Retry-After}). Body sizes are checked earlier, by {@link EdgeGuard}.
 */
@ServerFilter("/**")
public final class AuthFilter implements Ordered {
    private final Settings settings;
    private final RateLimiter limiter;
    private final byte[] apiKey;
    private final byte[] adminKey;

    public AuthFilter(Settings settings, RateLimiter limiter) {
        this.settings = settings;
        this.limiter = limiter;
        this.apiKey = settings.apiKey().getBytes(StandardCharsets.UTF_8);
        this.adminKey = settings.adminKey().getBytes(StandardCharsets.UTF_8);
    }

    /** Paths that need the admin key. */
    static boolean adminPath(String path) {
        return path.startsWith("/v1/fine_tuning") || path.startsWith("/v1/files") || path.startsWith("/v1/admin");
    }

    /** Requests that need the admin key: {@link #adminPath} and deleting a model. */
    static boolean adminRequest(HttpMethod method, String path) {
        return adminPath(path) || (method == HttpMethod.DELETE && path.startsWith("/v1/models/"));
    }

    @RequestFilter
    @Nullable
    public HttpResponse<?> filter(HttpRequest<?> request) {
        String path = request.getPath();
        boolean health = path.equals("/health") || path.startsWith("/health/");
        if (settings.securityEnabled() && !(health && settings.healthPublic())) {
            String header = request.getHeaders().get(HttpHeaders.AUTHORIZATION);
            if (header == null || header.isBlank()) {
                return error(
                        HttpStatus.UNAUTHORIZED,
                        "missing API key: send 'Authorization: Bearer YOUR_KEY'",
                        "missing_api_key");
            }
            if (!header.regionMatches(true, 0, "Bearer ", 0, 7)) {
                return error(
                        HttpStatus.UNAUTHORIZED,
                        "the Authorization header must be 'Bearer YOUR_KEY'",
                        "invalid_api_key");
            }
            byte[] given = header.substring(7).strip().getBytes(StandardCharsets.UTF_8);
            boolean isAdmin = MessageDigest.isEqual(given, adminKey);
            boolean isUser = MessageDigest.isEqual(given, apiKey);
            if (!isAdmin && !isUser) {
                return error(HttpStatus.UNAUTHORIZED, "incorrect API key", "invalid_api_key");
            }
            if (adminRequest(request.getMethod(), path) && !isAdmin) {
                return error(
                        HttpStatus.FORBIDDEN,
                        "this endpoint needs the admin key (fine-tuning, files and adapter "
                                + "management, model deletion)",
                        "admin_key_required");
            }
        }
        if (health) {
            return null;
        }
        String header = request.getHeaders().get(HttpHeaders.AUTHORIZATION);
        String who = settings.securityEnabled() && header != null
                ? header.substring(7).strip()
                : "address:" + request.getRemoteAddress().getAddress().getHostAddress();
        long wait = limiter.acquire(who);
        if (wait > 0) {
            return error(
                            HttpStatus.TOO_MANY_REQUESTS,
                            "rate limit reached for this API key; retry in " + wait + " s " + "(rectify.rate-limit)",
                            "rate_limit_exceeded")
                    .header(HttpHeaders.RETRY_AFTER, Long.toString(wait));
        }
        return null;
    }

    private static MutableHttpResponse<?> error(HttpStatus status, String message, String code) {
        return HttpResponse.status(status)
                .contentType(MediaType.APPLICATION_JSON_TYPE)
                .body(Json.write(Json.error(message, ErrorHandling.typeFor(status), null, code)));
    }

    @Override
    public int getOrder() {
        return HIGHEST_PRECEDENCE + 100;
    }
}
