package dev.rectify.server.db;

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
}
