package dev.rectify.server.db;

import io.micronaut.data.jdbc.annotation.JdbcRepository;
import io.micronaut.data.model.Pageable;
import io.micronaut.data.model.query.builder.sql.Dialect;
import io.micronaut.data.repository.CrudRepository;
import java.util.List;

@JdbcRepository(dialect = Dialect.POSTGRES)
public interface EventRepository extends CrudRepository<EventRecord, String> {
    /** Newest first, before the cursor. */
    List<EventRecord> findByJobIdAndSeqLessThan(String jobId, long seq, Pageable pageable);

    /** Oldest first, after the cursor (for the event stream). */
    List<EventRecord> findByJobIdAndSeqGreaterThanOrderBySeq(String jobId, long seq);

    void deleteByJobId(String jobId);
}
