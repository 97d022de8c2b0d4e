-- jobkeeper 1.1 -> 1.0: back to the schema of a fresh 1.0.
--
-- What a downgrade cannot keep: every TTL rule (jobkeeper.ttl_rules, with its counts) is
-- dropped, so the worker stops deleting from those tables; cleanup_runs loses its
-- ttl_rows_deleted column and the rows of TTL runs (source worker_ttl or run_ttl). Note the
-- rules first if you will update again: SELECT tbl, column_name, ttl, batch_size, owner
-- FROM jobkeeper.ttl_rules.

DROP EVENT TRIGGER jobkeeper_follow_ttl_renames;
DROP FUNCTION jobkeeper._follow_ttl_renames();
DROP EVENT TRIGGER jobkeeper_retire_ttl_rules;
DROP FUNCTION jobkeeper._retire_ttl_rules();
DROP FUNCTION jobkeeper.run_ttl();
DROP FUNCTION jobkeeper.drop_ttl_rule(regclass, name);
DROP FUNCTION jobkeeper.add_ttl_rule(regclass, name, interval, integer);
-- Leaving the extension first takes the table and its sequence off the list pg_dump dumps
-- (a plain DROP would leave their OIDs in pg_extension.extconfig).
ALTER EXTENSION jobkeeper DROP SEQUENCE jobkeeper.ttl_rules_id_seq;
ALTER EXTENSION jobkeeper DROP TABLE jobkeeper.ttl_rules;
DROP TABLE jobkeeper.ttl_rules;

DELETE FROM jobkeeper.cleanup_runs WHERE source IN ('worker_ttl', 'run_ttl');
ALTER TABLE jobkeeper.cleanup_runs
  DROP COLUMN ttl_rows_deleted,
  DROP CONSTRAINT cleanup_runs_source_valid,
  ADD CONSTRAINT cleanup_runs_source_valid CHECK (source IN ('worker', 'run_cleanup'));
COMMENT ON TABLE jobkeeper.cleanup_runs IS
  'one row per cleanup run (worker or run_cleanup()), newest jobkeeper.cleanup_history kept';

INSERT INTO jobkeeper.schema_history (version, action, from_version) VALUES ('1.0', 'downgrade', '1.1');
