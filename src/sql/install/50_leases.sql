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
