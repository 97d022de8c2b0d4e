-- Every kind of C++ exception in core code becomes a clean SQL error with the right SQLSTATE,
-- and the session carries on. The fault function is internal: the extension does not create
-- it, so the test declares it in its own schema.
CREATE SCHEMA jobkeeper_test;
CREATE FUNCTION jobkeeper_test.fault(kind text) RETURNS boolean
  LANGUAGE c STRICT AS 'jobkeeper', 'jobkeeper_internal_fault';
\set VERBOSITY default
SELECT jobkeeper_test.fault('none');
SELECT jobkeeper_test.fault('error');
\echo :SQLSTATE
SELECT jobkeeper_test.fault('bad_alloc');
\echo :SQLSTATE
SELECT jobkeeper_test.fault('std');
\echo :SQLSTATE
SELECT jobkeeper_test.fault('unknown');
\echo :SQLSTATE
SELECT jobkeeper_test.fault('nonsense');
\echo :SQLSTATE
-- Many failures in one session leak nothing and leave it usable.
DO $$
DECLARE
  failures int := 0;
BEGIN
  FOR i IN 1..2000 LOOP
    BEGIN
      PERFORM jobkeeper_test.fault(CASE i % 4 WHEN 0 THEN 'error' WHEN 1 THEN 'bad_alloc'
                                              WHEN 2 THEN 'std' ELSE 'unknown' END);
    EXCEPTION WHEN OTHERS THEN
      failures := failures + 1;
    END;
  END LOOP;
  RAISE NOTICE 'caught % of 2000 faults', failures;
END $$;
-- A fault inside a transaction aborts only that transaction.
BEGIN;
CREATE TABLE jobkeeper_test.t (x int);
SELECT jobkeeper_test.fault('std');
ROLLBACK;
SELECT to_regclass('jobkeeper_test.t') AS table_rolled_back;
SELECT jobkeeper_test.fault('none') AS session_still_works;
DROP SCHEMA jobkeeper_test CASCADE;
