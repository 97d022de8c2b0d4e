-- SHA-256 functions (SPEC section 4), in C++ over OpenSSL (src/functions/hashes.cpp). They run
-- no SQL, so they carry no SET search_path clause (which would cost a GUC change per call).

CREATE FUNCTION jobkeeper.sha256_hex(bytea) RETURNS text
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'jobkeeper_sha256_hex';
COMMENT ON FUNCTION jobkeeper.sha256_hex(bytea) IS 'SHA-256 of the bytes, as 64 lowercase hex digits';

CREATE FUNCTION jobkeeper.sha256_hex(text) RETURNS text
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'jobkeeper_sha256_hex';
COMMENT ON FUNCTION jobkeeper.sha256_hex(text) IS
  'SHA-256 of the text''s bytes in the database encoding, as 64 lowercase hex digits';

CREATE FUNCTION jobkeeper._sha256_agg_step(internal, bytea) RETURNS internal
  LANGUAGE c PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'jobkeeper_sha256_agg_step';
COMMENT ON FUNCTION jobkeeper._sha256_agg_step(internal, bytea) IS 'internal: transition of sha256_agg';
CREATE FUNCTION jobkeeper._sha256_agg_final(internal) RETURNS text
  LANGUAGE c PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'jobkeeper_sha256_agg_final';
COMMENT ON FUNCTION jobkeeper._sha256_agg_final(internal) IS 'internal: final function of sha256_agg';
-- No combine function: a digest depends on the order of its chunks, so it cannot be split
-- across parallel workers.
CREATE AGGREGATE jobkeeper.sha256_agg(bytea) (
  SFUNC = jobkeeper._sha256_agg_step,
  STYPE = internal,
  FINALFUNC = jobkeeper._sha256_agg_final,
  FINALFUNC_MODIFY = READ_ONLY,
  PARALLEL = SAFE
);
COMMENT ON AGGREGATE jobkeeper.sha256_agg(bytea) IS
  'SHA-256 of the chunks concatenated in aggregate order (use ORDER BY); NULL chunks are skipped, no chunks give NULL';

CREATE FUNCTION jobkeeper.lo_sha256(oid) RETURNS text
  LANGUAGE c VOLATILE STRICT PARALLEL UNSAFE
  AS 'MODULE_PATHNAME', 'jobkeeper_lo_sha256';
COMMENT ON FUNCTION jobkeeper.lo_sha256(oid) IS
  'SHA-256 of a large object, streamed in 1 MB chunks, as 64 lowercase hex digits';

CREATE FUNCTION jobkeeper.is_sha256_hex(text) RETURNS boolean
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'jobkeeper_is_sha256_hex';
COMMENT ON FUNCTION jobkeeper.is_sha256_hex(text) IS
  'true for 64 lowercase hex digits: the form of jobs.file_hash (its CHECK constraint uses this)';

CREATE FUNCTION jobkeeper.normalize_hash(text) RETURNS text
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'jobkeeper_normalize_hash';
COMMENT ON FUNCTION jobkeeper.normalize_hash(text) IS
  'lowercases a 64-hex-digit SHA-256 hash; anything else raises 22P02';
