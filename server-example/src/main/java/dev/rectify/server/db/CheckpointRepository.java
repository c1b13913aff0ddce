package dev.rectify.server.db;

import io.micronaut.data.jdbc.annotation.JdbcRepository;
import io.micronaut.data.model.Pageable;
import io.micronaut.data.model.query.builder.sql.Dialect;
import io.micronaut.data.repository.CrudRepository;
import java.util.List;
import java.util.Optional;

@JdbcRepository(dialect = Dialect.POSTGRES)
public interface CheckpointRepository extends CrudRepository<CheckpointRecord, String> {
    List<CheckpointRecord> findByJobIdAndSeqLessThan(String jobId, long seq, Pageable pageable);

    Optional<CheckpointRecord> findByCheckpointModel(String checkpointModel);

    List<CheckpointRecord> findByJobId(String jobId);
}
