package dev.rectify.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
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
import jakarta.validation.Valid;
import java.util.List;
import reactor.core.publisher.Flux;
import reactor.core.scheduler.Schedulers;

/** {@code /v1/fine_tuning/jobs}: create, list, get, events (also as SSE), checkpoints, cancel, pause, resume. Admin key. */
@Controller("/v1/fine_tuning/jobs")
@ExecuteOn(TaskExecutors.BLOCKING)
public class FineTuningController {
    private final JobService jobs;

    public FineTuningController(JobService jobs) {
        this.jobs = jobs;
    }

    @Post
    @Consumes(MediaType.APPLICATION_JSON)
    public HttpResponse<String> create(@Valid @Body @Nullable FineTuningJobBody body) {
        return Json.ok(JobMapping.json(jobs.create(Json.present(body))));
    }

    @Get
    public HttpResponse<String> list(@QueryValue @Nullable String after, @QueryValue @Nullable String limit) {
        int n = Paging.limit(limit);
        List<JobRecord> page = jobs.list(after, n + 1);
        List<ObjectNode> items = page.stream().limit(n).map(JobMapping::json).toList();
        return Json.ok(Json.list(items, page.size() > n));
    }

    @Get("/{jobId}")
    public HttpResponse<String> get(@PathVariable String jobId) {
        return Json.ok(JobMapping.json(jobs.get(jobId)));
    }

    @Post("/{jobId}/cancel")
    public HttpResponse<String> cancel(@PathVariable String jobId) {
        return Json.ok(JobMapping.json(jobs.cancel(jobId)));
    }

    /** Stops the job at a checkpoint; it stays paused until resumed. */
    @Post("/{jobId}/pause")
    public HttpResponse<String> pause(@PathVariable String jobId) {
        return Json.ok(JobMapping.json(jobs.pause(jobId)));
    }

    /** Queues a paused job again: it continues from its checkpoint. */
    @Post("/{jobId}/resume")
    public HttpResponse<String> resume(@PathVariable String jobId) {
        return Json.ok(JobMapping.json(jobs.resume(jobId)));
    }

    @Get("/{jobId}/checkpoints")
    public HttpResponse<String> checkpoints(
            @PathVariable String jobId, @QueryValue @Nullable String after, @QueryValue @Nullable String limit) {
        int n = Paging.limit(limit);
        List<CheckpointRecord> page = jobs.checkpoints(jobId, after, n + 1);
        return Json.ok(Json.list(page.stream().limit(n).map(JobMapping::json).toList(), page.size() > n));
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
        return Json.ok(Json.list(page.stream().limit(n).map(JobMapping::json).toList(), page.size() > n));
    }

    /** The job's events as SSE, pushed as they are recorded, then {@code [DONE]} when the job has ended. */
    private Flux<Event<String>> stream(String jobId) {
        return jobs.stream(jobId)
                .map(e -> Event.of(Json.write(JobMapping.json(e))).id(e.getId()))
                .concatWith(Flux.just(Event.of("[DONE]")))
                .subscribeOn(Schedulers.boundedElastic());
    }
}
