-- The lease reaper (SPEC section 5): processing rows whose lease ended go back to pending,
-- or to failed once their attempts are used up. The background worker calls it; so may anyone.

CREATE FUNCTION jobkeeper.expire_leases(
  batch_size integer DEFAULT 5000, OUT leases_requeued bigint, OUT leases_failed bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  jobs_requeued bigint;
  jobs_failed bigint;
BEGIN
  IF batch_size IS NULL OR batch_size < 1 THEN
    RAISE EXCEPTION 'batch_size must be at least 1, not %', coalesce(batch_size::text, 'null') USING ERRCODE = '22023';
  END IF;
  -- SKIP LOCKED: a row a worker is heartbeating or finishing right now is left for next time;
  -- the lock re-checks the lease, so a lease extended meanwhile is not expired. The UPDATE
  -- finds the locked rows by ctid (a TID scan); a join could hash the whole table.
  WITH expired AS MATERIALIZED (
    SELECT j.ctid AS tid FROM jobkeeper.jobs j
     WHERE j.status = 'processing' AND j.lease_expires_at < now()
     ORDER BY j.lease_expires_at
     LIMIT batch_size
     FOR UPDATE SKIP LOCKED),
  done AS (
    UPDATE jobkeeper.jobs j
       SET status = CASE WHEN j.attempts >= j.max_attempts THEN 'failed' ELSE 'pending' END,
           error_message = 'lease expired',
           errors = j.errors || jsonb_build_array(jsonb_build_object(
                      'attempt', j.attempts, 'at', now(), 'error', 'lease expired')),
           run_after = now()
     WHERE j.ctid = ANY (ARRAY(SELECT tid FROM expired))
    RETURNING j.status)
  SELECT count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'failed')
    INTO jobs_requeued, jobs_failed FROM done;

  WITH expired AS MATERIALIZED (
    SELECT e.ctid AS tid FROM jobkeeper.export_jobs e
     WHERE e.status = 'processing' AND e.lease_expires_at < now()
     ORDER BY e.lease_expires_at
     LIMIT batch_size
     FOR UPDATE SKIP LOCKED),
  done AS (
    UPDATE jobkeeper.export_jobs e
       SET status = CASE WHEN e.attempts >= e.max_attempts THEN 'failed' ELSE 'pending' END,
           error_message = 'lease expired'
     WHERE e.ctid = ANY (ARRAY(SELECT tid FROM expired))
    RETURNING e.status)
  SELECT jobs_requeued + count(*) FILTER (WHERE status = 'pending'),
         jobs_failed + count(*) FILTER (WHERE status = 'failed')
    INTO leases_requeued, leases_failed FROM done;
END
$$;
COMMENT ON FUNCTION jobkeeper.expire_leases(integer) IS
  're-queues up to batch_size jobs and batch_size exports whose lease expired (failed once attempts are used up)';
