-- Rectify server schema. Portable SQL: runs on PostgreSQL and on H2 (in PostgreSQL mode, as configured).
CREATE TABLE rf_files (
    id VARCHAR(80) PRIMARY KEY,
    seq BIGINT NOT NULL,
    filename VARCHAR(512) NOT NULL,
    purpose VARCHAR(32) NOT NULL,
    bytes BIGINT NOT NULL,
    examples INTEGER NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX rf_files_seq ON rf_files (seq);

CREATE TABLE rf_jobs (
    id VARCHAR(80) PRIMARY KEY,
    seq BIGINT NOT NULL,
    model VARCHAR(200) NOT NULL,
    training_file VARCHAR(80) NOT NULL,
    validation_file VARCHAR(80),
    status VARCHAR(32) NOT NULL,
    method_type VARCHAR(32) NOT NULL,
    hyperparameters VARCHAR(4000) NOT NULL,
    seed BIGINT NOT NULL,
    suffix VARCHAR(64),
    fine_tuned_model VARCHAR(200),
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT,
    error_code VARCHAR(64),
    error_message VARCHAR(4000),
    error_param VARCHAR(64),
    trained_tokens BIGINT,
    last_step INTEGER,
    total_steps INTEGER,
    cancel_requested BOOLEAN NOT NULL
);
CREATE INDEX rf_jobs_seq ON rf_jobs (seq);
CREATE INDEX rf_jobs_status ON rf_jobs (status);

CREATE TABLE rf_job_events (
    id VARCHAR(80) PRIMARY KEY,
    seq BIGINT NOT NULL,
    job_id VARCHAR(80) NOT NULL,
    created_at BIGINT NOT NULL,
    event_level VARCHAR(16) NOT NULL,
    event_type VARCHAR(16) NOT NULL,
    message VARCHAR(4000) NOT NULL,
    data VARCHAR(8000)
);
CREATE INDEX rf_job_events_job ON rf_job_events (job_id, seq);

CREATE TABLE rf_checkpoints (
    id VARCHAR(80) PRIMARY KEY,
    seq BIGINT NOT NULL,
    job_id VARCHAR(80) NOT NULL,
    step_number INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    metrics VARCHAR(4000) NOT NULL,
    checkpoint_model VARCHAR(240) NOT NULL
);
CREATE INDEX rf_checkpoints_job ON rf_checkpoints (job_id, seq);

CREATE TABLE rf_adapters (
    name VARCHAR(200) PRIMARY KEY,
    seq BIGINT NOT NULL,
    adapter_id VARCHAR(128) NOT NULL,
    storage_name VARCHAR(128) NOT NULL,
    base_model VARCHAR(200) NOT NULL,
    job_id VARCHAR(80),
    pinned BOOLEAN NOT NULL,
    source VARCHAR(32) NOT NULL,
    created_at BIGINT NOT NULL,
    bytes BIGINT NOT NULL
);
