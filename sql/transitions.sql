-- The status rules of SPEC section 3 through direct SQL: every from/to pair on both tables,
-- the fields the trigger sets, and each error with its SQLSTATE.
CREATE EXTENSION jobkeeper;
\set VERBOSITY default

-- Tries one direct UPDATE in a subtransaction and reports what happened.
CREATE FUNCTION pg_temp.try_move(tbl text, from_status text, to_status text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  row_id uuid := gen_random_uuid();
  job uuid := gen_random_uuid();
  state text;
BEGIN
  INSERT INTO jobkeeper.jobs (id, file_name, file_path, status, error_message)
  VALUES (job, 'f', '/f', CASE WHEN tbl = 'jobs' THEN from_status ELSE 'completed' END, 'e');
  IF tbl = 'jobs' THEN
    UPDATE jobkeeper.jobs SET status = to_status WHERE id = job;
  ELSE
    INSERT INTO jobkeeper.export_jobs (id, job_id, export_type, status, error_message, file_path)
    VALUES (row_id, job, 'pdf', from_status, 'e', '/x.pdf');
    UPDATE jobkeeper.export_jobs SET status = to_status WHERE id = row_id;
  END IF;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE;
  RETURN state;
END $$;

WITH s(status, ord) AS (VALUES ('pending', 1), ('processing', 2), ('completed', 3),
                               ('failed', 4), ('cancelled', 5))
SELECT t.tbl, f.status AS "from",
       string_agg(format('%s:%s', t2.status, pg_temp.try_move(t.tbl, f.status, t2.status)), '  '
                  ORDER BY t2.ord) AS "to"
  FROM (VALUES ('jobs'), ('export_jobs')) t(tbl), s f, s t2
 GROUP BY t.tbl, f.status, f.ord
 ORDER BY t.tbl DESC, f.ord;

-- Fixed rows for readable messages.
INSERT INTO jobkeeper.jobs (id, file_name, file_path, status)
VALUES ('00000000-0000-0000-0000-000000000001', 'a.mp3', '/up/a.mp3', 'pending');

-- updated_at is set on every update, even when nothing else changes.
-- (Checks against now() run in the updating transaction: now() is its start time.)
BEGIN;
UPDATE jobkeeper.jobs SET updated_at = '2000-01-01' WHERE id = '00000000-0000-0000-0000-000000000001';
SELECT updated_at = now() AS updated_at_is_now FROM jobkeeper.jobs WHERE id = '00000000-0000-0000-0000-000000000001';
COMMIT;

-- Claiming by hand: started_at set once, no finished_at.
BEGIN;
UPDATE jobkeeper.jobs SET status = 'processing', locked_by = 'w', lease_expires_at = now() + interval '1 minute', progress = 20
 WHERE id = '00000000-0000-0000-0000-000000000001';
SELECT status, progress, started_at = now() AS started, finished_at, locked_by FROM jobkeeper.jobs
 WHERE id = '00000000-0000-0000-0000-000000000001';
COMMIT;

-- Progress never decreases while processing (22023), and may stay or rise.
UPDATE jobkeeper.jobs SET progress = 10 WHERE id = '00000000-0000-0000-0000-000000000001';
\echo :SQLSTATE
UPDATE jobkeeper.jobs SET progress = 20, metadata = '{"k": 1}' WHERE id = '00000000-0000-0000-0000-000000000001';
UPDATE jobkeeper.jobs SET progress = 60 WHERE id = '00000000-0000-0000-0000-000000000001';

-- Back to pending: progress 0, lease cleared; started_at kept (first claim).
UPDATE jobkeeper.jobs SET status = 'pending' WHERE id = '00000000-0000-0000-0000-000000000001';
SELECT status, progress, locked_by, lease_expires_at, started_at IS NOT NULL AS started FROM jobkeeper.jobs
 WHERE id = '00000000-0000-0000-0000-000000000001';

-- failed requires an error_message (constraint, 23514).
UPDATE jobkeeper.jobs SET status = 'processing' WHERE id = '00000000-0000-0000-0000-000000000001';
\set VERBOSITY terse
UPDATE jobkeeper.jobs SET status = 'failed' WHERE id = '00000000-0000-0000-0000-000000000001';
\echo :SQLSTATE
UPDATE jobkeeper.jobs SET status = 'failed', error_message = '' WHERE id = '00000000-0000-0000-0000-000000000001';
\echo :SQLSTATE
\set VERBOSITY default
BEGIN;
UPDATE jobkeeper.jobs SET status = 'failed', error_message = 'decoder crashed' WHERE id = '00000000-0000-0000-0000-000000000001';
SELECT status, finished_at = now() AS finished, locked_by FROM jobkeeper.jobs WHERE id = '00000000-0000-0000-0000-000000000001';
COMMIT;
-- A finished row may still be edited if its status stays.
UPDATE jobkeeper.jobs SET metadata = '{"note": "kept"}' WHERE id = '00000000-0000-0000-0000-000000000001';
-- failed -> pending clears finished_at; then complete it.
UPDATE jobkeeper.jobs SET status = 'pending' WHERE id = '00000000-0000-0000-0000-000000000001';
SELECT status, finished_at FROM jobkeeper.jobs WHERE id = '00000000-0000-0000-0000-000000000001';
UPDATE jobkeeper.jobs SET status = 'processing' WHERE id = '00000000-0000-0000-0000-000000000001';
BEGIN;
UPDATE jobkeeper.jobs SET status = 'completed' WHERE id = '00000000-0000-0000-0000-000000000001';
SELECT status, progress, finished_at = now() AS finished FROM jobkeeper.jobs WHERE id = '00000000-0000-0000-0000-000000000001';
COMMIT;

-- completed is final: message names the row and both states, hint says it is final.
UPDATE jobkeeper.jobs SET status = 'pending' WHERE id = '00000000-0000-0000-0000-000000000001';
\echo :SQLSTATE
-- A forbidden move lists the allowed next states.
INSERT INTO jobkeeper.jobs (id, file_name, file_path) VALUES ('00000000-0000-0000-0000-000000000002', 'b.mp3', '/up/b.mp3');
UPDATE jobkeeper.jobs SET status = 'completed' WHERE id = '00000000-0000-0000-0000-000000000002';
\echo :SQLSTATE
-- A status outside the vocabulary is refused by the constraint.
\set VERBOSITY terse
UPDATE jobkeeper.jobs SET status = 'done' WHERE id = '00000000-0000-0000-0000-000000000002';
\echo :SQLSTATE
\set VERBOSITY default

-- Inserting finished rows (as pg_restore does) keeps their timestamps; a missing
-- finished_at is filled in, and a completed row always shows progress 100.
INSERT INTO jobkeeper.jobs (id, file_name, file_path, status, finished_at, updated_at, progress)
VALUES ('00000000-0000-0000-0000-000000000003', 'c.mp3', '/up/c.mp3', 'completed', '2020-01-01', '2020-01-01', 100),
       ('00000000-0000-0000-0000-000000000004', 'd.mp3', '/up/d.mp3', 'completed', NULL, '2020-01-01', 30);
SELECT id, finished_at = '2020-01-01' AS finished_kept, finished_at > '2020-01-01' AS finished_filled,
       updated_at, progress FROM jobkeeper.jobs
 WHERE id IN ('00000000-0000-0000-0000-000000000003', '00000000-0000-0000-0000-000000000004') ORDER BY id;

-- Exports: same rules, plus a completed export has a file_path, and an export starts
-- processing only once its job is completed.
INSERT INTO jobkeeper.export_jobs (id, job_id, export_type)
VALUES ('00000000-0000-0000-0000-0000000000e1', '00000000-0000-0000-0000-000000000002', 'pdf_summary');
UPDATE jobkeeper.export_jobs SET status = 'processing' WHERE id = '00000000-0000-0000-0000-0000000000e1';
\echo :SQLSTATE
INSERT INTO jobkeeper.export_jobs (id, job_id, export_type)
VALUES ('00000000-0000-0000-0000-0000000000e2', '00000000-0000-0000-0000-000000000001', 'pdf_summary');
UPDATE jobkeeper.export_jobs SET status = 'processing' WHERE id = '00000000-0000-0000-0000-0000000000e2';
UPDATE jobkeeper.export_jobs SET progress = 50 WHERE id = '00000000-0000-0000-0000-0000000000e2';
UPDATE jobkeeper.export_jobs SET progress = 5 WHERE id = '00000000-0000-0000-0000-0000000000e2';
\echo :SQLSTATE
\set VERBOSITY terse
UPDATE jobkeeper.export_jobs SET status = 'completed' WHERE id = '00000000-0000-0000-0000-0000000000e2';
\echo :SQLSTATE
\set VERBOSITY default
BEGIN;
UPDATE jobkeeper.export_jobs SET status = 'completed', file_path = '/out/a.pdf' WHERE id = '00000000-0000-0000-0000-0000000000e2';
SELECT status, progress, file_path, finished_at = now() AS finished FROM jobkeeper.export_jobs
 WHERE id = '00000000-0000-0000-0000-0000000000e2';
COMMIT;
UPDATE jobkeeper.export_jobs SET status = 'failed', error_message = 'x' WHERE id = '00000000-0000-0000-0000-0000000000e2';
\echo :SQLSTATE

-- A finished row keeps its lifecycle: metadata may be edited, but a completed row stays at
-- progress 100 (22023) and no finished row loses its finished_at (55000).
INSERT INTO jobkeeper.jobs (id, file_name, file_path, status) VALUES
  ('00000000-0000-0000-0000-0000000000f1', 'done', '/done', 'completed'),
  ('00000000-0000-0000-0000-0000000000f2', 'gave up', '/gave-up', 'cancelled');
UPDATE jobkeeper.jobs SET metadata = '{"note": "kept"}', workflow_state = 'archived'
 WHERE id = '00000000-0000-0000-0000-0000000000f1';
UPDATE jobkeeper.jobs SET progress = 50 WHERE id = '00000000-0000-0000-0000-0000000000f1';
\echo :SQLSTATE
UPDATE jobkeeper.jobs SET finished_at = NULL WHERE id = '00000000-0000-0000-0000-0000000000f1';
\echo :SQLSTATE
UPDATE jobkeeper.jobs SET finished_at = NULL WHERE id = '00000000-0000-0000-0000-0000000000f2';
\echo :SQLSTATE
SELECT file_name, status, progress, finished_at IS NOT NULL AS finished, metadata, workflow_state
  FROM jobkeeper.jobs WHERE id IN ('00000000-0000-0000-0000-0000000000f1', '00000000-0000-0000-0000-0000000000f2')
 ORDER BY id;

-- A direct INSERT obeys the rules of an UPDATE into its state: a processing row gets
-- started_at and, without one, a lease of claim_jobs' default 5 minutes (so that it can
-- expire); a processing export needs a completed job.
INSERT INTO jobkeeper.jobs (id, file_name, file_path, status, progress) VALUES
  ('00000000-0000-0000-0000-0000000000f3', 'running', '/running', 'processing', 10),
  ('00000000-0000-0000-0000-0000000000f4', 'waiting', '/waiting', 'pending', 30);
