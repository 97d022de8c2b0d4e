-- Batches (SPEC section 10): create, add when submitted and later (dedup joins the existing
-- job), the roll-up at each step, pause and resume, cancel and retry, every error with its
-- SQLSTATE, direct writes, retention, and the roll-up's plan.
CREATE EXTENSION jobkeeper;
\set VERBOSITY default
\set SHOW_CONTEXT never
SET jobkeeper.notify = off;

CREATE FUNCTION pg_temp.rollup(b uuid) RETURNS TABLE (total bigint, pending bigint,
    processing bigint, completed bigint, failed bigint, cancelled bigint, progress numeric,
    finished boolean)
LANGUAGE sql AS $$
  SELECT total, pending, processing, completed, failed, cancelled, progress, finished_at IS NOT NULL
    FROM jobkeeper.batch_stats WHERE id = b
$$;
-- The counts agree with the jobs themselves (the slow way).
CREATE FUNCTION pg_temp.counted(b uuid) RETURNS TABLE (total bigint, pending bigint,
    processing bigint, completed bigint, failed bigint, cancelled bigint, progress numeric)
LANGUAGE sql AS $$
  SELECT count(*), count(*) FILTER (WHERE status = 'pending'),
         count(*) FILTER (WHERE status = 'processing'), count(*) FILTER (WHERE status = 'completed'),
         count(*) FILTER (WHERE status = 'failed'), count(*) FILTER (WHERE status = 'cancelled'),
         round(avg(progress), 1)
    FROM jobkeeper.jobs WHERE b = ANY (batch_ids)
$$;

-- create_batch: an empty batch; bad arguments are 22023.
SELECT jobkeeper.create_batch('uploads 2026-12-01', '{"owner": "ana"}') AS b \gset
SELECT name, metadata, paused, finished_at FROM jobkeeper.batches WHERE id = :'b';
SELECT * FROM pg_temp.rollup(:'b');
SELECT jobkeeper.create_batch('');
\echo :SQLSTATE
SELECT jobkeeper.create_batch(NULL);
\echo :SQLSTATE
SELECT jobkeeper.create_batch(repeat('n', 256));
\echo :SQLSTATE
SELECT jobkeeper.create_batch('x', '[1]');
\echo :SQLSTATE
SELECT jobkeeper.create_batch('x', NULL);
\echo :SQLSTATE

-- submit_to_batch: new jobs, and a file dedup already knows joins as its existing job.
SELECT id AS j1 FROM jobkeeper.submit_to_batch(:'b', 'a.mp3', '/up/a.mp3', repeat('a', 64)) \gset
SELECT id AS j2 FROM jobkeeper.submit_to_batch(:'b', 'b.mp3', '/up/b.mp3', repeat('b', 64)) \gset
SELECT id AS known FROM jobkeeper.submit_job('c.mp3', '/up/c.mp3', repeat('c', 64)) \gset
SELECT id = :'known' AS same_job, status, deduplicated
  FROM jobkeeper.submit_to_batch(:'b', 'c-again.mp3', '/up/c2.mp3', repeat('C', 64));
SELECT * FROM pg_temp.rollup(:'b');
-- add_to_batch: later, several at once; a job already in it is not counted twice.
SELECT id AS j4 FROM jobkeeper.submit_job('d.mp3', '/up/d.mp3') \gset
SELECT id AS j5 FROM jobkeeper.submit_job('e.mp3', '/up/e.mp3') \gset
SELECT jobkeeper.add_to_batch(:'b', ARRAY[:'j4', :'j5', :'j1']::uuid[]) AS added;
SELECT jobkeeper.add_to_batch(:'b', ARRAY[:'j4']::uuid[]) AS added_again;
SELECT jobkeeper.add_to_batch(:'b', NULL) AS added_nothing;
SELECT * FROM pg_temp.rollup(:'b');
SELECT count(*) AS listed FROM jobkeeper.batch_jobs WHERE batch_id = :'b';
-- Errors: an unknown batch or job is P0002 (and adds nothing), a null element 22023 (a batch
-- with a known id, for the messages).
INSERT INTO jobkeeper.batches (id, name) VALUES ('00000000-0000-0000-0000-0000000000b1', 'fixed');
SELECT jobkeeper.add_to_batch('00000000-0000-0000-0000-000000000000', ARRAY[:'j4']::uuid[]);
\echo :SQLSTATE
SELECT jobkeeper.add_to_batch('00000000-0000-0000-0000-0000000000b1',
                              ARRAY[:'j4', '00000000-0000-0000-0000-000000000009']::uuid[]);
