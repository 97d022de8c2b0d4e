-- run_cleanup(): retention at its boundaries, jobs kept by active or young exports, leases,
-- deleted_files and its draining, the bounded run history, and the settings.
CREATE EXTENSION jobkeeper;
\set VERBOSITY default
\set SHOW_CONTEXT never
SET jobkeeper.notify = off;
SHOW jobkeeper.job_retention;
SHOW jobkeeper.export_retention;
SHOW jobkeeper.cleanup_interval;
SHOW jobkeeper.cleanup_batch_size;
SHOW jobkeeper.cleanup_history;

-- Jobs finished 13 h, 11 h ago and never; exports at the 24 h boundary.
INSERT INTO jobkeeper.jobs (id, file_name, file_path, status, finished_at, error_message) VALUES
  ('00000000-0000-0000-0000-000000000001', 'old done', '/files/1', 'completed', now() - interval '13 hours', NULL),
  ('00000000-0000-0000-0000-000000000002', 'young done', '/files/2', 'completed', now() - interval '11 hours', NULL),
  ('00000000-0000-0000-0000-000000000003', 'old failed', '/files/3', 'failed', now() - interval '13 hours', 'x'),
  ('00000000-0000-0000-0000-000000000004', 'old cancelled', '/files/4', 'cancelled', now() - interval '13 hours', NULL),
  ('00000000-0000-0000-0000-000000000005', 'pending', '/files/5', 'pending', NULL, NULL),
  ('00000000-0000-0000-0000-000000000006', 'processing', '/files/6', 'processing', NULL, NULL),
  ('00000000-0000-0000-0000-000000000007', 'old, active export', '/files/7', 'completed', now() - interval '30 hours', NULL),
  ('00000000-0000-0000-0000-000000000008', 'old, young export', '/files/8', 'completed', now() - interval '30 hours', NULL),
  ('00000000-0000-0000-0000-000000000009', 'old, old export', '/files/9', 'completed', now() - interval '30 hours', NULL);
UPDATE jobkeeper.jobs SET lease_expires_at = now() + interval '1 hour', locked_by = 'w' WHERE status = 'processing';
INSERT INTO jobkeeper.export_jobs (id, job_id, export_type, status, file_path, finished_at, error_message) VALUES
  ('00000000-0000-0000-0000-0000000000e7', '00000000-0000-0000-0000-000000000007', 'pdf', 'pending', NULL, NULL, NULL),
  ('00000000-0000-0000-0000-0000000000e8', '00000000-0000-0000-0000-000000000008', 'pdf', 'completed', '/out/8.pdf', now() - interval '23 hours', NULL),
  ('00000000-0000-0000-0000-0000000000e9', '00000000-0000-0000-0000-000000000009', 'pdf', 'completed', '/out/9.pdf', now() - interval '25 hours', NULL),
  ('00000000-0000-0000-0000-0000000000ea', '00000000-0000-0000-0000-000000000002', 'srt', 'failed', NULL, now() - interval '25 hours', 'x');

SELECT * FROM jobkeeper.run_cleanup();
SELECT file_name, status FROM jobkeeper.jobs ORDER BY id;
SELECT id, status FROM jobkeeper.export_jobs ORDER BY id;
SELECT kind, row_id, file_path FROM jobkeeper.deleted_files ORDER BY kind, row_id;
-- A second run finds nothing.
SELECT * FROM jobkeeper.run_cleanup();

-- Session settings apply: with 10 h job retention the 11 h old job goes too; -1 keeps forever.
SET jobkeeper.job_retention = '10h';
SET jobkeeper.export_retention = -1;
SELECT * FROM jobkeeper.run_cleanup();
SELECT file_name FROM jobkeeper.jobs ORDER BY id;
SET jobkeeper.job_retention = -1;
RESET jobkeeper.export_retention;
SELECT jobs_deleted, exports_deleted FROM jobkeeper.run_cleanup();
RESET jobkeeper.job_retention;

-- Expired leases come back through the same call.
UPDATE jobkeeper.jobs SET lease_expires_at = now() - interval '1 second' WHERE status = 'processing';
SELECT * FROM jobkeeper.run_cleanup();
SELECT file_name, status, error_message FROM jobkeeper.jobs WHERE id = '00000000-0000-0000-0000-000000000006';