SELECT file_name, status, progress, started_at IS NOT NULL AS started,
       lease_expires_at - started_at AS lease
  FROM jobkeeper.jobs WHERE id IN ('00000000-0000-0000-0000-0000000000f3', '00000000-0000-0000-0000-0000000000f4')
 ORDER BY id;
INSERT INTO jobkeeper.export_jobs (id, job_id, export_type, status)
VALUES ('00000000-0000-0000-0000-0000000000e9', '00000000-0000-0000-0000-0000000000f4', 'pdf', 'processing');
\echo :SQLSTATE
INSERT INTO jobkeeper.export_jobs (job_id, export_type, status)
VALUES ('00000000-0000-0000-0000-0000000000f1', 'pdf', 'processing');
SELECT export_type, status, started_at IS NOT NULL AS started, lease_expires_at - started_at AS lease
  FROM jobkeeper.export_jobs WHERE job_id = '00000000-0000-0000-0000-0000000000f1';

-- Constraints on direct writes (23514), and the unique active export (23505).
\set VERBOSITY terse
INSERT INTO jobkeeper.jobs (id, file_name, file_path) VALUES ('00000000-0000-0000-0000-0000000000f1', '', '/x');
\echo :SQLSTATE
INSERT INTO jobkeeper.jobs (id, file_name, file_path, file_hash) VALUES ('00000000-0000-0000-0000-0000000000f2', 'x', '/x', repeat('A', 64));
\echo :SQLSTATE
INSERT INTO jobkeeper.jobs (id, file_name, file_path, progress) VALUES ('00000000-0000-0000-0000-0000000000f3', 'x', '/x', 101);
INSERT INTO jobkeeper.jobs (id, file_name, file_path, queue) VALUES ('00000000-0000-0000-0000-0000000000f4', 'x', '/x', '');
INSERT INTO jobkeeper.jobs (id, file_name, file_path, max_attempts) VALUES ('00000000-0000-0000-0000-0000000000f5', 'x', '/x', 0);
INSERT INTO jobkeeper.jobs (id, file_name, file_path, attempts) VALUES ('00000000-0000-0000-0000-0000000000f6', 'x', '/x', -1);
INSERT INTO jobkeeper.jobs (id, file_name, file_path, submit_count) VALUES ('00000000-0000-0000-0000-0000000000f7', 'x', '/x', 0);
INSERT INTO jobkeeper.jobs (id, file_name, file_path, errors) VALUES ('00000000-0000-0000-0000-0000000000f8', 'x', '/x', '{}');
INSERT INTO jobkeeper.jobs (id, file_name, file_path, metadata) VALUES ('00000000-0000-0000-0000-0000000000f9', 'x', '/x', '[1]');
INSERT INTO jobkeeper.jobs (id, file_name, file_path, metadata) VALUES ('00000000-0000-0000-0000-0000000000fa', 'x', '/x', '"s"');
INSERT INTO jobkeeper.jobs (id, file_name, file_path) VALUES ('00000000-0000-0000-0000-0000000000fb', '', NULL);
\echo :SQLSTATE
INSERT INTO jobkeeper.export_jobs (id, job_id, export_type) VALUES ('00000000-0000-0000-0000-0000000000e9', '00000000-0000-0000-0000-000000000001', 'PDF');
INSERT INTO jobkeeper.export_jobs (id, job_id, export_type, max_attempts) VALUES ('00000000-0000-0000-0000-0000000000ea', '00000000-0000-0000-0000-000000000001', 'pdf', 0);
-- The detail names the rule (the constraint it once was); the row is not stored.
\set VERBOSITY default
INSERT INTO jobkeeper.export_jobs (id, job_id, export_type, status, error_message) VALUES ('00000000-0000-0000-0000-0000000000eb', '00000000-0000-0000-0000-000000000001', 'pdf', 'failed', '');
\set VERBOSITY terse
\echo :SQLSTATE
-- One active export per job and type.
INSERT INTO jobkeeper.export_jobs (job_id, export_type) VALUES ('00000000-0000-0000-0000-000000000001', 'srt');
INSERT INTO jobkeeper.export_jobs (job_id, export_type) VALUES ('00000000-0000-0000-0000-000000000001', 'srt');
\echo :SQLSTATE
\set VERBOSITY default

