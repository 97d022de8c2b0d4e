-- Retention bookkeeping (SPEC section 5): files left to delete, and the history of runs.
-- Both are bounded: the cleanup trims cleanup_runs to jobkeeper.cleanup_history rows and
-- drops deleted_files entries nobody claimed within jobkeeper.deleted_files_retention.

CREATE TABLE jobkeeper.deleted_files (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  file_path  text NOT NULL,
  kind       text NOT NULL CONSTRAINT deleted_files_kind_valid CHECK (kind IN ('job', 'export')),
  row_id     uuid NOT NULL,
  deleted_at timestamptz NOT NULL DEFAULT now()
) WITH (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000,
        autovacuum_vacuum_cost_delay = 0);  -- a queue: rows are inserted, then deleted
COMMENT ON TABLE jobkeeper.deleted_files IS
  'file paths of jobs and exports deleted by retention, for the application to remove; drained by claim_deleted_files()';
CREATE INDEX deleted_files_deleted_at_idx ON jobkeeper.deleted_files (deleted_at);

CREATE TABLE jobkeeper.cleanup_runs (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  source          text NOT NULL CONSTRAINT cleanup_runs_source_valid CHECK (source IN ('worker', 'run_cleanup')),
  started_at      timestamptz NOT NULL,
  finished_at     timestamptz NOT NULL,
  jobs_deleted    bigint NOT NULL DEFAULT 0,
  exports_deleted bigint NOT NULL DEFAULT 0,
  leases_requeued bigint NOT NULL DEFAULT 0,
  leases_failed   bigint NOT NULL DEFAULT 0,
  error           text
) WITH (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000,
        autovacuum_vacuum_cost_delay = 0);  -- trimmed after every run
COMMENT ON TABLE jobkeeper.cleanup_runs IS
  'one row per cleanup run (worker or run_cleanup()), newest jobkeeper.cleanup_history kept';

SELECT pg_catalog.pg_extension_config_dump('jobkeeper.deleted_files', '');
SELECT pg_catalog.pg_extension_config_dump('jobkeeper.deleted_files_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('jobkeeper.cleanup_runs', '');
SELECT pg_catalog.pg_extension_config_dump('jobkeeper.cleanup_runs_id_seq', '');

CREATE FUNCTION jobkeeper.claim_deleted_files(max integer DEFAULT 100)
RETURNS SETOF jobkeeper.deleted_files
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF max IS NULL OR max < 1 THEN
    RAISE EXCEPTION 'max must be at least 1, not %', coalesce(max::text, 'null') USING ERRCODE = '22023';
  END IF;
  -- SKIP LOCKED: several application processes may drain the list side by side.
  RETURN QUERY
    WITH picked AS (
      SELECT d.id FROM jobkeeper.deleted_files d ORDER BY d.id LIMIT max FOR UPDATE SKIP LOCKED)
    DELETE FROM jobkeeper.deleted_files d USING picked WHERE d.id = picked.id
    RETURNING d.*;
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

CREATE FUNCTION jobkeeper._worker_status(
  OUT datname text, OUT running boolean, OUT pid integer, OUT last_run timestamptz,
  OUT next_run timestamptz, OUT last_error text, OUT rows_deleted bigint)
  RETURNS SETOF record
  LANGUAGE c VOLATILE
  AS 'MODULE_PATHNAME', 'jobkeeper_worker_status';
COMMENT ON FUNCTION jobkeeper._worker_status() IS 'internal: reads the workers'' shared memory';
CREATE VIEW jobkeeper.worker_status AS SELECT * FROM jobkeeper._worker_status();
COMMENT ON VIEW jobkeeper.worker_status IS
  'one row per database with a jobkeeper worker (needs shared_preload_libraries = ''jobkeeper''), visible from any database';

CREATE FUNCTION jobkeeper._wake_launcher() RETURNS void
  LANGUAGE c VOLATILE
  AS 'MODULE_PATHNAME', 'jobkeeper_wake_launcher';
COMMENT ON FUNCTION jobkeeper._wake_launcher() IS
  'internal: asks the launcher to start this database''s worker now';
