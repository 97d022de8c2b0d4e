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
