-- The monitoring views (NOTIFY is tested by the isolation spec notify, which can show it).
CREATE EXTENSION jobkeeper;

INSERT INTO jobkeeper.jobs (file_name, file_path, queue, status, run_after, locked_by, lease_expires_at, submit_count, file_hash)
VALUES ('p1', '/p', 'audio', 'pending', now() - interval '10 minutes', NULL, NULL, 3, repeat('a', 64)),
       ('p2', '/p', 'audio', 'pending', now() + interval '1 hour', NULL, NULL, 1, NULL),
       ('r1', '/r', 'audio', 'processing', now(), 'w', now() - interval '1 minute', 1, NULL),
       ('r2', '/r', 'video', 'processing', now(), 'w', now() + interval '1 minute', 2, repeat('b', 64));
SELECT queue, status, jobs, oldest_pending_age >= interval '10 minutes' AS waited_10_min, expired_leases
  FROM jobkeeper.queue_stats ORDER BY queue, status;
SELECT export_type, status, exports, oldest_pending_age IS NOT NULL AS has_age, expired_leases
  FROM jobkeeper.export_stats ORDER BY export_type, status;
SELECT file_hash, submit_count FROM jobkeeper.duplicate_hashes ORDER BY submit_count;
DROP EXTENSION jobkeeper;
