-- queue_stats (SPEC section 6), with the views of 60_views.sql. The held pending jobs of
-- paused batches are counted as pending, but they are not runnable, so they do not age the
-- queue. CREATE OR REPLACE: the 1.0 -> 1.1 update runs this file too.
CREATE OR REPLACE VIEW jobkeeper.queue_stats AS
SELECT j.queue, 'pending'::text AS status, count(*) AS jobs,
       now() - min(j.run_after) FILTER (WHERE j.run_after <= now() AND NOT j.held) AS oldest_pending_age,
       0::bigint AS expired_leases, false AS estimated
  FROM jobkeeper.jobs j
 WHERE j.status = 'pending'
 GROUP BY j.queue
UNION ALL
SELECT j.queue, 'processing', count(*), NULL,
       count(*) FILTER (WHERE j.lease_expires_at < now()), false
  FROM jobkeeper.jobs j
 WHERE j.status = 'processing'
 GROUP BY j.queue
UNION ALL
SELECT f.kind, f.status, f.estimate, NULL, 0, true
  FROM jobkeeper._finished_estimates f
 WHERE f.table_name = 'jobs';
COMMENT ON VIEW jobkeeper.queue_stats IS
  'per queue and status: job count (estimated for finished statuses; pending includes the held jobs of paused batches), how long the longest-waiting runnable job has waited, expired leases';
