-- plpgsql_check (Debian's postgresql-15-plpgsql-check) over every PL/pgSQL function of
-- schema jobkeeper, extra warnings included: nothing to report. (Its performance warnings are
-- left out: it would have _lock_in_status, which locks rows, marked STABLE.)
CREATE EXTENSION jobkeeper;
CREATE EXTENSION plpgsql_check;
SELECT count(*) > 10 AS functions_checked
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
 WHERE p.pronamespace = 'jobkeeper'::regnamespace AND l.lanname = 'plpgsql';
SELECT p.oid::regprocedure AS function, r.lineno, r.level, r.message
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang,
       LATERAL plpgsql_check_function_tb(p.oid, extra_warnings => true) r
 WHERE p.pronamespace = 'jobkeeper'::regnamespace AND l.lanname = 'plpgsql'
 ORDER BY 1, 2;
DROP EXTENSION plpgsql_check;
DROP EXTENSION jobkeeper;
