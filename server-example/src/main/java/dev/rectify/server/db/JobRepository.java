package dev.rectify.server.db;

import io.micronaut.data.jdbc.annotation.JdbcRepository;
import io.micronaut.data.model.Pageable;
import io.micronaut.data.model.query.builder.sql.Dialect;
import io.micronaut.data.repository.CrudRepository;
import java.util.Collection;
import java.util.List;

@JdbcRepository(dialect = Dialect.POSTGRES)
public interface JobRepository extends CrudRepository<JobRecord, String> {
    List<JobRecord> findBySeqLessThan(long seq, Pageable pageable);

    List<JobRecord> findByStatusInOrderBySeq(Collection<String> statuses);
}
