-- jobkeeper 1.0 -> 1.1: batches (SPEC section 10) and TTL rules for application tables
-- (SPEC section 11).
-- Assembled by the Makefile from the files of src/sql/updates/1.0--1.1/ in name order; the
-- parts shared with the install script are links to src/sql/install/, so the two cannot
-- drift. TAP 013 checks that the updated schema equals a fresh 1.1.

-- cleanup_runs records TTL runs too, with their rows deleted.
ALTER TABLE jobkeeper.cleanup_runs
  DROP CONSTRAINT cleanup_runs_source_valid,
  ADD CONSTRAINT cleanup_runs_source_valid
    CHECK (source IN ('worker', 'run_cleanup', 'worker_ttl', 'run_ttl')),
  ADD COLUMN ttl_rows_deleted bigint NOT NULL DEFAULT 0;
COMMENT ON TABLE jobkeeper.cleanup_runs IS
  'one row per cleanup run (worker or run_cleanup()) and per TTL run that deleted or failed (worker_ttl or run_ttl()), newest jobkeeper.cleanup_history kept';

-- Batches (SPEC section 10): the jobs' two new columns, as a fresh 1.1 has them (last, in this
-- order), and the claim indexes that leave out held jobs. ADD COLUMN with these defaults
-- rewrites nothing; the two claim indexes and the retention index are built again (an update
-- of a large table takes the time of three CREATE INDEX).
ALTER TABLE jobkeeper.jobs
  ADD COLUMN batch_ids uuid[],
  ADD COLUMN held boolean NOT NULL DEFAULT false;
DROP INDEX jobkeeper.jobs_claim_idx;
DROP INDEX jobkeeper.jobs_claim_queue_idx;
CREATE INDEX jobs_claim_idx ON jobkeeper.jobs (held, priority, run_after, created_at)
  WHERE status = 'pending';
CREATE INDEX jobs_claim_queue_idx ON jobkeeper.jobs (held, queue, priority, run_after, created_at)
  WHERE status = 'pending';
DROP INDEX jobkeeper.jobs_finished_idx;
CREATE INDEX jobs_finished_idx ON jobkeeper.jobs (finished_at)
  WHERE status IN ('completed', 'failed', 'cancelled') AND batch_ids IS NULL;

-- claim_jobs of 1.1 leaves held jobs out (the library serves both).
CREATE OR REPLACE FUNCTION jobkeeper.claim_jobs(
  worker text, max_jobs integer DEFAULT 1, queues text[] DEFAULT NULL,
  lease interval DEFAULT '5 minutes')
RETURNS SETOF jobkeeper.jobs
LANGUAGE c VOLATILE SECURITY DEFINER
AS 'MODULE_PATHNAME', 'jobkeeper_claim_jobs_1_1';
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
-- TTL rules for application tables (SPEC section 11): the worker deletes the rows of a table
-- whose column + ttl <= now(), every jobkeeper.ttl_interval, in the retention cleanup's
-- batches and under its timeouts, with the rights of the rule's owner (src/worker/ttl_pass.cpp;
-- the rules on a target are in src/core/ttl.cpp).

