package dev.rectify.server;

import io.micronaut.http.HttpStatus;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The connection's first line of defence, in the Netty pipeline right after the HTTP codec, before Micronaut sees a
 * request: 414 for a URI longer than {@code rectify.limits.max-uri-length}; 415 for a body that is not JSON on a
 * JSON endpoint; 413 once a request body (any content type, chunked or not) has sent more bytes than
 * {@code rectify.limits.max-json-body} — counted on the bytes actually read, so an oversized body is refused while it
 * arrives. Bodies of JSON endpoints are held here until complete (at most the limit), then passed on; uploads
 * ({@code /v1/files}) pass through as they stream. A refused request closes the connection, after the response.
 */
final class EdgeGuard extends ChannelDuplexHandler {
    /** How long a refused connection keeps reading (and dropping) what the client still sends before it closes. */
    static final long LINGER_MILLIS = 2_000;

    private final long maxBody;
    private final int maxUri;
    private final RequestDeadline deadline;
    /** The request being held (with its content) until its body is complete; empty while passing through. */
    private final List<Object> held = new ArrayList<>();

    private boolean holding;
    private boolean discarding;
    private long bytes;

    EdgeGuard(long maxBody, int maxUri, RequestDeadline deadline) {
        this.maxBody = maxBody;
        this.maxUri = maxUri;
        this.deadline = deadline;
    }

    /** Whether a path streams its body through unchecked (multipart uploads, limited by micronaut.server.multipart). */
    static boolean streamed(String uri) {
        return uri.startsWith("/v1/files");
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (discarding) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof HttpRequest req) {
            deadline.headersRead();
            if (req.decoderResult().isFailure()) {
                Throwable cause = req.decoderResult().cause();
                ReferenceCountUtil.release(msg);
                if (cause instanceof TooLongHttpLineException) {
                    refuse(
                            ctx,
                            HttpResponseStatus.REQUEST_URI_TOO_LONG,
                            "the request URI is too long (limit " + maxUri
                                    + " characters, rectify.limits.max-uri-length)",
                            "uri_too_long");
                } else if (cause instanceof TooLongHttpHeaderException || cause instanceof TooLongFrameException) {
                    refuse(
                            ctx,
                            HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                            "the request headers are too large",
                            "headers_too_large");
                } else {
                    refuse(ctx, HttpResponseStatus.BAD_REQUEST, "malformed HTTP request", "bad_request");
                }
                return;
            }
            if (req.uri().length() > maxUri) {
                ReferenceCountUtil.release(msg);
                refuse(
                        ctx,
                        HttpResponseStatus.REQUEST_URI_TOO_LONG,
                        "the request URI is " + req.uri().length() + " characters; the limit is " + maxUri
                                + " (rectify.limits.max-uri-length)",
                        "uri_too_long");
                return;
            }
            bytes = 0;
            holding = false;
            if (!streamed(req.uri()) && hasBody(req)) {
                long length = HttpUtil.getContentLength(req, -1L);
                if (length > maxBody) {
                    ReferenceCountUtil.release(msg);
                    tooLarge(ctx, length + " bytes");
                    return;
                }
                if (req.method() != HttpMethod.GET && length != 0 && !json(req)) {
                    ReferenceCountUtil.release(msg);
                    refuse(
                            ctx,
                            HttpResponseStatus.UNSUPPORTED_MEDIA_TYPE,
                            "this endpoint takes a JSON body: send "
                                    + "'Content-Type: application/json' (got "
                                    + describe(req.headers().get(HttpHeaderNames.CONTENT_TYPE))
                                    + ")",
                            "unsupported_media_type");
                    return;
                }
                holding = true;
            }
            if (holding) {
                held.add(msg);
                if (msg instanceof LastHttpContent) {
                    release(ctx);
                }
                return;
            }
            if (msg instanceof LastHttpContent) {
                deadline.requestRead();
            }
            ctx.fireChannelRead(msg);
            return;
        }
        if (msg instanceof HttpContent content) {
            if (holding) {
                bytes += content.content().readableBytes();
                if (bytes > maxBody) {
                    ReferenceCountUtil.release(msg);
                    tooLarge(ctx, "more than " + maxBody + " bytes");
                    return;
                }
                held.add(msg);
                if (msg instanceof LastHttpContent) {
                    release(ctx);
                }
                return;
            }
            if (msg instanceof LastHttpContent) {
                deadline.requestRead();
            }
        }
        ctx.fireChannelRead(msg);
    }

    private static boolean hasBody(HttpRequest req) {
        return HttpUtil.isTransferEncodingChunked(req) || HttpUtil.getContentLength(req, 0L) > 0;
    }

    private static boolean json(HttpRequest req) {
        String ct = req.headers().get(HttpHeaderNames.CONTENT_TYPE);
        if (ct == null) {
            return false;
        }
        String type = ct.split(";", 2)[0].strip().toLowerCase();
        return type.equals("application/json") || (type.startsWith("application/") && type.endsWith("+json"));
    }

    private static String describe(String contentType) {
        return contentType == null ? "no Content-Type" : Ids.quote(contentType);
    }

    /** The body is complete and within the limit: Micronaut gets the request. */
    private void release(ChannelHandlerContext ctx) {
        deadline.requestRead();
        holding = false;
        List<Object> out = new ArrayList<>(held);
        held.clear();
        for (Object m : out) {
            ctx.fireChannelRead(m);
        }
    }

    private void tooLarge(ChannelHandlerContext ctx, String size) {
        refuse(
                ctx,
                HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE,
                "the request body is too large: " + size + "; the limit is " + maxBody
                        + " bytes (rectify.limits.max-json-body)",
                "request_too_large");
    }

    /** Answers in OpenAI's error shape, drops whatever else the client sends, and closes the connection. */
    private void refuse(ChannelHandlerContext ctx, HttpResponseStatus status, String message, String code) {
        held.forEach(ReferenceCountUtil::release);
        held.clear();
        holding = false;
        discarding = true;
        deadline.requestRead();
        HttpStatus s = HttpStatus.valueOf(status.code());
        byte[] body = Json.write(Json.error(message, ErrorHandling.typeFor(s), null, code))
                .getBytes(StandardCharsets.UTF_8);
        ByteBuf buf = Unpooled.wrappedBuffer(body);
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, buf);
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
        res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        ctx.writeAndFlush(res).addListener((ChannelFutureListener) f -> lingeringClose(ctx));
    }

    /**
     * Closes the connection without losing the response just sent. Closing a socket while the client's body is still
     * arriving makes the kernel answer with a reset, which can discard the response before the client reads it; so the
     * write side is shut first, what the client still sends is read and dropped, and the connection closes when the
     * client closes it or after {@link #LINGER_MILLIS}, whichever comes first (as servers such as nginx do).
     */
    private static void lingeringClose(ChannelHandlerContext ctx) {
        if (ctx.channel() instanceof DuplexChannel duplex && duplex.isActive()) {
            duplex.shutdownOutput();
            ctx.executor().schedule(() -> ctx.close(), LINGER_MILLIS, TimeUnit.MILLISECONDS);
        } else {
            ctx.close();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        held.forEach(ReferenceCountUtil::release);
        held.clear();
        super.channelInactive(ctx);
    }
}
