-- Every query of SPEC section 2 is served by an index, on a table with a realistic mix of
-- rows (mostly finished, some pending, a few processing) and fresh statistics.
CREATE EXTENSION jobkeeper;
SET jobkeeper.notify = off;
INSERT INTO jobkeeper.jobs (file_name, file_path, queue, status, priority, error_message, locked_by,
                            lease_expires_at, file_hash)
SELECT 'f' || i, '/f' || i, (ARRAY['audio', 'video', 'default'])[1 + i % 3],
       CASE WHEN i % 10 = 0 THEN 'pending' WHEN i % 50 = 1 THEN 'processing'
            WHEN i % 7 = 0 THEN 'failed' ELSE 'completed' END,
       i % 5, 'e', 'w', now() + interval '5 minutes', md5(i::text) || md5((-i)::text)
  FROM generate_series(1, 20000) i;
INSERT INTO jobkeeper.export_jobs (job_id, export_type, status, file_path, error_message, locked_by, lease_expires_at)
SELECT id, 'pdf', CASE WHEN n % 20 = 0 THEN 'pending' WHEN n % 50 = 1 THEN 'processing' ELSE 'completed' END,
       '/x.pdf', 'e', 'w', now() + interval '5 minutes'
  FROM (SELECT id, row_number() OVER (ORDER BY file_name) AS n FROM jobkeeper.jobs WHERE status = 'completed') c;
ANALYZE jobkeeper.jobs, jobkeeper.export_jobs;

-- claim_jobs, all queues / one queue / several queues.
EXPLAIN (COSTS OFF)
SELECT j.id FROM jobkeeper.jobs j
 WHERE j.status = 'pending' AND j.held = false AND j.run_after <= now()
 ORDER BY j.priority, j.run_after, j.created_at LIMIT 10 FOR UPDATE SKIP LOCKED;
EXPLAIN (COSTS OFF)
SELECT j.id FROM jobkeeper.jobs j
 WHERE j.status = 'pending' AND j.held = false AND j.run_after <= now() AND j.queue = 'audio'
 ORDER BY j.priority, j.run_after, j.created_at LIMIT 10 FOR UPDATE SKIP LOCKED;
EXPLAIN (COSTS OFF)
SELECT j.id FROM jobkeeper.jobs j
 WHERE j.status = 'pending' AND j.held = false AND j.run_after <= now() AND j.queue = ANY ('{audio,video}')
 ORDER BY j.priority, j.run_after, j.created_at LIMIT 10 FOR UPDATE SKIP LOCKED;
-- dedup lookup
EXPLAIN (COSTS OFF) SELECT id FROM jobkeeper.jobs WHERE file_hash = md5('1') || md5('-1');
-- retention (of the jobs outside batches: a batch's are found through batch_jobs)
EXPLAIN (COSTS OFF) SELECT id FROM jobkeeper.jobs
 WHERE finished_at < now() - interval '12 hours' AND status IN ('completed', 'failed', 'cancelled')
   AND batch_ids IS NULL;
EXPLAIN (COSTS OFF) SELECT id FROM jobkeeper.export_jobs
 WHERE finished_at < now() - interval '24 hours' AND status IN ('completed', 'failed', 'cancelled');
-- lease reaper
EXPLAIN (COSTS OFF) SELECT id FROM jobkeeper.jobs WHERE status = 'processing' AND lease_expires_at < now();
EXPLAIN (COSTS OFF) SELECT id FROM jobkeeper.export_jobs WHERE status = 'processing' AND lease_expires_at < now();
-- by status, by created_at, exports by job
EXPLAIN (COSTS OFF) SELECT id FROM jobkeeper.jobs WHERE status = 'pending';
EXPLAIN (COSTS OFF) SELECT id FROM jobkeeper.jobs WHERE status = 'processing';
EXPLAIN (COSTS OFF) SELECT id FROM jobkeeper.jobs WHERE status = 'failed';
EXPLAIN (COSTS OFF) SELECT id FROM jobkeeper.jobs WHERE status = 'cancelled';
SET enable_seqscan = off;  -- most rows are completed: a scan is right, but any index will do
EXPLAIN (COSTS OFF) SELECT id FROM jobkeeper.jobs WHERE status = 'completed' AND batch_ids IS NULL;
RESET enable_seqscan;
EXPLAIN (COSTS OFF) SELECT id FROM jobkeeper.jobs WHERE created_at < now() - interval '1 day';
EXPLAIN (COSTS OFF) SELECT id FROM jobkeeper.export_jobs WHERE job_id = '00000000-0000-0000-0000-000000000001';
EXPLAIN (COSTS OFF) SELECT id FROM jobkeeper.export_jobs WHERE status = 'pending';
EXPLAIN (COSTS OFF) SELECT id FROM jobkeeper.export_jobs WHERE status = 'processing';
EXPLAIN (COSTS OFF) SELECT id FROM jobkeeper.export_jobs WHERE status = 'failed';
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM jobkeeper.export_jobs WHERE status = 'completed';
RESET enable_seqscan;
EXPLAIN (COSTS OFF) SELECT id FROM jobkeeper.export_jobs WHERE created_at < now() - interval '1 day';
-- duplicate_hashes
EXPLAIN (COSTS OFF) SELECT * FROM jobkeeper.duplicate_hashes;
-- queue_stats and export_stats: pending and processing rows through their partial indexes,
-- finished ones from the statistics alone; no plan node reads a finished row.
EXPLAIN (COSTS OFF) SELECT * FROM jobkeeper.queue_stats;
EXPLAIN (COSTS OFF) SELECT * FROM jobkeeper.export_stats;
-- Exact counts for pending and processing rows, labelled estimates for finished ones (here
-- within 2% of the truth: ANALYZE read the whole of this small table).
SELECT s.queue, s.status, s.estimated,
       CASE WHEN s.estimated THEN abs(s.jobs - c.n) <= 0.02 * c.n ELSE s.jobs = c.n END AS right
  FROM jobkeeper.queue_stats s
  JOIN (SELECT queue, status, count(*) AS n FROM jobkeeper.jobs GROUP BY 1, 2) c USING (queue, status)
 ORDER BY 1, 2;
SELECT count(*) AS combinations FROM jobkeeper.queue_stats;
SELECT s.export_type, s.status, s.estimated,
       CASE WHEN s.estimated THEN abs(s.exports - c.n) <= 0.02 * c.n ELSE s.exports = c.n END AS right
  FROM jobkeeper.export_stats s
  JOIN (SELECT export_type, status, count(*) AS n FROM jobkeeper.export_jobs GROUP BY 1, 2) c
 USING (export_type, status)
 ORDER BY 1, 2;

-- Storage settings for update-then-delete rows, and both tables dumped by pg_dump.
SELECT c.relname, c.reloptions FROM pg_class c
 WHERE c.relnamespace = 'jobkeeper'::regnamespace AND c.relkind = 'r' ORDER BY c.relname;
SELECT unnest(extconfig)::regclass AS dumped_table, unnest(extcondition) AS filter
  FROM pg_extension WHERE extname = 'jobkeeper' ORDER BY 1;
DROP EXTENSION jobkeeper;