\echo :SQLSTATE
SELECT count(*) AS nothing_added FROM jobkeeper.batch_jobs WHERE batch_id = '00000000-0000-0000-0000-0000000000b1';
SELECT jobkeeper.add_to_batch('00000000-0000-0000-0000-0000000000b1', ARRAY[NULL]::uuid[]);
\echo :SQLSTATE
DELETE FROM jobkeeper.batches WHERE id = '00000000-0000-0000-0000-0000000000b1';
SELECT * FROM jobkeeper.submit_to_batch('00000000-0000-0000-0000-000000000000', 'z.mp3', '/z');
\echo :SQLSTATE
SELECT count(*) AS no_z_job FROM jobkeeper.jobs WHERE file_name = 'z.mp3';
SELECT * FROM jobkeeper.submit_to_batch(:'b', '', '/z');
\echo :SQLSTATE

-- A job in two batches counts in both.
SELECT jobkeeper.create_batch('second') AS b2 \gset
SELECT jobkeeper.add_to_batch(:'b2', ARRAY[:'j4', :'j5']::uuid[]) AS added;
SELECT * FROM pg_temp.rollup(:'b2');

-- The counts follow every change: claim, progress, complete, fail.
SELECT count(*) AS claimed FROM jobkeeper.claim_jobs('w1', 3);
SELECT * FROM pg_temp.rollup(:'b');
SELECT jobkeeper.set_job_progress(id, 40) FROM jobkeeper.jobs WHERE status = 'processing';
SELECT * FROM pg_temp.rollup(:'b');
SELECT jobkeeper.complete_job(:'j1');
SELECT jobkeeper.fail_job(:'j2', 'codec not supported', retry => false);
SELECT * FROM pg_temp.rollup(:'b');
SELECT (SELECT row(r.*)::text FROM pg_temp.rollup(:'b') r) = (SELECT row(c.*, false)::text FROM pg_temp.counted(:'b') c)
       AS counts_agree;

-- pause_batch: claims skip its pending jobs (also those of its jobs in another batch), which
-- stay pending; jobs outside it are claimed as before. A no-op when paused already.
SELECT id AS outside FROM jobkeeper.submit_job('outside.mp3', '/up/outside.mp3') \gset
SELECT jobkeeper.pause_batch(:'b');
SELECT jobkeeper.pause_batch(:'b');
SELECT paused FROM jobkeeper.batches WHERE id = :'b';
SELECT file_name, status, held FROM jobkeeper.jobs WHERE :'b' = ANY (batch_ids) ORDER BY file_name;
SELECT file_name FROM jobkeeper.claim_jobs('w2', 10);
SELECT queue, status, jobs FROM jobkeeper.queue_stats WHERE status = 'pending';
-- A job added to a paused batch is held too.
SELECT id AS j6 FROM jobkeeper.submit_to_batch(:'b', 'f.mp3', '/up/f.mp3') \gset
SELECT held FROM jobkeeper.jobs WHERE id = :'j6';
-- resume_batch: held jobs come back, except those in another paused batch.
SELECT jobkeeper.pause_batch(:'b2');
SELECT jobkeeper.resume_batch(:'b');
SELECT file_name, held FROM jobkeeper.jobs WHERE :'b' = ANY (batch_ids) AND status = 'pending' ORDER BY file_name;
SELECT jobkeeper.resume_batch(:'b2');
SELECT count(*) AS still_held FROM jobkeeper.jobs WHERE held;
SELECT jobkeeper.pause_batch('00000000-0000-0000-0000-000000000000');
\echo :SQLSTATE
SELECT jobkeeper.resume_batch(NULL);
\echo :SQLSTATE

-- cancel_batch: its pending and processing jobs, as cancel_job; retry_batch: its failed and
-- cancelled ones, as retry_job.
SELECT jobkeeper.cancel_batch(:'b') AS cancelled;
SELECT * FROM pg_temp.rollup(:'b');
-- Finished: every job is completed, failed or cancelled, and finished_at is when the last one
-- finished.
SELECT finished_at = (SELECT max(finished_at) FROM jobkeeper.jobs WHERE :'b' = ANY (batch_ids))
       AS finished_when_last_job_did
  FROM jobkeeper.batch_stats WHERE id = :'b';
SELECT jobkeeper.retry_batch(:'b') AS retried;
SELECT * FROM pg_temp.rollup(:'b');
SELECT jobkeeper.cancel_batch('00000000-0000-0000-0000-000000000000');
\echo :SQLSTATE
SELECT jobkeeper.retry_batch('00000000-0000-0000-0000-000000000000');
\echo :SQLSTATE
-- retry_batch leaves a job exactly as retry_job does.
SELECT id AS r1 FROM jobkeeper.submit_to_batch(:'b2', 'r1.mp3', '/up/r1.mp3') \gset
SELECT id AS r2 FROM jobkeeper.submit_job('r2.mp3', '/up/r2.mp3') \gset
UPDATE jobkeeper.jobs SET status = 'processing', locked_by = 'w', lease_expires_at = now() + interval '1 minute',
       attempts = 2, progress = 30 WHERE id IN (:'r1', :'r2');
