package dev.rectify.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.netty.util.internal.logging.InternalLogger;
import io.netty.util.internal.logging.InternalLoggerFactory;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The race a client leaving mid-stream sets off inside Micronaut (seen in EdgesTest's disconnect test on some runs)
 * is kept out of the log by the filter {@code logback.xml} registers, and nothing else from that Netty logger is.
 */
class ClientGoneRaceFilterTest {
    @Test
    void theDisconnectRaceIsDroppedAndOtherTaskFailuresStayLogged() {
        Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        logs.start();
        root.addAppender(logs);
        try {
            // the way Netty's event loop reports a failed task, through Netty's own logger facade
            InternalLogger netty = InternalLoggerFactory.getInstance(ClientGoneRaceFilter.NETTY_TASK_LOGGER);
            netty.warn(
                    "A task raised an exception. Task: {}",
                    "EventLoopFlow$Delayed@1",
                    new IllegalStateException(ClientGoneRaceFilter.RACE_MESSAGE));
            assertTrue(logs.list.isEmpty(), "the race was logged: " + logs.list);

            netty.warn(
                    "A task raised an exception. Task: {}",
                    "EventLoopFlow$Delayed@2",
                    new IllegalStateException("something else"));
            netty.warn("A task raised an exception.", new NullPointerException());
            assertEquals(2, logs.list.size(), "other task failures must stay in the log: " + logs.list);
            assertTrue(logs.list.stream().allMatch(e -> e.getThrowableProxy() != null));
        } finally {
            root.detachAppender(logs);
        }
    }
}
