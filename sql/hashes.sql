-- SHA-256: standard vectors, agreement with PostgreSQL's sha256(), the aggregate under every
-- chunking, large objects, and the shared file_hash validator.
CREATE EXTENSION jobkeeper;
\set VERBOSITY default
\set SHOW_CONTEXT never

-- FIPS 180-2 vectors: empty input, 'abc', one million 'a'.
SELECT jobkeeper.sha256_hex(''::bytea) AS empty,
       jobkeeper.sha256_hex('abc'::bytea) AS abc,
       jobkeeper.sha256_hex(repeat('a', 1000000)) AS million_a;
SELECT jobkeeper.sha256_hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq') AS two_blocks;
SELECT jobkeeper.sha256_hex(NULL::bytea) IS NULL AS strict;
SELECT pg_get_function_result(p.oid) AS returns, provolatile, proisstrict, proparallel
  FROM pg_proc p WHERE p.oid IN ('jobkeeper.sha256_hex(bytea)'::regprocedure, 'jobkeeper.sha256_hex(text)'::regprocedure);

-- Agreement with encode(sha256(x), 'hex') on pseudo-random data around every block boundary
-- and up to 1 MB; text hashes its bytes in the database encoding.
SELECT setseed(0.42);
CREATE TEMP TABLE samples AS
SELECT n, (SELECT coalesce(string_agg(decode(lpad(to_hex((random() * 255)::int), 2, '0'), 'hex'), ''::bytea), ''::bytea)
             FROM generate_series(1, n) WHERE n > 0 OR n = 0) AS data
  FROM unnest(ARRAY[0, 1, 2, 31, 32, 33, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 4095, 4096,
                    4097, 65536, 100003, 1048576]) AS n;
SELECT count(*) AS samples,
       count(*) FILTER (WHERE jobkeeper.sha256_hex(data) = encode(sha256(data), 'hex')) AS agree
  FROM samples;
SELECT jobkeeper.sha256_hex('héllo wörld') = encode(sha256(convert_to('héllo wörld', 'UTF8')), 'hex') AS text_is_its_bytes;

-- sha256_agg over chunks equals the hash of the whole value, for every chunking tried.
CREATE TEMP TABLE chunked AS
SELECT s.n, c.size, (i / c.size) AS chunk_no, substring(s.data FROM i + 1 FOR c.size) AS chunk
  FROM samples s, (VALUES (1), (7), (64), (1000), (65536)) c(size), generate_series(0, length(s.data) - 1, c.size) i
 WHERE s.n BETWEEN 1 AND 100003 AND (c.size > 1 OR s.n <= 4097);
SELECT count(*) AS chunkings,
       count(*) FILTER (WHERE h = (SELECT jobkeeper.sha256_hex(data) FROM samples WHERE samples.n = g.n)) AS agree
  FROM (SELECT n, size, jobkeeper.sha256_agg(chunk ORDER BY chunk_no) AS h FROM chunked GROUP BY n, size) g;
-- Empty chunks add nothing; NULL chunks are skipped; order matters.
SELECT jobkeeper.sha256_agg(c ORDER BY i) = jobkeeper.sha256_hex('abc'::bytea) AS empty_and_null_skipped
  FROM (VALUES (1, ''::bytea), (2, 'a'), (3, NULL), (4, ''), (5, 'bc'), (6, NULL)) v(i, c);
SELECT jobkeeper.sha256_agg(c ORDER BY i DESC) = jobkeeper.sha256_hex('bca'::bytea) AS order_matters
  FROM (VALUES (1, 'a'::bytea), (2, 'bc')) v(i, c);
-- No rows, or only NULL chunks: NULL (like other aggregates); only empty chunks: the empty hash.
SELECT jobkeeper.sha256_agg(c) IS NULL AS no_rows FROM (SELECT ''::bytea WHERE false) v(c);
SELECT jobkeeper.sha256_agg(c) IS NULL AS only_nulls FROM (VALUES (NULL::bytea), (NULL)) v(c);
SELECT jobkeeper.sha256_agg(c) = jobkeeper.sha256_hex(''::bytea) AS only_empty FROM (VALUES (''::bytea), ('')) v(c);
-- Many groups at once, and as a window aggregate (running hash).
SELECT g, jobkeeper.sha256_agg(c ORDER BY i) = jobkeeper.sha256_hex(string_agg(c, ''::bytea ORDER BY i)) AS agree
  FROM (SELECT i % 3 AS g, i, int4send(i) AS c FROM generate_series(1, 3000) i) v GROUP BY g ORDER BY g;
SELECT i, jobkeeper.sha256_agg(c) OVER (ORDER BY i) = jobkeeper.sha256_hex(string_agg(c, ''::bytea) OVER (ORDER BY i)) AS running
  FROM (VALUES (1, 'a'::bytea), (2, 'b'), (3, 'c')) v(i, c);

-- Large objects: streamed, equal to the hash of their contents.
SELECT lo_from_bytea(4240001, data) AS lo_big FROM samples WHERE n = 1048576 \gset
SELECT jobkeeper.lo_sha256(:lo_big) = (SELECT jobkeeper.sha256_hex(data) FROM samples WHERE n = 1048576) AS big_agrees;
SELECT lo_from_bytea(4240002, ''::bytea) AS lo_empty \gset
SELECT jobkeeper.lo_sha256(:lo_empty) = jobkeeper.sha256_hex(''::bytea) AS empty_agrees;
SELECT jobkeeper.lo_sha256(4294967295);
\echo :SQLSTATE
CREATE ROLE regress_jk_lo_reader;
GRANT USAGE ON SCHEMA jobkeeper TO regress_jk_lo_reader;
GRANT EXECUTE ON FUNCTION jobkeeper.lo_sha256(oid) TO regress_jk_lo_reader;
SET ROLE regress_jk_lo_reader;
SELECT jobkeeper.lo_sha256(:lo_empty);
\echo :SQLSTATE
RESET ROLE;
GRANT SELECT ON LARGE OBJECT :lo_empty TO regress_jk_lo_reader;
SET ROLE regress_jk_lo_reader;
SELECT jobkeeper.lo_sha256(:lo_empty) AS reader_hash;
RESET ROLE;
SELECT lo_unlink(:lo_big), lo_unlink(:lo_empty);

-- The validator shared by the file_hash constraint, and normalize_hash (22P02 when malformed).
SELECT h, jobkeeper.is_sha256_hex(h)
  FROM (VALUES (jobkeeper.sha256_hex('abc')), (upper(jobkeeper.sha256_hex('abc'))), (repeat('0', 63)),
               (repeat('0', 65)), (repeat('g', 64)), ('')) v(h);
SELECT jobkeeper.normalize_hash('BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD');
SELECT jobkeeper.normalize_hash('not-a-hash');
\echo :SQLSTATE
SELECT jobkeeper.normalize_hash(repeat('z', 200));
\echo :SQLSTATE
-- submit_job uses it: the offending value appears in the message.
SELECT * FROM jobkeeper.submit_job('a', '/a', 'abc');
\echo :SQLSTATE
SELECT status, deduplicated FROM jobkeeper.submit_job('a', '/a', upper(jobkeeper.sha256_hex('abc')));
SELECT file_hash = jobkeeper.sha256_hex('abc') AS stored_lowercase FROM jobkeeper.jobs;

DROP EXTENSION jobkeeper;
DROP ROLE regress_jk_lo_reader;
