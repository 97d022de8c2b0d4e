-- jobkeeper 1.1 -> 1.0: back to the schema of a fresh 1.0.
--
-- What a downgrade cannot keep: every TTL rule (jobkeeper.ttl_rules, with its counts) is
-- dropped, so the worker stops deleting from those tables; cleanup_runs loses its
-- ttl_rows_deleted column and the rows of TTL runs (source worker_ttl or run_ttl). Note the
-- rules first if you will update again: SELECT tbl, column_name, ttl, batch_size, owner
-- FROM jobkeeper.ttl_rules. Every batch goes too (batches, with its counts and jobs.batch_ids,
-- held), but not the jobs: a job that was held by a paused batch can be claimed again.

DROP FUNCTION jobkeeper.retry_batch(uuid);
DROP FUNCTION jobkeeper.cancel_batch(uuid);
DROP FUNCTION jobkeeper.resume_batch(uuid);
DROP FUNCTION jobkeeper.pause_batch(uuid);
DROP FUNCTION jobkeeper.submit_to_batch(uuid, text, text, text, text, integer, timestamptz, integer, jsonb);
DROP FUNCTION jobkeeper.add_to_batch(uuid, uuid[]);
DROP FUNCTION jobkeeper._lock_batch(uuid, boolean);
DROP FUNCTION jobkeeper.create_batch(text, jsonb);
DROP VIEW jobkeeper.batch_stats;
DROP TRIGGER jobkeeper_batches_insert ON jobkeeper.jobs;
DROP TRIGGER jobkeeper_batches_delete ON jobkeeper.jobs;
DROP TRIGGER jobkeeper_batches_truncate ON jobkeeper.jobs;
DROP FUNCTION jobkeeper.batch_trigger();
DROP TABLE jobkeeper.batch_counts;
DROP TABLE jobkeeper.batch_jobs;
ALTER EXTENSION jobkeeper DROP TABLE jobkeeper.batches;
DROP TABLE jobkeeper.batches;
-- 1.0's claim_jobs, queue_stats, claim and retention indexes (dropping the columns drops the
-- 1.1 ones).
CREATE OR REPLACE FUNCTION jobkeeper.claim_jobs(
  worker text, max_jobs integer DEFAULT 1, queues text[] DEFAULT NULL,
  lease interval DEFAULT '5 minutes')
RETURNS SETOF jobkeeper.jobs
LANGUAGE c VOLATILE SECURITY DEFINER
AS 'MODULE_PATHNAME', 'jobkeeper_claim_jobs';
CREATE OR REPLACE VIEW jobkeeper.queue_stats AS
SELECT j.queue, 'pending'::text AS status, count(*) AS jobs,
       now() - min(j.run_after) FILTER (WHERE j.run_after <= now()) AS oldest_pending_age,
       0::bigint AS expired_leases, false AS estimated
  FROM jobkeeper.jobs j
 WHERE j.status = 'pending'
 GROUP BY j.queue
UNION ALL
SELECT j.queue, 'processing', count(*), NULL,
       count(*) FILTER (WHERE j.lease_expires_at < now()), false
  FROM jobkeeper.jobs j
 WHERE j.status = 'processing'
 GROUP BY j.queue
UNION ALL
SELECT f.kind, f.status, f.estimate, NULL, 0, true
  FROM jobkeeper._finished_estimates f
 WHERE f.table_name = 'jobs';
COMMENT ON VIEW jobkeeper.queue_stats IS
  'per queue and status: job count (estimated for finished statuses), how long the longest-waiting runnable job has waited, expired leases';
ALTER TABLE jobkeeper.jobs DROP COLUMN held, DROP COLUMN batch_ids;
CREATE INDEX jobs_finished_idx ON jobkeeper.jobs (finished_at)
  WHERE status IN ('completed', 'failed', 'cancelled');
CREATE INDEX jobs_claim_idx ON jobkeeper.jobs (priority, run_after, created_at)
  WHERE status = 'pending';
-- claim_jobs with a queue filter, and queue_stats's pending rows.
CREATE INDEX jobs_claim_queue_idx ON jobkeeper.jobs (queue, priority, run_after, created_at)
  WHERE status = 'pending';

DROP EVENT TRIGGER jobkeeper_follow_ttl_renames;
DROP FUNCTION jobkeeper._follow_ttl_renames();
DROP EVENT TRIGGER jobkeeper_retire_ttl_rules;
DROP FUNCTION jobkeeper._retire_ttl_rules();
DROP FUNCTION jobkeeper.run_ttl();
DROP FUNCTION jobkeeper.drop_ttl_rule(regclass, name);
DROP FUNCTION jobkeeper.add_ttl_rule(regclass, name, interval, integer);
-- Leaving the extension first takes the table and its sequence off the list pg_dump dumps
-- (a plain DROP would leave their OIDs in pg_extension.extconfig).
ALTER EXTENSION jobkeeper DROP SEQUENCE jobkeeper.ttl_rules_id_seq;
ALTER EXTENSION jobkeeper DROP TABLE jobkeeper.ttl_rules;
DROP TABLE jobkeeper.ttl_rules;

DELETE FROM jobkeeper.cleanup_runs WHERE source IN ('worker_ttl', 'run_ttl');
ALTER TABLE jobkeeper.cleanup_runs
  DROP COLUMN ttl_rows_deleted,
  DROP CONSTRAINT cleanup_runs_source_valid,
  ADD CONSTRAINT cleanup_runs_source_valid CHECK (source IN ('worker', 'run_cleanup'));
COMMENT ON TABLE jobkeeper.cleanup_runs IS
  'one row per cleanup run (worker or run_cleanup()), newest jobkeeper.cleanup_history kept';

INSERT INTO jobkeeper.schema_history (version, action, from_version) VALUES ('1.0', 'downgrade', '1.1');
