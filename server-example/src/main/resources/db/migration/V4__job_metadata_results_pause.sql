-- OpenAI's job fields: metadata (up to 16 string pairs, as JSON), result_files (ids of the metrics CSV files, comma
-- separated), estimated_finish (epoch milliseconds, while running); pause_requested asks the worker running a job to
-- stop it at a checkpoint and leave it paused (as cancel_requested asks it to cancel).
ALTER TABLE rf_jobs ADD COLUMN metadata VARCHAR(8000);
ALTER TABLE rf_jobs ADD COLUMN result_files VARCHAR(1000);
ALTER TABLE rf_jobs ADD COLUMN estimated_finish BIGINT;
ALTER TABLE rf_jobs ADD COLUMN pause_requested BOOLEAN DEFAULT FALSE NOT NULL;
