-- Job functions: submit and dedup, claim, heartbeat, progress, complete, fail, cancel, retry,
-- and every error case with its SQLSTATE.
CREATE EXTENSION jobkeeper;
\set VERBOSITY default
\set SHOW_CONTEXT never
SET jobkeeper.notify = off;

-- submit_job: a new job, then the same hash (any case) deduplicates onto it.
SELECT id AS job_a, status, deduplicated FROM jobkeeper.submit_job('a.mp3', '/up/a.mp3', repeat('AB', 32)) \gset
SELECT :'status' AS status, :'deduplicated' AS deduplicated;
SELECT id = :'job_a' AS same_job, status, deduplicated
  FROM jobkeeper.submit_job('other-name.mp3', '/up/other.mp3', repeat('ab', 32), 'video', 9);
SELECT file_name, file_path, file_hash = repeat('ab', 32) AS hash_lowercase, queue, priority, submit_count
  FROM jobkeeper.jobs WHERE id = :'job_a';
-- Without a hash there is no dedup; every argument lands in its column.
SELECT id AS job_b FROM jobkeeper.submit_job('b.wav', '/up/b.wav', NULL, 'audio', -5,
  now() - interval '1 minute', 5, '{"lang": "en"}') \gset
SELECT queue, priority, max_attempts, metadata, status, attempts, submit_count, errors
  FROM jobkeeper.jobs WHERE id = :'job_b';
-- Bad arguments: 22023, malformed hash: 22P02; nothing is stored.
SELECT * FROM jobkeeper.submit_job('', '/x');
\echo :SQLSTATE
SELECT * FROM jobkeeper.submit_job(NULL, '/x');
\echo :SQLSTATE
SELECT * FROM jobkeeper.submit_job(repeat('n', 256), '/x');
\echo :SQLSTATE
SELECT * FROM jobkeeper.submit_job('x', '');
\echo :SQLSTATE
SELECT * FROM jobkeeper.submit_job('x', '/x', queue => '');
\echo :SQLSTATE
-- A queue goes into every event's payload: at most 255 characters, by the function and the table.
SELECT * FROM jobkeeper.submit_job('x', '/x', queue => repeat('q', 8000));
\echo :SQLSTATE
\set VERBOSITY terse
INSERT INTO jobkeeper.jobs (id, file_name, file_path, queue) VALUES ('00000000-0000-0000-0000-0000000000f1', 'x', '/x', repeat('q', 256));
\echo :SQLSTATE
\set VERBOSITY default
SELECT * FROM jobkeeper.submit_job('x', '/x', max_attempts => 0);
\echo :SQLSTATE
SELECT * FROM jobkeeper.submit_job('x', '/x', metadata => '[1]');
\echo :SQLSTATE
SELECT * FROM jobkeeper.submit_job('x', '/x', 'not-a-hash');
\echo :SQLSTATE
SELECT * FROM jobkeeper.submit_job('x', '/x', repeat('g', 64));
\echo :SQLSTATE
SELECT count(*) AS jobs FROM jobkeeper.jobs;

-- claim_jobs: by priority, then run_after, then created_at; not before run_after.
INSERT INTO jobkeeper.jobs (id, file_name, file_path, queue, priority, run_after) VALUES
  ('00000000-0000-0000-0000-000000000011', 'p1', '/p1', 'audio', 1, now() - interval '2 minutes'),
  ('00000000-0000-0000-0000-000000000012', 'p2', '/p2', 'audio', 1, now() - interval '3 minutes'),
  ('00000000-0000-0000-0000-000000000013', 'later', '/later', 'audio', -100, now() + interval '1 hour');
SELECT file_name, status, attempts, locked_by, lease_expires_at - now() AS lease,
       started_at IS NOT NULL AS started
  FROM jobkeeper.claim_jobs('w1', 3, ARRAY['audio'], '90 seconds');
-- Nothing left in audio that may run now; the default queue's job is still there.
SELECT count(*) AS claimed FROM jobkeeper.claim_jobs('w1', 10, ARRAY['audio']);
SELECT file_name, queue FROM jobkeeper.claim_jobs('w2', 10);
SELECT count(*) AS nothing_left FROM jobkeeper.claim_jobs('w2');
SELECT * FROM jobkeeper.claim_jobs('', 1);
\echo :SQLSTATE
SELECT * FROM jobkeeper.claim_jobs('w', 0);
\echo :SQLSTATE
SELECT * FROM jobkeeper.claim_jobs('w', 1, NULL, '0 seconds');
\echo :SQLSTATE
SELECT * FROM jobkeeper.claim_jobs('w', 1, NULL, '-1 minute');
\echo :SQLSTATE


