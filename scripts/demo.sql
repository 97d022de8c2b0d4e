-- The jobkeeper demonstration, run by `make demo` against a fresh database.
\pset footer off
\set VERBOSITY default
\set SHOW_CONTEXT never
\echo '== install'
CREATE EXTENSION jobkeeper;
SELECT jobkeeper.version() AS library_version;

\echo '== this session LISTENs, as a worker would: events are sent after commit, in batches,'
\echo '   by the database''s jobkeeper worker (its PID shows as the sender)'
LISTEN jobkeeper_jobs;
DO $$ BEGIN  -- the worker starts for the new database within a second or so
  FOR i IN 1..100 LOOP
    EXIT WHEN EXISTS (SELECT FROM jobkeeper.worker_status WHERE datname = current_database() AND running);
    PERFORM pg_sleep(0.1);
  END LOOP;
END $$;
SELECT pid AS worker_pid FROM jobkeeper.worker_status WHERE datname = current_database();
\echo '-- the "Asynchronous notification" lines below are those events: one for the stored job,'
\echo '   none for the deduplicated submit'

\echo '== an application submits two uploads; the second is the same file (hash in any case)'
SELECT id AS job, status, deduplicated
  FROM jobkeeper.submit_job('interview.mp3', '/uploads/interview.mp3',
                            'a3f5c9e1b2d4f6a8c0e2a4b6d8f0a2c4e6a8b0d2f4a6c8e0b2d4f6a8c0e2a4b6',
                            metadata => '{"user": 42}') \gset
\echo 'first submit:' :status 'deduplicated =' :deduplicated
SELECT id = :'job' AS same_job, status, deduplicated
  FROM jobkeeper.submit_job('interview (copy).mp3', '/uploads/copy.mp3',
                            'A3F5C9E1B2D4F6A8C0E2A4B6D8F0A2C4E6A8B0D2F4A6C8E0B2D4F6A8C0E2A4B6');
SELECT * FROM jobkeeper.duplicate_hashes;
\echo '-- a direct INSERT obeys the same rules (an error on purpose):'
\set ON_ERROR_STOP 0
INSERT INTO jobkeeper.jobs (file_name, file_path, file_hash) VALUES ('bad.mp3', '/uploads/bad.mp3', 'not-a-hash');
\set ON_ERROR_STOP 1

\echo '== a worker claims it, reports progress and completes it'
SELECT file_name, status, attempts, locked_by, lease_expires_at > now() AS leased
  FROM jobkeeper.claim_jobs('transcriber-1', 10);
SELECT jobkeeper.set_workflow_state(:'job', 'transcribing');
SELECT jobkeeper.set_job_progress(:'job', 60);
SELECT jobkeeper.heartbeat(:'job', 'transcriber-1') AS still_mine;
\echo '-- progress never goes back while processing (an error on purpose):'
\set ON_ERROR_STOP 0
SELECT jobkeeper.set_job_progress(:'job', 10);
\set ON_ERROR_STOP 1
SELECT jobkeeper.complete_job(:'job', 'transcriber-1');
SELECT status, progress, workflow_state, finished_at IS NOT NULL AS finished
  FROM jobkeeper.jobs WHERE id = :'job';
\echo '-- completed is final, even for a direct UPDATE (an error on purpose):'
\set ON_ERROR_STOP 0
UPDATE jobkeeper.jobs SET status = 'pending' WHERE id = :'job';
\set ON_ERROR_STOP 1

\echo '== exports of the completed job'
SELECT id AS export, export_type, status FROM jobkeeper.request_export(:'job', 'pdf_summary') \gset
SELECT export_type, status FROM jobkeeper.claim_exports('exporter-1');
SELECT jobkeeper.set_export_progress(:'export', 50);
SELECT jobkeeper.complete_export(:'export', '/exports/interview-summary.pdf', 'exporter-1');
SELECT export_type, status, progress, file_path FROM jobkeeper.export_jobs WHERE job_id = :'job';

\echo '== a failing job: retried with backoff, then failed; resubmitting the file retries it'
SELECT id AS bad FROM jobkeeper.submit_job('broken.wav', '/uploads/broken.wav',
  'b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0', max_attempts => 2) \gset
