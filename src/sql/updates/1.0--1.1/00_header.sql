-- jobkeeper 1.0 -> 1.1: batches (SPEC section 10) and TTL rules for application tables
-- (SPEC section 11).
-- Assembled by the Makefile from the files of src/sql/updates/1.0--1.1/ in name order; the
-- parts shared with the install script are links to src/sql/install/, so the two cannot
-- drift. TAP 013 checks that the updated schema equals a fresh 1.1.

-- cleanup_runs records TTL runs too, with their rows deleted.
ALTER TABLE jobkeeper.cleanup_runs
  DROP CONSTRAINT cleanup_runs_source_valid,
  ADD CONSTRAINT cleanup_runs_source_valid
    CHECK (source IN ('worker', 'run_cleanup', 'worker_ttl', 'run_ttl')),
  ADD COLUMN ttl_rows_deleted bigint NOT NULL DEFAULT 0;
COMMENT ON TABLE jobkeeper.cleanup_runs IS
  'one row per cleanup run (worker or run_cleanup()) and per TTL run that deleted or failed (worker_ttl or run_ttl()), newest jobkeeper.cleanup_history kept';