-- Many rows go in several batches.
SET jobkeeper.cleanup_batch_size = 7;
INSERT INTO jobkeeper.jobs (file_name, file_path, status, finished_at)
SELECT 'bulk', '/bulk/' || i, 'completed', now() - interval '2 days' FROM generate_series(1, 50) i;
SELECT jobs_deleted FROM jobkeeper.run_cleanup();
-- Jobs that their exports keep, at the front of the expired ones: batches lock jobs without
-- looking at their exports first, and their delete, looking after the locks, keeps these;
-- once a batch found more than a tenth of them, the later ones look first. Here 5 of the first
-- batch of 7: every other job goes, these 5 stay with their exports. Then 1 kept job in front
-- of 20, batches of 20: each batch locks it again, and the 20 go.
INSERT INTO jobkeeper.jobs (file_name, file_path, status, finished_at)
SELECT CASE WHEN i <= 5 THEN 'kept' ELSE 'free' END, '/k/' || i, 'completed',
       now() - interval '3 days' + i * interval '1 second'
  FROM generate_series(1, 30) i;
INSERT INTO jobkeeper.export_jobs (job_id, export_type)
SELECT id, 'pdf' FROM jobkeeper.jobs WHERE file_name = 'kept';
-- The other jobs' exports expired: batches after the first lock and delete in one statement.
INSERT INTO jobkeeper.export_jobs (job_id, export_type, status, file_path, finished_at)
SELECT id, 'srt', 'completed', file_path || '.srt', now() - interval '3 days'
  FROM jobkeeper.jobs WHERE file_name = 'free';
SELECT jobs_deleted, exports_deleted FROM jobkeeper.run_cleanup();
SELECT file_name, count(*) FROM jobkeeper.jobs WHERE file_name IN ('kept', 'free') GROUP BY 1;
SELECT count(*) AS kept_exports FROM jobkeeper.export_jobs e
  JOIN jobkeeper.jobs j ON j.id = e.job_id WHERE j.file_name = 'kept';
SELECT kind, count(*) AS free_paths FROM jobkeeper.deleted_files WHERE file_path LIKE '/k/%'
 GROUP BY kind ORDER BY kind;
DELETE FROM jobkeeper.export_jobs e USING jobkeeper.jobs j WHERE j.id = e.job_id AND j.file_name = 'kept';
DELETE FROM jobkeeper.jobs WHERE file_name = 'kept';
SET jobkeeper.cleanup_batch_size = 20;
INSERT INTO jobkeeper.jobs (file_name, file_path, status, finished_at)
SELECT CASE WHEN i = 1 THEN 'kept' ELSE 'free' END, '/k1/' || i, 'completed',
       now() - interval '3 days' + i * interval '1 second'
  FROM generate_series(1, 21) i;
INSERT INTO jobkeeper.export_jobs (job_id, export_type)
SELECT id, 'pdf' FROM jobkeeper.jobs WHERE file_name = 'kept';
SELECT jobs_deleted FROM jobkeeper.run_cleanup();
SELECT file_name, count(*) FROM jobkeeper.jobs WHERE file_name IN ('kept', 'free') GROUP BY 1;
DELETE FROM jobkeeper.export_jobs e USING jobkeeper.jobs j WHERE j.id = e.job_id AND j.file_name = 'kept';
DELETE FROM jobkeeper.jobs WHERE file_name = 'kept';
RESET jobkeeper.cleanup_batch_size;

-- Paths are kept per cleanup batch; the view shows one row per path.
SELECT kind, count(*) AS batches, sum(cardinality(file_paths)) AS paths, max(claimed) AS claimed
  FROM jobkeeper.deleted_file_batches GROUP BY kind ORDER BY kind;
SELECT count(*) AS recorded FROM jobkeeper.deleted_files;
-- claim_deleted_files returns and removes entries, oldest batch first; a partly drained
-- batch keeps the rest, marked by "claimed", for the next call.
SELECT batch_id = (SELECT min(id) FROM jobkeeper.deleted_file_batches) AS oldest, position, kind, file_path
  FROM jobkeeper.claim_deleted_files(3) ORDER BY position;
