package dev.rectify.server;

import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Signals between replicas on one database: cancel a job, pin, unpin, unload or delete an adapter. A signal is a row
 * of rf_signals (kind, target, origin replica), so the state it points at is in the database first and every replica
 * reads it; on PostgreSQL a {@code NOTIFY rectify_signals} wakes the others at once (one pooled connection per replica
 * LISTENs), on H2 they look every {@code rectify.replica.signal-poll}. Handlers act on the database's current state,
 * so a signal read twice or late does no harm. Rows older than ten minutes are deleted.
 */
@Singleton
public class ClusterSignals {
    private static final Logger LOG = LoggerFactory.getLogger(ClusterSignals.class);
    private static final String CHANNEL = "rectify_signals";
    /** Signals are read within this window of their creation (covers commits that land out of id order). */
    private static final long WINDOW_MS = 60_000;

    private static final long KEEP_MS = 600_000;

    private final ReplicaDb db;
    private final Settings settings;
    private final Map<String, List<Consumer<String>>> handlers = new ConcurrentHashMap<>();
    private final Map<Long, Boolean> seen = new LinkedHashMap<>(256, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, Boolean> e) {
            return size() > 20_000;
        }
    };
    private volatile boolean closed;
    private Thread thread;
    private long lastCleanup;

    public ClusterSignals(ReplicaDb db, Settings settings) {
        this.db = db;
        this.settings = settings;
    }

    /** Records signal {@code kind} about {@code target} for the other replicas and wakes them. */
    public void publish(String kind, String target) {
        db.inTransaction(c -> {
            try (PreparedStatement s = c.prepareStatement(
                    "INSERT INTO rf_signals (kind, target, origin, created_at) VALUES (?, ?, ?, ?)")) {
                s.setString(1, kind);
                s.setString(2, target);
                s.setString(3, settings.replicaId());
                s.setLong(4, System.currentTimeMillis());
                s.executeUpdate();
            }
            if (db.postgres()) {
                try (PreparedStatement s = c.prepareStatement("SELECT pg_notify(?, ?)")) {
                    s.setString(1, CHANNEL);
                    s.setString(2, kind);
                    s.execute();
                }
            }
            return null;
        });
    }

    /** Calls {@code handler} with the target of every signal {@code kind} another replica publishes. */
    public synchronized void on(String kind, Consumer<String> handler) {
        handlers.computeIfAbsent(kind, k -> new CopyOnWriteArrayList<>()).add(handler);
        if (thread == null && !closed) {
            drain(false); // what is there already was meant for others
            thread = new Thread(this::loop, "rectify-signals");
            thread.setDaemon(true);
            thread.start();
        }
    }

    private void loop() {
        Connection listen = null;
        long poll = settings.signalPoll().toMillis();
        while (!closed) {
            try {
                if (db.postgres()) {
                    if (listen == null) {
                        listen = db.open();
                        try (Statement s = listen.createStatement()) {
                            s.execute("LISTEN " + CHANNEL);
                        }
                    }
                    // woken by a NOTIFY, or looks anyway after a while (a notification lost with a connection)
                    listen.unwrap(PGConnection.class).getNotifications((int) Math.max(poll * 4, 2000));
                } else {
                    Thread.sleep(poll);
                }
                drain(true);
            } catch (InterruptedException e) {
                break;
            } catch (SQLException | RuntimeException e) {
                if (closed) {
                    break;
                }
                LOG.warn("reading replica signals failed ({}); trying again", e.getMessage());
                listen = closeQuietly(listen);
                try {
                    Thread.sleep(poll);
                } catch (InterruptedException ie) {
                    break;
                }
            }
        }
        closeQuietly(listen);
    }

    private static Connection closeQuietly(Connection c) {
        if (c != null) {
            try {
                c.close();
            } catch (SQLException e) {
                // a broken connection goes back to the pool, which drops it
            }
        }
        return null;
    }

    private void drain(boolean dispatch) {
        long now = System.currentTimeMillis();
        record Signal(long id, String kind, String target, String origin) {}
        List<Signal> fresh = db.inTransaction(c -> {
            List<Signal> out = new ArrayList<>();
            try (PreparedStatement s = c.prepareStatement(
                    "SELECT id, kind, target, origin FROM rf_signals WHERE created_at >= ? ORDER BY id")) {
                s.setLong(1, now - WINDOW_MS);
                try (ResultSet r = s.executeQuery()) {
                    while (r.next()) {
                        out.add(new Signal(r.getLong(1), r.getString(2), r.getString(3), r.getString(4)));
                    }
                }
            }
            if (now - lastCleanup > WINDOW_MS) {
                lastCleanup = now;
                try (PreparedStatement s = c.prepareStatement("DELETE FROM rf_signals WHERE created_at < ?")) {
                    s.setLong(1, now - KEEP_MS);
                    s.executeUpdate();
                }
            }
            return out;
        });
        for (Signal s : fresh) {
            synchronized (seen) {
                if (seen.put(s.id(), Boolean.TRUE) != null) {
                    continue;
                }
            }
            if (!dispatch || s.origin().equals(settings.replicaId())) {
                continue;
            }
            for (Consumer<String> h : handlers.getOrDefault(s.kind(), List.of())) {
                try {
                    h.accept(s.target());
                } catch (RuntimeException e) {
                    LOG.warn("handling signal {} {} failed: {}", s.kind(), s.target(), e.toString());
                }
            }
        }
    }

    @PreDestroy
    synchronized void close() {
        closed = true;
        if (thread != null) {
            thread.interrupt();
            try {
                thread.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
