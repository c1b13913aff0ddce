package dev.rectify.server;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Closes a connection whose request does not arrive in full within {@code rectify.limits.request-timeout} of its
 * first byte (slow or half-sent headers and bodies), first in the Netty pipeline so it sees raw bytes. The clock stops
 * when {@link EdgeGuard} has read the whole request; a response that streams for long (SSE) is not limited. Idle
 * connections between requests are closed by {@code micronaut.server.idle-timeout}.
 */
final class RequestDeadline extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(RequestDeadline.class);

    private final long timeoutNanos;
    private ChannelHandlerContext ctx;
    private ScheduledFuture<?> timer;
    /** Between a request's first byte and its last. */
    private boolean reading;

    RequestDeadline(Duration timeout) {
        this.timeoutNanos = timeout.toNanos();
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!reading) {
            reading = true;
            arm();
        }
        ctx.fireChannelRead(msg);
    }

    private void arm() {
        cancel();
        timer = ctx.executor()
                .schedule(
                        () -> {
                            if (reading && ctx.channel().isActive()) {
                                LOG.info(
                                        "closing the connection from {}: the request did not arrive within {} ms",
                                        ctx.channel().remoteAddress(),
                                        TimeUnit.NANOSECONDS.toMillis(timeoutNanos));
                                ctx.close();
                            }
                        },
                        timeoutNanos,
                        TimeUnit.NANOSECONDS);
    }

    private void cancel() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    /** The request line and headers are in (the body may follow). */
    void headersRead() {
        if (!reading) {
            reading = true;
            arm();
        }
    }

    /** The request arrived in full: no deadline until the next one starts. */
    void requestRead() {
        reading = false;
        cancel();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        cancel();
        super.channelInactive(ctx);
    }
}
