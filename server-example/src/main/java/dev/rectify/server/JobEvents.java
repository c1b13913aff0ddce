package dev.rectify.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rectify.server.db.CheckpointRecord;
import dev.rectify.server.db.CheckpointRepository;
import dev.rectify.server.db.EventRecord;
import dev.rectify.server.db.EventRepository;
import io.micronaut.data.model.Pageable;
import io.micronaut.data.model.Sort;
import jakarta.inject.Singleton;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import reactor.core.Disposable;
import reactor.core.publisher.ConnectableFlux;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Sinks;

/**
 * A job's events and checkpoints: saved in the database (for the paged API) and pushed to live subscribers through
 * one Reactor sink per job (for the SSE stream), which {@link #close} completes when the job ends. A job's last
 * events are recorded before its terminal status, so a stream that finds the job ended reads them all from the
 * database.
 */
@Singleton
public class JobEvents {
    private final EventRepository events;
    private final CheckpointRepository checkpoints;
    private final Map<String, Sinks.Many<EventRecord>> live = new ConcurrentHashMap<>();

    public JobEvents(EventRepository events, CheckpointRepository checkpoints) {
        this.events = events;
        this.checkpoints = checkpoints;
    }

    /** Saves an event and pushes it to the job's subscribers. */
    public EventRecord record(String jobId, String level, String type, String message, ObjectNode data) {
        EventRecord e = new EventRecord();
        e.setId(Ids.newId("ftevent"));
        e.setSeq(Ids.seq());
        e.setJobId(jobId);
        e.setCreatedAt(System.currentTimeMillis());
        e.setEventLevel(level);
        e.setEventType(type);
        e.setMessage(message.length() > 3900 ? message.substring(0, 3900) : message);
        e.setData(data == null ? null : Json.write(data));
        events.save(e);
        Sinks.Many<EventRecord> sink = live.get(jobId);
        if (sink != null) {
            synchronized (sink) {
                sink.tryEmitNext(e); // no subscriber, or one gone: nothing to deliver
            }
        }
        return e;
    }

    /** An informational message event. */
    public EventRecord message(String jobId, String message) {
        return record(jobId, "info", "message", message, null);
    }

    /** Saves a checkpoint of {@code jobId} at {@code step}, served as model {@code model}. */
    public void checkpoint(String jobId, String model, int step, ObjectNode metrics) {
        CheckpointRecord c = new CheckpointRecord();
        c.setId(Ids.newId("ftckpt"));
        c.setSeq(Ids.seq());
        c.setJobId(jobId);
        c.setStepNumber(step);
        c.setCreatedAt(System.currentTimeMillis());
        c.setMetrics(Json.write(metrics));
        c.setCheckpointModel(model);
        checkpoints.save(c);
    }

    /** The job has ended: its live streams complete. */
    public void close(String jobId) {
        Sinks.Many<EventRecord> sink = live.remove(jobId);
        if (sink != null) {
            synchronized (sink) {
                sink.tryEmitComplete();
            }
        }
    }

    /**
     * Every event of {@code jobId}, oldest first: the saved ones, then live ones as they happen until the job ends
     * ({@code ended} says whether it has, read after subscribing to the live events so that none is missed).
     */
    public Flux<EventRecord> stream(String jobId, BooleanSupplier ended) {
        return Flux.defer(() -> {
            Sinks.Many<EventRecord> sink =
                    live.computeIfAbsent(jobId, k -> Sinks.many().multicast().directBestEffort());
            ConnectableFlux<EventRecord> fresh = sink.asFlux().replay();
            Disposable connection = fresh.connect();
            boolean over = ended.getAsBoolean();
            List<EventRecord> past = events.findByJobIdAndSeqGreaterThanOrderBySeq(jobId, Long.MIN_VALUE);
            long last =
                    past.isEmpty() ? Long.MIN_VALUE : past.get(past.size() - 1).getSeq();
            if (over) {
                live.remove(jobId, sink);
            }
            Flux<EventRecord> rest = over ? Flux.empty() : fresh.filter(e -> e.getSeq() > last);
            return Flux.fromIterable(past).concatWith(rest).doFinally(s -> connection.dispose());
        });
    }

    /** A page of events, newest first, before {@code beforeSeq}. */
    public List<EventRecord> page(String jobId, long beforeSeq, int limit) {
        return events.findByJobIdAndSeqLessThan(
                jobId, beforeSeq, Pageable.from(0, limit, Sort.of(Sort.Order.desc("seq"))));
    }

    /** A page of checkpoints, newest first, before {@code beforeSeq}. */
    public List<CheckpointRecord> checkpoints(String jobId, long beforeSeq, int limit) {
        return checkpoints.findByJobIdAndSeqLessThan(
                jobId, beforeSeq, Pageable.from(0, limit, Sort.of(Sort.Order.desc("seq"))));
    }

    EventRepository eventRepository() {
        return events;
    }

    CheckpointRepository checkpointRepository() {
        return checkpoints;
    }
}
