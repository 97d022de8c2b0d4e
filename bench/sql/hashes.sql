-- Hash throughput in MB/s, best of 5, each hash timed alone on a value already in memory
-- (a PL/pgSQL variable), so detoasting is not counted. Prints one "name MB/s" line each.
CREATE EXTENSION IF NOT EXISTS pgcrypto;
-- sha256_agg is measured as it is used: 64 chunks of 1 MB in a table (uncompressed, in shared
-- buffers), ORDER BY chunk number. Reading those chunks (detoasting) is timed on its own too,
-- so the report can show the hash net of it.
DROP TABLE IF EXISTS mb_chunks;
CREATE UNLOGGED TABLE mb_chunks (chunk_no int, chunk bytea);
ALTER TABLE mb_chunks ALTER COLUMN chunk SET STORAGE EXTERNAL;
INSERT INTO mb_chunks
SELECT i, substring(v FROM i * 1048576 + 1 FOR 1048576)
  FROM (SELECT decode(repeat('5a3c', 64 * 512 * 1024), 'hex') AS v) s, generate_series(0, 63) i;
DO $$
DECLARE
  mb constant int := 64;
  v bytea := decode(repeat('5a3c', mb * 512 * 1024), 'hex');  -- 64 MB
  lo oid;
  h text;
  t0 timestamptz;
  best float8;
  name text;
BEGIN
  lo := lo_from_bytea(0, v);
  PERFORM count(substring(chunk FROM 1 FOR 1048576)) FROM mb_chunks;  -- warm the chunks
  PERFORM jobkeeper.lo_sha256(lo);  -- warm the large object into shared buffers
  FOREACH name IN ARRAY ARRAY['sha256_hex', 'encode(sha256)', 'pgcrypto digest', 'sha256_agg from table', 'reading the chunks', 'lo_sha256'] LOOP
    best := 0;
    FOR r IN 1..5 LOOP
      t0 := clock_timestamp();
      CASE name
        WHEN 'sha256_hex' THEN h := jobkeeper.sha256_hex(v);
        WHEN 'encode(sha256)' THEN h := encode(sha256(v), 'hex');
        WHEN 'pgcrypto digest' THEN h := encode(digest(v, 'sha256'), 'hex');
        WHEN 'sha256_agg from table' THEN
          SELECT jobkeeper.sha256_agg(chunk ORDER BY chunk_no) INTO h FROM mb_chunks;
        WHEN 'reading the chunks' THEN
          SELECT count(substring(chunk FROM 1 FOR 1048576))::text INTO h FROM mb_chunks;
        WHEN 'lo_sha256' THEN h := jobkeeper.lo_sha256(lo);
      END CASE;
      best := greatest(best, mb / extract(epoch FROM clock_timestamp() - t0));
    END LOOP;
    RAISE NOTICE 'rate % %', replace(name, ' ', '_'), round(best);
  END LOOP;
  PERFORM lo_unlink(lo);
END $$;
DROP TABLE mb_chunks;

-- 100,000 values of 1 KB each, stored inline: values per second over the whole query.
DROP TABLE IF EXISTS kb_values;
CREATE TABLE kb_values AS
SELECT (SELECT string_agg(sha256(int4send(i * 32 + j)), ''::bytea) FROM generate_series(1, 32) j) AS x
  FROM generate_series(1, 100000) i;
ALTER TABLE kb_values SET (autovacuum_enabled = off);
VACUUM ANALYZE kb_values;
DO $$
DECLARE
  t0 timestamptz;
  best float8;
  name text;
  n bigint;
BEGIN
  FOREACH name IN ARRAY ARRAY['count only', 'sha256_hex', 'encode(sha256)', 'pgcrypto digest'] LOOP
    best := 0;
    FOR r IN 1..5 LOOP
      t0 := clock_timestamp();
      CASE name
        WHEN 'count only' THEN SELECT count(x) INTO n FROM kb_values;
        WHEN 'sha256_hex' THEN SELECT count(jobkeeper.sha256_hex(x)) INTO n FROM kb_values;
        WHEN 'encode(sha256)' THEN SELECT count(encode(sha256(x), 'hex')) INTO n FROM kb_values;
        WHEN 'pgcrypto digest' THEN SELECT count(encode(digest(x, 'sha256'), 'hex')) INTO n FROM kb_values;
      END CASE;
      best := greatest(best, n / extract(epoch FROM clock_timestamp() - t0));
    END LOOP;
    RAISE NOTICE 'kb % %', replace(name, ' ', '_'), round(best);
  END LOOP;
END $$;
DROP TABLE kb_values;
