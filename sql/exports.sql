-- Export functions: request (returning the active one), claim only for completed jobs,
-- progress, complete, fail, cancel, retry, and their errors.
CREATE EXTENSION jobkeeper;
\set VERBOSITY default
\set SHOW_CONTEXT never
SET jobkeeper.notify = off;
INSERT INTO jobkeeper.jobs (id, file_name, file_path, status) VALUES
  ('00000000-0000-0000-0000-000000000001', 'done.mp3', '/done.mp3', 'completed'),
  ('00000000-0000-0000-0000-000000000002', 'busy.mp3', '/busy.mp3', 'processing');

SELECT id AS e1, status, progress, attempts FROM jobkeeper.request_export('00000000-0000-0000-0000-000000000001', 'pdf_summary') \gset
UPDATE jobkeeper.export_jobs SET id = '00000000-0000-0000-0000-0000000000e1' WHERE id = :'e1';
\set e1 00000000-0000-0000-0000-0000000000e1
SELECT :'status' AS status, :'progress' AS progress, :'attempts' AS attempts;
-- The same type again returns the active export; another type is a new one.
SELECT id = :'e1' AS same_export FROM jobkeeper.request_export('00000000-0000-0000-0000-000000000001', 'pdf_summary');
SELECT id AS e2 FROM jobkeeper.request_export('00000000-0000-0000-0000-000000000001', 'markdown_transcript') \gset
UPDATE jobkeeper.export_jobs SET id = '00000000-0000-0000-0000-0000000000e2' WHERE id = :'e2';
\set e2 00000000-0000-0000-0000-0000000000e2
-- An export may be requested before its job is completed...
SELECT id AS e3 FROM jobkeeper.request_export('00000000-0000-0000-0000-000000000002', 'srt') \gset
UPDATE jobkeeper.export_jobs SET id = '00000000-0000-0000-0000-0000000000e3' WHERE id = :'e3';
\set e3 00000000-0000-0000-0000-0000000000e3
SELECT jobkeeper.request_export('00000000-0000-0000-0000-000000000001', 'PDF');
\echo :SQLSTATE
SELECT jobkeeper.request_export('00000000-0000-0000-0000-000000000001', '');
\echo :SQLSTATE
SELECT jobkeeper.request_export('00000000-0000-0000-0000-000000000001', repeat('x', 51));
\echo :SQLSTATE
SELECT jobkeeper.request_export('00000000-0000-0000-0000-0000000000ff', 'pdf');
\echo :SQLSTATE

-- ... but claim_exports only hands out exports whose job is completed, oldest first.
SELECT export_type, status, attempts, locked_by FROM jobkeeper.claim_exports('x1', 10, ARRAY['pdf_summary', 'srt']);
SELECT export_type FROM jobkeeper.claim_exports('x2', 10);
SELECT count(*) AS none_left FROM jobkeeper.claim_exports('x2', 10);
SELECT jobkeeper.claim_exports('', 1);
\echo :SQLSTATE
SELECT jobkeeper.claim_exports('x', 0);
\echo :SQLSTATE
SELECT jobkeeper.claim_exports('x', 1, NULL, '0 s');
\echo :SQLSTATE

-- Progress.
SELECT jobkeeper.set_export_progress(:'e1', 40);
SELECT jobkeeper.set_export_progress(:'e1', 39);
\echo :SQLSTATE
SELECT jobkeeper.set_export_progress(:'e1', -1);
\echo :SQLSTATE
SELECT jobkeeper.set_export_progress(:'e3', 10);
\echo :SQLSTATE
SELECT jobkeeper.set_export_progress('00000000-0000-0000-0000-0000000000ff', 10);
\echo :SQLSTATE

-- Complete: the holder, with a file path.
SELECT jobkeeper.complete_export(:'e1', '/out/a.pdf', 'x2');
\echo :SQLSTATE
SELECT jobkeeper.complete_export(:'e1', '', 'x1');
\echo :SQLSTATE
SELECT jobkeeper.complete_export(:'e1', '/out/a.pdf', 'x1');
SELECT status, progress, file_path, locked_by, finished_at IS NOT NULL AS finished FROM jobkeeper.export_jobs WHERE id = :'e1';
SELECT jobkeeper.complete_export(:'e1', '/out/b.pdf');
\echo :SQLSTATE
SELECT jobkeeper.complete_export('00000000-0000-0000-0000-0000000000ff', '/x');
\echo :SQLSTATE
-- With the first one completed, the same type can be requested again.
SELECT id <> :'e1' AS new_export, status FROM jobkeeper.request_export('00000000-0000-0000-0000-000000000001', 'pdf_summary');

-- Fail: to failed, no automatic retry.
SELECT jobkeeper.fail_export(:'e2', 'renderer crashed', 'x1');
\echo :SQLSTATE
SELECT jobkeeper.fail_export(:'e2', NULL, 'x2');
\echo :SQLSTATE
SELECT jobkeeper.fail_export(:'e2', 'renderer crashed', 'x2');
SELECT status, error_message, attempts, finished_at IS NOT NULL AS finished FROM jobkeeper.export_jobs WHERE id = :'e2';
SELECT jobkeeper.fail_export(:'e2', 'again');
\echo :SQLSTATE

-- Retry and cancel follow retry_job and cancel_job.
SELECT jobkeeper.retry_export(:'e2');
SELECT status, error_message, attempts, finished_at FROM jobkeeper.export_jobs WHERE id = :'e2';
SELECT jobkeeper.retry_export(:'e2');
\echo :SQLSTATE
SELECT jobkeeper.cancel_export(:'e2');
SELECT status FROM jobkeeper.export_jobs WHERE id = :'e2';
SELECT jobkeeper.cancel_export(:'e2');
\echo :SQLSTATE
SELECT jobkeeper.cancel_export(:'e1');
\echo :SQLSTATE
SELECT jobkeeper.retry_export(:'e1');
\echo :SQLSTATE
SELECT jobkeeper.retry_export('00000000-0000-0000-0000-0000000000ff');
\echo :SQLSTATE
SELECT jobkeeper.cancel_export('00000000-0000-0000-0000-0000000000ff');
\echo :SQLSTATE
-- Retrying while another export of the type is active is refused.
SELECT id AS e4 FROM jobkeeper.request_export('00000000-0000-0000-0000-000000000001', 'markdown_transcript') \gset
UPDATE jobkeeper.export_jobs SET id = '00000000-0000-0000-0000-0000000000e4' WHERE id = :'e4';
SELECT jobkeeper.retry_export(:'e2');
\echo :SQLSTATE

-- Deleting a job deletes its exports.
DELETE FROM jobkeeper.jobs WHERE id = '00000000-0000-0000-0000-000000000001';
SELECT count(*) AS exports_left FROM jobkeeper.export_jobs WHERE job_id = '00000000-0000-0000-0000-000000000001';
DROP EXTENSION jobkeeper;
