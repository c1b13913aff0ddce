package dev.rectify.server;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.spi.FilterReply;
import org.slf4j.LoggerFactory;
import org.slf4j.Marker;

/**
 * Keeps one known Micronaut 4.10 race out of the log. When a client leaves in the middle of a streamed (SSE) answer,
 * a chunk that was queued on the event loop before the connection closed reaches the response writer after it was
 * discarded; the writer throws {@code IllegalStateException("onNext before request?")} and Netty logs it with a stack
 * trace (micronaut-core pull request 13273 reworks that writer). Nothing is lost: the client is gone and the
 * generation stops at its next token, when the stream's cancel arrives. The event is logged as one DEBUG line
 * instead. Registered in {@code logback.xml}.
 */
public final class ClientGoneRaceFilter extends TurboFilter {
    static final String NETTY_TASK_LOGGER = "io.netty.util.concurrent.AbstractEventExecutor";
    static final String RACE_MESSAGE = "onNext before request?";
    private static final org.slf4j.Logger LOG = LoggerFactory.getLogger(ClientGoneRaceFilter.class);

    @Override
    public FilterReply decide(Marker marker, Logger logger, Level level, String format, Object[] params, Throwable t) {
        if (!logger.getName().equals(NETTY_TASK_LOGGER)) {
            return FilterReply.NEUTRAL;
        }
        Throwable cause = t != null
                ? t
                : params != null && params.length > 0 && params[params.length - 1] instanceof Throwable last
                        ? last
                        : null;
        if (cause instanceof IllegalStateException && RACE_MESSAGE.equals(cause.getMessage())) {
            LOG.debug("a streamed chunk reached a response whose client had left; dropped");
            return FilterReply.DENY;
        }
        return FilterReply.NEUTRAL;
    }
}