SELECT count(*) AS left_over FROM jobkeeper.deleted_files;
SELECT claimed, cardinality(file_paths) FROM jobkeeper.deleted_file_batches ORDER BY id LIMIT 1;
SELECT position, file_path FROM jobkeeper.claim_deleted_files(1);
SELECT claimed, cardinality(file_paths) FROM jobkeeper.deleted_file_batches ORDER BY id LIMIT 1;
-- One call drains several batches; what it returned is gone.
SELECT count(*), count(DISTINCT batch_id) > 1 AS several_batches FROM jobkeeper.claim_deleted_files(1000);
SELECT count(*) AS left_over FROM jobkeeper.deleted_files;
SELECT count(*) AS batches_left FROM jobkeeper.deleted_file_batches;
SELECT * FROM jobkeeper.claim_deleted_files(0);
\echo :SQLSTATE
-- A batch records its paths up to 1000 to a row.
INSERT INTO jobkeeper.jobs (file_name, file_path, status, finished_at)
SELECT 'many', '/many/' || i, 'completed', now() - interval '2 days' FROM generate_series(1, 2500) i;
SELECT jobs_deleted FROM jobkeeper.run_cleanup();
SELECT cardinality(file_paths) FROM jobkeeper.deleted_file_batches ORDER BY 1 DESC;
SELECT count(*), count(DISTINCT file_path) FROM jobkeeper.claim_deleted_files(5000);
-- A malformed batch is refused.
\set VERBOSITY terse
INSERT INTO jobkeeper.deleted_file_batches (kind, row_ids, file_paths)
VALUES ('job', ARRAY[gen_random_uuid()], ARRAY['/a', '/b']);
INSERT INTO jobkeeper.deleted_file_batches (kind, row_ids, file_paths)
VALUES ('job', ARRAY[gen_random_uuid()], ARRAY[NULL]);
INSERT INTO jobkeeper.deleted_file_batches (kind, row_ids, file_paths, claimed)
VALUES ('job', ARRAY[gen_random_uuid()], ARRAY['/a'], 1);
\set VERBOSITY default
-- Unclaimed entries are kept until claimed by default (a dropped path is a file orphaned on
-- disk); jobkeeper.deleted_files_retention drops the ones older than it.
SHOW jobkeeper.deleted_files_retention;
INSERT INTO jobkeeper.deleted_file_batches (kind, row_ids, file_paths, deleted_at)
VALUES ('job', ARRAY[gen_random_uuid()], ARRAY['/ancient'], now() - interval '8 days'),
       ('job', ARRAY[gen_random_uuid()], ARRAY['/recent'], now() - interval '6 days');
SELECT jobs_deleted FROM jobkeeper.run_cleanup();
SELECT file_path FROM jobkeeper.deleted_files ORDER BY file_path;
SET jobkeeper.deleted_files_retention = '7d';
SELECT jobs_deleted FROM jobkeeper.run_cleanup();
SELECT file_path FROM jobkeeper.deleted_files;
RESET jobkeeper.deleted_files_retention;

-- Every run is recorded; the history keeps the newest cleanup_history rows. (The database's
-- worker may have recorded its first pass meanwhile, under its own name.)
SELECT count(*) FILTER (WHERE source = 'run_cleanup') AS runs,
       bool_and(source IN ('run_cleanup', 'worker')) AS all_named,
       bool_and(finished_at >= started_at) AS timed FROM jobkeeper.cleanup_runs;
SET jobkeeper.cleanup_history = 3;
SELECT count(*) FROM jobkeeper.run_cleanup();
SELECT count(*) AS runs_kept FROM jobkeeper.cleanup_runs;

-- Only at READ COMMITTED: the batches need a fresh snapshot after their locks. Nothing is
-- deleted by the refused calls.
INSERT INTO jobkeeper.jobs (file_name, file_path, status, finished_at)
VALUES ('isolation', '/isolation', 'completed', now() - interval '2 days');
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT * FROM jobkeeper.run_cleanup();
ROLLBACK;
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT * FROM jobkeeper.run_cleanup();
ROLLBACK;
SELECT count(*) AS still_there FROM jobkeeper.jobs WHERE file_name = 'isolation';
SELECT jobs_deleted FROM jobkeeper.run_cleanup();