-- heartbeat: true for the holder, false for anyone else, P0002 for an unknown id.
BEGIN;
SELECT jobkeeper.heartbeat('00000000-0000-0000-0000-000000000011', 'w1', '10 minutes') AS holder;
SELECT lease_expires_at - now() AS lease FROM jobkeeper.jobs WHERE id = '00000000-0000-0000-0000-000000000011';
COMMIT;
SELECT jobkeeper.heartbeat('00000000-0000-0000-0000-000000000011', 'w2') AS other_worker;
SELECT jobkeeper.heartbeat('00000000-0000-0000-0000-0000000000ff', 'w1');
\echo :SQLSTATE
SELECT jobkeeper.heartbeat('00000000-0000-0000-0000-000000000011', 'w1', '0 seconds');
\echo :SQLSTATE

-- set_workflow_state and set_job_progress.
SELECT jobkeeper.set_workflow_state('00000000-0000-0000-0000-000000000011', 'transcribing');
SELECT jobkeeper.set_workflow_state('00000000-0000-0000-0000-000000000011', repeat('s', 51));
\echo :SQLSTATE
SELECT jobkeeper.set_workflow_state('00000000-0000-0000-0000-0000000000ff', 'x');
\echo :SQLSTATE
SELECT jobkeeper.set_job_progress('00000000-0000-0000-0000-000000000011', 35);
SELECT jobkeeper.set_job_progress('00000000-0000-0000-0000-000000000011', 35);
SELECT jobkeeper.set_job_progress('00000000-0000-0000-0000-000000000011', 20);
\echo :SQLSTATE
SELECT jobkeeper.set_job_progress('00000000-0000-0000-0000-000000000011', 101);
\echo :SQLSTATE
SELECT jobkeeper.set_job_progress('00000000-0000-0000-0000-000000000013', 10);
\echo :SQLSTATE
SELECT jobkeeper.set_job_progress('00000000-0000-0000-0000-0000000000ff', 10);
\echo :SQLSTATE
SELECT workflow_state, progress FROM jobkeeper.jobs WHERE id = '00000000-0000-0000-0000-000000000011';

-- complete_job: the lease holder, or anyone when no worker is named.
SELECT jobkeeper.complete_job('00000000-0000-0000-0000-000000000011', 'w2');
\echo :SQLSTATE
SELECT jobkeeper.complete_job('00000000-0000-0000-0000-000000000011', 'w1');
SELECT status, progress, locked_by, lease_expires_at, finished_at IS NOT NULL AS finished
  FROM jobkeeper.jobs WHERE id = '00000000-0000-0000-0000-000000000011';
SELECT jobkeeper.complete_job('00000000-0000-0000-0000-000000000011');
\echo :SQLSTATE
SELECT jobkeeper.complete_job('00000000-0000-0000-0000-000000000013');
\echo :SQLSTATE
SELECT jobkeeper.complete_job('00000000-0000-0000-0000-0000000000ff');
\echo :SQLSTATE

-- fail_job: back to pending with backoff while attempts remain, else failed; each failure
-- appends to errors.
SELECT jobkeeper.fail_job('00000000-0000-0000-0000-000000000012', 'gpu busy', 'w2');
\echo :SQLSTATE
SELECT jobkeeper.fail_job('00000000-0000-0000-0000-000000000012', '', 'w1');
\echo :SQLSTATE
BEGIN;
SELECT jobkeeper.fail_job('00000000-0000-0000-0000-000000000012', 'gpu busy', 'w1') AS new_status;
SELECT status, attempts, error_message, run_after - now() AS backoff, locked_by,
       jsonb_array_length(errors) AS failures, errors -> 0 ->> 'error' AS first_error,
       (errors -> 0 ->> 'attempt')::int AS first_attempt, (errors -> 0 ->> 'at')::timestamptz = now() AS at_now
  FROM jobkeeper.jobs WHERE id = '00000000-0000-0000-0000-000000000012';