-- One row per rule, kept by pg_dump (a restore needs the table and the owner role to exist:
-- both are stored by name, and tbl follows the table through a rename). The counts are the
-- worker's and run_ttl()'s, per rule; each run's total is in cleanup_runs.ttl_rows_deleted.
CREATE TABLE jobkeeper.ttl_rules (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tbl               regclass NOT NULL,
  column_name       name NOT NULL,
  ttl               interval NOT NULL DEFAULT '0',
  -- rows per delete batch; null: jobkeeper.cleanup_batch_size
  batch_size        integer,
  -- whose rights the deletes run with: the role that added the rule (for a superuser, the
  -- table's owner); never a superuser
  owner             regrole NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  last_run_at       timestamptz,
  last_rows_deleted bigint NOT NULL DEFAULT 0,
  rows_deleted      bigint NOT NULL DEFAULT 0,
  last_error        text,
  CONSTRAINT ttl_rules_target_unique UNIQUE (tbl, column_name),
  -- the same limits as add_ttl_rule's (sql/ttl.sql shows that they agree)
  CONSTRAINT ttl_rules_ttl_valid CHECK (ttl >= '0'),
  CONSTRAINT ttl_rules_batch_size_valid CHECK (batch_size BETWEEN 1 AND 1000000)
);
COMMENT ON TABLE jobkeeper.ttl_rules IS
  'one row per TTL rule: rows of tbl whose column_name + ttl <= now() are deleted by the worker every jobkeeper.ttl_interval, as owner; added and dropped with add_ttl_rule() and drop_ttl_rule()';
SELECT pg_catalog.pg_extension_config_dump('jobkeeper.ttl_rules', '');
SELECT pg_catalog.pg_extension_config_dump('jobkeeper.ttl_rules_id_seq', '');

-- SECURITY INVOKER: they check that the caller may own the table (its owner or a member of the
-- owning role), then write ttl_rules with the rights of its owner.
CREATE FUNCTION jobkeeper.add_ttl_rule(tbl regclass, column_name name, ttl interval DEFAULT '0',
                                       batch_size integer DEFAULT NULL)
  RETURNS jobkeeper.ttl_rules
  LANGUAGE c VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'jobkeeper_add_ttl_rule';
COMMENT ON FUNCTION jobkeeper.add_ttl_rule(regclass, name, interval, integer) IS
  'adds (or changes) the TTL rule on tbl.column_name: rows whose column + ttl <= now() are deleted; the table''s owner only; needs an index leading with the column';

CREATE FUNCTION jobkeeper.drop_ttl_rule(tbl regclass, column_name name DEFAULT NULL)
  RETURNS integer
  LANGUAGE c VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'jobkeeper_drop_ttl_rule';
COMMENT ON FUNCTION jobkeeper.drop_ttl_rule(regclass, name) IS
  'drops the TTL rule on tbl.column_name (every rule of tbl when column_name is null) and returns how many; the table''s owner only';

CREATE FUNCTION jobkeeper.run_ttl(
  OUT rule_id bigint, OUT tbl regclass, OUT column_name name, OUT rows_deleted bigint,
  OUT error text)
  RETURNS SETOF record
  LANGUAGE c VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'jobkeeper_run_ttl';
COMMENT ON FUNCTION jobkeeper.run_ttl() IS
  'runs every TTL rule now, in this transaction, each as its owner; one row per rule; recorded in ttl_rules and cleanup_runs';

-- Dropping a rule's table or column retires the rule in the same transaction: its OID or name
-- could later mean another table or column. (The worker retires such a rule too, should it
-- ever find one, for instance after a drop with event triggers disabled.)
CREATE FUNCTION jobkeeper._retire_ttl_rules() RETURNS event_trigger
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  retired record;
BEGIN
  FOR retired IN
    DELETE FROM jobkeeper.ttl_rules r
     USING pg_catalog.pg_event_trigger_dropped_objects() o
     WHERE o.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND o.objid = r.tbl::oid
       AND (o.objsubid = 0 OR o.address_names[3] = r.column_name)
    RETURNING r.id, o.object_type, o.object_identity
  LOOP
    RAISE NOTICE 'jobkeeper TTL rule % retired: % % was dropped',
      retired.id, retired.object_type, retired.object_identity;
  END LOOP;
END
$$;
COMMENT ON FUNCTION jobkeeper._retire_ttl_rules() IS
  'internal: event trigger that removes the TTL rules of dropped tables and columns';
CREATE EVENT TRIGGER jobkeeper_retire_ttl_rules ON sql_drop
  EXECUTE FUNCTION jobkeeper._retire_ttl_rules();

-- Renaming a rule's column takes its rule along: the rule names the column, and a restore
-- (which recreates a table's columns without the dropped ones, so their numbers change) keeps
-- names, not numbers. A RENAME reports the renamed column by number; a rule whose column name
-- no longer exists in that table takes the new name.
CREATE FUNCTION jobkeeper._follow_ttl_renames() RETURNS event_trigger
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  UPDATE jobkeeper.ttl_rules r SET column_name = a.attname
    FROM pg_catalog.pg_event_trigger_ddl_commands() c
    JOIN pg_catalog.pg_attribute a ON a.attrelid = c.objid AND a.attnum = c.objsubid
   WHERE c.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND c.objsubid > 0
     AND r.tbl::oid = c.objid AND NOT a.attisdropped
     AND NOT EXISTS (SELECT FROM pg_catalog.pg_attribute x
                      WHERE x.attrelid = c.objid AND x.attname = r.column_name
                        AND NOT x.attisdropped);
END
$$;
COMMENT ON FUNCTION jobkeeper._follow_ttl_renames() IS
  'internal: event trigger that renames a TTL rule''s column when the column is renamed';
CREATE EVENT TRIGGER jobkeeper_follow_ttl_renames ON ddl_command_end
  WHEN TAG IN ('ALTER TABLE')
  EXECUTE FUNCTION jobkeeper._follow_ttl_renames();
-- Batches (SPEC section 10): jobs grouped for their roll-up counts, paused, resumed, cancelled
-- and retried together. The 1.0 -> 1.1 update runs this file as it is.
--
-- A job's batches are its batch_ids column (jobs, 10_tables.sql), which pg_dump keeps with the
-- job. From it the triggers keep two tables that pg_dump does not keep, since a restore's
-- COPY of jobs rebuilds them row by row:
--   batch_jobs    each batch's jobs, for the functions that act on them all;
--   batch_counts  each batch's counts per status and its progress sum, one row per batch and
--                 backend (stripe) that changed them, so that concurrent workers of one batch
--                 never wait on each other's counter rows. A batch's counts are the sums of its
--                 rows, exact in every snapshot: a job's change and its counts commit together.
-- An UPDATE of a job is counted by the status trigger (which has both rows at hand), an INSERT
-- and a DELETE by jobkeeper_batches_insert / _delete, which fire only for jobs in a batch; a
-- TRUNCATE of jobs empties both (jobkeeper_batches_truncate).

CREATE TABLE jobkeeper.batches (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL
    CONSTRAINT batches_name_valid CHECK (name <> '' AND char_length(name) <= 255),
  metadata    jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT batches_metadata_object CHECK (jsonb_typeof(metadata) = 'object'),
  paused      boolean NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL DEFAULT now(),
  -- When the batch's last job finished, the last time the database worker (or run_cleanup())
  -- announced its finish on jobkeeper_batches. A batch reopened since (a retry, a new job)
  -- keeps it until it finishes again, later: batch_stats.finished_at is the exact one.
  -- Retention deletes a batch's jobs once this is older than their cutoff and the batch is
  -- still finished, then the batch with the last of them.
  finished_at timestamptz
);
COMMENT ON TABLE jobkeeper.batches IS
  'groups of jobs with roll-up counts (batch_stats); created by create_batch()';
SELECT pg_catalog.pg_extension_config_dump('jobkeeper.batches', '');

CREATE TABLE jobkeeper.batch_jobs (
  batch_id uuid NOT NULL,
  job_id   uuid NOT NULL,
  PRIMARY KEY (batch_id, job_id)
);
COMMENT ON TABLE jobkeeper.batch_jobs IS
  'each batch''s jobs, kept by jobkeeper''s triggers from jobs.batch_ids (not dumped: a restore rebuilds it)';

CREATE TABLE jobkeeper.batch_counts (
  batch_id         uuid NOT NULL,
  stripe           integer NOT NULL,
  pending          bigint NOT NULL DEFAULT 0,
  processing       bigint NOT NULL DEFAULT 0,
  completed        bigint NOT NULL DEFAULT 0,
  failed           bigint NOT NULL DEFAULT 0,
  cancelled        bigint NOT NULL DEFAULT 0,
  progress_sum     bigint NOT NULL DEFAULT 0,
  last_finished_at timestamptz,
  PRIMARY KEY (batch_id, stripe)
) WITH (fillfactor = 50);
COMMENT ON TABLE jobkeeper.batch_counts IS
  'per batch and backend: changes to the batch''s counts, summed by batch_stats (kept by jobkeeper''s triggers; not dumped)';

CREATE FUNCTION jobkeeper.batch_trigger() RETURNS trigger
  LANGUAGE c
  AS 'MODULE_PATHNAME', 'jobkeeper_batch_trigger';
COMMENT ON FUNCTION jobkeeper.batch_trigger() IS
  'keeps batch_jobs and batch_counts for a job inserted or deleted in a batch, and empties them when jobs is truncated';
CREATE TRIGGER jobkeeper_batches_insert AFTER INSERT ON jobkeeper.jobs
  FOR EACH ROW WHEN (NEW.batch_ids IS NOT NULL) EXECUTE FUNCTION jobkeeper.batch_trigger();
CREATE TRIGGER jobkeeper_batches_delete AFTER DELETE ON jobkeeper.jobs
  FOR EACH ROW WHEN (OLD.batch_ids IS NOT NULL) EXECUTE FUNCTION jobkeeper.batch_trigger();
CREATE TRIGGER jobkeeper_batches_truncate AFTER TRUNCATE ON jobkeeper.jobs
  FOR EACH STATEMENT EXECUTE FUNCTION jobkeeper.batch_trigger();

-- The roll-up: one index scan of batches and one of the batch's counter rows (at most one per
-- backend that worked on it), whatever the number of its jobs. finished_at is exact too: the
-- time its last job finished, once none is pending or processing.
CREATE VIEW jobkeeper.batch_stats AS
SELECT b.id, b.name, b.paused, s.total, s.pending, s.processing, s.completed, s.failed,
       s.cancelled,
       CASE WHEN s.total > 0 THEN round(s.progress_sum::numeric / s.total, 1) END AS progress,
       b.created_at,
       CASE WHEN s.total > 0 AND s.pending = 0 AND s.processing = 0 THEN s.last_finished_at END
         AS finished_at,
       b.metadata
  FROM jobkeeper.batches b
 CROSS JOIN LATERAL (
   SELECT coalesce(sum(c.pending + c.processing + c.completed + c.failed + c.cancelled), 0)::bigint AS total,
          coalesce(sum(c.pending), 0)::bigint AS pending,
          coalesce(sum(c.processing), 0)::bigint AS processing,
          coalesce(sum(c.completed), 0)::bigint AS completed,
          coalesce(sum(c.failed), 0)::bigint AS failed,
          coalesce(sum(c.cancelled), 0)::bigint AS cancelled,
          coalesce(sum(c.progress_sum), 0) AS progress_sum,
          max(c.last_finished_at) AS last_finished_at
     FROM jobkeeper.batch_counts c
    WHERE c.batch_id = b.id) s;
COMMENT ON VIEW jobkeeper.batch_stats IS
  'per batch: total, pending, processing, completed, failed, cancelled jobs, mean progress, created_at, finished_at (exact)';

CREATE FUNCTION jobkeeper.create_batch(name text, metadata jsonb DEFAULT '{}')
RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
  id uuid;
BEGIN
  IF name IS NULL OR name = '' THEN
    RAISE EXCEPTION 'batch name must not be empty' USING ERRCODE = '22023';
  ELSIF char_length(name) > 255 THEN
    RAISE EXCEPTION 'batch name "%..." is % characters long, more than 255', left(name, 40),
      char_length(name) USING ERRCODE = '22023';
  ELSIF metadata IS NULL OR jsonb_typeof(metadata) <> 'object' THEN
    RAISE EXCEPTION 'metadata of batch "%" must be a JSON object, not %', name,
      coalesce(jsonb_typeof(metadata), 'null') USING ERRCODE = '22023';
  END IF;
  INSERT INTO jobkeeper.batches (name, metadata) VALUES (name, metadata) RETURNING batches.id INTO id;
  RETURN id;
END
$$;
COMMENT ON FUNCTION jobkeeper.create_batch(text, jsonb) IS 'creates an empty batch and returns its id';

-- Locks batch `id` in `mode` (share: against its deletion and a pause that would miss the
-- jobs being added; update: to change it) and returns whether it is paused; P0002 when it
-- does not exist.
CREATE FUNCTION jobkeeper._lock_batch(id uuid, exclusive boolean)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  is_paused boolean;
BEGIN
  IF exclusive THEN
    SELECT b.paused INTO is_paused FROM jobkeeper.batches b WHERE b.id = _lock_batch.id FOR NO KEY UPDATE;
  ELSE
    SELECT b.paused INTO is_paused FROM jobkeeper.batches b WHERE b.id = _lock_batch.id FOR SHARE;
  END IF;
  IF is_paused IS NULL THEN
    RAISE EXCEPTION 'batch % does not exist', _lock_batch.id USING ERRCODE = 'P0002';
  END IF;
  RETURN is_paused;
END
$$;
COMMENT ON FUNCTION jobkeeper._lock_batch(uuid, boolean) IS
  'internal: locks a batch (exclusive: to change it) and returns paused; P0002 when it does not exist';

CREATE FUNCTION jobkeeper.add_to_batch(batch_id uuid, job_ids uuid[])
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  is_paused boolean := jobkeeper._lock_batch(add_to_batch.batch_id, false);
  added integer;
  missing uuid;
BEGIN
  IF job_ids IS NULL THEN
    RETURN 0;
  ELSIF array_position(job_ids, NULL) IS NOT NULL THEN
    RAISE EXCEPTION 'job_ids for batch % must not hold null', add_to_batch.batch_id
      USING ERRCODE = '22023';
  END IF;
  -- The triggers count the jobs into the batch; a paused batch's unfinished jobs are held.
  UPDATE jobkeeper.jobs j
     SET batch_ids = coalesce(j.batch_ids, '{}') || add_to_batch.batch_id,
         held = j.held OR (is_paused AND j.status <> 'completed')
   WHERE j.id = ANY (job_ids)
     AND (j.batch_ids IS NULL OR add_to_batch.batch_id <> ALL (j.batch_ids));
  GET DIAGNOSTICS added = ROW_COUNT;
  SELECT u.id INTO missing FROM unnest(job_ids) AS u(id)
   WHERE NOT EXISTS (SELECT FROM jobkeeper.jobs j WHERE j.id = u.id) LIMIT 1;
  IF missing IS NOT NULL THEN
    RAISE EXCEPTION 'job % does not exist', missing USING ERRCODE = 'P0002',
      DETAIL = format('No job was added to batch %s.', add_to_batch.batch_id);
  END IF;
  RETURN added;
END
$$;
COMMENT ON FUNCTION jobkeeper.add_to_batch(uuid, uuid[]) IS
  'adds jobs to a batch (a job may be in several); returns how many were not in it yet';

CREATE FUNCTION jobkeeper.submit_to_batch(
  batch_id uuid, file_name text, file_path text, file_hash text DEFAULT NULL,
  queue text DEFAULT 'default', priority integer DEFAULT 0, run_after timestamptz DEFAULT now(),
  max_attempts integer DEFAULT 3, metadata jsonb DEFAULT '{}',
  OUT id uuid, OUT status text, OUT deduplicated boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM jobkeeper._lock_batch(submit_to_batch.batch_id, false);
  SELECT s.id, s.status, s.deduplicated INTO id, status, deduplicated
    FROM jobkeeper.submit_job(file_name, file_path, file_hash, queue, priority, run_after,
                              max_attempts, metadata) s;
  PERFORM jobkeeper.add_to_batch(submit_to_batch.batch_id, ARRAY[id]);
END
$$;
COMMENT ON FUNCTION jobkeeper.submit_to_batch(uuid, text, text, text, text, integer, timestamptz, integer, jsonb) IS
  'submit_job into a batch: a file dedup already knows joins the batch as its existing job';

CREATE FUNCTION jobkeeper.pause_batch(batch_id uuid)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM jobkeeper._lock_batch(pause_batch.batch_id, true);
  UPDATE jobkeeper.batches b SET paused = true WHERE b.id = pause_batch.batch_id;
  -- Processing and failed jobs are held too, so that they stay out of the claims when they
  -- come back to pending.
  WITH locked AS (
    SELECT j.id FROM jobkeeper.jobs j
     WHERE j.id IN (SELECT bj.job_id FROM jobkeeper.batch_jobs bj WHERE bj.batch_id = pause_batch.batch_id)
       AND NOT j.held AND j.status <> 'completed'
     ORDER BY j.id FOR NO KEY UPDATE)
  UPDATE jobkeeper.jobs j SET held = true
   WHERE j.id = ANY (ARRAY(SELECT l.id FROM locked l)) AND NOT j.held AND j.status <> 'completed';
END
$$;
COMMENT ON FUNCTION jobkeeper.pause_batch(uuid) IS
  'claims skip the batch''s pending jobs until resume_batch (a no-op on a paused batch)';

CREATE FUNCTION jobkeeper.resume_batch(batch_id uuid)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM jobkeeper._lock_batch(resume_batch.batch_id, true);
  UPDATE jobkeeper.batches b SET paused = false WHERE b.id = resume_batch.batch_id;
  -- The other batches of these jobs are locked first, so that the next statement's snapshot
  -- sees a pause of one of them that was under way: its jobs stay held.
  PERFORM FROM jobkeeper.batches o
   WHERE o.id IN (SELECT unnest(j.batch_ids) FROM jobkeeper.jobs j
                   WHERE j.id IN (SELECT bj.job_id FROM jobkeeper.batch_jobs bj
                                   WHERE bj.batch_id = resume_batch.batch_id) AND j.held)
     AND o.id <> resume_batch.batch_id
   ORDER BY o.id FOR SHARE;
  WITH locked AS (
    SELECT j.id FROM jobkeeper.jobs j
     WHERE j.id IN (SELECT bj.job_id FROM jobkeeper.batch_jobs bj WHERE bj.batch_id = resume_batch.batch_id)
       AND j.held
     ORDER BY j.id FOR NO KEY UPDATE)
  UPDATE jobkeeper.jobs j SET held = false
   WHERE j.id = ANY (ARRAY(SELECT l.id FROM locked l)) AND j.held
     AND NOT EXISTS (SELECT FROM jobkeeper.batches o
                      WHERE o.id = ANY (j.batch_ids) AND o.paused AND o.id <> resume_batch.batch_id);
END
$$;
COMMENT ON FUNCTION jobkeeper.resume_batch(uuid) IS
  'lets claims take the batch''s pending jobs again (those in no other paused batch)';

CREATE FUNCTION jobkeeper.cancel_batch(batch_id uuid)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  cancelled integer;
BEGIN
  PERFORM jobkeeper._lock_batch(cancel_batch.batch_id, false);
  -- As cancel_job, for each pending or processing job of the batch. Rows are locked in id
  -- order, as complete_jobs and the other batch functions lock them, so that two of them
  -- never wait on each other.
  WITH locked AS (
    SELECT j.id FROM jobkeeper.jobs j
     WHERE j.id IN (SELECT bj.job_id FROM jobkeeper.batch_jobs bj WHERE bj.batch_id = cancel_batch.batch_id)
       AND j.status IN ('pending', 'processing')
     ORDER BY j.id FOR NO KEY UPDATE)
  UPDATE jobkeeper.jobs j SET status = 'cancelled'
   WHERE j.id = ANY (ARRAY(SELECT l.id FROM locked l)) AND j.status IN ('pending', 'processing');
  GET DIAGNOSTICS cancelled = ROW_COUNT;
  RETURN cancelled;
END
$$;
COMMENT ON FUNCTION jobkeeper.cancel_batch(uuid) IS
  'cancels the batch''s pending and processing jobs; returns how many';

CREATE FUNCTION jobkeeper.retry_batch(batch_id uuid)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  retried integer;
BEGIN
  PERFORM jobkeeper._lock_batch(retry_batch.batch_id, false);
  -- As retry_job, for each failed or cancelled job of the batch (sql/batches.sql checks that
  -- the two leave the same row).
  WITH locked AS (
    SELECT j.id FROM jobkeeper.jobs j
     WHERE j.id IN (SELECT bj.job_id FROM jobkeeper.batch_jobs bj WHERE bj.batch_id = retry_batch.batch_id)
       AND j.status IN ('failed', 'cancelled')
     ORDER BY j.id FOR NO KEY UPDATE)
  UPDATE jobkeeper.jobs j
     SET status = 'pending', attempts = 0, run_after = now(), error_message = NULL,
         started_at = NULL, locked_by = NULL, lease_expires_at = NULL
   WHERE j.id = ANY (ARRAY(SELECT l.id FROM locked l)) AND j.status IN ('failed', 'cancelled');
  GET DIAGNOSTICS retried = ROW_COUNT;
  RETURN retried;
END
$$;
COMMENT ON FUNCTION jobkeeper.retry_batch(uuid) IS
  'puts the batch''s failed and cancelled jobs back to pending, as retry_job; returns how many';

-- PUBLIC gets nothing, as at install (the README's roles recipe grants what each role needs).
REVOKE ALL ON jobkeeper.ttl_rules, jobkeeper.batches, jobkeeper.batch_jobs, jobkeeper.batch_counts,
  jobkeeper.batch_stats FROM PUBLIC;
REVOKE ALL ON FUNCTION jobkeeper.add_ttl_rule(regclass, name, interval, integer),
  jobkeeper.drop_ttl_rule(regclass, name), jobkeeper.run_ttl(),
  jobkeeper._retire_ttl_rules(), jobkeeper._follow_ttl_renames(),
  jobkeeper.batch_trigger(), jobkeeper.create_batch(text, jsonb),
  jobkeeper._lock_batch(uuid, boolean), jobkeeper.add_to_batch(uuid, uuid[]),
  jobkeeper.submit_to_batch(uuid, text, text, text, text, integer, timestamptz, integer, jsonb),
  jobkeeper.pause_batch(uuid), jobkeeper.resume_batch(uuid), jobkeeper.cancel_batch(uuid),
  jobkeeper.retry_batch(uuid) FROM PUBLIC;

INSERT INTO jobkeeper.schema_history (version, action, from_version) VALUES ('1.1', 'update', '1.0');