SELECT count(*) AS claimed FROM jobkeeper.claim_jobs('transcriber-2');
SELECT jobkeeper.fail_job(:'bad', 'decoder error', 'transcriber-2') AS after_first_failure;
SELECT status, attempts, run_after - now() AS retry_in FROM jobkeeper.jobs WHERE id = :'bad';
UPDATE jobkeeper.jobs SET run_after = now() WHERE id = :'bad';  -- skip the wait for the demo
SELECT count(*) AS claimed FROM jobkeeper.claim_jobs('transcriber-2');
SELECT jobkeeper.fail_job(:'bad', 'decoder error', 'transcriber-2') AS after_second_failure;
SELECT status, deduplicated FROM jobkeeper.submit_job('broken.wav', '/uploads/broken.wav',
  'b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0');
SELECT status, attempts, jsonb_array_length(errors) AS failures_kept FROM jobkeeper.jobs WHERE id = :'bad';

\echo '== the background worker: re-queues a dead worker''s lease, deletes expired work'
-- Waits up to `seconds` for the query to return true (the worker acts on its own schedule).
CREATE FUNCTION pg_temp.wait_for(query text, seconds int) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE ok boolean := false;
BEGIN
  FOR i IN 1 .. seconds * 5 LOOP
    EXECUTE query INTO ok;
    EXIT WHEN ok;
    PERFORM pg_sleep(0.2);
  END LOOP;
  RETURN ok;
END $$;
SELECT pg_temp.wait_for('SELECT count(*) > 0 FROM jobkeeper.worker_status WHERE running', 30) AS worker_running;
SELECT datname, running, next_run IS NOT NULL AS scheduled FROM jobkeeper.worker_status;
SELECT count(*) AS claimed FROM jobkeeper.claim_jobs('transcriber-3', 1, lease => '1 second');
\echo '-- transcriber-3 dies; within lease_check_interval (10 s) the worker re-queues its job'
SELECT pg_temp.wait_for(format('SELECT status = %L FROM jobkeeper.jobs WHERE id = %L', 'pending', :'bad'), 30) AS requeued;
SELECT status, error_message, locked_by FROM jobkeeper.jobs WHERE id = :'bad';
\echo '-- a job finished two days ago, and a cleanup interval of 2 s for the demo (SIGHUP)'
INSERT INTO jobkeeper.jobs (file_name, file_path, status, finished_at)
VALUES ('last-week.mp3', '/uploads/last-week.mp3', 'completed', now() - interval '2 days');
ALTER SYSTEM SET jobkeeper.cleanup_interval = '2s';
SELECT pg_reload_conf();
SELECT pg_temp.wait_for('SELECT NOT EXISTS (SELECT FROM jobkeeper.jobs WHERE file_name = ''last-week.mp3'')', 30) AS deleted;
SELECT count(*) AS expired_jobs_left FROM jobkeeper.jobs WHERE file_name = 'last-week.mp3';
SELECT source, jobs_deleted, leases_requeued, error FROM jobkeeper.cleanup_runs
 WHERE jobs_deleted > 0 OR leases_requeued > 0 ORDER BY id;
\echo '-- the paths wait in deleted_files until the application claims them (never dropped by default)'
SELECT pg_temp.wait_for('SELECT files_waiting > 0 FROM jobkeeper.worker_status', 30) AS reported;
SELECT datname, files_waiting, oldest_file_age IS NOT NULL AS has_oldest FROM jobkeeper.worker_status;
\echo '-- the application removes the files of deleted rows'
SELECT kind, file_path FROM jobkeeper.claim_deleted_files(10);
ALTER SYSTEM RESET jobkeeper.cleanup_interval;
SELECT pg_reload_conf();

\echo '== TTL rules: the worker purges short-lived rows of the application''s own tables too'
\echo '-- one-time codes that expire after 5 minutes, in a table the application role owns'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'demo_app') THEN CREATE ROLE demo_app; END IF;
END $$;
CREATE TABLE one_time_codes (code text PRIMARY KEY, user_id bigint,
                             created_at timestamptz NOT NULL DEFAULT now());