COMMIT;
UPDATE jobkeeper.jobs SET run_after = now() WHERE id = '00000000-0000-0000-0000-000000000012';
SELECT attempts FROM jobkeeper.claim_jobs('w1', 1, ARRAY['audio']);
SELECT jobkeeper.fail_job('00000000-0000-0000-0000-000000000012', 'bad file', retry => false) AS new_status;
SELECT status, attempts, error_message, finished_at IS NOT NULL AS finished, jsonb_array_length(errors) AS failures
  FROM jobkeeper.jobs WHERE id = '00000000-0000-0000-0000-000000000012';
SELECT jobkeeper.fail_job('00000000-0000-0000-0000-000000000012', 'again');
\echo :SQLSTATE
SELECT jobkeeper.retry_delay(n) FROM generate_series(1, 10) n;

-- Out of attempts: the last failure is final even with retry.
INSERT INTO jobkeeper.jobs (id, file_name, file_path, status, attempts, max_attempts, locked_by)
VALUES ('00000000-0000-0000-0000-000000000014', 'q', '/q', 'processing', 2, 2, 'w3');
SELECT jobkeeper.fail_job('00000000-0000-0000-0000-000000000014', 'still broken', 'w3') AS new_status;

-- cancel_job and retry_job.
SELECT jobkeeper.cancel_job('00000000-0000-0000-0000-000000000013');
SELECT status, finished_at IS NOT NULL AS finished FROM jobkeeper.jobs WHERE id = '00000000-0000-0000-0000-000000000013';
SELECT jobkeeper.cancel_job('00000000-0000-0000-0000-000000000013');
\echo :SQLSTATE
SELECT jobkeeper.cancel_job('00000000-0000-0000-0000-000000000011');
\echo :SQLSTATE
SELECT jobkeeper.cancel_job('00000000-0000-0000-0000-0000000000ff');
\echo :SQLSTATE
BEGIN;
SELECT jobkeeper.retry_job('00000000-0000-0000-0000-000000000012');
SELECT status, attempts, progress, error_message, started_at, locked_by, finished_at,
       run_after = now() AS runnable_now, jsonb_array_length(errors) AS history_kept
  FROM jobkeeper.jobs WHERE id = '00000000-0000-0000-0000-000000000012';
COMMIT;
SELECT jobkeeper.retry_job('00000000-0000-0000-0000-000000000013');
SELECT jobkeeper.retry_job('00000000-0000-0000-0000-000000000012');
\echo :SQLSTATE
SELECT jobkeeper.retry_job('00000000-0000-0000-0000-000000000011');
\echo :SQLSTATE
SELECT jobkeeper.retry_job('00000000-0000-0000-0000-0000000000ff');
\echo :SQLSTATE

-- Resubmitting a failed or cancelled file resets it to pending (original fields kept).
UPDATE jobkeeper.jobs SET file_hash = repeat('cd', 32) WHERE id = '00000000-0000-0000-0000-000000000014';
SELECT id, status, deduplicated FROM jobkeeper.submit_job('new-name', '/new', repeat('CD', 32), 'other-queue');
SELECT file_name, queue, status, attempts, error_message, submit_count, jsonb_array_length(errors) AS history_kept
  FROM jobkeeper.jobs WHERE id = '00000000-0000-0000-0000-000000000014';
-- ... and a completed one is returned as it is.
UPDATE jobkeeper.jobs SET file_hash = repeat('ef', 32) WHERE id = '00000000-0000-0000-0000-000000000011';
SELECT id, status, deduplicated FROM jobkeeper.submit_job('z', '/z', repeat('ef', 32));

-- complete_jobs: counts only the jobs it completed.
SELECT array_agg(id ORDER BY file_name) AS batch FROM jobkeeper.claim_jobs('batcher', 10) \gset
SELECT cardinality(:'batch'::uuid[]) AS claimed;
SELECT jobkeeper.complete_jobs(:'batch'::uuid[] || '00000000-0000-0000-0000-000000000011'::uuid
                               || '00000000-0000-0000-0000-0000000000ff'::uuid, 'someone-else') AS by_other;
SELECT jobkeeper.complete_jobs(:'batch'::uuid[] || '00000000-0000-0000-0000-000000000011'::uuid
                               || '00000000-0000-0000-0000-0000000000ff'::uuid, 'batcher') AS completed;
SELECT jobkeeper.complete_jobs('{}') AS none;

DROP EXTENSION jobkeeper;
