-- The jobkeeper demonstration, run by `make demo` against a fresh database.
\pset footer off
\echo '-- install the extension'
CREATE EXTENSION jobkeeper;
SELECT jobkeeper.version() AS library_version,
       (SELECT extversion FROM pg_extension WHERE extname = 'jobkeeper') AS sql_version;
