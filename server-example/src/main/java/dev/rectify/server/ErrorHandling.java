package dev.rectify.server;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.ModelFormatException;
import dev.rectify.core.RectifyException;
import dev.rectify.generate.ContextLengthException;
import dev.rectify.server.StrictJson.BadField;
import io.micronaut.context.annotation.Replaces;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.server.exceptions.ExceptionHandler;
import io.micronaut.http.server.exceptions.response.ErrorContext;
import io.micronaut.http.server.exceptions.response.ErrorResponseProcessor;
import io.micronaut.serde.exceptions.SerdeException;
import io.micronaut.validation.exceptions.ConstraintExceptionHandler;
import jakarta.inject.Singleton;
import jakarta.validation.ConstraintViolationException;
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
            if (status == HttpStatus.BAD_REQUEST) {
                ApiException bound = bindingError(ctx.getRootCause().orElse(null));
                if (bound != null) {
                    return response.contentType(MediaType.APPLICATION_JSON_TYPE)
                            .body(Json.write(
                                    Json.error(bound.getMessage(), bound.type(), bound.param(), bound.code())));
                }
            }
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

    /**
     * What went wrong binding a request body to its record, in the API's words: a field of the wrong type (from
     * {@link StrictJson}, naming it), text that is not JSON, or JSON that is not an object; null for anything else.
     */
    static ApiException bindingError(Throwable t) {
        BadField field = BadField.in(t);
        if (field != null) {
            return field.toApi();
        }
        for (Throwable c = t; c != null && c.getCause() != c; c = c.getCause()) {
            if (c instanceof JsonProcessingException e) {
                JsonLocation loc = e.getLocation();
                return ApiException.invalid(
                        null,
                        "invalid_json",
                        "the request body is not valid JSON"
                                + (loc == null
                                        ? ""
                                        : " (line " + loc.getLineNr() + ", column " + loc.getColumnNr() + ")")
                                + ": " + e.getOriginalMessage());
            }
            if (c instanceof SerdeException && String.valueOf(c.getMessage()).contains("expected START_OBJECT")) {
                // Serde's words for a body that is JSON but no object: "Unexpected token START_ARRAY, expected ..."
                return ApiException.invalid(null, "the request body must be a JSON object, found " + token(c));
            }
        }
        return null;
    }

    private static String token(Throwable serde) {
        String m = String.valueOf(serde.getMessage());
        if (m.contains("START_ARRAY")) {
            return "an array";
        }
        if (m.contains("VALUE_STRING")) {
            return "a string";
        }
        if (m.contains("VALUE_NUMBER")) {
            return "a number";
        }
        return m.contains("VALUE_TRUE") || m.contains("VALUE_FALSE") ? "a boolean" : "something else";
    }

    /** A {@link BadField} that reaches a controller unwrapped. */
    @Singleton
    public static final class BadFieldHandler implements ExceptionHandler<BadField, HttpResponse<?>> {
        @Override
        public HttpResponse<?> handle(HttpRequest request, BadField e) {
            ApiException a = e.toApi();
            return Json.errorResponse(a.status(), a.getMessage(), a.type(), a.param(), a.code());
        }
    }

    /** A request body that breaks its record's constraints ({@code @Valid @Body}): a 400 naming the JSON field. */
    @Singleton
    @Replaces(ConstraintExceptionHandler.class)
    public static final class ConstraintViolationHandler
            implements ExceptionHandler<ConstraintViolationException, HttpResponse<?>> {
        @Override
        public HttpResponse<?> handle(HttpRequest request, ConstraintViolationException e) {
            ApiException a = ConstraintViolations.toApi(e);
            return Json.errorResponse(a.status(), a.getMessage(), a.type(), a.param(), a.code());
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
