-- Rows in every state, for the upgrade harness: jobs pending, processing, completed, failed
-- and cancelled, a deduplicated one, exports pending, processing, completed and failed, a
-- cleanup run with its deleted-file batch.
SET jobkeeper.notify = off;
SELECT FROM jobkeeper.submit_job('a.mp3', '/a', jobkeeper.sha256_hex('a'), metadata => '{"k": 1}');
SELECT FROM jobkeeper.submit_job('a copy.mp3', '/a2', jobkeeper.sha256_hex('a'));
SELECT FROM jobkeeper.submit_job('b.mp3', '/b');
SELECT FROM jobkeeper.submit_job('c.mp3', '/c');
SELECT FROM jobkeeper.submit_job('d.mp3', '/d');
SELECT FROM jobkeeper.submit_job('e.mp3', '/e', queue => 'video');
SELECT count(*) FROM jobkeeper.claim_jobs('w', 4);
SELECT jobkeeper.set_job_progress(id, 40) FROM jobkeeper.jobs WHERE file_name = 'b.mp3';
SELECT jobkeeper.complete_job(id) FROM jobkeeper.jobs WHERE file_name = 'a.mp3';
SELECT jobkeeper.fail_job(id, 'broken', retry => false) FROM jobkeeper.jobs WHERE file_name = 'c.mp3';
SELECT jobkeeper.cancel_job(id) FROM jobkeeper.jobs WHERE file_name = 'd.mp3';
SELECT jobkeeper.request_export(id, 'pdf_summary') FROM jobkeeper.jobs WHERE file_name = 'a.mp3';
SELECT count(*) FROM jobkeeper.claim_exports('x', 1);
SELECT jobkeeper.complete_export(id, '/out/a.pdf') FROM jobkeeper.export_jobs;
INSERT INTO jobkeeper.export_jobs (job_id, export_type, status, error_message, attempts)
SELECT id, 'srt', 'failed', 'no text', 3 FROM jobkeeper.jobs WHERE file_name = 'a.mp3';
SELECT jobkeeper.request_export(id, 'srt') FROM jobkeeper.jobs WHERE file_name = 'a.mp3';
SELECT jobkeeper.request_export(id, 'markdown') FROM jobkeeper.jobs WHERE file_name = 'a.mp3';
SELECT count(*) FROM jobkeeper.claim_exports('x', 1, export_types => '{markdown}');
INSERT INTO jobkeeper.jobs (file_name, file_path, status, finished_at)
VALUES ('old.mp3', '/old', 'completed', now() - interval '2 days');
SELECT FROM jobkeeper.run_cleanup();
