package dev.rectify.server;

import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.ModelFormatException;
import dev.rectify.core.RectifyException;
import dev.rectify.generate.ContextLengthException;
import io.micronaut.context.annotation.Replaces;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.server.exceptions.ExceptionHandler;
import io.micronaut.http.server.exceptions.response.ErrorContext;
import io.micronaut.http.server.exceptions.response.ErrorResponseProcessor;
import jakarta.inject.Singleton;
import java.util.concurrent.RejectedExecutionException;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Every error leaves the server in OpenAI's shape, whatever raised it (Micronaut's own handlers included). */
public final class ErrorHandling {
    private static final Logger LOG = LoggerFactory.getLogger(ErrorHandling.class);

    private ErrorHandling() {}

    static String typeFor(HttpStatus s) {
        return switch (s.getCode()) {
            case 401 -> "authentication_error";
            case 403 -> "permission_error";
            case 429 -> "rate_limit_error";
            default -> s.getCode() >= 500 ? "server_error" : "invalid_request_error";
        };
    }

    static String codeFor(HttpStatus s) {
        return switch (s.getCode()) {
            case 404 -> "not_found";
            case 405 -> "method_not_allowed";
            case 413 -> "request_too_large";
            case 415 -> "unsupported_media_type";
            default -> null;
        };
    }

    /** Replaces Micronaut's JSON/HTML error bodies (bad JSON, conversion errors, 404, 405, 413, 415, ...). */
    @Singleton
    @Replaces(ErrorResponseProcessor.class)
    public static final class OpenAiErrorResponseProcessor implements ErrorResponseProcessor<String> {
        @Override
        public MutableHttpResponse<String> processResponse(ErrorContext ctx, MutableHttpResponse<?> response) {
            HttpStatus status = response.getStatus();
            String message = ctx.getErrors().stream().map(e -> e.getMessage()).collect(Collectors.joining("; "));
            HttpRequest<?> req = ctx.getRequest();
            if (status == HttpStatus.NOT_FOUND && (message.isBlank() || message.equals("Page Not Found"))) {
                message = "unknown endpoint: " + req.getMethodName() + " " + req.getPath();
            } else if (status == HttpStatus.METHOD_NOT_ALLOWED) {
                message = "method " + req.getMethodName() + " is not allowed on " + req.getPath() + ": " + message;
            } else if (status == HttpStatus.REQUEST_ENTITY_TOO_LARGE) {
                message = "the request body is too large: " + message;
            } else if (message.isBlank()) {
                message = status.getReason();
            }
            if (status.getCode() >= 500) {
                ctx.getRootCause()
                        .ifPresent(t -> LOG.error("server error on {} {}", req.getMethodName(), req.getPath(), t));
            }
            return response.contentType(MediaType.APPLICATION_JSON_TYPE)
                    .body(Json.write(Json.error(message, typeFor(status), null, codeFor(status))));
        }
    }

    @Singleton
    public static final class ApiExceptionHandler implements ExceptionHandler<ApiException, HttpResponse<?>> {
        @Override
        public HttpResponse<?> handle(HttpRequest request, ApiException e) {
            return Json.errorResponse(e.status(), e.getMessage(), e.type(), e.param(), e.code());
        }
    }

    /** SDK errors: the client's input (bad options, model files, too long a prompt) is a 400; anything else a 500. */
    @Singleton
    public static final class RectifyExceptionHandler implements ExceptionHandler<RectifyException, HttpResponse<?>> {
        @Override
        public HttpResponse<?> handle(HttpRequest request, RectifyException e) {
            if (e instanceof ContextLengthException) {
                return Json.errorResponse(
                        HttpStatus.BAD_REQUEST,
                        e.getMessage(),
                        "invalid_request_error",
                        "messages",
                        "context_length_exceeded");
            }
            if (e instanceof InvalidArgumentException || e instanceof ModelFormatException) {
                return Json.errorResponse(HttpStatus.BAD_REQUEST, e.getMessage(), "invalid_request_error", null, null);
            }
            LOG.error("SDK error on {} {}", request.getMethodName(), request.getPath(), e);
            return Json.errorResponse(HttpStatus.INTERNAL_SERVER_ERROR, e.getMessage(), "server_error", null, null);
        }
    }

    /** Inference or job queue full. */
    @Singleton
    public static final class RejectedHandler implements ExceptionHandler<RejectedExecutionException, HttpResponse<?>> {
        @Override
        public HttpResponse<?> handle(HttpRequest request, RejectedExecutionException e) {
            return Json.errorResponse(
                    HttpStatus.TOO_MANY_REQUESTS,
                    "the server is busy (all generation slots and the waiting " + "queue are taken); retry shortly",
                    "rate_limit_error",
                    null,
                    "server_busy");
        }
    }
}
