-- The privilege matrix: with the README's roles recipe applied (application, worker, the role
-- that drains deleted_files) and a role with no grants, every privilege on every function,
-- table, view and sequence of schema jobkeeper, taken from the catalogs so that nothing is
-- forgotten. X: held; -: not. A change to any grant shows here.
CREATE EXTENSION jobkeeper;
CREATE ROLE regress_pm_app;
CREATE ROLE regress_pm_worker;
CREATE ROLE regress_pm_janitor;
CREATE ROLE regress_pm_nobody;
-- The README's recipe, as written there.
GRANT USAGE ON SCHEMA jobkeeper TO regress_pm_app, regress_pm_worker;
GRANT SELECT ON ALL TABLES IN SCHEMA jobkeeper TO regress_pm_app;
GRANT EXECUTE ON FUNCTION
  jobkeeper.submit_job(text, text, text, text, integer, timestamptz, integer, jsonb),
  jobkeeper.request_export(uuid, text),
  jobkeeper.cancel_job(uuid), jobkeeper.retry_job(uuid),
  jobkeeper.cancel_export(uuid), jobkeeper.retry_export(uuid),
  jobkeeper.sha256_hex(bytea), jobkeeper.sha256_hex(text), jobkeeper.sha256_agg(bytea),
  jobkeeper.lo_sha256(oid), jobkeeper.is_sha256_hex(text), jobkeeper.normalize_hash(text),
  jobkeeper.version()
  TO regress_pm_app;
GRANT EXECUTE ON FUNCTION
  jobkeeper.claim_jobs(text, integer, text[], interval),
  jobkeeper.heartbeat(uuid, text, interval),
  jobkeeper.set_workflow_state(uuid, text), jobkeeper.set_job_progress(uuid, integer),
  jobkeeper.complete_job(uuid, text), jobkeeper.complete_jobs(uuid[], text),
  jobkeeper.fail_job(uuid, text, text, boolean),
  jobkeeper.claim_exports(text, integer, text[], interval),
  jobkeeper.set_export_progress(uuid, integer),
  jobkeeper.complete_export(uuid, text, text), jobkeeper.fail_export(uuid, text, text)
  TO regress_pm_worker;
GRANT USAGE ON SCHEMA jobkeeper TO regress_pm_janitor;
GRANT EXECUTE ON FUNCTION jobkeeper.claim_deleted_files(integer) TO regress_pm_janitor;
GRANT SELECT ON jobkeeper.worker_status TO regress_pm_janitor;

CREATE FUNCTION pg_temp.mark(held boolean) RETURNS text LANGUAGE sql AS
  $$SELECT CASE WHEN held THEN 'X' ELSE '-' END$$;
-- Schema usage.
SELECT r AS role, pg_temp.mark(has_schema_privilege(r, 'jobkeeper', 'USAGE')) AS usage
  FROM unnest(ARRAY['regress_pm_app', 'regress_pm_worker', 'regress_pm_janitor', 'regress_pm_nobody']) r;
-- EXECUTE on every function (PUBLIC's grant of _worker_status shows for every role).
SELECT p.oid::regprocedure AS function,
       pg_temp.mark(has_function_privilege('regress_pm_app', p.oid, 'EXECUTE')) AS app,
       pg_temp.mark(has_function_privilege('regress_pm_worker', p.oid, 'EXECUTE')) AS worker,
       pg_temp.mark(has_function_privilege('regress_pm_janitor', p.oid, 'EXECUTE')) AS janitor,
       pg_temp.mark(has_function_privilege('regress_pm_nobody', p.oid, 'EXECUTE')) AS nobody
  FROM pg_proc p WHERE p.pronamespace = 'jobkeeper'::regnamespace
 ORDER BY 1::text;
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
       unnest(ARRAY['regress_pm_app', 'regress_pm_worker', 'regress_pm_janitor', 'regress_pm_nobody']) r(role),
       unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'])
         WITH ORDINALITY AS pr(priv, o)
 WHERE c.relnamespace = 'jobkeeper'::regnamespace AND c.relkind IN ('r', 'v', 'S')
 GROUP BY c.relname, c.relkind, r.role
 ORDER BY 1, 3;
DROP EXTENSION jobkeeper;
DROP ROLE regress_pm_app, regress_pm_worker, regress_pm_janitor, regress_pm_nobody;
