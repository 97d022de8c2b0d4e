-- 1,000,000 jobs finished two days ago with two finished exports each (queue 'old'), and a
-- pool of pending jobs in queue 'live' for the claimers. Notifications off for the load.
SET jobkeeper.notify = off;
INSERT INTO jobkeeper.jobs (file_name, file_path, queue, status, finished_at)
SELECT 'old', '/old/' || i, 'old', 'completed', now() - interval '2 days'
  FROM generate_series(1, :n) i;
INSERT INTO jobkeeper.export_jobs (job_id, export_type, status, file_path, finished_at)
SELECT j.id, t, 'completed', j.file_path || '.' || t, now() - interval '2 days'
  FROM jobkeeper.jobs j, (VALUES ('pdf'), ('srt')) v(t) WHERE j.queue = 'old';
INSERT INTO jobkeeper.jobs (file_name, file_path, queue)
SELECT 'live', '/live/' || i, 'live' FROM generate_series(1, :pool) i;
