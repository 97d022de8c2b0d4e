-- CREATE / DROP EXTENSION round-trip, schema ownership and the library version.
CREATE EXTENSION jobkeeper;
SELECT extname, extversion, extrelocatable FROM pg_extension WHERE extname = 'jobkeeper';
SELECT jobkeeper.version() = (SELECT extversion FROM pg_extension WHERE extname = 'jobkeeper')
  AS library_matches_sql;
-- The extension owns its schema, so DROP EXTENSION removes it.
SELECT pg_describe_object(classid, objid, objsubid) AS member
  FROM pg_depend
 WHERE refclassid = 'pg_extension'::regclass
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'jobkeeper')
   AND classid = 'pg_namespace'::regclass;
-- Every SQL and PL/pgSQL function pins search_path.
SELECT p.oid::regprocedure AS function_without_search_path
  FROM pg_proc p
 WHERE p.pronamespace = 'jobkeeper'::regnamespace
   AND p.prolang <> (SELECT oid FROM pg_language WHERE lanname = 'c') AND p.prokind = 'f'
   AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%');
-- The C functions, which run no SQL by name (the trigger's one query is schema-qualified).
SELECT p.oid::regprocedure AS c_function FROM pg_proc p
 WHERE p.pronamespace = 'jobkeeper'::regnamespace AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c')
 ORDER BY p.oid::regprocedure::text;
-- What is installed and pending, and the history (SPEC section 9).
SELECT library_version, installed_version, newest_version, update_pending, update_path
  FROM jobkeeper.version_info();
SELECT version, action, from_version, at <= clock_timestamp() AS at_set, by_role = current_user AS by_me
  FROM jobkeeper.schema_history;
-- Its rows are checked: an update names where it came from, an install does not.
\set VERBOSITY terse
INSERT INTO jobkeeper.schema_history (version, action) VALUES ('1.1', 'update');
INSERT INTO jobkeeper.schema_history (version, action, from_version) VALUES ('1.1', 'install', '1.0');
INSERT INTO jobkeeper.schema_history (version, action) VALUES ('1.1', 'migrate');
\set VERBOSITY default
DROP EXTENSION jobkeeper;
SELECT count(*) AS schemas_left FROM pg_namespace WHERE nspname = 'jobkeeper';
-- A schema created beforehand is never adopted: CREATE EXTENSION fails and changes nothing.
CREATE SCHEMA jobkeeper;
CREATE EXTENSION jobkeeper;
\echo :SQLSTATE
DROP SCHEMA jobkeeper;
-- A second round trip works the same.
CREATE EXTENSION jobkeeper;
SELECT jobkeeper.version() IS NOT NULL AS has_version;
DROP EXTENSION jobkeeper;
