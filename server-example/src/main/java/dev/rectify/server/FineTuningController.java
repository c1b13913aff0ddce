package dev.rectify.server;

import dev.rectify.server.db.CheckpointRecord;
import dev.rectify.server.db.EventRecord;
import dev.rectify.server.db.JobRecord;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Consumes;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.http.sse.Event;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.micronaut.serde.ObjectMapper;
import jakarta.validation.Valid;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import reactor.core.publisher.Flux;
import reactor.core.scheduler.Schedulers;

/** {@code /v1/fine_tuning/jobs}: create, list, get, events (also as SSE), checkpoints, cancel, pause, resume. Admin key. */
@Controller("/v1/fine_tuning/jobs")
@ExecuteOn(TaskExecutors.BLOCKING)
public class FineTuningController {
    private final JobService jobs;
    private final ObjectMapper mapper;

    public FineTuningController(JobService jobs, ObjectMapper mapper) {
        this.jobs = jobs;
        this.mapper = mapper;
    }

    @Post
    @Consumes(MediaType.APPLICATION_JSON)
    public FineTuningJobObject create(@Valid @Body @Nullable FineTuningJobBody body) {
        return FineTuningJobObject.of(jobs.create(Json.present(body)));
    }

    @Get
    public ListPage<FineTuningJobObject> list(@QueryValue @Nullable String after, @QueryValue @Nullable String limit) {
        int n = Paging.limit(limit);
        List<JobRecord> page = jobs.list(after, n + 1);
        List<FineTuningJobObject> items =
                page.stream().limit(n).map(FineTuningJobObject::of).toList();
        return ListPage.of(items, FineTuningJobObject::id, page.size() > n);
    }

    @Get("/{jobId}")
    public FineTuningJobObject get(@PathVariable String jobId) {
        return FineTuningJobObject.of(jobs.get(jobId));
    }

    @Post("/{jobId}/cancel")
    public FineTuningJobObject cancel(@PathVariable String jobId) {
        return FineTuningJobObject.of(jobs.cancel(jobId));
    }

    /** Stops the job at a checkpoint; it stays paused until resumed. */
    @Post("/{jobId}/pause")
    public FineTuningJobObject pause(@PathVariable String jobId) {
        return FineTuningJobObject.of(jobs.pause(jobId));
    }

    /** Queues a paused job again: it continues from its checkpoint. */
    @Post("/{jobId}/resume")
    public FineTuningJobObject resume(@PathVariable String jobId) {
        return FineTuningJobObject.of(jobs.resume(jobId));
    }

    @Get("/{jobId}/checkpoints")
    public ListPage<CheckpointObject> checkpoints(
            @PathVariable String jobId, @QueryValue @Nullable String after, @QueryValue @Nullable String limit) {
        int n = Paging.limit(limit);
        List<CheckpointRecord> page = jobs.checkpoints(jobId, after, n + 1);
        List<CheckpointObject> items =
                page.stream().limit(n).map(CheckpointObject::of).toList();
        return ListPage.of(items, CheckpointObject::id, page.size() > n);
    }

    /**
     * The job's events, newest first and paged ({@code after}, {@code limit}); with {@code stream=true}, an SSE stream
     * of every event oldest first, pushed live (no polling) until the job ends, then {@code data: [DONE]}.
     */
    @Get(
            uri = "/{jobId}/events",
            produces = {MediaType.APPLICATION_JSON, MediaType.TEXT_EVENT_STREAM})
    public HttpResponse<?> events(
            @PathVariable String jobId,
            @QueryValue @Nullable String after,
            @QueryValue @Nullable String limit,
            @QueryValue @Nullable String stream) {
        if (stream != null && !stream.equals("false") && !stream.equals("true")) {
            throw ApiException.invalid("stream", "'stream' must be true or false, got " + Ids.quote(stream));
        }
        if ("true".equals(stream)) {
            return HttpResponse.status(HttpStatus.OK)
                    .contentType(MediaType.TEXT_EVENT_STREAM_TYPE)
                    .body(stream(jobId));
        }
        int n = Paging.limit(limit);
        List<EventRecord> page = jobs.events(jobId, after, n + 1);
        List<JobEventObject> items =
                page.stream().limit(n).map(JobEventObject::of).toList();
        return HttpResponse.ok(ListPage.of(items, JobEventObject::id, page.size() > n))
                .contentType(MediaType.APPLICATION_JSON_TYPE);
    }

    /** The job's events as SSE, pushed as they are recorded, then {@code [DONE]} when the job has ended. */
    private Flux<Event<String>> stream(String jobId) {
        return jobs.stream(jobId)
                .map(e -> Event.of(write(JobEventObject.of(e))).id(e.getId()))
                .concatWith(Flux.just(Event.of("[DONE]")))
                .subscribeOn(Schedulers.boundedElastic());
    }

    private String write(Object value) {
        try {
            return mapper.writeValueAsString(value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
