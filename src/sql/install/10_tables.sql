-- Tables, constraints and indexes (SPEC section 2).
--
-- Values: the rules on a row's values (non-empty names, the hash's format, the queue's length
-- of at most 255 characters, ranges, JSON shapes, a failed row's error, a completed export's
-- file; src/core/row_checks.cpp) are checked by the status trigger (jobkeeper_00_status) when a
-- row is stored, refused rows with 23514 naming the row and the value. They are not CHECK
-- constraints: PostgreSQL compiles every CHECK expression of a table again for each statement
-- that writes it, from its stored form, which cost the job lifecycle more than the checks.
--
-- Storage: rows are inserted, updated a handful of times (claim, progress, finish) and then
-- deleted by retention, so dead tuples pile up quickly in a table of modest live size.
-- fillfactor 80 leaves room on each page for progress/heartbeat updates to stay HOT (they
-- touch no indexed column), and autovacuum starts after ~2% of the rows are dead instead of
-- the default 20%, without cost-based sleeping, so the claim indexes do not bloat.

CREATE TABLE jobkeeper.jobs (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  file_name        varchar(255) NOT NULL,
  file_path        text NOT NULL,
  file_hash        varchar(64),
  queue            text NOT NULL DEFAULT 'default',
  status           text NOT NULL DEFAULT 'pending',
  workflow_state   varchar(50),
  progress         smallint NOT NULL DEFAULT 0,
  priority         integer NOT NULL DEFAULT 0,
  attempts         integer NOT NULL DEFAULT 0,
  max_attempts     integer NOT NULL DEFAULT 3,
  run_after        timestamptz NOT NULL DEFAULT now(),
  locked_by        text,
  lease_expires_at timestamptz,
  error_message    text,
  errors           jsonb NOT NULL DEFAULT '[]',
  metadata         jsonb NOT NULL DEFAULT '{}',
  submit_count     integer NOT NULL DEFAULT 1,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  started_at       timestamptz,
  finished_at      timestamptz,
  -- The batches the job is in (SPEC section 10), null for a job in none: the status trigger
  -- keeps their counts from it, and a job outside batches pays one null test. Written by
  -- create_batch's functions; held marks a job of a paused batch, kept out of the claims.
  batch_ids        uuid[],
  held             boolean NOT NULL DEFAULT false,
  CONSTRAINT jobs_file_hash_unique UNIQUE (file_hash)
) WITH (fillfactor = 80,
        autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000,
        autovacuum_vacuum_insert_scale_factor = 0.05, autovacuum_analyze_scale_factor = 0.02,
        autovacuum_vacuum_cost_delay = 0);
COMMENT ON TABLE jobkeeper.jobs IS 'one uploaded file''s processing; status rules enforced by jobkeeper.status_trigger()';

-- claim_jobs without a queue filter: an ordered scan of exactly the claimable rows (held =
-- false: a paused batch's pending jobs are held, in a key range of their own that claims
-- never read), and the lookups of pending jobs.
CREATE INDEX jobs_claim_idx ON jobkeeper.jobs (held, priority, run_after, created_at)
  WHERE status = 'pending';
-- claim_jobs with a queue filter, and queue_stats's pending rows.
CREATE INDEX jobs_claim_queue_idx ON jobkeeper.jobs (held, queue, priority, run_after, created_at)
  WHERE status = 'pending';
-- Retention: finished rows outside batches in the order they expire. A batch's jobs are found
-- through batch_jobs once the batch is done: the finished jobs of a batch still open never
-- stand in the way of the others (SPEC section 10).
CREATE INDEX jobs_finished_idx ON jobkeeper.jobs (finished_at)
  WHERE status IN ('completed', 'failed', 'cancelled') AND batch_ids IS NULL;
-- Lease reaper: processing rows by lease end; the queue for queue_stats, read from the index.
CREATE INDEX jobs_lease_idx ON jobkeeper.jobs (lease_expires_at) INCLUDE (queue)
  WHERE status = 'processing';
-- Lookups by status: pending and processing rows through the two partial indexes above, failed
-- and cancelled ones (few) through this one, completed ones (most of the table) through the
-- finished index. No index on status for every row: a status change is never a HOT update,
-- and the job lifecycle would write one more index entry at each step (sql/indexes.sql shows
-- the plans).
CREATE INDEX jobs_failed_idx ON jobkeeper.jobs (status, finished_at)
  WHERE status IN ('failed', 'cancelled');
CREATE INDEX jobs_created_at_idx ON jobkeeper.jobs (created_at);
-- duplicate_hashes: only the few rows dedup ever hit.
CREATE INDEX jobs_resubmitted_idx ON jobkeeper.jobs (file_hash) WHERE submit_count > 1;

CREATE TABLE jobkeeper.export_jobs (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  job_id           uuid NOT NULL REFERENCES jobkeeper.jobs (id) ON DELETE CASCADE,
  export_type      text NOT NULL,
  status           text NOT NULL DEFAULT 'pending',
  progress         smallint NOT NULL DEFAULT 0,
  file_path        text,
  error_message    text,
  attempts         integer NOT NULL DEFAULT 0,
  max_attempts     integer NOT NULL DEFAULT 3,
  locked_by        text,
  lease_expires_at timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  started_at       timestamptz,
  finished_at      timestamptz
) WITH (fillfactor = 80,
        autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000,
        autovacuum_vacuum_insert_scale_factor = 0.05, autovacuum_analyze_scale_factor = 0.02,
        autovacuum_vacuum_cost_delay = 0);
COMMENT ON TABLE jobkeeper.export_jobs IS 'one export generated from a job; status rules as jobs';

-- At most one active export per job and type; request_export relies on it.
CREATE UNIQUE INDEX export_jobs_active_idx ON jobkeeper.export_jobs (job_id, export_type)
  WHERE status IN ('pending', 'processing');
CREATE INDEX export_jobs_job_id_idx ON jobkeeper.export_jobs (job_id);
-- Claims and export_stats (which reads the export type from the index, as below).
CREATE INDEX export_jobs_claim_idx ON jobkeeper.export_jobs (created_at) INCLUDE (export_type)
  WHERE status = 'pending';
CREATE INDEX export_jobs_finished_idx ON jobkeeper.export_jobs (finished_at)
  WHERE status IN ('completed', 'failed', 'cancelled');
CREATE INDEX export_jobs_lease_idx ON jobkeeper.export_jobs (lease_expires_at) INCLUDE (export_type)
  WHERE status = 'processing';
-- By status: the claim, lease and finished indexes and this one between them, as for jobs.
CREATE INDEX export_jobs_failed_idx ON jobkeeper.export_jobs (status, finished_at)
  WHERE status IN ('failed', 'cancelled');
CREATE INDEX export_jobs_created_at_idx ON jobkeeper.export_jobs (created_at);

-- pg_dump keeps every row of both tables.
SELECT pg_catalog.pg_extension_config_dump('jobkeeper.jobs', '');
SELECT pg_catalog.pg_extension_config_dump('jobkeeper.export_jobs', '');
