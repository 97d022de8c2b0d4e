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
