-- expire_leases(): expired processing jobs and exports go back to pending, or to failed once
-- their attempts are used up; each job expiry is recorded in errors.
CREATE EXTENSION jobkeeper;
SET jobkeeper.notify = off;
INSERT INTO jobkeeper.jobs (id, file_name, file_path, status, attempts, max_attempts, locked_by, lease_expires_at) VALUES
  ('00000000-0000-0000-0000-000000000001', 'expired', '/1', 'processing', 1, 3, 'dead', now() - interval '1 second'),
  ('00000000-0000-0000-0000-000000000002', 'last try', '/2', 'processing', 3, 3, 'dead', now() - interval '1 hour'),
  ('00000000-0000-0000-0000-000000000003', 'alive', '/3', 'processing', 1, 3, 'alive', now() + interval '1 minute'),
  ('00000000-0000-0000-0000-000000000004', 'done', '/4', 'completed', 1, 3, NULL, NULL);
INSERT INTO jobkeeper.export_jobs (id, job_id, export_type, status, attempts, max_attempts, locked_by, lease_expires_at) VALUES
  ('00000000-0000-0000-0000-0000000000e1', '00000000-0000-0000-0000-000000000004', 'pdf', 'processing', 1, 3, 'dead', now() - interval '1 minute'),
  ('00000000-0000-0000-0000-0000000000e2', '00000000-0000-0000-0000-000000000004', 'srt', 'processing', 1, 1, 'dead', now() - interval '1 minute');
SELECT * FROM jobkeeper.expire_leases();
SELECT file_name, status, attempts, locked_by, error_message, errors -> -1 ->> 'error' AS last_error,
       jsonb_array_length(errors) AS failures
  FROM jobkeeper.jobs ORDER BY id;
SELECT export_type, status, locked_by, error_message FROM jobkeeper.export_jobs ORDER BY id;
-- Nothing left to expire.
SELECT * FROM jobkeeper.expire_leases();
-- Batches: at most batch_size rows per table per call.
INSERT INTO jobkeeper.jobs (file_name, file_path, status, locked_by, lease_expires_at)
SELECT 'b' || i, '/b', 'processing', 'dead', now() - interval '1 minute' FROM generate_series(1, 5) i;
SELECT * FROM jobkeeper.expire_leases(2);
SELECT * FROM jobkeeper.expire_leases(10);
SELECT * FROM jobkeeper.expire_leases(0);
DROP EXTENSION jobkeeper;