-- The application's own triggers and foreign keys fire on the cleanup's deletes. (Without
-- them, the deletes of jobs it found without exports skip the foreign key's idle cascade.)
CREATE TABLE app_transcripts (job_id uuid NOT NULL REFERENCES jobkeeper.jobs ON DELETE CASCADE);
CREATE TABLE app_deleted_log (what text, id uuid);
CREATE FUNCTION app_log_delete() RETURNS trigger LANGUAGE plpgsql AS
  $$BEGIN INSERT INTO public.app_deleted_log VALUES (TG_TABLE_NAME, OLD.id); RETURN OLD; END$$;
CREATE FUNCTION app_log_paths() RETURNS trigger LANGUAGE plpgsql AS
  $$BEGIN INSERT INTO public.app_deleted_log VALUES (TG_TABLE_NAME, NEW.row_ids[1]); RETURN NEW; END$$;
SET jobkeeper.notify = off;
INSERT INTO jobkeeper.jobs (id, file_name, file_path, status, finished_at) VALUES
  ('00000000-0000-0000-0000-0000000000a1', 'with-transcript', '/t1', 'completed', now() - interval '2 days');
INSERT INTO app_transcripts VALUES ('00000000-0000-0000-0000-0000000000a1');
SELECT jobs_deleted FROM jobkeeper.run_cleanup();
SELECT count(*) AS transcripts_left FROM app_transcripts;
DROP TABLE app_transcripts;
CREATE TRIGGER app_log AFTER DELETE ON jobkeeper.jobs FOR EACH ROW EXECUTE FUNCTION app_log_delete();
INSERT INTO jobkeeper.jobs (id, file_name, file_path, status, finished_at) VALUES
  ('00000000-0000-0000-0000-0000000000a2', 'logged', '/t2', 'completed', now() - interval '2 days');
SELECT jobs_deleted FROM jobkeeper.run_cleanup();
DROP TRIGGER app_log ON jobkeeper.jobs;
CREATE TRIGGER app_log AFTER INSERT ON jobkeeper.deleted_file_batches
  FOR EACH ROW EXECUTE FUNCTION app_log_paths();
INSERT INTO jobkeeper.jobs (id, file_name, file_path, status, finished_at) VALUES
  ('00000000-0000-0000-0000-0000000000a3', 'paths-logged', '/t3', 'completed', now() - interval '2 days');
SELECT jobs_deleted FROM jobkeeper.run_cleanup();
DROP TRIGGER app_log ON jobkeeper.deleted_file_batches;
-- A statement trigger on export_jobs: the cascade's DELETE fires it even when it finds nothing.
CREATE FUNCTION app_log_statement() RETURNS trigger LANGUAGE plpgsql AS
  $$BEGIN INSERT INTO public.app_deleted_log VALUES (TG_TABLE_NAME || ' statement', NULL); RETURN NULL; END$$;
CREATE TRIGGER app_log AFTER DELETE ON jobkeeper.export_jobs
  FOR EACH STATEMENT EXECUTE FUNCTION app_log_statement();
INSERT INTO jobkeeper.jobs (id, file_name, file_path, status, finished_at) VALUES
  ('00000000-0000-0000-0000-0000000000a5', 'cascade-seen', '/t5', 'completed', now() - interval '2 days');
SELECT jobs_deleted FROM jobkeeper.run_cleanup();
DROP TRIGGER app_log ON jobkeeper.export_jobs;
DROP FUNCTION app_log_statement();
SELECT what, count(*) FROM app_deleted_log GROUP BY what, id ORDER BY what;
-- And without them the deletes go as before, the paths recorded, the setting back as it was.
INSERT INTO jobkeeper.jobs (id, file_name, file_path, status, finished_at) VALUES
  ('00000000-0000-0000-0000-0000000000a4', 'plain', '/t4', 'completed', now() - interval '2 days');
SELECT jobs_deleted FROM jobkeeper.run_cleanup();
SELECT count(*) AS recorded FROM jobkeeper.deleted_files WHERE file_path = '/t4';
SHOW session_replication_role;
-- A full batch that changes nothing ends its step with a warning, instead of being taken again
-- for ever: here an application's BEFORE DELETE trigger keeps some jobs without an error.
CREATE FUNCTION app_keep() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;
CREATE TRIGGER app_keep BEFORE DELETE ON jobkeeper.jobs
  FOR EACH ROW WHEN (OLD.file_name = 'stuck') EXECUTE FUNCTION app_keep();
INSERT INTO jobkeeper.jobs (file_name, file_path, status, finished_at)
SELECT 'stuck', '/s/' || i, 'completed', now() - interval '2 days' FROM generate_series(1, 10) i;
SET jobkeeper.cleanup_batch_size = 7;
SELECT jobs_deleted FROM jobkeeper.run_cleanup();
RESET jobkeeper.cleanup_batch_size;
SELECT error FROM jobkeeper.cleanup_runs ORDER BY id DESC LIMIT 1;
SELECT count(*) AS stuck FROM jobkeeper.jobs WHERE file_name = 'stuck';
DROP TRIGGER app_keep ON jobkeeper.jobs;
DROP FUNCTION app_keep();
DELETE FROM jobkeeper.jobs WHERE file_name = 'stuck';
DROP TABLE app_deleted_log;
DROP FUNCTION app_log_delete(), app_log_paths();
RESET jobkeeper.notify;

-- Settings are validated and superuser-only.
SET jobkeeper.job_retention = '-2';
SET jobkeeper.cleanup_batch_size = 0;
SET jobkeeper.cleanup_interval = '1 fortnight';
CREATE ROLE regress_jk_plain;
SET ROLE regress_jk_plain;
SET jobkeeper.job_retention = '1h';
RESET ROLE;
DROP ROLE regress_jk_plain;
DROP EXTENSION jobkeeper;
