-- Job functions (SPEC section 4). Status rules live in the trigger; these functions add the
-- argument checks, lease ownership and the clear errors of SPEC section 7. They are SECURITY
-- DEFINER so that application and worker roles need EXECUTE only, never table writes.

CREATE FUNCTION jobkeeper.submit_job(
  file_name text, file_path text, file_hash text DEFAULT NULL, queue text DEFAULT 'default',
  priority integer DEFAULT 0, run_after timestamptz DEFAULT now(), max_attempts integer DEFAULT 3,
  metadata jsonb DEFAULT '{}', OUT id uuid, OUT status text, OUT deduplicated boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
  hash text := jobkeeper.normalize_hash(submit_job.file_hash);  -- 22P02 when malformed
BEGIN
  IF submit_job.file_name IS NULL OR submit_job.file_name = '' THEN
    RAISE EXCEPTION 'file_name must not be empty' USING ERRCODE = '22023';
  ELSIF char_length(submit_job.file_name) > 255 THEN
    RAISE EXCEPTION 'file_name "%..." is % characters long, more than 255',
      left(submit_job.file_name, 40), char_length(submit_job.file_name) USING ERRCODE = '22023';
  ELSIF submit_job.file_path IS NULL OR submit_job.file_path = '' THEN
    RAISE EXCEPTION 'file_path of "%" must not be empty', submit_job.file_name USING ERRCODE = '22023';
  ELSIF submit_job.queue IS NULL OR submit_job.queue = '' THEN
    RAISE EXCEPTION 'queue must not be empty' USING ERRCODE = '22023';
  ELSIF char_length(submit_job.queue) > 255 THEN
    RAISE EXCEPTION 'queue "%..." of "%" is % characters long, more than 255',
      left(submit_job.queue, 40), submit_job.file_name, char_length(submit_job.queue) USING ERRCODE = '22023';
  ELSIF submit_job.priority IS NULL THEN
    RAISE EXCEPTION 'priority must not be null' USING ERRCODE = '22023';
  ELSIF submit_job.run_after IS NULL THEN
    RAISE EXCEPTION 'run_after must not be null' USING ERRCODE = '22023';
  ELSIF submit_job.max_attempts IS NULL OR submit_job.max_attempts < 1 THEN
    RAISE EXCEPTION 'max_attempts must be at least 1, not %', coalesce(submit_job.max_attempts::text, 'null')
      USING ERRCODE = '22023';
  ELSIF submit_job.metadata IS NULL OR jsonb_typeof(submit_job.metadata) <> 'object' THEN
    RAISE EXCEPTION 'metadata must be a JSON object, not %', coalesce(jsonb_typeof(submit_job.metadata), 'null')
      USING ERRCODE = '22023';
  END IF;

  deduplicated := false;
  IF hash IS NULL THEN
    INSERT INTO jobkeeper.jobs AS j (file_name, file_path, queue, priority, run_after,
                                     max_attempts, metadata)
    VALUES (submit_job.file_name, submit_job.file_path, submit_job.queue, submit_job.priority,
            submit_job.run_after, submit_job.max_attempts, submit_job.metadata)
    RETURNING j.id, j.status INTO submit_job.id, submit_job.status;
    RETURN;
  END IF;

  -- Dedup: the unique index on file_hash decides. ON CONFLICT DO NOTHING waits for a
  -- concurrent insert of the same hash to commit, then the UPDATE finds that row; if the
  -- row vanished in between (retention), the loop inserts again. So a submit always returns
  -- exactly one row and never fails with a unique violation.
  LOOP
    INSERT INTO jobkeeper.jobs AS j (file_name, file_path, file_hash, queue, priority, run_after,
                                     max_attempts, metadata)
    VALUES (submit_job.file_name, submit_job.file_path, hash, submit_job.queue, submit_job.priority,
            submit_job.run_after, submit_job.max_attempts, submit_job.metadata)
    ON CONFLICT (file_hash) DO NOTHING
    RETURNING j.id, j.status INTO submit_job.id, submit_job.status;
    IF FOUND THEN
      RETURN;
    END IF;
    UPDATE jobkeeper.jobs AS j SET submit_count = j.submit_count + 1
     WHERE j.file_hash = hash
    RETURNING j.id, j.status INTO submit_job.id, submit_job.status;
    IF FOUND THEN
      deduplicated := true;
      -- A failed or cancelled upload submitted again is worth another try.
      IF submit_job.status IN ('failed', 'cancelled') THEN
        PERFORM jobkeeper.retry_job(submit_job.id);
        submit_job.status := 'pending';
      END IF;
      RETURN;
    END IF;
  END LOOP;
END
$$;
COMMENT ON FUNCTION jobkeeper.submit_job(text, text, text, text, integer, timestamptz, integer, jsonb) IS
  'adds a job and returns one row (id, status, deduplicated), or returns the job with the same file_hash (resetting a failed or cancelled one to pending)';

CREATE FUNCTION jobkeeper.claim_jobs(
  worker text, max_jobs integer DEFAULT 1, queues text[] DEFAULT NULL,
  lease interval DEFAULT '5 minutes')
RETURNS SETOF jobkeeper.jobs
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- One plan for every call: left to choose, PL/pgSQL would plan every call afresh (130 us, more
-- than the claim itself), because the planner prices "LIMIT max_jobs" as a tenth of the table.
-- The plan is made once per session, perhaps while the table is empty, so sequential scans are
-- ruled out: it must stay an index scan however the table grows.
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $$
BEGIN
  IF worker IS NULL OR worker = '' THEN
    RAISE EXCEPTION 'worker name must not be empty' USING ERRCODE = '22023';
  ELSIF max_jobs IS NULL OR max_jobs < 1 THEN
    RAISE EXCEPTION 'max_jobs must be at least 1, not %', coalesce(max_jobs::text, 'null') USING ERRCODE = '22023';
  ELSIF lease IS NULL OR lease <= interval '0' THEN
    RAISE EXCEPTION 'lease must be positive, not %', coalesce(lease::text, 'null') USING ERRCODE = '22023';
  END IF;
  -- Each branch is one statement and an ordered scan of a partial claim index (one queue: an
  -- equality on the leading column of jobs_claim_queue_idx). Locking and updating in one
  -- statement matters: a SELECT ... FOR UPDATE followed by a separate UPDATE claims three
  -- times slower (bench/). SKIP LOCKED hands a row to one claimer and lets the others pass.
  -- The UPDATE finds the picked rows through the primary key ("= ANY (ARRAY(...))"): a join to
  -- the CTE would, under a generic plan, hash the whole table to update a few rows.
  IF queues IS NULL THEN
    RETURN QUERY
      WITH picked AS (
        SELECT j.id FROM jobkeeper.jobs j
         WHERE j.status = 'pending' AND j.run_after <= now()
         ORDER BY j.priority, j.run_after, j.created_at
         LIMIT max_jobs FOR UPDATE SKIP LOCKED),
      claimed AS (
        UPDATE jobkeeper.jobs j
           SET status = 'processing', attempts = j.attempts + 1, locked_by = worker,
               lease_expires_at = now() + lease
         WHERE j.id = ANY (ARRAY(SELECT p.id FROM picked p))
        RETURNING j.*)
      SELECT * FROM claimed c ORDER BY c.priority, c.run_after, c.created_at;
  ELSIF cardinality(queues) = 1 THEN
    RETURN QUERY
      WITH picked AS (
        SELECT j.id FROM jobkeeper.jobs j
         WHERE j.status = 'pending' AND j.run_after <= now() AND j.queue = queues[1]
         ORDER BY j.priority, j.run_after, j.created_at
         LIMIT max_jobs FOR UPDATE SKIP LOCKED),
      claimed AS (
        UPDATE jobkeeper.jobs j
           SET status = 'processing', attempts = j.attempts + 1, locked_by = worker,
               lease_expires_at = now() + lease
         WHERE j.id = ANY (ARRAY(SELECT p.id FROM picked p))
        RETURNING j.*)
      SELECT * FROM claimed c ORDER BY c.priority, c.run_after, c.created_at;
  ELSE
    RETURN QUERY
      WITH picked AS (
        SELECT j.id FROM jobkeeper.jobs j
         WHERE j.status = 'pending' AND j.run_after <= now() AND j.queue = ANY (queues)
         ORDER BY j.priority, j.run_after, j.created_at
         LIMIT max_jobs FOR UPDATE SKIP LOCKED),
      claimed AS (
        UPDATE jobkeeper.jobs j
           SET status = 'processing', attempts = j.attempts + 1, locked_by = worker,
               lease_expires_at = now() + lease
         WHERE j.id = ANY (ARRAY(SELECT p.id FROM picked p))
        RETURNING j.*)
      SELECT * FROM claimed c ORDER BY c.priority, c.run_after, c.created_at;
  END IF;
END
$$;
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
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  UPDATE jobkeeper.jobs j SET status = 'completed'
   WHERE j.id = complete_job.job_id AND j.status = 'processing'
     AND (complete_job.worker IS NULL OR j.locked_by = complete_job.worker);
  IF NOT FOUND THEN
    PERFORM jobkeeper._refuse('job', complete_job.job_id, complete_job.worker, 'complete');
  END IF;
END
$$;
COMMENT ON FUNCTION jobkeeper.complete_job(uuid, text) IS
  'marks a processing job completed; with worker given, that worker must hold the lease';

CREATE FUNCTION jobkeeper.complete_jobs(job_ids uuid[], worker text DEFAULT NULL)
RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  WITH done AS (
    UPDATE jobkeeper.jobs j SET status = 'completed'
     WHERE j.id = ANY (complete_jobs.job_ids) AND j.status = 'processing'
       AND (complete_jobs.worker IS NULL OR j.locked_by = complete_jobs.worker)
    RETURNING 1)
  SELECT count(*)::integer FROM done;
$$;
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