-- An UPDATE is checked for the columns it may have changed: its target list, or, when another
-- BEFORE trigger runs ahead of jobkeeper's (names sort), every column that differs.
INSERT INTO jobkeeper.jobs (id, file_name, file_path) VALUES ('00000000-0000-0000-0000-0000000000c1', 'c1', '/c1');
CREATE FUNCTION pg_temp.blank_name() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.file_name := ''; RETURN NEW; END $$;
CREATE TRIGGER aaa_blank_name BEFORE UPDATE ON jobkeeper.jobs
  FOR EACH ROW EXECUTE FUNCTION pg_temp.blank_name();
\set VERBOSITY terse
UPDATE jobkeeper.jobs SET metadata = '{"a": 1}' WHERE id = '00000000-0000-0000-0000-0000000000c1';
\echo :SQLSTATE
\set VERBOSITY default
DROP TRIGGER aaa_blank_name ON jobkeeper.jobs;
UPDATE jobkeeper.jobs SET metadata = '{"a": 1}' WHERE id = '00000000-0000-0000-0000-0000000000c1';
\set VERBOSITY terse
UPDATE jobkeeper.jobs SET file_name = '', metadata = '[]' WHERE id = '00000000-0000-0000-0000-0000000000c1';
UPDATE jobkeeper.jobs SET metadata = '[]' WHERE id = '00000000-0000-0000-0000-0000000000c1';
UPDATE jobkeeper.jobs SET queue = repeat('é', 256) WHERE id = '00000000-0000-0000-0000-0000000000c1';
\set VERBOSITY default
UPDATE jobkeeper.jobs SET queue = repeat('é', 255) WHERE id = '00000000-0000-0000-0000-0000000000c1';
SELECT file_name, char_length(queue), metadata FROM jobkeeper.jobs WHERE id = '00000000-0000-0000-0000-0000000000c1';

-- The trigger refuses to run anywhere else.
CREATE TABLE pg_temp.other (id uuid, status text);
CREATE TRIGGER t BEFORE UPDATE ON pg_temp.other FOR EACH ROW EXECUTE FUNCTION jobkeeper.status_trigger('job');
INSERT INTO pg_temp.other VALUES (gen_random_uuid(), 'pending');
UPDATE pg_temp.other SET status = 'processing';
SELECT jobkeeper.status_trigger();
DROP TABLE pg_temp.other;

DROP EXTENSION jobkeeper;
