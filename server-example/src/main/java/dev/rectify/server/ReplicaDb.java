package dev.rectify.server;

import io.micronaut.data.connection.jdbc.advice.DelegatingDataSource;
import jakarta.inject.Singleton;
import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;

/**
 * Plain JDBC on the server's database for what replicas coordinate through: row locks ({@code FOR UPDATE SKIP
 * LOCKED}) and leases held only within one explicit transaction, and PostgreSQL's {@code LISTEN/NOTIFY}. It uses the
 * pool underneath Micronaut's transaction-aware data source, so its transactions are its own.
 */
@Singleton
public class ReplicaDb {
    private final DataSource pool;
    private final boolean postgres;

    public ReplicaDb(DataSource dataSource) {
        this.pool = DelegatingDataSource.unwrapDataSource(dataSource);
        try (Connection c = pool.getConnection()) {
            this.postgres =
                    c.getMetaData().getDatabaseProductName().toLowerCase().contains("postgresql");
        } catch (SQLException e) {
            throw new IllegalStateException("cannot open the database: " + e.getMessage(), e);
        }
    }

    /** Work on one connection. */
    @FunctionalInterface
    public interface Work<T> {
        T run(Connection c) throws SQLException;
    }

    /** Whether the database is PostgreSQL (else H2). */
    public boolean postgres() {
        return postgres;
    }

    /** Runs {@code work} in one transaction: committed when it returns, rolled back when it throws. */
    public <T> T inTransaction(Work<T> work) {
        try (Connection c = pool.getConnection()) {
            c.setAutoCommit(false);
            try {
                T t = work.run(c);
                c.commit();
                return t;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            } finally {
                c.setAutoCommit(true);
            }
        } catch (SQLException e) {
            throw new IllegalStateException("database error: " + e.getMessage(), e);
        }
    }

    /** A connection of the pool, for a caller that holds it (a LISTEN); close it to give it back. */
    public Connection open() throws SQLException {
        return pool.getConnection();
    }
}
