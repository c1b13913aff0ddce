package dev.rectify.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rectify.server.db.JobRecord;
import dev.rectify.server.db.JobRepository;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * Two replicas (two application contexts in this JVM) on one database (PostgreSQL or H2, as the run is) and one
 * shared store: claims are exclusive, an expired lease is taken over, a killed replica's job resumes on the other from
 * its checkpoint, a cancel sent to one replica stops the job running on the other, an adapter trained on one is served
 * by the other, pin and delete reach both, and identical submissions train once.
 */
class ReplicasTest {
    /** Properties of two replicas of one database and one store: each with its own data folder and id. */
    private static List<Map<String, Object>> replicas(String name, String lease) {
        Path store = TestServer.newDataDir(name + "-store");
        Map<String, String> a = TestServer.properties(TestServer.newDataDir(name + "-a"));
        Map<String, String> b = TestServer.properties(TestServer.newDataDir(name + "-b"));
        if (!TestPostgres.enabled()) { // both on one H2 file database (in-process: one engine, two pools)
            a.put(
                    "datasources.default.url",
                    "jdbc:h2:file:" + store.resolve("db/rectify")
                            + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DEFAULT_NULL_ORDERING=HIGH");
        }
        b.put("datasources.default.url", a.get("datasources.default.url"));
        List<Map<String, Object>> out = new ArrayList<>();
        for (Map<String, String> p : List.of(a, b)) {
            Map<String, Object> m = new HashMap<>(p);
            m.put("rectify.store.dir", store.toString());
            m.put("rectify.replica.id", "replica-" + (out.isEmpty() ? "a" : "b"));
            m.put("rectify.replica.lease", lease);
            m.put("rectify.replica.signal-poll", "200ms");
            out.add(m);
        }
        return out;
    }

    private static JsonNode waitFor(Api api, String jobId, Predicate<JsonNode> until, int seconds)
            throws InterruptedException {
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        JsonNode j = null;
        while (System.nanoTime() < end) {
            j = api.get("/v1/fine_tuning/jobs/" + jobId, Api.ADMIN_KEY).json();
            if (until.test(j)) {
                return j;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("timed out; last state " + j);
    }

    private static String events(Api api, String jobId) {
        return api.get("/v1/fine_tuning/jobs/" + jobId + "/events?limit=100", Api.ADMIN_KEY)
                .body();
    }

    private static int count(String text, String part) {
        int n = 0;
        for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + 1)) {
            n++;
        }
        return n;
    }

    private static int chat(Api api, String model) {
        return api.post(
                        "/v1/chat/completions",
                        Api.API_KEY,
                        "{\"model\": \"" + model
                                + "\", \"messages\": [{\"role\": \"user\", \"content\": \"2 + 2?\"}], \"max_tokens\": 3}")
                .status();
    }

    private static JobRecord queued(String id, long seq) {
        JobRecord j = new JobRecord();
        j.setId(id);
        j.setSeq(seq);
        j.setModel("rectify-tiny");
        j.setTrainingFile("file-x");
        j.setStatus(JobStatus.QUEUED.wire());
        j.setMethodType("dft");
        j.setHyperparameters("{}");
        j.setSeed(1);
        j.setCreatedAt(System.currentTimeMillis());
        return j;
    }

    @Test
    void claimsAreExclusiveAndAnExpiredLeaseIsTakenOver() throws Exception {
        List<Map<String, Object>> props = replicas("claims", "2s");
        // contexts without an HTTP server: no workers run, the test claims by hand
        try (ApplicationContext a = ApplicationContext.run(props.get(0));
                ApplicationContext b = ApplicationContext.run(props.get(1))) {
            JobRepository jobs = a.getBean(JobRepository.class);
            int n = 24;
            for (int i = 0; i < n; i++) {
                jobs.save(queued(String.format("ftjob-claim%02d", i), 1000 + i));
            }
            Map<String, List<String>> claimedBy = new ConcurrentHashMap<>();
            ExecutorService pool = Executors.newFixedThreadPool(8);
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                ApplicationContext ctx = t % 2 == 0 ? a : b;
                String who = t % 2 == 0 ? "replica-a" : "replica-b";
                JobQueue q = ctx.getBean(JobQueue.class);
                fs.add(pool.submit(() -> {
                    for (JobQueue.Claim c; (c = q.claim().orElse(null)) != null; ) {
                        assertFalse(c.takenOver());
                        claimedBy
                                .computeIfAbsent(c.job().getId(), k -> new CopyOnWriteArrayList<>())
                                .add(who);
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get(60, TimeUnit.SECONDS);
            }
            pool.shutdown();
            assertEquals(n, claimedBy.size(), "every job claimed");
            claimedBy.forEach((id, who) -> assertEquals(1, who.size(), id + " claimed by " + who));
            for (String id : claimedBy.keySet()) {
                assertEquals(
                        JobStatus.RUNNING.wire(),
                        jobs.findById(id).orElseThrow().getStatus());
            }
            JobQueue qa = a.getBean(JobQueue.class);
            JobQueue qb = b.getBean(JobQueue.class);
            assertTrue(qb.claim().isEmpty(), "jobs under live leases are not claimed");

            // replica a keeps renewing one of its jobs; the leases of all the others expire
            String kept = claimedBy.entrySet().stream()
                    .filter(e -> e.getValue().get(0).equals("replica-a"))
                    .findFirst()
                    .orElseThrow()
                    .getKey();
            long end = System.nanoTime() + 2_600_000_000L;
            while (System.nanoTime() < end) {
                assertEquals(JobQueue.LeaseState.HELD, qa.renew(kept));
                Thread.sleep(300);
            }
            Set<String> taken = new HashSet<>();
            for (JobQueue.Claim c; (c = qb.claim().orElse(null)) != null; ) {
                assertTrue(c.takenOver(), c.job().getId());
                assertEquals(claimedBy.get(c.job().getId()).get(0), c.previousOwner());
                taken.add(c.job().getId());
            }
            Set<String> expected = new HashSet<>(claimedBy.keySet());
            expected.remove(kept);
            assertEquals(expected, taken, "every expired lease, and only those, taken over");
            String lost = claimedBy.entrySet().stream()
                    .filter(e -> e.getValue().get(0).equals("replica-a")
                            && !e.getKey().equals(kept))
                    .findFirst()
                    .orElseThrow()
                    .getKey();
            assertEquals(JobQueue.LeaseState.LOST, qa.renew(lost), "a lease taken over is lost to its old owner");
            assertFalse(qa.finish(lost, JobStatus.FAILED, "x", "x"), "only the lease holder ends a running job");
            assertTrue(qb.finish(lost, JobStatus.SUCCEEDED, null, null));
            jobs.requestCancel(kept);
            assertEquals(
                    JobQueue.LeaseState.CANCEL_REQUESTED,
                    qa.renew(kept),
                    "a cancel asked for anywhere reaches the holder");
        }
    }

    @Test
    void replicasShareJobsAdaptersCancelsAndTrainIdenticalJobsOnce() throws Exception {
        List<Map<String, Object>> props = replicas("share", "3s");
        try (EmbeddedServer a = ApplicationContext.run(EmbeddedServer.class, props.get(0))) {
            Api apiA = new Api(a.getURL().toString());
            Api.Response up = apiA.upload(Api.ADMIN_KEY, "math.jsonl", Api.mathLines(12), "fine-tune");
            assertEquals(200, up.status(), up.body());
            String file = up.json().get("id").asText();
            String longJob = apiA.post("/v1/fine_tuning/jobs", Api.ADMIN_KEY, TestServer.job(file, 400, "long"))
                    .json()
                    .get("id")
                    .asText();
            waitFor(apiA, longJob, j -> j.at("/progress/step").asInt() >= 1, 120);
            try (EmbeddedServer b = ApplicationContext.run(EmbeddedServer.class, props.get(1))) {
                Api apiB = new Api(b.getURL().toString());
                // a cancel sent to replica b stops the job replica a runs
                JsonNode c = apiB.post("/v1/fine_tuning/jobs/" + longJob + "/cancel", Api.ADMIN_KEY, "")
                        .json();
                assertEquals(longJob, c.get("id").asText(), c.toString());
                JsonNode done =
                        waitFor(apiA, longJob, j -> !j.get("status").asText().equals("running"), 15);
                assertEquals("cancelled", done.get("status").asText(), done.toString());
                int step = done.at("/progress/step").asInt();
                assertTrue(step < 400, "stopped early");
                Thread.sleep(800);
                assertEquals(
                        step,
                        apiB.get("/v1/fine_tuning/jobs/" + longJob, Api.ADMIN_KEY)
                                .json()
                                .at("/progress/step")
                                .asInt(),
                        "no steps after the cancel");

                // two identical submissions, one to each replica (suffixes differ; the fine-tune is the same): trained
                // once
                String one = apiA.post("/v1/fine_tuning/jobs", Api.ADMIN_KEY, TestServer.job(file, 4, "one"))
                        .json()
                        .get("id")
                        .asText();
                String two = apiB.post("/v1/fine_tuning/jobs", Api.ADMIN_KEY, TestServer.job(file, 4, "two"))
                        .json()
                        .get("id")
                        .asText();
                JsonNode j1 = waitFor(
                        apiB, one, j -> JobStatus.of(j.get("status").asText()).isTerminal(), 120);
                JsonNode j2 = waitFor(
                        apiA, two, j -> JobStatus.of(j.get("status").asText()).isTerminal(), 120);
                assertEquals("succeeded", j1.get("status").asText(), j1.toString());
                assertEquals("succeeded", j2.get("status").asText(), j2.toString());
                String e1 = events(apiA, one);
                String e2 = events(apiB, two);
                assertEquals(1, count(e1 + e2, "Reused the adapter of the identical job"), e1 + "\n" + e2);
                assertEquals(1, count(e1 + e2, "Step 4/4: training"), "one training: " + e1 + "\n" + e2);
                assertEquals(1, count(e1, "Fine-tuning job started"), "claimed once: " + e1);
                assertEquals(1, count(e2, "Fine-tuning job started"), "claimed once: " + e2);

                // each adapter is served by both replicas
                String m1 = j1.get("fine_tuned_model").asText();
                String m2 = j2.get("fine_tuned_model").asText();
                for (Api api : List.of(apiA, apiB)) {
                    assertEquals(200, chat(api, m1), m1);
                    assertEquals(200, chat(api, m2), m2);
                }
                // pin on a: b holds it pinned and loaded too; delete on b: a stops serving it
                assertEquals(
                        200,
                        apiA.post("/v1/admin/adapters/" + m1 + "/pin", Api.ADMIN_KEY, "")
                                .status());
                JsonNode pinned =
                        apiB.get("/v1/admin/adapters/" + m1, Api.ADMIN_KEY).json();
                assertTrue(pinned.get("pinned").asBoolean(), pinned.toString());
                long end = System.nanoTime() + 5_000_000_000L;
                while (!apiB.get("/v1/admin/adapters/" + m1, Api.ADMIN_KEY)
                                .json()
                                .get("loaded")
                                .asBoolean()
                        && System.nanoTime() < end) {
                    Thread.sleep(100);
                }
                assertTrue(
                        apiB.get("/v1/admin/adapters/" + m1, Api.ADMIN_KEY)
                                .json()
                                .get("loaded")
                                .asBoolean(),
                        "pinned on b too");
                assertEquals(
                        200,
                        apiB.delete("/v1/admin/adapters/" + m2, Api.ADMIN_KEY).status());
                end = System.nanoTime() + 5_000_000_000L;
                int status = 200;
                while (status == 200 && System.nanoTime() < end) {
                    status = chat(apiA, m2);
                    Thread.sleep(100);
                }
                assertEquals(404, status, "a deleted adapter is no longer served by the other replica");
                assertEquals(200, chat(apiA, m1), "the identical job's own copy still serves");
            }
        }
    }

    @Test
    void aKilledReplicasJobIsResumedByTheOtherFromItsCheckpoint() throws Exception {
        List<Map<String, Object>> props = replicas("kill", "2s");
        String jobId;
        int stepAtKill;
        Api apiA;
        try (EmbeddedServer b = ApplicationContext.run(EmbeddedServer.class, props.get(1))) {
            Api apiB = new Api(b.getURL().toString());
            EmbeddedServer a = ApplicationContext.run(EmbeddedServer.class, props.get(0));
            try {
                apiA = new Api(a.getURL().toString());
                Api.Response up = apiA.upload(Api.ADMIN_KEY, "math.jsonl", Api.mathLines(12), "fine-tune");
                String file = up.json().get("id").asText();
                // b is busy with a job of its own, so a claims the next one
                String busy = apiB.post("/v1/fine_tuning/jobs", Api.ADMIN_KEY, TestServer.job(file, 3, "busy"))
                        .json()
                        .get("id")
                        .asText();
                waitFor(apiB, busy, j -> j.get("status").asText().equals("running"), 60);
                jobId = apiA.post("/v1/fine_tuning/jobs", Api.ADMIN_KEY, TestServer.job(file, 10, "kill"))
                        .json()
                        .get("id")
                        .asText();
                JsonNode j = waitFor(apiA, jobId, x -> x.at("/progress/step").asInt() >= 2, 120);
                stepAtKill = j.at("/progress/step").asInt();
                assertTrue(events(apiA, jobId).contains("Fine-tuning job started"));
                a.getApplicationContext()
                        .getBean(JobRunner.class)
                        .halt(); // as kill -9: no more renewals, nothing written
            } finally {
                a.close();
            }
            JsonNode j = waitFor(
                    apiB, jobId, x -> JobStatus.of(x.get("status").asText()).isTerminal(), 120);
            assertEquals("succeeded", j.get("status").asText(), j.toString());
            assertEquals(10, j.at("/progress/step").asInt());
            assertTrue(stepAtKill < 10, "killed mid-run at step " + stepAtKill);
            String ev = events(apiB, jobId);
            assertTrue(
                    ev.contains("The replica running the job (replica-a) stopped; resuming from checkpoint at step"),
                    ev);
            assertTrue(ev.contains("on replica replica-b"), ev);
            assertTrue(ev.contains("Training resuming from the checkpoint of step"), ev);
            assertFalse(ev.contains("Server shutting down"), "a killed replica writes nothing: " + ev);
            assertEquals(200, chat(apiB, j.get("fine_tuned_model").asText()));
            assertNotNull(j.get("fine_tuned_model"));
        }
    }
}
