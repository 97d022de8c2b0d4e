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
