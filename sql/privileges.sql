-- PUBLIC has no access; the README's GRANTs for an application role, a worker role and a
-- role that drains deleted_files are enough for each to do its part, and nothing more.
CREATE EXTENSION jobkeeper;
\set VERBOSITY terse
SET jobkeeper.notify = off;
CREATE ROLE regress_jk_app;
CREATE ROLE regress_jk_worker;
CREATE ROLE regress_jk_nobody;
CREATE ROLE regress_jk_janitor;

-- The application role: submit, request exports, cancel/retry, read.
GRANT USAGE ON SCHEMA jobkeeper TO regress_jk_app;
GRANT SELECT ON ALL TABLES IN SCHEMA jobkeeper TO regress_jk_app;
GRANT EXECUTE ON FUNCTION
  jobkeeper.submit_job(text, text, text, text, integer, timestamptz, integer, jsonb),
  jobkeeper.request_export(uuid, text),
  jobkeeper.cancel_job(uuid), jobkeeper.retry_job(uuid),
  jobkeeper.cancel_export(uuid), jobkeeper.retry_export(uuid),
  jobkeeper.sha256_hex(bytea), jobkeeper.sha256_hex(text), jobkeeper.sha256_agg(bytea),
  jobkeeper.lo_sha256(oid), jobkeeper.is_sha256_hex(text), jobkeeper.normalize_hash(text),
  jobkeeper.version(), jobkeeper.version_info(),
  -- TTL rules on the application's own tables (each call checks that it owns the table)
  jobkeeper.add_ttl_rule(regclass, name, interval, integer),
  jobkeeper.drop_ttl_rule(regclass, name), jobkeeper.run_ttl(),
  -- batches
  jobkeeper.create_batch(text, jsonb), jobkeeper.add_to_batch(uuid, uuid[]),
  jobkeeper.submit_to_batch(uuid, text, text, text, text, integer, timestamptz, integer, jsonb),
  jobkeeper.pause_batch(uuid), jobkeeper.resume_batch(uuid),
  jobkeeper.cancel_batch(uuid), jobkeeper.retry_batch(uuid)
  TO regress_jk_app;
-- The worker role: claim, heartbeat, report, finish.
GRANT USAGE ON SCHEMA jobkeeper TO regress_jk_worker;
GRANT EXECUTE ON FUNCTION
  jobkeeper.claim_jobs(text, integer, text[], interval),
  jobkeeper.heartbeat(uuid, text, interval),
  jobkeeper.set_workflow_state(uuid, text), jobkeeper.set_job_progress(uuid, integer),
  jobkeeper.complete_job(uuid, text), jobkeeper.complete_jobs(uuid[], text),
  jobkeeper.fail_job(uuid, text, text, boolean),
  jobkeeper.claim_exports(text, integer, text[], interval),
  jobkeeper.set_export_progress(uuid, integer),
  jobkeeper.complete_export(uuid, text, text), jobkeeper.fail_export(uuid, text, text)
  TO regress_jk_worker;

SET ROLE regress_jk_app;
SELECT status, deduplicated FROM jobkeeper.submit_job('a.mp3', '/a.mp3', repeat('a', 64));
SELECT count(*) AS visible FROM jobkeeper.jobs;
-- It hashes uploads itself and checks the library version.
SELECT jobkeeper.sha256_hex('a'::text) = jobkeeper.normalize_hash(upper(jobkeeper.sha256_hex('a'::text))) AS hashes,
       jobkeeper.version() IS NOT NULL AS version;
SELECT count(*) FROM jobkeeper.queue_stats;
-- worker_status too, though it reads shared memory through a function.
SELECT count(*) >= 0 AS reads_worker_status FROM jobkeeper.worker_status;
-- ... but may not write the tables directly or act as a worker.
UPDATE jobkeeper.jobs SET status = 'completed';
\echo :SQLSTATE
SELECT jobkeeper.claim_jobs('app', 1);
\echo :SQLSTATE
RESET ROLE;

SET ROLE regress_jk_worker;
SELECT id AS job, status AS claimed_status FROM jobkeeper.claim_jobs('w1', 1) \gset
\echo :claimed_status
SELECT jobkeeper.set_job_progress(:'job', 50);
SELECT jobkeeper.complete_job(:'job', 'w1');
-- The worker cannot submit or read the tables.
SELECT jobkeeper.submit_job('b', '/b');
\echo :SQLSTATE
SELECT count(*) FROM jobkeeper.jobs;
\echo :SQLSTATE
RESET ROLE;
SELECT status, progress FROM jobkeeper.jobs;