ALTER TABLE one_time_codes OWNER TO demo_app;
\echo '-- a rule needs an index that leads with its column; without one it is refused with the fix'
\set ON_ERROR_STOP 0
SELECT jobkeeper.add_ttl_rule('one_time_codes', 'created_at', '5 minutes');
\set ON_ERROR_STOP 1
CREATE INDEX ON one_time_codes (created_at);
SELECT tbl, column_name, ttl, owner FROM jobkeeper.add_ttl_rule('one_time_codes', 'created_at', '5 minutes');
INSERT INTO one_time_codes (code, user_id, created_at)
SELECT 'code-' || g, g, now() - g * interval '2 minutes' FROM generate_series(1, 6) g;
SELECT code, now() - created_at > interval '5 minutes' AS expired FROM one_time_codes ORDER BY created_at DESC;
\echo '-- the worker runs the rules every jobkeeper.ttl_interval (60 s; 1 s here), as the rule''s owner'
ALTER SYSTEM SET jobkeeper.ttl_interval = '1s';
SELECT pg_reload_conf();
SELECT pg_temp.wait_for('SELECT count(*) = 2 FROM one_time_codes', 30) AS purged;
SELECT code FROM one_time_codes ORDER BY created_at DESC;
SELECT tbl, last_rows_deleted, rows_deleted, last_error FROM jobkeeper.ttl_rules;
SELECT source, ttl_rows_deleted FROM jobkeeper.cleanup_runs WHERE source = 'worker_ttl';
ALTER SYSTEM RESET jobkeeper.ttl_interval;
SELECT pg_reload_conf();

\echo '== batches: an upload of four files as one batch, paused, resumed, finishing'
LISTEN jobkeeper_batches;
SELECT jobkeeper.create_batch('upload 17', '{"user": "ana"}') AS batch \gset
SELECT s.id, s.status, s.deduplicated
  FROM generate_series(1, 4) g,
       jobkeeper.submit_to_batch(:'batch', 'take' || g || '.wav', '/up/take' || g || '.wav',
                                 jobkeeper.sha256_hex('take' || g), 'uploads') s;
SELECT total, pending, processing, completed, progress FROM jobkeeper.batch_stats WHERE id = :'batch';
\echo '-- paused: claims skip its jobs, which stay pending'
SELECT jobkeeper.pause_batch(:'batch');
SELECT count(*) AS claimed_while_paused FROM jobkeeper.claim_jobs('demo-worker', 10, ARRAY['uploads']);
SELECT jobkeeper.resume_batch(:'batch');
SELECT count(*) AS claimed FROM jobkeeper.claim_jobs('demo-worker', 10, ARRAY['uploads']);
SELECT jobkeeper.set_job_progress(id, 50) FROM jobkeeper.jobs WHERE :'batch' = ANY (batch_ids) AND status = 'processing';
SELECT total, pending, processing, completed, progress FROM jobkeeper.batch_stats WHERE id = :'batch';
\echo '-- three complete, one fails for good; the worker announces the finished batch once'
SELECT jobkeeper.complete_jobs(ARRAY(SELECT id FROM jobkeeper.jobs WHERE :'batch' = ANY (batch_ids) ORDER BY file_name LIMIT 3));
SELECT jobkeeper.fail_job(id, 'unreadable file', retry => false)
  FROM jobkeeper.jobs WHERE :'batch' = ANY (batch_ids) AND status = 'processing';
SELECT pg_temp.wait_for($$SELECT finished_at IS NOT NULL FROM jobkeeper.batches WHERE name = 'upload 17'$$, 30) AS announced;
SELECT total, completed, failed, progress, finished_at IS NOT NULL AS finished FROM jobkeeper.batch_stats WHERE id = :'batch';
UNLISTEN jobkeeper_batches;

\echo '== monitoring: exact counts of active work, estimates (from ANALYZE) of finished work'
ANALYZE jobkeeper.jobs, jobkeeper.export_jobs;
SELECT queue, status, jobs, estimated, expired_leases FROM jobkeeper.queue_stats ORDER BY queue, status;
SELECT export_type, status, exports, estimated FROM jobkeeper.export_stats ORDER BY 1, 2;
SELECT datname, running, rows_deleted, last_error FROM jobkeeper.worker_status;

\echo '== what is installed, what is pending, and the history of this database'
SELECT * FROM jobkeeper.version_info();
SELECT version, action, from_version, by_role FROM jobkeeper.schema_history ORDER BY at;

\echo '== the worker never blocks a DBA: copy, rename and drop a served database, no FORCE'
\c postgres
CREATE DATABASE demo_copy TEMPLATE demo;
ALTER DATABASE demo_copy RENAME TO demo_scratch;
\c demo_scratch
DO $$ BEGIN  -- wait (up to 30 s) until the copy has its worker
  FOR i IN 1 .. 150 LOOP
    EXIT WHEN (SELECT count(*) = 2 FROM jobkeeper.worker_status WHERE running);
    PERFORM pg_sleep(0.2);
  END LOOP;
END $$;
SELECT datname, running FROM jobkeeper.worker_status ORDER BY datname;
\c postgres
DROP DATABASE demo_scratch;
\c demo
SELECT datname, running FROM jobkeeper.worker_status ORDER BY datname;
