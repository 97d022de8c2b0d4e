-- Monitoring views (SPEC section 6).
--
-- queue_stats and export_stats stay cheap when the queue is in trouble: pending and
-- processing rows are counted exactly, through their partial indexes, and finished rows,
-- which may be millions, are not counted at all but estimated (estimated = true) from the
-- statistics ANALYZE keeps of (queue, status) and (export_type, status): the frequency of each
-- combination among its most common ones, times the table's row estimate. Autovacuum
-- analyzes these tables after about 2% of their rows change; until the first ANALYZE there
-- is no estimate, and a combination too rare to be among the most common has none either.
-- The statistics catalog is read with the view owner's rights, as the tables are, so any role
-- granted SELECT on a view can read it. The statistics columns come in attribute order: the
-- queue (or export type) first, then the status.
CREATE STATISTICS jobkeeper.jobs_queue_status (mcv) ON queue, status FROM jobkeeper.jobs;
CREATE STATISTICS jobkeeper.export_jobs_type_status (mcv) ON export_type, status
  FROM jobkeeper.export_jobs;

-- Both views' estimates: one row per table, kind (queue or export type) and finished status.
CREATE VIEW jobkeeper._finished_estimates AS
SELECT c.relname AS table_name, m.values[1] AS kind, m.values[2] AS status,
       round(m.frequency * greatest(c.reltuples, 0))::bigint AS estimate
  FROM pg_catalog.pg_statistic_ext s
  JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace
  JOIN pg_catalog.pg_class c ON c.oid = s.stxrelid
  JOIN pg_catalog.pg_statistic_ext_data d ON d.stxoid = s.oid AND NOT d.stxdinherit
 CROSS JOIN LATERAL pg_catalog.pg_mcv_list_items(d.stxdmcv) m
 WHERE n.nspname = 'jobkeeper' AND s.stxname IN ('jobs_queue_status', 'export_jobs_type_status')
   AND m.values[2] IN ('completed', 'failed', 'cancelled');
COMMENT ON VIEW jobkeeper._finished_estimates IS
  'internal: estimated finished rows per table, kind and status, from extended statistics (for queue_stats and export_stats)';

-- queue_stats: 62_queue_stats.sql.

CREATE VIEW jobkeeper.export_stats AS
SELECT e.export_type, 'pending'::text AS status, count(*) AS exports,
       now() - min(e.created_at) AS oldest_pending_age,
       0::bigint AS expired_leases, false AS estimated
  FROM jobkeeper.export_jobs e
 WHERE e.status = 'pending'
 GROUP BY e.export_type
UNION ALL
SELECT e.export_type, 'processing', count(*), NULL,
       count(*) FILTER (WHERE e.lease_expires_at < now()), false
  FROM jobkeeper.export_jobs e
 WHERE e.status = 'processing'
 GROUP BY e.export_type
UNION ALL
SELECT f.kind, f.status, f.estimate, NULL, 0, true
  FROM jobkeeper._finished_estimates f
 WHERE f.table_name = 'export_jobs';
COMMENT ON VIEW jobkeeper.export_stats IS
  'per export type and status: export count (estimated for finished statuses), age of the oldest pending export, expired leases';

CREATE VIEW jobkeeper.duplicate_hashes AS
SELECT j.file_hash, j.id, j.submit_count
  FROM jobkeeper.jobs j
 WHERE j.submit_count > 1;
COMMENT ON VIEW jobkeeper.duplicate_hashes IS
  'jobs submitted more than once: the uploads deduplication saved';
