package dev.rectify.server.db;

import io.micronaut.data.annotation.Query;
import io.micronaut.data.jdbc.annotation.JdbcRepository;
import io.micronaut.data.model.Pageable;
import io.micronaut.data.model.query.builder.sql.Dialect;
import io.micronaut.data.repository.CrudRepository;
import java.util.List;

/** Uploaded training files (rf_files). */
@JdbcRepository(dialect = Dialect.POSTGRES)
public interface FileRepository extends CrudRepository<FileRecord, String> {
    List<FileRecord> findBySeqLessThan(long seq, Pageable pageable);

    /** Ids of the jobs that have not finished (validating, queued or running) and read the file. */
    @Query("SELECT id FROM rf_jobs WHERE (training_file = :fileId OR validation_file = :fileId) "
            + "AND status NOT IN ('succeeded', 'failed', 'cancelled') ORDER BY seq")
    List<String> unfinishedJobsUsing(String fileId);
}