UPDATE jobkeeper.jobs SET status = 'failed', error_message = 'boom' WHERE id IN (:'r1', :'r2');
BEGIN;
SELECT jobkeeper.retry_job(:'r2');
SELECT jobkeeper.retry_batch(:'b2') >= 1 AS retried;
SELECT a.status, a.attempts, a.progress, a.error_message, a.started_at, a.locked_by,
       a.lease_expires_at, a.finished_at, a.run_after = now() AS run_now,
       (a.status, a.attempts, a.progress, a.error_message, a.started_at, a.locked_by,
        a.lease_expires_at, a.finished_at, a.run_after, a.errors)
       IS NOT DISTINCT FROM
       (b.status, b.attempts, b.progress, b.error_message, b.started_at, b.locked_by,
        b.lease_expires_at, b.finished_at, b.run_after, b.errors) AS same_as_retry_job
  FROM jobkeeper.jobs a, jobkeeper.jobs b WHERE a.id = :'r1' AND b.id = :'r2';
COMMIT;

-- Direct writes keep the counts: an INSERT with batch_ids, a DELETE, a savepoint rolled back.
INSERT INTO jobkeeper.jobs (file_name, file_path, status, batch_ids)
VALUES ('direct.mp3', '/up/direct.mp3', 'completed', ARRAY[:'b2'::uuid]);
BEGIN;
SAVEPOINT s;
UPDATE jobkeeper.jobs SET status = 'cancelled' WHERE :'b2' = ANY (batch_ids) AND status = 'pending';
ROLLBACK TO s;
DELETE FROM jobkeeper.jobs WHERE id = :'j5';
COMMIT;
SELECT (SELECT row(r.*)::text FROM pg_temp.rollup(:'b2') r) = (SELECT row(c.*, false)::text FROM pg_temp.counted(:'b2') c)
       AS counts_agree,
       (SELECT count(*) FROM jobkeeper.batch_jobs WHERE batch_id = :'b2') = (SELECT total FROM pg_temp.rollup(:'b2'))
       AS list_agrees;

-- Retention: a job of an unfinished batch is kept however old; once its batch is finished
-- (stamped by run_cleanup, or the worker), its jobs go, and the batch with the last of them.
SELECT jobkeeper.cancel_batch(:'b2') >= 0 AS cancelled;
SELECT jobkeeper.cancel_batch(:'b') >= 0 AS cancelled;
SELECT id AS b3 FROM (SELECT jobkeeper.create_batch('kept') AS id) x \gset
SELECT jobkeeper.add_to_batch(:'b3', ARRAY[:'j4', :'outside']::uuid[]) AS added;
UPDATE jobkeeper.jobs SET finished_at = now() - interval '30 days' WHERE finished_at IS NOT NULL;
UPDATE jobkeeper.batch_counts SET last_finished_at = now() - interval '30 days';
SET jobkeeper.job_retention = '1d';
SELECT jobs_deleted FROM jobkeeper.run_cleanup();
SELECT name, finished_at IS NOT NULL AS finished FROM jobkeeper.batches ORDER BY name;
SELECT file_name, status, array_length(batch_ids, 1) AS batches FROM jobkeeper.jobs ORDER BY file_name;
-- The batch that kept them finishes; a day later its jobs and all three batches go.
SELECT jobkeeper.complete_job(:'outside');
SELECT jobs_deleted FROM jobkeeper.run_cleanup();
SELECT name, finished_at IS NOT NULL AS finished FROM jobkeeper.batches ORDER BY name;
UPDATE jobkeeper.batches SET finished_at = now() - interval '2 days';
UPDATE jobkeeper.batch_counts SET last_finished_at = now() - interval '2 days';
UPDATE jobkeeper.jobs SET finished_at = now() - interval '2 days';
SELECT jobs_deleted FROM jobkeeper.run_cleanup();
SELECT name FROM jobkeeper.batches ORDER BY name;
SELECT count(*) AS jobs_left FROM jobkeeper.jobs;
SELECT count(*) AS counter_rows_of_gone_batches FROM jobkeeper.batch_counts c
 WHERE NOT EXISTS (SELECT FROM jobkeeper.batches b WHERE b.id = c.batch_id);
RESET jobkeeper.job_retention;

-- The roll-up of a batch of 10,000 jobs reads its counter rows, never its jobs.
SELECT jobkeeper.create_batch('large') AS big \gset
INSERT INTO jobkeeper.jobs (file_name, file_path, batch_ids)
SELECT 'l' || i, '/l', ARRAY[:'big'::uuid] FROM generate_series(1, 10000) i;
SELECT total, pending FROM jobkeeper.batch_stats WHERE id = :'big';
EXPLAIN (COSTS OFF) SELECT * FROM jobkeeper.batch_stats WHERE id = '00000000-0000-0000-0000-000000000001';
DROP EXTENSION jobkeeper;
