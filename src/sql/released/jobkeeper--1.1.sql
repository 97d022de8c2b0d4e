-- jobkeeper install script, assembled by `make` from src/sql/install/*.sql in name order.
\echo Use "CREATE EXTENSION jobkeeper" to load this file. \quit

-- Created here, not by the control file, so the extension owns the schema (DROP EXTENSION
-- removes it) and a schema made beforehand by someone else makes CREATE EXTENSION fail
-- instead of being adopted.
CREATE SCHEMA jobkeeper;
COMMENT ON SCHEMA jobkeeper IS 'jobkeeper: job and export tracking';

-- C functions that run no SQL carry no SET search_path clause: it would only cost a GUC
-- change per call. Every SQL and PL/pgSQL function pins it.
CREATE FUNCTION jobkeeper.version() RETURNS text
  LANGUAGE c STABLE PARALLEL SAFE STRICT
  AS 'MODULE_PATHNAME', 'jobkeeper_version';
COMMENT ON FUNCTION jobkeeper.version() IS
  'version of the loaded jobkeeper library (may differ from the installed SQL version during an upgrade)';

CREATE FUNCTION jobkeeper.retry_delay(attempts integer) RETURNS interval
  LANGUAGE c IMMUTABLE PARALLEL SAFE STRICT
  AS 'MODULE_PATHNAME', 'jobkeeper_retry_delay';
COMMENT ON FUNCTION jobkeeper.retry_delay(integer) IS
  'backoff before retrying after the given number of attempts: 15 s * 2^(attempts - 1), at most 1 hour';
-- SHA-256 functions (SPEC section 4), in C++ over OpenSSL (src/functions/hashes.cpp). They run
-- no SQL, so they carry no SET search_path clause (which would cost a GUC change per call).

CREATE FUNCTION jobkeeper.sha256_hex(bytea) RETURNS text
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'jobkeeper_sha256_hex';
COMMENT ON FUNCTION jobkeeper.sha256_hex(bytea) IS 'SHA-256 of the bytes, as 64 lowercase hex digits';

CREATE FUNCTION jobkeeper.sha256_hex(text) RETURNS text
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'jobkeeper_sha256_hex';
COMMENT ON FUNCTION jobkeeper.sha256_hex(text) IS
  'SHA-256 of the text''s bytes in the database encoding, as 64 lowercase hex digits';

CREATE FUNCTION jobkeeper._sha256_agg_step(internal, bytea) RETURNS internal
  LANGUAGE c PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'jobkeeper_sha256_agg_step';
COMMENT ON FUNCTION jobkeeper._sha256_agg_step(internal, bytea) IS 'internal: transition of sha256_agg';
CREATE FUNCTION jobkeeper._sha256_agg_final(internal) RETURNS text
  LANGUAGE c PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'jobkeeper_sha256_agg_final';
COMMENT ON FUNCTION jobkeeper._sha256_agg_final(internal) IS 'internal: final function of sha256_agg';
-- No combine function: a digest depends on the order of its chunks, so it cannot be split
-- across parallel workers.
CREATE AGGREGATE jobkeeper.sha256_agg(bytea) (
  SFUNC = jobkeeper._sha256_agg_step,
  STYPE = internal,
  FINALFUNC = jobkeeper._sha256_agg_final,
  FINALFUNC_MODIFY = READ_ONLY,
  PARALLEL = SAFE
);
COMMENT ON AGGREGATE jobkeeper.sha256_agg(bytea) IS
  'SHA-256 of the chunks concatenated in aggregate order (use ORDER BY); NULL chunks are skipped, no chunks give NULL';

CREATE FUNCTION jobkeeper.lo_sha256(oid) RETURNS text
  LANGUAGE c VOLATILE STRICT PARALLEL UNSAFE
  AS 'MODULE_PATHNAME', 'jobkeeper_lo_sha256';
COMMENT ON FUNCTION jobkeeper.lo_sha256(oid) IS
  'SHA-256 of a large object, streamed in 1 MB chunks, as 64 lowercase hex digits';

CREATE FUNCTION jobkeeper.is_sha256_hex(text) RETURNS boolean
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'jobkeeper_is_sha256_hex';
COMMENT ON FUNCTION jobkeeper.is_sha256_hex(text) IS
  'true for 64 lowercase hex digits: the form of jobs.file_hash (its CHECK constraint uses this)';

CREATE FUNCTION jobkeeper.normalize_hash(text) RETURNS text
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'jobkeeper_normalize_hash';
COMMENT ON FUNCTION jobkeeper.normalize_hash(text) IS
  'lowercases a 64-hex-digit SHA-256 hash; anything else raises 22P02';
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
-- The status rules of SPEC section 3, in C++ (src/triggers/status_trigger.cpp).

CREATE FUNCTION jobkeeper.status_trigger() RETURNS trigger
  LANGUAGE c
  AS 'MODULE_PATHNAME', 'jobkeeper_status_trigger';
COMMENT ON FUNCTION jobkeeper.status_trigger() IS
  'enforces status transitions and sets updated_at, finished_at, started_at, progress and the lease on jobs and export_jobs';

-- Named so they fire in a known order before any trigger an application adds (names sort).
CREATE TRIGGER jobkeeper_00_status BEFORE INSERT OR UPDATE ON jobkeeper.jobs
  FOR EACH ROW EXECUTE FUNCTION jobkeeper.status_trigger('job');
CREATE TRIGGER jobkeeper_00_status BEFORE INSERT OR UPDATE ON jobkeeper.export_jobs
  FOR EACH ROW EXECUTE FUNCTION jobkeeper.status_trigger('export');

-- The events of SPEC section 6, in C++ (src/triggers/event_trigger.cpp): AFTER INSERT, so
-- that only rows that were stored are announced, and sent once the transaction commits. An
-- UPDATE's event is recorded by the status trigger above, which sees the old and new status:
-- an AFTER ROW UPDATE trigger would make every UPDATE fetch each old row once more.
CREATE FUNCTION jobkeeper.event_trigger() RETURNS trigger
  LANGUAGE c
  AS 'MODULE_PATHNAME', 'jobkeeper_event_trigger';
COMMENT ON FUNCTION jobkeeper.event_trigger() IS
  'records the NOTIFY event of a job or export inserted as pending or finished; sent after commit';

CREATE TRIGGER jobkeeper_events AFTER INSERT ON jobkeeper.jobs
  FOR EACH ROW EXECUTE FUNCTION jobkeeper.event_trigger('job');
CREATE TRIGGER jobkeeper_events AFTER INSERT ON jobkeeper.export_jobs
  FOR EACH ROW EXECUTE FUNCTION jobkeeper.event_trigger('export');
-- Job functions (SPEC section 4). Status rules live in the trigger; these functions add the
-- argument checks, lease ownership and the clear errors of SPEC section 7. They are SECURITY
-- DEFINER so that application and worker roles need EXECUTE only, never table writes.
-- submit_job, claim_jobs, complete_job and complete_jobs, the calls of every job's life, are
-- C++ over SPI with saved plans (src/functions/jobs.cpp): they pin the search path around
-- their statements rather than in a SET clause, which would save and restore the settings on
-- every call.

CREATE FUNCTION jobkeeper.submit_job(
  file_name text, file_path text, file_hash text DEFAULT NULL, queue text DEFAULT 'default',
  priority integer DEFAULT 0, run_after timestamptz DEFAULT now(), max_attempts integer DEFAULT 3,
  metadata jsonb DEFAULT '{}', OUT id uuid, OUT status text, OUT deduplicated boolean)
LANGUAGE c VOLATILE SECURITY DEFINER
AS 'MODULE_PATHNAME', 'jobkeeper_submit_job';
COMMENT ON FUNCTION jobkeeper.submit_job(text, text, text, text, integer, timestamptz, integer, jsonb) IS
  'adds a job and returns one row (id, status, deduplicated), or returns the job with the same file_hash (resetting a failed or cancelled one to pending)';

CREATE FUNCTION jobkeeper.claim_jobs(
  worker text, max_jobs integer DEFAULT 1, queues text[] DEFAULT NULL,
  lease interval DEFAULT '5 minutes')
RETURNS SETOF jobkeeper.jobs
LANGUAGE c VOLATILE SECURITY DEFINER
AS 'MODULE_PATHNAME', 'jobkeeper_claim_jobs_1_1';
COMMENT ON FUNCTION jobkeeper.claim_jobs(text, integer, text[], interval) IS
  'leases up to max_jobs runnable pending jobs to worker, by priority, run_after, created_at; never blocks on other claimers';

CREATE FUNCTION jobkeeper.heartbeat(job_id uuid, worker text, lease interval DEFAULT '5 minutes')
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF lease IS NULL OR lease <= interval '0' THEN
    RAISE EXCEPTION 'lease must be positive, not %', coalesce(lease::text, 'null') USING ERRCODE = '22023';
  END IF;
  UPDATE jobkeeper.jobs j SET lease_expires_at = now() + heartbeat.lease
   WHERE j.id = heartbeat.job_id AND j.status = 'processing' AND j.locked_by = heartbeat.worker;
  IF FOUND THEN
    RETURN true;
  END IF;
  PERFORM FROM jobkeeper.jobs j WHERE j.id = heartbeat.job_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'job % does not exist', heartbeat.job_id USING ERRCODE = 'P0002';
  END IF;
  RETURN false;
END
$$;
COMMENT ON FUNCTION jobkeeper.heartbeat(uuid, text, interval) IS
  'extends the lease of a job the worker holds; false when it no longer holds it';

CREATE FUNCTION jobkeeper.set_workflow_state(job_id uuid, state text)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF char_length(state) > 50 THEN
    RAISE EXCEPTION 'workflow state "%..." of job % is longer than 50 characters', left(state, 20),
      set_workflow_state.job_id USING ERRCODE = '22023';
  END IF;
  UPDATE jobkeeper.jobs j SET workflow_state = state WHERE j.id = set_workflow_state.job_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'job % does not exist', set_workflow_state.job_id USING ERRCODE = 'P0002';
  END IF;
END
$$;
COMMENT ON FUNCTION jobkeeper.set_workflow_state(uuid, text) IS
  'records the step a job is at (free-form, at most 50 characters; null clears it)';

CREATE FUNCTION jobkeeper.set_job_progress(job_id uuid, progress integer)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  current_status text;
BEGIN
  IF progress IS NULL OR progress NOT BETWEEN 0 AND 100 THEN
    RAISE EXCEPTION 'progress of job % must be between 0 and 100, not %', job_id,
      coalesce(progress::text, 'null') USING ERRCODE = '22023';
  END IF;
  UPDATE jobkeeper.jobs j SET progress = set_job_progress.progress
   WHERE j.id = job_id AND j.status = 'processing';
  IF NOT FOUND THEN
    SELECT j.status INTO current_status FROM jobkeeper.jobs j WHERE j.id = job_id;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'job % does not exist', job_id USING ERRCODE = 'P0002';
    END IF;
    RAISE EXCEPTION 'cannot set progress of job %: its status is "%"', job_id, current_status
      USING ERRCODE = '55000', HINT = 'Progress is reported while a job is processing.';
  END IF;
END
$$;
COMMENT ON FUNCTION jobkeeper.set_job_progress(uuid, integer) IS
  'sets a processing job''s progress (0-100); it never decreases';

-- Locks job or export `id` (entity 'job' or 'export') and returns its status. Raises P0002 when
-- it does not exist and 55000 when its status is not in `allowed`; `action` ("cancel",
-- "retry", "complete", "fail") names what was attempted. Shared by jobs and exports, and
-- only on paths that are not hot, so its dynamic table name costs nothing that matters.
CREATE FUNCTION jobkeeper._lock_in_status(entity text, id uuid, allowed text[], action text)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  current_status text;
BEGIN
  EXECUTE format('SELECT status FROM jobkeeper.%I WHERE id = $1 FOR UPDATE',
                 CASE entity WHEN 'job' THEN 'jobs' ELSE 'export_jobs' END)
     INTO current_status USING id;
  IF current_status IS NULL THEN
    RAISE EXCEPTION '% % does not exist', entity, id USING ERRCODE = 'P0002';
  ELSIF current_status <> ALL (allowed) THEN
    RAISE EXCEPTION 'cannot % % %: its status is "%"', action, entity, id, current_status
      USING ERRCODE = '55000',
            HINT = format('Only a %s %s can be %s.', array_to_string(allowed, ' or '), entity,
                          CASE action WHEN 'fail' THEN 'failed' WHEN 'retry' THEN 'retried'
                                      WHEN 'cancel' THEN 'cancelled' ELSE action || 'd' END);
  END IF;
  RETURN current_status;
END
$$;
COMMENT ON FUNCTION jobkeeper._lock_in_status(text, uuid, text[], text) IS
  'internal: locks a job or export and raises P0002 or 55000 unless its status is one of allowed';

-- Raises the error explaining why job or export `id` could not be completed or failed by
-- `worker`: it does not exist, is not processing, or another worker holds its lease.
CREATE FUNCTION jobkeeper._refuse(entity text, id uuid, worker text, action text)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  holder text;
BEGIN
  PERFORM jobkeeper._lock_in_status(entity, id, '{processing}', action);
  EXECUTE format('SELECT locked_by FROM jobkeeper.%I WHERE id = $1',
                 CASE entity WHEN 'job' THEN 'jobs' ELSE 'export_jobs' END)
     INTO holder USING id;
  RAISE EXCEPTION 'cannot % % %: worker "%" does not hold its lease', action, entity, id, worker
    USING ERRCODE = '55000', DETAIL = format('The lease is held by %s.', coalesce(quote_literal(holder), 'nobody'));
END
$$;
COMMENT ON FUNCTION jobkeeper._refuse(text, uuid, text, text) IS
  'internal: raises the P0002 or 55000 error explaining why a job or export cannot be completed or failed';

CREATE FUNCTION jobkeeper.complete_job(job_id uuid, worker text DEFAULT NULL)
RETURNS void
LANGUAGE c VOLATILE SECURITY DEFINER
AS 'MODULE_PATHNAME', 'jobkeeper_complete_job';
COMMENT ON FUNCTION jobkeeper.complete_job(uuid, text) IS
  'marks a processing job completed; with worker given, that worker must hold the lease';

CREATE FUNCTION jobkeeper.complete_jobs(job_ids uuid[], worker text DEFAULT NULL)
RETURNS integer
LANGUAGE c VOLATILE SECURITY DEFINER
AS 'MODULE_PATHNAME', 'jobkeeper_complete_jobs';
COMMENT ON FUNCTION jobkeeper.complete_jobs(uuid[], text) IS
  'completes every listed job that is processing (under worker''s lease when given); returns how many';

CREATE FUNCTION jobkeeper.fail_job(job_id uuid, error text, worker text DEFAULT NULL, retry boolean DEFAULT true)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  next_status text;
BEGIN
  IF fail_job.error IS NULL OR fail_job.error = '' THEN
    RAISE EXCEPTION 'error message for job % must not be empty', fail_job.job_id USING ERRCODE = '22023';
  END IF;
  -- One statement decides and writes, as claim_jobs does: a separate SELECT ... FOR UPDATE
  -- followed by the UPDATE costs a second pass over the row.
  UPDATE jobkeeper.jobs j
     SET status = CASE WHEN coalesce(fail_job.retry, true) AND j.attempts < j.max_attempts
                       THEN 'pending' ELSE 'failed' END,
         error_message = fail_job.error,
         errors = j.errors || jsonb_build_array(jsonb_build_object(
                    'attempt', j.attempts, 'at', now(), 'error', fail_job.error)),
         run_after = CASE WHEN coalesce(fail_job.retry, true) AND j.attempts < j.max_attempts
                          THEN now() + jobkeeper.retry_delay(j.attempts) ELSE j.run_after END
   WHERE j.id = fail_job.job_id AND j.status = 'processing'
     AND (fail_job.worker IS NULL OR j.locked_by = fail_job.worker)
  RETURNING j.status INTO next_status;
  IF NOT FOUND THEN
    PERFORM jobkeeper._refuse('job', fail_job.job_id, fail_job.worker, 'fail');
  END IF;
  RETURN next_status;
END
$$;
COMMENT ON FUNCTION jobkeeper.fail_job(uuid, text, text, boolean) IS
  'records a failed attempt: back to pending after retry_delay(attempts) while attempts remain and retry is true, else failed; returns the new status';

CREATE FUNCTION jobkeeper.cancel_job(job_id uuid)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM jobkeeper._lock_in_status('job', cancel_job.job_id, '{pending,processing}', 'cancel');
  UPDATE jobkeeper.jobs j SET status = 'cancelled' WHERE j.id = cancel_job.job_id;
END
$$;
COMMENT ON FUNCTION jobkeeper.cancel_job(uuid) IS 'cancels a pending or processing job';

CREATE FUNCTION jobkeeper.retry_job(job_id uuid)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM jobkeeper._lock_in_status('job', retry_job.job_id, '{failed,cancelled}', 'retry');
  -- The trigger resets progress to 0 and clears finished_at; errors stays as history.
  UPDATE jobkeeper.jobs j
     SET status = 'pending', attempts = 0, run_after = now(), error_message = NULL,
         started_at = NULL, locked_by = NULL, lease_expires_at = NULL
   WHERE j.id = retry_job.job_id;
END
$$;
COMMENT ON FUNCTION jobkeeper.retry_job(uuid) IS
  'puts a failed or cancelled job back to pending with a fresh attempt count; errors is kept';
-- Export functions (SPEC section 4): the same lifecycle as jobs, without automatic retry.

CREATE FUNCTION jobkeeper.request_export(job_id uuid, export_type text)
RETURNS jobkeeper.export_jobs
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
  result jobkeeper.export_jobs;
BEGIN
  IF request_export.export_type IS NULL OR request_export.export_type !~ '^[a-z][a-z0-9_]{0,49}$' THEN
    RAISE EXCEPTION 'invalid export type "%" for job %', request_export.export_type, request_export.job_id
      USING ERRCODE = '22023',
            HINT = 'An export type is a lowercase letter followed by up to 49 lowercase letters, digits or underscores, such as pdf_summary.';
  END IF;
  -- KEY SHARE: a cleanup deleting the job right now is waited for (then the job is gone:
  -- P0002, not the foreign key's 23503), and one that comes later skips the job.
  PERFORM FROM jobkeeper.jobs j WHERE j.id = request_export.job_id FOR KEY SHARE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'job % does not exist', request_export.job_id USING ERRCODE = 'P0002';
  END IF;
  -- The partial unique index allows one active export per job and type: return it if it
  -- exists; the loop covers an active export finishing between the two statements.
  LOOP
    INSERT INTO jobkeeper.export_jobs AS e (job_id, export_type)
    VALUES (request_export.job_id, request_export.export_type)
    ON CONFLICT (job_id, export_type) WHERE status IN ('pending', 'processing') DO NOTHING
    RETURNING e.* INTO result;
    IF result.id IS NOT NULL THEN
      RETURN result;
    END IF;
    SELECT e.* INTO result FROM jobkeeper.export_jobs e
     WHERE e.job_id = request_export.job_id AND e.export_type = request_export.export_type
       AND e.status IN ('pending', 'processing');
    IF result.id IS NOT NULL THEN
      RETURN result;
    END IF;
  END LOOP;
  RETURN result;  -- never reached: the loop returns (plpgsql_check cannot see that)
END
$$;
COMMENT ON FUNCTION jobkeeper.request_export(uuid, text) IS
  'requests an export of a job, or returns the pending or processing one of that type';

CREATE FUNCTION jobkeeper.claim_exports(
  worker text, max_exports integer DEFAULT 1, export_types text[] DEFAULT NULL,
  lease interval DEFAULT '5 minutes')
RETURNS SETOF jobkeeper.export_jobs
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF worker IS NULL OR worker = '' THEN
    RAISE EXCEPTION 'worker name must not be empty' USING ERRCODE = '22023';
  ELSIF max_exports IS NULL OR max_exports < 1 THEN
    RAISE EXCEPTION 'max_exports must be at least 1, not %', coalesce(max_exports::text, 'null') USING ERRCODE = '22023';
  ELSIF lease IS NULL OR lease <= interval '0' THEN
    RAISE EXCEPTION 'lease must be positive, not %', coalesce(lease::text, 'null') USING ERRCODE = '22023';
  END IF;
  RETURN QUERY
    WITH picked AS (
      -- The job's status is a subquery, not a join, so the plan is an ordered scan of pending
      -- exports with a primary-key lookup per export, never a walk over every completed job.
      -- Unlike claim_jobs, this keeps PL/pgSQL's choice of custom plans (a plan per call):
      -- exports are few and long, and a generic plan made on an empty table sorted them all.
      SELECT e.id FROM jobkeeper.export_jobs e
       WHERE e.status = 'pending'
         AND (export_types IS NULL OR e.export_type = ANY (export_types))
         AND (SELECT j.status FROM jobkeeper.jobs j WHERE j.id = e.job_id) = 'completed'
       ORDER BY e.created_at
       LIMIT max_exports
       FOR UPDATE SKIP LOCKED),
    claimed AS (
      UPDATE jobkeeper.export_jobs e
         SET status = 'processing', attempts = e.attempts + 1, locked_by = worker,
             lease_expires_at = now() + lease
       WHERE e.id = ANY (ARRAY(SELECT p.id FROM picked p))
      RETURNING e.*)
    SELECT * FROM claimed c ORDER BY c.created_at;
END
$$;
COMMENT ON FUNCTION jobkeeper.claim_exports(text, integer, text[], interval) IS
  'leases up to max_exports pending exports whose job is completed, oldest first; never blocks on other claimers';

CREATE FUNCTION jobkeeper.set_export_progress(export_id uuid, progress integer)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  current_status text;
BEGIN
  IF progress IS NULL OR progress NOT BETWEEN 0 AND 100 THEN
    RAISE EXCEPTION 'progress of export % must be between 0 and 100, not %', export_id,
      coalesce(progress::text, 'null') USING ERRCODE = '22023';
  END IF;
  UPDATE jobkeeper.export_jobs e SET progress = set_export_progress.progress
   WHERE e.id = export_id AND e.status = 'processing';
  IF NOT FOUND THEN
    SELECT e.status INTO current_status FROM jobkeeper.export_jobs e WHERE e.id = export_id;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'export % does not exist', export_id USING ERRCODE = 'P0002';
    END IF;
    RAISE EXCEPTION 'cannot set progress of export %: its status is "%"', export_id, current_status
      USING ERRCODE = '55000', HINT = 'Progress is reported while an export is processing.';
  END IF;
END
$$;
COMMENT ON FUNCTION jobkeeper.set_export_progress(uuid, integer) IS
  'sets a processing export''s progress (0-100); it never decreases';

CREATE FUNCTION jobkeeper.complete_export(export_id uuid, file_path text, worker text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF complete_export.file_path IS NULL OR complete_export.file_path = '' THEN
    RAISE EXCEPTION 'file_path of export % must not be empty', complete_export.export_id USING ERRCODE = '22023';
  END IF;
  UPDATE jobkeeper.export_jobs e SET status = 'completed', file_path = complete_export.file_path
   WHERE e.id = complete_export.export_id AND e.status = 'processing'
     AND (complete_export.worker IS NULL OR e.locked_by = complete_export.worker);
  IF NOT FOUND THEN
    PERFORM jobkeeper._refuse('export', complete_export.export_id, complete_export.worker, 'complete');
  END IF;
END
$$;
COMMENT ON FUNCTION jobkeeper.complete_export(uuid, text, text) IS
  'marks a processing export completed with the path of the generated file';

CREATE FUNCTION jobkeeper.fail_export(export_id uuid, error text, worker text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF fail_export.error IS NULL OR fail_export.error = '' THEN
    RAISE EXCEPTION 'error message for export % must not be empty', fail_export.export_id USING ERRCODE = '22023';
  END IF;
  UPDATE jobkeeper.export_jobs e SET status = 'failed', error_message = fail_export.error
   WHERE e.id = fail_export.export_id AND e.status = 'processing'
     AND (fail_export.worker IS NULL OR e.locked_by = fail_export.worker);
  IF NOT FOUND THEN
    PERFORM jobkeeper._refuse('export', fail_export.export_id, fail_export.worker, 'fail');
  END IF;
END
$$;
COMMENT ON FUNCTION jobkeeper.fail_export(uuid, text, text) IS
  'marks a processing export failed (no automatic retry; see retry_export)';

CREATE FUNCTION jobkeeper.cancel_export(export_id uuid)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM jobkeeper._lock_in_status('export', cancel_export.export_id, '{pending,processing}', 'cancel');
  UPDATE jobkeeper.export_jobs e SET status = 'cancelled' WHERE e.id = cancel_export.export_id;
END
$$;
COMMENT ON FUNCTION jobkeeper.cancel_export(uuid) IS 'cancels a pending or processing export';

CREATE FUNCTION jobkeeper.retry_export(export_id uuid)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  active_id uuid;
BEGIN
  PERFORM jobkeeper._lock_in_status('export', retry_export.export_id, '{failed,cancelled}', 'retry');
  SELECT a.id INTO active_id FROM jobkeeper.export_jobs e JOIN jobkeeper.export_jobs a
      ON a.job_id = e.job_id AND a.export_type = e.export_type AND a.status IN ('pending', 'processing')
   WHERE e.id = retry_export.export_id;
  IF active_id IS NOT NULL THEN
    RAISE EXCEPTION 'cannot retry export %: export % of the same job and type is already active',
      retry_export.export_id, active_id
      USING ERRCODE = '55000', HINT = 'Wait for that export to finish, or cancel it first.';
  END IF;
  BEGIN
    UPDATE jobkeeper.export_jobs e
       SET status = 'pending', attempts = 0, error_message = NULL, started_at = NULL,
           locked_by = NULL, lease_expires_at = NULL
     WHERE e.id = retry_export.export_id;
  EXCEPTION WHEN unique_violation THEN
    -- A request_export committed an active export of the same job and type after the check
    -- above: the same refusal, not the index's 23505.
    SELECT a.id INTO active_id FROM jobkeeper.export_jobs e JOIN jobkeeper.export_jobs a
        ON a.job_id = e.job_id AND a.export_type = e.export_type AND a.status IN ('pending', 'processing')
     WHERE e.id = retry_export.export_id;
    RAISE EXCEPTION 'cannot retry export %: export % of the same job and type is already active',
      retry_export.export_id, active_id
      USING ERRCODE = '55000', HINT = 'Wait for that export to finish, or cancel it first.';
  END;
END
$$;
COMMENT ON FUNCTION jobkeeper.retry_export(uuid) IS
  'puts a failed or cancelled export back to pending with a fresh attempt count';
-- The lease reaper (SPEC section 5): processing rows whose lease ended go back to pending,
-- or to failed once their attempts are used up. The background worker calls it; so may anyone.

-- The statements live in the library (src/worker/cleanup_statements.hpp), shared with the
-- worker, which skips a row whose change fails instead of failing the whole batch.
CREATE FUNCTION jobkeeper.expire_leases(
  batch_size integer DEFAULT 5000, OUT leases_requeued bigint, OUT leases_failed bigint)
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'jobkeeper_expire_leases';
COMMENT ON FUNCTION jobkeeper.expire_leases(integer) IS
  're-queues up to batch_size jobs and batch_size exports whose lease expired (failed once attempts are used up)';
-- Monitoring views (SPEC section 6).
--
-- queue_stats and export_stats stay cheap when the queue is in trouble: pending and
-- processing rows are counted exactly, through their partial indexes, and finished rows,
-- which may be millions, are not counted at all but estimated (estimated = true) from the
-- statistics ANALYZE keeps of (queue, status) and (export_type, status): the frequency of each
-- combination among its most common ones, times the table's row estimate. Autovacuum
-- analyzes these tables after about 2% of their rows change; until the first ANALYZE there
-- is no estimate, and a combination too rare to be among the most common has none either.
-- The statistics catalog is read with the view owner's rights, as the tables are, so any role
-- granted SELECT on a view can read it. The statistics columns come in attribute order: the
-- queue (or export type) first, then the status.
CREATE STATISTICS jobkeeper.jobs_queue_status (mcv) ON queue, status FROM jobkeeper.jobs;
CREATE STATISTICS jobkeeper.export_jobs_type_status (mcv) ON export_type, status
  FROM jobkeeper.export_jobs;

-- Both views' estimates: one row per table, kind (queue or export type) and finished status.
CREATE VIEW jobkeeper._finished_estimates AS
SELECT c.relname AS table_name, m.values[1] AS kind, m.values[2] AS status,
       round(m.frequency * greatest(c.reltuples, 0))::bigint AS estimate
  FROM pg_catalog.pg_statistic_ext s
  JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace
  JOIN pg_catalog.pg_class c ON c.oid = s.stxrelid
  JOIN pg_catalog.pg_statistic_ext_data d ON d.stxoid = s.oid AND NOT d.stxdinherit
 CROSS JOIN LATERAL pg_catalog.pg_mcv_list_items(d.stxdmcv) m
 WHERE n.nspname = 'jobkeeper' AND s.stxname IN ('jobs_queue_status', 'export_jobs_type_status')
   AND m.values[2] IN ('completed', 'failed', 'cancelled');
COMMENT ON VIEW jobkeeper._finished_estimates IS
  'internal: estimated finished rows per table, kind and status, from extended statistics (for queue_stats and export_stats)';

-- queue_stats: 62_queue_stats.sql.

CREATE VIEW jobkeeper.export_stats AS
SELECT e.export_type, 'pending'::text AS status, count(*) AS exports,
       now() - min(e.created_at) AS oldest_pending_age,
       0::bigint AS expired_leases, false AS estimated
  FROM jobkeeper.export_jobs e
 WHERE e.status = 'pending'
 GROUP BY e.export_type
UNION ALL
SELECT e.export_type, 'processing', count(*), NULL,
       count(*) FILTER (WHERE e.lease_expires_at < now()), false
  FROM jobkeeper.export_jobs e
 WHERE e.status = 'processing'
 GROUP BY e.export_type
UNION ALL
SELECT f.kind, f.status, f.estimate, NULL, 0, true
  FROM jobkeeper._finished_estimates f
 WHERE f.table_name = 'export_jobs';
COMMENT ON VIEW jobkeeper.export_stats IS
  'per export type and status: export count (estimated for finished statuses), age of the oldest pending export, expired leases';

CREATE VIEW jobkeeper.duplicate_hashes AS
SELECT j.file_hash, j.id, j.submit_count
  FROM jobkeeper.jobs j
 WHERE j.submit_count > 1;
COMMENT ON VIEW jobkeeper.duplicate_hashes IS
  'jobs submitted more than once: the uploads deduplication saved';
-- queue_stats (SPEC section 6), with the views of 60_views.sql. The held pending jobs of
-- paused batches are counted as pending, but they are not runnable, so they do not age the
-- queue. CREATE OR REPLACE: the 1.0 -> 1.1 update runs this file too.
CREATE OR REPLACE VIEW jobkeeper.queue_stats AS
SELECT j.queue, 'pending'::text AS status, count(*) AS jobs,
       now() - min(j.run_after) FILTER (WHERE j.run_after <= now() AND NOT j.held) AS oldest_pending_age,
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
  'per queue and status: job count (estimated for finished statuses; pending includes the held jobs of paused batches), how long the longest-waiting runnable job has waited, expired leases';
-- Retention bookkeeping (SPEC section 5): files left to delete, and the history of runs.
-- cleanup_runs is bounded: the cleanup trims it to jobkeeper.cleanup_history rows. Paths wait in
-- deleted_files until claimed (a path dropped is a file orphaned on disk), unless
-- jobkeeper.deleted_files_retention is set.

-- Paths are stored per cleanup batch, up to 1000 to a row, as arrays: one row per deleted
-- path made recording them cost more than the deletes themselves (bench/run.sh retention).
-- claim_deleted_files hands entries out from the front of the oldest row and moves its
-- "claimed" mark (the arrays are not rewritten); the deleted_files view shows one row per path.
CREATE TABLE jobkeeper.deleted_file_batches (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind       text NOT NULL CONSTRAINT deleted_file_batches_kind_valid CHECK (kind IN ('job', 'export')),
  row_ids    uuid[] NOT NULL,
  file_paths text[] NOT NULL,
  claimed    integer NOT NULL DEFAULT 0,
  deleted_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT deleted_file_batches_shape CHECK (
    array_ndims(file_paths) = 1 AND array_lower(file_paths, 1) = 1
    AND cardinality(row_ids) = cardinality(file_paths)
    AND array_position(file_paths, NULL) IS NULL
    AND claimed >= 0 AND claimed < cardinality(file_paths))
) WITH (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 100,
        autovacuum_vacuum_cost_delay = 0);  -- a queue: rows are inserted, then drained
-- A batch's arrays (tens of kB) go to TOAST uncompressed: compressing them cost the cleanup
-- more than it saves on rows that live only until their paths are claimed.
ALTER TABLE jobkeeper.deleted_file_batches
  ALTER COLUMN row_ids SET STORAGE EXTERNAL, ALTER COLUMN file_paths SET STORAGE EXTERNAL;
COMMENT ON TABLE jobkeeper.deleted_file_batches IS
  'file paths of jobs and exports deleted by retention, one row per cleanup batch (up to 1000 paths); read through deleted_files, drained by claim_deleted_files()';

CREATE VIEW jobkeeper.deleted_files AS
  SELECT b.id AS batch_id, (b.claimed + f.ord)::integer AS position, f.file_path, b.kind,
         f.row_id, b.deleted_at
    FROM jobkeeper.deleted_file_batches b,
         unnest(b.file_paths[b.claimed + 1:], b.row_ids[b.claimed + 1:])
           WITH ORDINALITY AS f(file_path, row_id, ord);
COMMENT ON VIEW jobkeeper.deleted_files IS
  'one row per file path of a deleted job or export not yet claimed, for the application to remove; drained by claim_deleted_files()';

CREATE TABLE jobkeeper.cleanup_runs (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- worker and run_cleanup: retention; worker_ttl and run_ttl: TTL rules (ttl_rules)
  source          text NOT NULL CONSTRAINT cleanup_runs_source_valid
                    CHECK (source IN ('worker', 'run_cleanup', 'worker_ttl', 'run_ttl')),
  started_at      timestamptz NOT NULL,
  finished_at     timestamptz NOT NULL,
  jobs_deleted    bigint NOT NULL DEFAULT 0,
  exports_deleted bigint NOT NULL DEFAULT 0,
  leases_requeued bigint NOT NULL DEFAULT 0,
  leases_failed   bigint NOT NULL DEFAULT 0,
  rows_skipped    bigint NOT NULL DEFAULT 0,
  error           text,
  ttl_rows_deleted bigint NOT NULL DEFAULT 0
) WITH (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000,
        autovacuum_vacuum_cost_delay = 0);  -- trimmed after every run
COMMENT ON TABLE jobkeeper.cleanup_runs IS
  'one row per cleanup run (worker or run_cleanup()) and per TTL run that deleted or failed (worker_ttl or run_ttl()), newest jobkeeper.cleanup_history kept';

SELECT pg_catalog.pg_extension_config_dump('jobkeeper.deleted_file_batches', '');
SELECT pg_catalog.pg_extension_config_dump('jobkeeper.deleted_file_batches_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('jobkeeper.cleanup_runs', '');
SELECT pg_catalog.pg_extension_config_dump('jobkeeper.cleanup_runs_id_seq', '');

CREATE FUNCTION jobkeeper.claim_deleted_files(max integer DEFAULT 100)
RETURNS SETOF jobkeeper.deleted_files
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  wanted integer := max;
  batch record;
BEGIN
  IF max IS NULL OR max < 1 THEN
    RAISE EXCEPTION 'max must be at least 1, not %', coalesce(max::text, 'null') USING ERRCODE = '22023';
  END IF;
  WHILE wanted > 0 LOOP
    -- The oldest batch nobody else is draining: several processes drain side by side.
    SELECT b.id, cardinality(b.file_paths) - b.claimed AS unclaimed INTO batch
      FROM jobkeeper.deleted_file_batches b
     ORDER BY b.id LIMIT 1 FOR UPDATE SKIP LOCKED;
    EXIT WHEN NOT FOUND;
    RETURN QUERY
      SELECT * FROM jobkeeper.deleted_files d
       WHERE d.batch_id = batch.id ORDER BY d.position LIMIT wanted;
    IF batch.unclaimed <= wanted THEN
      DELETE FROM jobkeeper.deleted_file_batches b WHERE b.id = batch.id;
      wanted := wanted - batch.unclaimed;
    ELSE
      UPDATE jobkeeper.deleted_file_batches b SET claimed = b.claimed + wanted
       WHERE b.id = batch.id;
      wanted := 0;
    END IF;
  END LOOP;
END
$$;
COMMENT ON FUNCTION jobkeeper.claim_deleted_files(integer) IS
  'returns and removes up to max entries of deleted_files, oldest first';

CREATE FUNCTION jobkeeper.run_cleanup(
  OUT jobs_deleted bigint, OUT exports_deleted bigint, OUT leases_requeued bigint,
  OUT leases_failed bigint)
  LANGUAGE c VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'jobkeeper_run_cleanup';
COMMENT ON FUNCTION jobkeeper.run_cleanup() IS
  'runs the background worker''s cleanup now, in this transaction, with this session''s settings; recorded in cleanup_runs';

-- Any role may call the function, but it answers only roles that may SELECT from the view:
-- a view runs the functions it calls with the reader's rights, so EXECUTE alone cannot be
-- the gate.
CREATE FUNCTION jobkeeper._worker_status(
  OUT datname text, OUT running boolean, OUT pid integer, OUT last_run timestamptz,
  OUT next_run timestamptz, OUT last_error text, OUT rows_deleted bigint,
  OUT files_waiting bigint, OUT oldest_file_at timestamptz, OUT activity text)
  RETURNS SETOF record
  LANGUAGE c VOLATILE
  AS 'MODULE_PATHNAME', 'jobkeeper_worker_status';
COMMENT ON FUNCTION jobkeeper._worker_status() IS
  'internal: reads the workers'' shared memory, for roles that may read jobkeeper.worker_status';
CREATE VIEW jobkeeper.worker_status AS
  SELECT w.datname, w.running, w.pid, w.last_run, w.next_run, w.last_error, w.rows_deleted,
         w.files_waiting, now() - w.oldest_file_at AS oldest_file_age, w.activity
    FROM jobkeeper._worker_status() w;
COMMENT ON VIEW jobkeeper.worker_status IS
  'one row per database with a jobkeeper worker (needs shared_preload_libraries = ''jobkeeper''), visible from any database; files_waiting and oldest_file_age count deleted_files entries not yet claimed, as of the worker''s last check';

CREATE FUNCTION jobkeeper._wake_launcher() RETURNS void
  LANGUAGE c VOLATILE
  AS 'MODULE_PATHNAME', 'jobkeeper_wake_launcher';
COMMENT ON FUNCTION jobkeeper._wake_launcher() IS
  'internal: asks the launcher to start this database''s worker now';
-- TTL rules for application tables (SPEC section 11): the worker deletes the rows of a table
-- whose column + ttl <= now(), every jobkeeper.ttl_interval, in the retention cleanup's
-- batches and under its timeouts, with the rights of the rule's owner (src/worker/ttl_pass.cpp;
-- the rules on a target are in src/core/ttl.cpp).

-- One row per rule, kept by pg_dump (a restore needs the table and the owner role to exist:
-- both are stored by name, and tbl follows the table through a rename). The counts are the
-- worker's and run_ttl()'s, per rule; each run's total is in cleanup_runs.ttl_rows_deleted.
CREATE TABLE jobkeeper.ttl_rules (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tbl               regclass NOT NULL,
  column_name       name NOT NULL,
  ttl               interval NOT NULL DEFAULT '0',
  -- rows per delete batch; null: jobkeeper.cleanup_batch_size
  batch_size        integer,
  -- whose rights the deletes run with: the role that added the rule (for a superuser, the
  -- table's owner); never a superuser
  owner             regrole NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  last_run_at       timestamptz,
  last_rows_deleted bigint NOT NULL DEFAULT 0,
  rows_deleted      bigint NOT NULL DEFAULT 0,
  last_error        text,
  CONSTRAINT ttl_rules_target_unique UNIQUE (tbl, column_name),
  -- the same limits as add_ttl_rule's (sql/ttl.sql shows that they agree)
  CONSTRAINT ttl_rules_ttl_valid CHECK (ttl >= '0'),
  CONSTRAINT ttl_rules_batch_size_valid CHECK (batch_size BETWEEN 1 AND 1000000)
);
COMMENT ON TABLE jobkeeper.ttl_rules IS
  'one row per TTL rule: rows of tbl whose column_name + ttl <= now() are deleted by the worker every jobkeeper.ttl_interval, as owner; added and dropped with add_ttl_rule() and drop_ttl_rule()';
SELECT pg_catalog.pg_extension_config_dump('jobkeeper.ttl_rules', '');
SELECT pg_catalog.pg_extension_config_dump('jobkeeper.ttl_rules_id_seq', '');

-- SECURITY INVOKER: they check that the caller may own the table (its owner or a member of the
-- owning role), then write ttl_rules with the rights of its owner.
CREATE FUNCTION jobkeeper.add_ttl_rule(tbl regclass, column_name name, ttl interval DEFAULT '0',
                                       batch_size integer DEFAULT NULL)
  RETURNS jobkeeper.ttl_rules
  LANGUAGE c VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'jobkeeper_add_ttl_rule';
COMMENT ON FUNCTION jobkeeper.add_ttl_rule(regclass, name, interval, integer) IS
  'adds (or changes) the TTL rule on tbl.column_name: rows whose column + ttl <= now() are deleted; the table''s owner only; needs an index leading with the column';

CREATE FUNCTION jobkeeper.drop_ttl_rule(tbl regclass, column_name name DEFAULT NULL)
  RETURNS integer
  LANGUAGE c VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'jobkeeper_drop_ttl_rule';
COMMENT ON FUNCTION jobkeeper.drop_ttl_rule(regclass, name) IS
  'drops the TTL rule on tbl.column_name (every rule of tbl when column_name is null) and returns how many; the table''s owner only';

CREATE FUNCTION jobkeeper.run_ttl(
  OUT rule_id bigint, OUT tbl regclass, OUT column_name name, OUT rows_deleted bigint,
  OUT error text)
  RETURNS SETOF record
  LANGUAGE c VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'jobkeeper_run_ttl';
COMMENT ON FUNCTION jobkeeper.run_ttl() IS
  'runs every TTL rule now, in this transaction, each as its owner; one row per rule; recorded in ttl_rules and cleanup_runs';

-- Dropping a rule's table or column retires the rule in the same transaction: its OID or name
-- could later mean another table or column. (The worker retires such a rule too, should it
-- ever find one, for instance after a drop with event triggers disabled.)
CREATE FUNCTION jobkeeper._retire_ttl_rules() RETURNS event_trigger
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  retired record;
BEGIN
  FOR retired IN
    DELETE FROM jobkeeper.ttl_rules r
     USING pg_catalog.pg_event_trigger_dropped_objects() o
     WHERE o.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND o.objid = r.tbl::oid
       AND (o.objsubid = 0 OR o.address_names[3] = r.column_name)
    RETURNING r.id, o.object_type, o.object_identity
  LOOP
    RAISE NOTICE 'jobkeeper TTL rule % retired: % % was dropped',
      retired.id, retired.object_type, retired.object_identity;
  END LOOP;
END
$$;
COMMENT ON FUNCTION jobkeeper._retire_ttl_rules() IS
  'internal: event trigger that removes the TTL rules of dropped tables and columns';
CREATE EVENT TRIGGER jobkeeper_retire_ttl_rules ON sql_drop
  EXECUTE FUNCTION jobkeeper._retire_ttl_rules();

-- Renaming a rule's column takes its rule along: the rule names the column, and a restore
-- (which recreates a table's columns without the dropped ones, so their numbers change) keeps
-- names, not numbers. A RENAME reports the renamed column by number; a rule whose column name
-- no longer exists in that table takes the new name.
CREATE FUNCTION jobkeeper._follow_ttl_renames() RETURNS event_trigger
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  UPDATE jobkeeper.ttl_rules r SET column_name = a.attname
    FROM pg_catalog.pg_event_trigger_ddl_commands() c
    JOIN pg_catalog.pg_attribute a ON a.attrelid = c.objid AND a.attnum = c.objsubid
   WHERE c.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND c.objsubid > 0
     AND r.tbl::oid = c.objid AND NOT a.attisdropped
     AND NOT EXISTS (SELECT FROM pg_catalog.pg_attribute x
                      WHERE x.attrelid = c.objid AND x.attname = r.column_name
                        AND NOT x.attisdropped);
END
$$;
COMMENT ON FUNCTION jobkeeper._follow_ttl_renames() IS
  'internal: event trigger that renames a TTL rule''s column when the column is renamed';
CREATE EVENT TRIGGER jobkeeper_follow_ttl_renames ON ddl_command_end
  WHEN TAG IN ('ALTER TABLE')
  EXECUTE FUNCTION jobkeeper._follow_ttl_renames();
-- Batches (SPEC section 10): jobs grouped for their roll-up counts, paused, resumed, cancelled
-- and retried together. The 1.0 -> 1.1 update runs this file as it is.
--
-- A job's batches are its batch_ids column (jobs, 10_tables.sql), which pg_dump keeps with the
-- job. From it the triggers keep two tables that pg_dump does not keep, since a restore's
-- COPY of jobs rebuilds them row by row:
--   batch_jobs    each batch's jobs, for the functions that act on them all;
--   batch_counts  each batch's counts per status and its progress sum, one row per batch and
--                 backend (stripe) that changed them, so that concurrent workers of one batch
--                 never wait on each other's counter rows. A batch's counts are the sums of its
--                 rows, exact in every snapshot: a job's change and its counts commit together.
-- An UPDATE of a job is counted by the status trigger (which has both rows at hand), an INSERT
-- and a DELETE by jobkeeper_batches_insert / _delete, which fire only for jobs in a batch; a
-- TRUNCATE of jobs empties both (jobkeeper_batches_truncate).

CREATE TABLE jobkeeper.batches (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL
    CONSTRAINT batches_name_valid CHECK (name <> '' AND char_length(name) <= 255),
  metadata    jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT batches_metadata_object CHECK (jsonb_typeof(metadata) = 'object'),
  paused      boolean NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL DEFAULT now(),
  -- When the batch's last job finished, the last time the database worker (or run_cleanup())
  -- announced its finish on jobkeeper_batches. A batch reopened since (a retry, a new job)
  -- keeps it until it finishes again, later: batch_stats.finished_at is the exact one.
  -- Retention deletes a batch's jobs once this is older than their cutoff and the batch is
  -- still finished, then the batch with the last of them.
  finished_at timestamptz
);
COMMENT ON TABLE jobkeeper.batches IS
  'groups of jobs with roll-up counts (batch_stats); created by create_batch()';
SELECT pg_catalog.pg_extension_config_dump('jobkeeper.batches', '');

CREATE TABLE jobkeeper.batch_jobs (
  batch_id uuid NOT NULL,
  job_id   uuid NOT NULL,
  PRIMARY KEY (batch_id, job_id)
);
COMMENT ON TABLE jobkeeper.batch_jobs IS
  'each batch''s jobs, kept by jobkeeper''s triggers from jobs.batch_ids (not dumped: a restore rebuilds it)';

CREATE TABLE jobkeeper.batch_counts (
  batch_id         uuid NOT NULL,
  stripe           integer NOT NULL,
  pending          bigint NOT NULL DEFAULT 0,
  processing       bigint NOT NULL DEFAULT 0,
  completed        bigint NOT NULL DEFAULT 0,
  failed           bigint NOT NULL DEFAULT 0,
  cancelled        bigint NOT NULL DEFAULT 0,
  progress_sum     bigint NOT NULL DEFAULT 0,
  last_finished_at timestamptz,
  PRIMARY KEY (batch_id, stripe)
) WITH (fillfactor = 50);
COMMENT ON TABLE jobkeeper.batch_counts IS
  'per batch and backend: changes to the batch''s counts, summed by batch_stats (kept by jobkeeper''s triggers; not dumped)';

CREATE FUNCTION jobkeeper.batch_trigger() RETURNS trigger
  LANGUAGE c
  AS 'MODULE_PATHNAME', 'jobkeeper_batch_trigger';
COMMENT ON FUNCTION jobkeeper.batch_trigger() IS
  'keeps batch_jobs and batch_counts for a job inserted or deleted in a batch, and empties them when jobs is truncated';
CREATE TRIGGER jobkeeper_batches_insert AFTER INSERT ON jobkeeper.jobs
  FOR EACH ROW WHEN (NEW.batch_ids IS NOT NULL) EXECUTE FUNCTION jobkeeper.batch_trigger();
CREATE TRIGGER jobkeeper_batches_delete AFTER DELETE ON jobkeeper.jobs
  FOR EACH ROW WHEN (OLD.batch_ids IS NOT NULL) EXECUTE FUNCTION jobkeeper.batch_trigger();
CREATE TRIGGER jobkeeper_batches_truncate AFTER TRUNCATE ON jobkeeper.jobs
  FOR EACH STATEMENT EXECUTE FUNCTION jobkeeper.batch_trigger();

-- The roll-up: one index scan of batches and one of the batch's counter rows (at most one per
-- backend that worked on it), whatever the number of its jobs. finished_at is exact too: the
-- time its last job finished, once none is pending or processing.
CREATE VIEW jobkeeper.batch_stats AS
SELECT b.id, b.name, b.paused, s.total, s.pending, s.processing, s.completed, s.failed,
       s.cancelled,
       CASE WHEN s.total > 0 THEN round(s.progress_sum::numeric / s.total, 1) END AS progress,
       b.created_at,
       CASE WHEN s.total > 0 AND s.pending = 0 AND s.processing = 0 THEN s.last_finished_at END
         AS finished_at,
       b.metadata
  FROM jobkeeper.batches b
 CROSS JOIN LATERAL (
   SELECT coalesce(sum(c.pending + c.processing + c.completed + c.failed + c.cancelled), 0)::bigint AS total,
          coalesce(sum(c.pending), 0)::bigint AS pending,
          coalesce(sum(c.processing), 0)::bigint AS processing,
          coalesce(sum(c.completed), 0)::bigint AS completed,
          coalesce(sum(c.failed), 0)::bigint AS failed,
          coalesce(sum(c.cancelled), 0)::bigint AS cancelled,
          coalesce(sum(c.progress_sum), 0) AS progress_sum,
          max(c.last_finished_at) AS last_finished_at
     FROM jobkeeper.batch_counts c
    WHERE c.batch_id = b.id) s;
COMMENT ON VIEW jobkeeper.batch_stats IS
  'per batch: total, pending, processing, completed, failed, cancelled jobs, mean progress, created_at, finished_at (exact)';

CREATE FUNCTION jobkeeper.create_batch(name text, metadata jsonb DEFAULT '{}')
RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  id uuid;
BEGIN
  IF name IS NULL OR name = '' THEN
    RAISE EXCEPTION 'batch name must not be empty' USING ERRCODE = '22023';
  ELSIF char_length(name) > 255 THEN
    RAISE EXCEPTION 'batch name "%..." is % characters long, more than 255', left(name, 40),
      char_length(name) USING ERRCODE = '22023';
  ELSIF metadata IS NULL OR jsonb_typeof(metadata) <> 'object' THEN
    RAISE EXCEPTION 'metadata of batch "%" must be a JSON object, not %', name,
      coalesce(jsonb_typeof(metadata), 'null') USING ERRCODE = '22023';
  END IF;
  INSERT INTO jobkeeper.batches (name, metadata) VALUES (name, metadata) RETURNING batches.id INTO id;
  RETURN id;
END
$$;
COMMENT ON FUNCTION jobkeeper.create_batch(text, jsonb) IS 'creates an empty batch and returns its id';

-- Locks batch `id` in `mode` (share: against its deletion and a pause that would miss the
-- jobs being added; update: to change it) and returns whether it is paused; P0002 when it
-- does not exist.
CREATE FUNCTION jobkeeper._lock_batch(id uuid, exclusive boolean)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  is_paused boolean;
BEGIN
  IF exclusive THEN
    SELECT b.paused INTO is_paused FROM jobkeeper.batches b WHERE b.id = _lock_batch.id FOR NO KEY UPDATE;
  ELSE
    SELECT b.paused INTO is_paused FROM jobkeeper.batches b WHERE b.id = _lock_batch.id FOR SHARE;
  END IF;
  IF is_paused IS NULL THEN
    RAISE EXCEPTION 'batch % does not exist', _lock_batch.id USING ERRCODE = 'P0002';
  END IF;
  RETURN is_paused;
END
$$;
COMMENT ON FUNCTION jobkeeper._lock_batch(uuid, boolean) IS
  'internal: locks a batch (exclusive: to change it) and returns paused; P0002 when it does not exist';

CREATE FUNCTION jobkeeper.add_to_batch(batch_id uuid, job_ids uuid[])
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  is_paused boolean := jobkeeper._lock_batch(add_to_batch.batch_id, false);
  added integer;
  missing uuid;
BEGIN
  IF job_ids IS NULL THEN
    RETURN 0;
  ELSIF array_position(job_ids, NULL) IS NOT NULL THEN
    RAISE EXCEPTION 'job_ids for batch % must not hold null', add_to_batch.batch_id
      USING ERRCODE = '22023';
  END IF;
  -- The triggers count the jobs into the batch; a paused batch's unfinished jobs are held.
  UPDATE jobkeeper.jobs j
     SET batch_ids = coalesce(j.batch_ids, '{}') || add_to_batch.batch_id,
         held = j.held OR (is_paused AND j.status <> 'completed')
   WHERE j.id = ANY (job_ids)
     AND (j.batch_ids IS NULL OR add_to_batch.batch_id <> ALL (j.batch_ids));
  GET DIAGNOSTICS added = ROW_COUNT;
  SELECT u.id INTO missing FROM unnest(job_ids) AS u(id)
   WHERE NOT EXISTS (SELECT FROM jobkeeper.jobs j WHERE j.id = u.id) LIMIT 1;
  IF missing IS NOT NULL THEN
    RAISE EXCEPTION 'job % does not exist', missing USING ERRCODE = 'P0002',
      DETAIL = format('No job was added to batch %s.', add_to_batch.batch_id);
  END IF;
  RETURN added;
END
$$;
COMMENT ON FUNCTION jobkeeper.add_to_batch(uuid, uuid[]) IS
  'adds jobs to a batch (a job may be in several); returns how many were not in it yet';

CREATE FUNCTION jobkeeper.submit_to_batch(
  batch_id uuid, file_name text, file_path text, file_hash text DEFAULT NULL,
  queue text DEFAULT 'default', priority integer DEFAULT 0, run_after timestamptz DEFAULT now(),
  max_attempts integer DEFAULT 3, metadata jsonb DEFAULT '{}',
  OUT id uuid, OUT status text, OUT deduplicated boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM jobkeeper._lock_batch(submit_to_batch.batch_id, false);
  SELECT s.id, s.status, s.deduplicated INTO id, status, deduplicated
    FROM jobkeeper.submit_job(file_name, file_path, file_hash, queue, priority, run_after,
                              max_attempts, metadata) s;
  PERFORM jobkeeper.add_to_batch(submit_to_batch.batch_id, ARRAY[id]);
END
$$;
COMMENT ON FUNCTION jobkeeper.submit_to_batch(uuid, text, text, text, text, integer, timestamptz, integer, jsonb) IS
  'submit_job into a batch: a file dedup already knows joins the batch as its existing job';

CREATE FUNCTION jobkeeper.pause_batch(batch_id uuid)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM jobkeeper._lock_batch(pause_batch.batch_id, true);
  UPDATE jobkeeper.batches b SET paused = true WHERE b.id = pause_batch.batch_id;
  -- Processing and failed jobs are held too, so that they stay out of the claims when they
  -- come back to pending.
  WITH locked AS (
    SELECT j.id FROM jobkeeper.jobs j
     WHERE j.id IN (SELECT bj.job_id FROM jobkeeper.batch_jobs bj WHERE bj.batch_id = pause_batch.batch_id)
       AND NOT j.held AND j.status <> 'completed'
     ORDER BY j.id FOR NO KEY UPDATE)
  UPDATE jobkeeper.jobs j SET held = true
   WHERE j.id = ANY (ARRAY(SELECT l.id FROM locked l)) AND NOT j.held AND j.status <> 'completed';
END
$$;
COMMENT ON FUNCTION jobkeeper.pause_batch(uuid) IS
  'claims skip the batch''s pending jobs until resume_batch (a no-op on a paused batch)';

CREATE FUNCTION jobkeeper.resume_batch(batch_id uuid)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM jobkeeper._lock_batch(resume_batch.batch_id, true);
  UPDATE jobkeeper.batches b SET paused = false WHERE b.id = resume_batch.batch_id;
  -- The other batches of these jobs are locked first, so that the next statement's snapshot
  -- sees a pause of one of them that was under way: its jobs stay held.
  PERFORM FROM jobkeeper.batches o
   WHERE o.id IN (SELECT unnest(j.batch_ids) FROM jobkeeper.jobs j
                   WHERE j.id IN (SELECT bj.job_id FROM jobkeeper.batch_jobs bj
                                   WHERE bj.batch_id = resume_batch.batch_id) AND j.held)
     AND o.id <> resume_batch.batch_id
   ORDER BY o.id FOR SHARE;
  WITH locked AS (
    SELECT j.id FROM jobkeeper.jobs j
     WHERE j.id IN (SELECT bj.job_id FROM jobkeeper.batch_jobs bj WHERE bj.batch_id = resume_batch.batch_id)
       AND j.held
     ORDER BY j.id FOR NO KEY UPDATE)
  UPDATE jobkeeper.jobs j SET held = false
   WHERE j.id = ANY (ARRAY(SELECT l.id FROM locked l)) AND j.held
     AND NOT EXISTS (SELECT FROM jobkeeper.batches o
                      WHERE o.id = ANY (j.batch_ids) AND o.paused AND o.id <> resume_batch.batch_id);
END
$$;
COMMENT ON FUNCTION jobkeeper.resume_batch(uuid) IS
  'lets claims take the batch''s pending jobs again (those in no other paused batch)';

CREATE FUNCTION jobkeeper.cancel_batch(batch_id uuid)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  cancelled integer;
BEGIN
  PERFORM jobkeeper._lock_batch(cancel_batch.batch_id, false);
  -- As cancel_job, for each pending or processing job of the batch. Rows are locked in id
  -- order, as complete_jobs and the other batch functions lock them, so that two of them
  -- never wait on each other.
  WITH locked AS (
    SELECT j.id FROM jobkeeper.jobs j
     WHERE j.id IN (SELECT bj.job_id FROM jobkeeper.batch_jobs bj WHERE bj.batch_id = cancel_batch.batch_id)
       AND j.status IN ('pending', 'processing')
     ORDER BY j.id FOR NO KEY UPDATE)
  UPDATE jobkeeper.jobs j SET status = 'cancelled'
   WHERE j.id = ANY (ARRAY(SELECT l.id FROM locked l)) AND j.status IN ('pending', 'processing');
  GET DIAGNOSTICS cancelled = ROW_COUNT;
  RETURN cancelled;
END
$$;
COMMENT ON FUNCTION jobkeeper.cancel_batch(uuid) IS
  'cancels the batch''s pending and processing jobs; returns how many';

CREATE FUNCTION jobkeeper.retry_batch(batch_id uuid)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  retried integer;
BEGIN
  PERFORM jobkeeper._lock_batch(retry_batch.batch_id, false);
  -- As retry_job, for each failed or cancelled job of the batch (sql/batches.sql checks that
  -- the two leave the same row).
  WITH locked AS (
    SELECT j.id FROM jobkeeper.jobs j
     WHERE j.id IN (SELECT bj.job_id FROM jobkeeper.batch_jobs bj WHERE bj.batch_id = retry_batch.batch_id)
       AND j.status IN ('failed', 'cancelled')
     ORDER BY j.id FOR NO KEY UPDATE)
  UPDATE jobkeeper.jobs j
     SET status = 'pending', attempts = 0, run_after = now(), error_message = NULL,
         started_at = NULL, locked_by = NULL, lease_expires_at = NULL
   WHERE j.id = ANY (ARRAY(SELECT l.id FROM locked l)) AND j.status IN ('failed', 'cancelled');
  GET DIAGNOSTICS retried = ROW_COUNT;
  RETURN retried;
END
$$;
COMMENT ON FUNCTION jobkeeper.retry_batch(uuid) IS
  'puts the batch''s failed and cancelled jobs back to pending, as retry_job; returns how many';
-- Releases and upgrades (SPEC section 9): what is installed, what the library is, what is
-- pending, and the history of every install, update and downgrade.

-- One row per install, update or downgrade, written by each version's scripts. pg_dump keeps
-- it: a restored database shows its history, then the restore itself as an install of the
-- version restored (the restore runs CREATE EXTENSION before it copies the rows back; its
-- application is pg_restore). This is the one dumped table the install script writes to,
-- and on purpose: the row it writes is an event of this database, never a copy of a dumped
-- one, and the table has no key a restored row could collide with.
CREATE TABLE jobkeeper.schema_history (
  version      text NOT NULL,
  action       text NOT NULL
    CONSTRAINT schema_history_action_valid CHECK (action IN ('install', 'update', 'downgrade')),
  from_version text,
  at           timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  by_role      name NOT NULL DEFAULT CURRENT_USER,
  -- the client that ran it: "pg_restore" marks the install a restore made
  application  text NOT NULL DEFAULT pg_catalog.current_setting('application_name'),
  -- an update or a downgrade names the version it came from; an install does not
  CONSTRAINT schema_history_from_version_valid CHECK ((action = 'install') = (from_version IS NULL))
);
COMMENT ON TABLE jobkeeper.schema_history IS
  'every install, update and downgrade of jobkeeper in this database: version, from which, when, by whom';
SELECT pg_catalog.pg_extension_config_dump('jobkeeper.schema_history', '');
INSERT INTO jobkeeper.schema_history (version, action) VALUES ('1.1', 'install');

CREATE FUNCTION jobkeeper.version_info(
    OUT library_version text, OUT installed_version text, OUT newest_version text,
    OUT update_pending boolean, OUT update_path text)
  LANGUAGE sql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  SELECT jobkeeper.version(), e.extversion, a.default_version,
         e.extversion <> a.default_version,
         (SELECT p.path FROM pg_catalog.pg_extension_update_paths('jobkeeper') p
           WHERE p.source = e.extversion AND p.target = a.default_version)
    FROM pg_catalog.pg_extension e
    JOIN pg_catalog.pg_available_extensions a ON a.name = e.extname
   WHERE e.extname = 'jobkeeper'
$$;
COMMENT ON FUNCTION jobkeeper.version_info() IS
  'library version, installed SQL version, newest available version, whether an update is pending and its path';
-- PUBLIC gets nothing: the README shows the GRANTs for an application and a worker role.
REVOKE ALL ON ALL TABLES IN SCHEMA jobkeeper FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA jobkeeper FROM PUBLIC;
-- worker_status reads shared memory through _worker_status(), which a view runs with the
-- reader's rights: any role may call it, and it answers only roles granted SELECT on the view.
GRANT EXECUTE ON FUNCTION jobkeeper._worker_status() TO PUBLIC;
-- Last step of the install: when the library is preloaded, wake the launcher so that this
-- database gets its worker right away instead of at the next periodic check.
SELECT jobkeeper._wake_launcher();