-- A role without grants is refused everything.
SET ROLE regress_jk_nobody;
SELECT count(*) FROM jobkeeper.jobs;
\echo :SQLSTATE
SELECT jobkeeper.submit_job('c', '/c');
\echo :SQLSTATE
SELECT jobkeeper.version();
\echo :SQLSTATE
SELECT count(*) FROM jobkeeper.worker_status;
\echo :SQLSTATE
SELECT count(*) FROM jobkeeper._worker_status();
\echo :SQLSTATE
RESET ROLE;
-- The role that removes the files of deleted rows: claims deleted_files, watches worker_status.
GRANT USAGE ON SCHEMA jobkeeper TO regress_jk_janitor;
GRANT EXECUTE ON FUNCTION jobkeeper.claim_deleted_files(integer) TO regress_jk_janitor;
GRANT SELECT ON jobkeeper.worker_status TO regress_jk_janitor;
INSERT INTO jobkeeper.deleted_file_batches (kind, row_ids, file_paths)
VALUES ('job', ARRAY[gen_random_uuid(), gen_random_uuid()], ARRAY['/gone/1', '/gone/2']);
SET ROLE regress_jk_janitor;
SELECT file_path FROM jobkeeper.claim_deleted_files(10) ORDER BY file_path;
SELECT count(*) >= 0 AS reads_worker_status FROM jobkeeper.worker_status;
SELECT count(*) FROM jobkeeper.deleted_file_batches;
\echo :SQLSTATE
SELECT jobkeeper.submit_job('j', '/j');
\echo :SQLSTATE
RESET ROLE;
SELECT count(*) AS paths_left FROM jobkeeper.deleted_files;

-- No table and one function is granted to PUBLIC: _worker_status(), which answers only roles
-- that may SELECT from the worker_status view that calls it.
SELECT p.oid::regprocedure AS public_function_grants FROM pg_proc p, aclexplode(p.proacl) a
 WHERE p.pronamespace = 'jobkeeper'::regnamespace AND a.grantee = 0;
SELECT count(*) AS public_table_grants FROM pg_class c, aclexplode(c.relacl) a
 WHERE c.relnamespace = 'jobkeeper'::regnamespace AND a.grantee = 0;
-- TRIGGER is held by no role but the owner: a trigger on these tables would run inside the
-- SECURITY DEFINER functions and the worker, with the owner's (a superuser's) rights. The
-- README's recipe, applied above, grants it to nobody.
SELECT count(*) AS trigger_grants FROM pg_class c, aclexplode(c.relacl) a
 WHERE c.relnamespace = 'jobkeeper'::regnamespace AND a.privilege_type = 'TRIGGER'
   AND a.grantee <> c.relowner;

-- The privilege matrix, with the README's recipe applied above: every privilege of these
-- roles on every function, table, view and sequence, taken from the catalogs so that nothing
-- is forgotten. X: held; -: not. A change to any grant shows here.
CREATE FUNCTION pg_temp.mark(held boolean) RETURNS text LANGUAGE sql AS
  $$SELECT CASE WHEN held THEN 'X' ELSE '-' END$$;
-- Schema usage.
SELECT r AS role, pg_temp.mark(has_schema_privilege(r, 'jobkeeper', 'USAGE')) AS usage
  FROM unnest(ARRAY['regress_jk_app', 'regress_jk_worker', 'regress_jk_janitor', 'regress_jk_nobody']) r;
-- EXECUTE on every function (PUBLIC's grant of _worker_status shows for every role).
SELECT p.oid::regprocedure AS function,
       pg_temp.mark(has_function_privilege('regress_jk_app', p.oid, 'EXECUTE')) AS app,
       pg_temp.mark(has_function_privilege('regress_jk_worker', p.oid, 'EXECUTE')) AS worker,
       pg_temp.mark(has_function_privilege('regress_jk_janitor', p.oid, 'EXECUTE')) AS janitor,
       pg_temp.mark(has_function_privilege('regress_jk_nobody', p.oid, 'EXECUTE')) AS nobody
  FROM pg_proc p WHERE p.pronamespace = 'jobkeeper'::regnamespace
 ORDER BY p.oid::regprocedure::text;
-- Every table, view and sequence: SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES,
-- TRIGGER (in that order; USAGE for sequences in place of REFERENCES).
SELECT c.relname AS relation, c.relkind AS kind, r.role,
       string_agg(pg_temp.mark(CASE WHEN c.relkind = 'S' AND priv = 'REFERENCES'
                                    THEN has_sequence_privilege(r.role, c.oid, 'USAGE')
                                    WHEN c.relkind = 'S' AND priv IN ('SELECT', 'UPDATE')
                                    THEN has_sequence_privilege(r.role, c.oid, priv)
                                    WHEN c.relkind = 'S' THEN false
                                    ELSE has_table_privilege(r.role, c.oid, priv) END), '' ORDER BY o)
         AS "SIUDTRt"
  FROM pg_class c,
       unnest(ARRAY['regress_jk_app', 'regress_jk_worker', 'regress_jk_janitor', 'regress_jk_nobody']) r(role),
       unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'])
         WITH ORDINALITY AS pr(priv, o)
 WHERE c.relnamespace = 'jobkeeper'::regnamespace AND c.relkind IN ('r', 'v', 'S')
 GROUP BY c.relname, c.relkind, r.role
 ORDER BY 1, 3;

DROP EXTENSION jobkeeper;
DROP ROLE regress_jk_app, regress_jk_worker, regress_jk_nobody, regress_jk_janitor;
