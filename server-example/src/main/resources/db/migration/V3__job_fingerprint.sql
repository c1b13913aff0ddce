-- The SDK job service's fingerprint of a job's inputs (its adapter id): a restart resumes a job only when it matches.
ALTER TABLE rf_jobs ADD COLUMN fingerprint VARCHAR(128);
