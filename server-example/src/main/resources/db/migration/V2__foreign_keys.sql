-- Foreign keys: a job's events and checkpoints belong to it (and go with it); an adapter names the job that made it,
-- if any. Jobs keep the ids of their files as plain text (OpenAI lets a file be deleted once no job is using it; the
-- server refuses to delete a file a queued or running job uses, with 409). Rows that already break a key are cleaned up.
DELETE FROM rf_job_events WHERE job_id NOT IN (SELECT id FROM rf_jobs);
DELETE FROM rf_checkpoints WHERE job_id NOT IN (SELECT id FROM rf_jobs);
UPDATE rf_adapters SET job_id = NULL WHERE job_id IS NOT NULL AND job_id NOT IN (SELECT id FROM rf_jobs);
ALTER TABLE rf_job_events ADD CONSTRAINT rf_job_events_job_fk FOREIGN KEY (job_id) REFERENCES rf_jobs (id) ON DELETE CASCADE;
ALTER TABLE rf_checkpoints ADD CONSTRAINT rf_checkpoints_job_fk FOREIGN KEY (job_id) REFERENCES rf_jobs (id) ON DELETE CASCADE;
ALTER TABLE rf_adapters ADD CONSTRAINT rf_adapters_job_fk FOREIGN KEY (job_id) REFERENCES rf_jobs (id) ON DELETE SET NULL;
