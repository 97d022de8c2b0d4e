-- Monitoring views (SPEC section 6).

CREATE VIEW jobkeeper.queue_stats AS
SELECT j.queue, j.status, count(*) AS jobs,
       now() - min(j.run_after) FILTER (WHERE j.status = 'pending' AND j.run_after <= now())
         AS oldest_pending_age,
       count(*) FILTER (WHERE j.status = 'processing' AND j.lease_expires_at < now())
         AS expired_leases
  FROM jobkeeper.jobs j
 GROUP BY j.queue, j.status;
COMMENT ON VIEW jobkeeper.queue_stats IS
  'per queue and status: job count, how long the longest-waiting runnable job has waited, expired leases';

CREATE VIEW jobkeeper.export_stats AS
SELECT e.export_type, e.status, count(*) AS exports,
       now() - min(e.created_at) FILTER (WHERE e.status = 'pending') AS oldest_pending_age,
       count(*) FILTER (WHERE e.status = 'processing' AND e.lease_expires_at < now())
         AS expired_leases
  FROM jobkeeper.export_jobs e
 GROUP BY e.export_type, e.status;
COMMENT ON VIEW jobkeeper.export_stats IS
  'per export type and status: export count, age of the oldest pending export, expired leases';

CREATE VIEW jobkeeper.duplicate_hashes AS
SELECT j.file_hash, j.id, j.submit_count
  FROM jobkeeper.jobs j
 WHERE j.submit_count > 1;
COMMENT ON VIEW jobkeeper.duplicate_hashes IS
  'jobs submitted more than once: the uploads deduplication saved';
