-- search_path and operator hijacking: a schema ahead of pg_catalog in the caller's search_path
-- holds operators and functions that shadow the ones jobkeeper's code uses; none of them ever
-- runs, whatever function is called, and the direct writes and COPY its C trigger handles do
-- not reach them either. (Every function pins search_path; the trigger's queries name their
-- tables and operators with their schema.)
CREATE EXTENSION jobkeeper;
SET jobkeeper.notify = off;
CREATE SCHEMA evil;
CREATE FUNCTION evil.trap() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'hijacked'; END $$;
CREATE FUNCTION evil.uuid_eq(uuid, uuid) RETURNS boolean LANGUAGE sql AS 'SELECT evil.trap()';
CREATE FUNCTION evil.text_eq(text, text) RETURNS boolean LANGUAGE sql AS 'SELECT evil.trap()';
CREATE FUNCTION evil.int_eq(integer, integer) RETURNS boolean LANGUAGE sql AS 'SELECT evil.trap()';
CREATE FUNCTION evil.ts_lt(timestamptz, timestamptz) RETURNS boolean LANGUAGE sql AS 'SELECT evil.trap()';
CREATE FUNCTION evil.ts_le(timestamptz, timestamptz) RETURNS boolean LANGUAGE sql AS 'SELECT evil.trap()';
CREATE FUNCTION evil.ts_ge(timestamptz, timestamptz) RETURNS boolean LANGUAGE sql AS 'SELECT evil.trap()';
CREATE OPERATOR evil.= (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = evil.uuid_eq);
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.text_eq);
CREATE OPERATOR evil.= (LEFTARG = integer, RIGHTARG = integer, FUNCTION = evil.int_eq);
CREATE OPERATOR evil.< (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = evil.ts_lt);
CREATE OPERATOR evil.<= (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = evil.ts_le);
CREATE OPERATOR evil.>= (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = evil.ts_ge);
CREATE FUNCTION evil.now() RETURNS timestamptz LANGUAGE sql AS 'SELECT CASE WHEN evil.trap() THEN NULL::timestamptz END';
CREATE FUNCTION evil.lower(text) RETURNS text LANGUAGE sql AS 'SELECT CASE WHEN evil.trap() THEN NULL::text END';
CREATE FUNCTION evil.char_length(text) RETURNS integer LANGUAGE sql AS 'SELECT CASE WHEN evil.trap() THEN 0 END';
CREATE FUNCTION evil.array_position(anycompatiblearray, anycompatible) RETURNS integer LANGUAGE sql AS 'SELECT CASE WHEN evil.trap() THEN 0 END';
-- The trap works: the shadowing objects win for an unqualified caller (two errors on purpose).
SET search_path = evil, pg_catalog;
SELECT now() IS NULL AS trapped;
SELECT '00000000-0000-0000-0000-000000000001'::uuid = '00000000-0000-0000-0000-000000000001'::uuid AS trapped;

-- A table for a TTL rule, owned by an ordinary role.
CREATE ROLE regress_jk_hijack_owner;
CREATE TABLE public.hijack_codes (created_at timestamptz NOT NULL);
CREATE INDEX ON public.hijack_codes (created_at);
ALTER TABLE public.hijack_codes OWNER TO regress_jk_hijack_owner;
INSERT INTO public.hijack_codes SELECT pg_catalog.now() - interval '1 hour' FROM generate_series(1, 3);

