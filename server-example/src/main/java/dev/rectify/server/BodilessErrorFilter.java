package dev.rectify.server;

import io.micronaut.core.order.Ordered;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.annotation.ResponseFilter;
import io.micronaut.http.annotation.ServerFilter;

/**
 * Gives every error response that has no body OpenAI's error shape: Micronaut's CORS refusal (403 for a request
 * from an origin not allowed) and any other bare status a framework filter answers with.
 */
@ServerFilter("/**")
public final class BodilessErrorFilter implements Ordered {
    @ResponseFilter
    public void filter(HttpRequest<?> request, MutableHttpResponse<?> response) {
        HttpStatus status = response.getStatus();
        if (status.getCode() < 400 || response.getBody().isPresent()) {
            return;
        }
        String message = status == HttpStatus.FORBIDDEN
                        && request.getHeaders().getOrigin().isPresent()
                ? "cross-origin requests from "
                        + Ids.quote(request.getHeaders().getOrigin().get()) + " are not allowed "
                        + "(micronaut.server.cors)"
                : status.getReason();
        String code = status == HttpStatus.FORBIDDEN
                        && request.getHeaders().getOrigin().isPresent()
                ? "cors_origin_not_allowed"
                : ErrorHandling.codeFor(status);
        response.contentType(MediaType.APPLICATION_JSON_TYPE)
                .body(Json.write(Json.error(message, ErrorHandling.typeFor(status), null, code)));
    }

    @Override
    public int getOrder() {
        return HIGHEST_PRECEDENCE;
    }
}
