package dev.rectify.server.db;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.data.annotation.Query;
import io.micronaut.data.jdbc.annotation.JdbcRepository;
import io.micronaut.data.model.Pageable;
import io.micronaut.data.model.query.builder.sql.Dialect;
import io.micronaut.data.repository.CrudRepository;
import java.util.Collection;
import java.util.List;

/** Jobs; {@link #claim} is the queue's atomic status change (one server or several on one database). */
@JdbcRepository(dialect = Dialect.POSTGRES)
public interface JobRepository extends CrudRepository<JobRecord, String> {
    List<JobRecord> findBySeqLessThan(long seq, Pageable pageable);

    List<JobRecord> findByStatusInOrderBySeq(Collection<String> statuses);

    long countByStatus(String status);

    /** Sets the status to {@code to} only where it is {@code from}; returns the rows changed (0: someone else did). */
    @Query("UPDATE rf_jobs SET status = :to WHERE id = :id AND status = :from")
    long claim(String id, String from, String to);

    /** Asks for job {@code id} to be cancelled (only this column: a replica writing progress does not undo it). */
    @Query("UPDATE rf_jobs SET cancel_requested = TRUE WHERE id = :id")
    long requestCancel(String id);

    /** Records a running job's progress and estimated finish, epoch ms or null (only these columns). */
    @Query(
            "UPDATE rf_jobs SET last_step = :step, total_steps = :total, estimated_finish = :estimatedFinish WHERE id = :id")
    long progress(String id, int step, int total, @Nullable Long estimatedFinish);

    /** Asks for job {@code id} to be paused at its next checkpoint (only this column). */
    @Query("UPDATE rf_jobs SET pause_requested = TRUE WHERE id = :id")
    long requestPause(String id);

    /** Withdraws a pause request (only this column). */
    @Query("UPDATE rf_jobs SET pause_requested = FALSE WHERE id = :id")
    long clearPauseRequest(String id);

    /** A job its worker stopped at a checkpoint on request: paused, its lease given up, no estimate. */
    @Query(
            "UPDATE rf_jobs SET status = 'paused', pause_requested = FALSE, estimated_finish = NULL, lease_owner = NULL, "
                    + "lease_expires = NULL WHERE id = :id")
    long markPaused(String id);

    /** Records the SDK's fingerprint of a job's inputs (only this column). */
    @Query("UPDATE rf_jobs SET fingerprint = :fingerprint WHERE id = :id")
    long fingerprint(String id, String fingerprint);

    /** Records when a job first started (kept when it resumes). */
    @Query("UPDATE rf_jobs SET started_at = :at WHERE id = :id AND started_at IS NULL")
    long started(String id, long at);
}