-- The whole lifecycle under that search_path, every function of the API.
\set VERBOSITY terse
SELECT status, deduplicated FROM jobkeeper.submit_job('a.mp3', '/a', repeat('ab', 32), 'audio');
SELECT deduplicated FROM jobkeeper.submit_job('again.mp3', '/a2', repeat('AB', 32));
SELECT id AS job FROM jobkeeper.claim_jobs('w', 1, ARRAY['audio'], '1 minute') \gset
SELECT jobkeeper.heartbeat(:'job', 'w', '2 minutes');
SELECT jobkeeper.set_workflow_state(:'job', 'transcribing');
SELECT jobkeeper.set_job_progress(:'job', 40);
SELECT jobkeeper.complete_job(:'job', 'w');
SELECT id AS export FROM jobkeeper.request_export(:'job', 'pdf') \gset
SELECT count(*) FROM jobkeeper.claim_exports('x', 1, ARRAY['pdf'], '1 minute');
SELECT jobkeeper.set_export_progress(:'export', 50);
SELECT jobkeeper.complete_export(:'export', '/out/a.pdf', 'x');
SELECT id AS second FROM jobkeeper.submit_job('b.mp3', '/b') \gset
SELECT count(*) FROM jobkeeper.claim_jobs('w', 5);
SELECT jobkeeper.fail_job(:'second', 'broken', 'w', true);
SELECT jobkeeper.cancel_job(:'second');
SELECT jobkeeper.retry_job(:'second');
SELECT count(*) FROM jobkeeper.claim_jobs('w', 5, lease => '1 minute');
SELECT jobkeeper.complete_jobs(ARRAY[:'second']::uuid[], 'w');
SELECT id AS srt FROM jobkeeper.request_export(:'job', 'srt') \gset
SELECT jobkeeper.cancel_export(:'srt');
SELECT jobkeeper.retry_export(:'srt');
SELECT count(*) FROM jobkeeper.claim_exports('x', 1);
SELECT jobkeeper.fail_export(:'srt', 'no', 'x');
SELECT * FROM jobkeeper.expire_leases();
SET jobkeeper.job_retention = 0;
SET jobkeeper.export_retention = 0;
SELECT * FROM jobkeeper.run_cleanup();
SELECT count(*) FROM jobkeeper.claim_deleted_files(10);
SELECT pg_catalog.length(jobkeeper.sha256_hex('x'::text)) AS hex_digits;
SELECT count(*) FROM jobkeeper.queue_stats;
SELECT count(*) FROM jobkeeper.export_stats;
SELECT count(*) FROM jobkeeper.duplicate_hashes;
SELECT count(*) >= 0 AS reads_worker_status FROM jobkeeper.worker_status;
SELECT column_name FROM jobkeeper.add_ttl_rule('public.hijack_codes', 'created_at', '1 minute', 2);
SELECT rows_deleted, error FROM jobkeeper.run_ttl();
SELECT jobkeeper.drop_ttl_rule('public.hijack_codes');
-- Batches: every function, the roll-up, a finish announced by run_cleanup(), the counts
-- written at commit.
SELECT jobkeeper.create_batch('hijack') AS batch \gset
SELECT status FROM jobkeeper.submit_to_batch(:'batch', 'd.mp3', '/d');
SELECT id AS other FROM jobkeeper.submit_job('e.mp3', '/e') \gset
SELECT jobkeeper.add_to_batch(:'batch', ARRAY[:'other']::uuid[]);
SELECT jobkeeper.pause_batch(:'batch');
SELECT jobkeeper.resume_batch(:'batch');
SELECT jobkeeper.cancel_batch(:'batch');
SELECT jobkeeper.retry_batch(:'batch');
SELECT jobkeeper.cancel_batch(:'batch');
SELECT total, cancelled, finished_at IS NOT NULL AS finished FROM jobkeeper.batch_stats;
SELECT jobs_deleted FROM jobkeeper.run_cleanup();
SELECT count(*) AS batches_left FROM jobkeeper.batches;
-- Direct writes and a COPY, which the C trigger handles with the writer's search_path.
INSERT INTO jobkeeper.jobs (id, file_name, file_path, status)
VALUES ('00000000-0000-0000-0000-0000000000c1', 'c.mp3', '/c', 'completed');
UPDATE jobkeeper.jobs SET metadata = '{"k": 1}' WHERE id OPERATOR(pg_catalog.=) '00000000-0000-0000-0000-0000000000c1';
COPY jobkeeper.export_jobs (job_id, export_type, status) FROM stdin;
00000000-0000-0000-0000-0000000000c1	pdf	processing
\.
\set VERBOSITY default
RESET search_path;
SELECT count(*) AS jobs_left FROM jobkeeper.jobs;
DROP SCHEMA evil CASCADE;
DROP EXTENSION jobkeeper;
DROP TABLE hijack_codes;
DROP ROLE regress_jk_hijack_owner;
