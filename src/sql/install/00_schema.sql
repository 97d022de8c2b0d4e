-- jobkeeper install script, assembled by `make` from src/sql/install/*.sql in name order.
\echo Use "CREATE EXTENSION jobkeeper" to load this file. \quit

-- Created here, not by the control file, so the extension owns the schema (DROP EXTENSION
-- removes it) and a schema made beforehand by someone else makes CREATE EXTENSION fail
-- instead of being adopted.
CREATE SCHEMA jobkeeper;
COMMENT ON SCHEMA jobkeeper IS 'jobkeeper: job and export tracking';

-- C functions that run no SQL carry no SET search_path clause: it would only cost a GUC
-- change per call. Every SQL and PL/pgSQL function pins it.
CREATE FUNCTION jobkeeper.version() RETURNS text
  LANGUAGE c STABLE PARALLEL SAFE STRICT
  AS 'MODULE_PATHNAME', 'jobkeeper_version';
COMMENT ON FUNCTION jobkeeper.version() IS
  'version of the loaded jobkeeper library (may differ from the installed SQL version during an upgrade)';

CREATE FUNCTION jobkeeper.retry_delay(attempts integer) RETURNS interval
  LANGUAGE c IMMUTABLE PARALLEL SAFE STRICT
  AS 'MODULE_PATHNAME', 'jobkeeper_retry_delay';
COMMENT ON FUNCTION jobkeeper.retry_delay(integer) IS
  'backoff before retrying after the given number of attempts: 15 s * 2^(attempts - 1), at most 1 hour';
