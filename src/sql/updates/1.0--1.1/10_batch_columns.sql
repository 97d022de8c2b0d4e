-- Batches (SPEC section 10): the jobs' two new columns, as a fresh 1.1 has them (last, in this
-- order), and the claim indexes that leave out held jobs. ADD COLUMN with these defaults
-- rewrites nothing; the two claim indexes and the retention index are built again (an update
-- of a large table takes the time of three CREATE INDEX).
ALTER TABLE jobkeeper.jobs
  ADD COLUMN batch_ids uuid[],
  ADD COLUMN held boolean NOT NULL DEFAULT false;
DROP INDEX jobkeeper.jobs_claim_idx;
DROP INDEX jobkeeper.jobs_claim_queue_idx;
CREATE INDEX jobs_claim_idx ON jobkeeper.jobs (held, priority, run_after, created_at)
  WHERE status = 'pending';
CREATE INDEX jobs_claim_queue_idx ON jobkeeper.jobs (held, queue, priority, run_after, created_at)
  WHERE status = 'pending';
DROP INDEX jobkeeper.jobs_finished_idx;
CREATE INDEX jobs_finished_idx ON jobkeeper.jobs (finished_at)
  WHERE status IN ('completed', 'failed', 'cancelled') AND batch_ids IS NULL;

-- claim_jobs of 1.1 leaves held jobs out (the library serves both).
CREATE OR REPLACE FUNCTION jobkeeper.claim_jobs(
  worker text, max_jobs integer DEFAULT 1, queues text[] DEFAULT NULL,
  lease interval DEFAULT '5 minutes')
RETURNS SETOF jobkeeper.jobs
LANGUAGE c VOLATILE SECURITY DEFINER
AS 'MODULE_PATHNAME', 'jobkeeper_claim_jobs_1_1';
