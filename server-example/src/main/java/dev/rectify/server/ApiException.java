package dev.rectify.server;

import io.micronaut.http.HttpStatus;

/** An error answered in OpenAI's shape: {@code {"error": {"message", "type", "param", "code"}}}. */
public final class ApiException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient HttpStatus status;
    private final String type;
    private final String param;
    private final String code;

    public ApiException(HttpStatus status, String type, String code, String param, String message) {
        super(message);
        this.status = status;
        this.type = type;
        this.code = code;
        this.param = param;
    }

    public static ApiException invalid(String param, String message) {
        return new ApiException(HttpStatus.BAD_REQUEST, "invalid_request_error", null, param, message);
    }

    public static ApiException invalid(String param, String code, String message) {
        return new ApiException(HttpStatus.BAD_REQUEST, "invalid_request_error", code, param, message);
    }

    public static ApiException notFound(String param, String code, String message) {
        return new ApiException(HttpStatus.NOT_FOUND, "invalid_request_error", code, param, message);
    }

    public static ApiException conflict(String code, String message) {
        return new ApiException(HttpStatus.CONFLICT, "invalid_request_error", code, null, message);
    }

    public static ApiException busy(String code, String message) {
        return new ApiException(HttpStatus.TOO_MANY_REQUESTS, "rate_limit_error", code, null, message);
    }

    public HttpStatus status() {
        return status;
    }

    public String type() {
        return type;
    }

    public String param() {
        return param;
    }

    public String code() {
        return code;
    }
}
