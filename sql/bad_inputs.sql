-- A bad-input sweep over every function of schema jobkeeper, taken from pg_proc so that none
-- is forgotten: each argument in turn gets edge values of its type (NULL; '' and 1 MB of text;
-- -1, 0 and the integer extremes; infinite timestamps; zero, negative and huge intervals;
-- arrays holding NULL and of 100,000 elements; jsonb that is not an object and 1 MB of it),
-- the other arguments keeping a plain value (or their default). Every call runs in a
-- subtransaction that is rolled back, succeeds or raises a SQLSTATE outside class XX, and the
-- server stays up. The SQLSTATE of every call is listed, so that a change shows in review.
CREATE EXTENSION jobkeeper;
SET jobkeeper.notify = off;
INSERT INTO jobkeeper.jobs (id, file_name, file_path, status) VALUES
  ('00000000-0000-0000-0000-00000000000a', 'pending.mp3', '/pending', 'pending'),
  ('00000000-0000-0000-0000-00000000000c', 'done.mp3', '/done', 'completed');
INSERT INTO jobkeeper.export_jobs (id, job_id, export_type) VALUES
  ('00000000-0000-0000-0000-0000000000e1', '00000000-0000-0000-0000-00000000000c', 'pdf');
-- A batch holding the pending job, for the batch functions' plain uuid.
INSERT INTO jobkeeper.batches (id, name) VALUES ('00000000-0000-0000-0000-0000000000b1', 'sweep');
UPDATE jobkeeper.jobs SET batch_ids = '{00000000-0000-0000-0000-0000000000b1}'
 WHERE id = '00000000-0000-0000-0000-00000000000a';
-- A table a TTL rule may target, owned by an ordinary role (a rule never deletes as superuser).
CREATE ROLE regress_jk_sweep_owner;
CREATE TABLE sweep_codes (created_at timestamptz NOT NULL, note text);
CREATE INDEX ON sweep_codes (created_at);
ALTER TABLE sweep_codes OWNER TO regress_jk_sweep_owner;
CREATE VIEW sweep_view AS SELECT * FROM sweep_codes;

-- Values per argument type: 'plain' fills the other arguments; the rest are swept.
CREATE TEMP TABLE sweep_values (type regtype, ord int, label text, expr text);
INSERT INTO sweep_values VALUES
  ('text', 0, 'plain', $$'x'$$),
  ('text', 1, 'null', 'NULL'),
  ('text', 2, 'empty', $$''$$),
  ('text', 3, '1 MB', $$repeat('x', 1048576)$$),
  ('integer', 0, 'plain', '1'),
  ('integer', 1, 'null', 'NULL'),
  ('integer', 2, '-1', '-1'),
  ('integer', 3, '0', '0'),
  ('integer', 4, 'min', '-2147483648'),
  ('integer', 5, 'max', '2147483647'),
  ('timestamp with time zone', 0, 'plain', 'now()'),
  ('timestamp with time zone', 1, 'null', 'NULL'),
  ('timestamp with time zone', 2, 'infinity', $$'infinity'$$),
  ('timestamp with time zone', 3, '-infinity', $$'-infinity'$$),
  ('interval', 0, 'plain', $$'1 minute'$$),
  ('interval', 1, 'null', 'NULL'),
  ('interval', 2, 'zero', $$'0'$$),
  ('interval', 3, 'negative', $$'-1 hour'$$),
  ('interval', 4, 'huge', $$'100000 years'$$),
  ('text[]', 0, 'plain', $$'{x}'$$),
  ('text[]', 1, 'null', 'NULL'),
  ('text[]', 2, 'holding null', 'ARRAY[NULL]'),
  ('text[]', 3, '100,000 elements', $$ARRAY(SELECT 'q' || i FROM generate_series(1, 100000) i)$$),
  ('uuid[]', 0, 'plain', $$'{00000000-0000-0000-0000-00000000000a}'$$),
  ('uuid[]', 1, 'null', 'NULL'),
  ('uuid[]', 2, 'holding null', 'ARRAY[NULL]'),
  ('uuid[]', 3, '100,000 elements',
   $$ARRAY(SELECT lpad(to_hex(i), 32, '0')::uuid FROM generate_series(1, 100000) i)$$),
  ('uuid', 0, 'plain', NULL),  -- the pending job, or for export functions the export
  ('uuid', 1, 'null', 'NULL'),
  ('uuid', 2, 'unknown', $$'00000000-0000-0000-0000-000000000000'$$),
  ('jsonb', 0, 'plain', $$'{}'$$),
  ('jsonb', 1, 'null', 'NULL'),
  ('jsonb', 2, 'array', $$'[1]'$$),
  ('jsonb', 3, 'string', $$'"s"'$$),
  ('jsonb', 4, '1 MB', $$jsonb_build_object('k', repeat('x', 1048576))$$),
  ('bytea', 0, 'plain', $$'\x00'$$),
  ('bytea', 1, 'null', 'NULL'),
  ('bytea', 2, 'empty', $$''$$),
  ('bytea', 3, '1 MB', $$convert_to(repeat('x', 1048576), 'UTF8')$$),
  ('boolean', 0, 'plain', 'true'),
  ('boolean', 1, 'null', 'NULL'),
  ('oid', 0, 'plain', '0'),
  ('oid', 1, 'null', 'NULL'),
  ('oid', 2, 'zero', '0'),
  ('oid', 3, 'max', '4294967295'),
  ('regclass', 0, 'plain', $$'sweep_codes'$$),
  ('regclass', 1, 'null', 'NULL'),
  ('regclass', 2, 'zero', '0'),
  ('regclass', 3, 'system catalog', $$'pg_class'$$),
  ('regclass', 4, 'jobkeeper table', $$'jobkeeper.jobs'$$),
  ('regclass', 5, 'view', $$'sweep_view'$$),
  ('name', 0, 'plain', $$'created_at'$$),
  ('name', 1, 'null', 'NULL'),
  ('name', 2, 'empty', $$''$$),
  ('name', 3, 'not a column', $$'nope'$$),
  ('name', 4, 'not a timestamp', $$'note'$$),
  ('name', 5, '1 MB', $$repeat('x', 1048576)$$);

CREATE TEMP TABLE sweep_results (function text, arg text, value text, sqlstate text);

-- Runs one call in a subtransaction that is always rolled back; records its SQLSTATE.
CREATE FUNCTION pg_temp.sweep_call(fn text, arg text, value text, call text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  state text;
BEGIN
  BEGIN
    EXECUTE call;
    RAISE EXCEPTION USING ERRCODE = 'JKOK0';  -- success: roll back anyway
  EXCEPTION WHEN OTHERS THEN
    state := CASE SQLSTATE WHEN 'JKOK0' THEN '00000' ELSE SQLSTATE END;
  END;
  INSERT INTO sweep_results VALUES (fn, arg, value, state);
END $$;

DO $$
DECLARE
  f record;
  v record;
  i int;
  parts text[];
  plain text;
  name text;
  call text;
BEGIN
  FOR f IN
    SELECT p.oid, p.oid::regprocedure::text AS signature, p.proname, p.prokind, p.pronargs,
           p.pronargdefaults, ARRAY(SELECT unnest(p.proargtypes::regtype[])) AS types, p.proargnames AS names,
           p.prorettype = 'trigger'::regtype AS is_trigger
      FROM pg_proc p WHERE p.pronamespace = 'jobkeeper'::regnamespace
     ORDER BY 2
  LOOP
    IF 'internal'::regtype = ANY (f.types) THEN
      INSERT INTO sweep_results VALUES (f.signature, '-', 'takes internal: reached through its aggregate', '-');
      CONTINUE;
    END IF;
    -- Argument i (0: none swept, for functions without arguments) gets each edge value.
    FOR i IN 0 .. f.pronargs LOOP
      CONTINUE WHEN i = 0 AND f.pronargs > 0;
      FOR v IN
        SELECT * FROM sweep_values WHERE i = 0 AND ord = 0 AND type = 'text'::regtype  -- one call
        UNION ALL
        SELECT * FROM sweep_values WHERE i > 0 AND type = f.types[i] AND ord > 0
        ORDER BY ord
      LOOP
        parts := ARRAY[]::text[];
        FOR j IN 1 .. f.pronargs LOOP
          name := nullif(f.names[j], '');
          IF j = i THEN
            parts := parts || CASE WHEN name IS NULL THEN format('(%s)::%s', v.expr, f.types[j])
                                   ELSE format('%s => (%s)::%s', quote_ident(name), v.expr, f.types[j]) END;
          ELSIF j <= f.pronargs - f.pronargdefaults OR name IS NULL THEN
            SELECT CASE WHEN s.type = 'uuid'::regtype THEN
                     CASE WHEN f.proname LIKE '%export%' THEN $q$'00000000-0000-0000-0000-0000000000e1'$q$
                          WHEN f.proname LIKE '%batch%' THEN $q$'00000000-0000-0000-0000-0000000000b1'$q$
                          ELSE $q$'00000000-0000-0000-0000-00000000000a'$q$ END
                   ELSE s.expr END
              INTO plain FROM sweep_values s WHERE s.type = f.types[j] AND s.ord = 0;
            IF plain IS NULL THEN
              RAISE EXCEPTION 'no sweep values for type % of %', f.types[j], f.signature;
            END IF;
            parts := parts || CASE WHEN name IS NULL THEN format('(%s)::%s', plain, f.types[j])
                                   ELSE format('%s => (%s)::%s', quote_ident(name), plain, f.types[j]) END;
          END IF;
        END LOOP;
        call := CASE WHEN f.prokind = 'a'  -- an aggregate over one row holding the value
                     THEN format('SELECT jobkeeper.%I(a) FROM (SELECT %s) t(a)', f.proname,
                                 array_to_string(parts, ', '))
                     ELSE format('SELECT count(*) FROM jobkeeper.%I(%s)', f.proname,
                                 array_to_string(parts, ', ')) END;
        PERFORM pg_temp.sweep_call(f.signature, CASE WHEN i = 0 THEN '-' ELSE coalesce(nullif(f.names[i], ''), '$' || i) END,
                                   CASE WHEN i = 0 THEN 'no arguments' ELSE v.label END, call);
      END LOOP;
    END LOOP;
  END LOOP;
END $$;

-- Every function was swept; no call ended in class XX (internal error).
SELECT count(DISTINCT function) = (SELECT count(*) FROM pg_proc WHERE pronamespace = 'jobkeeper'::regnamespace)
       AS every_function, count(*) AS calls,
       count(*) FILTER (WHERE sqlstate LIKE 'XX%') AS internal_errors
  FROM sweep_results;
SELECT function, arg, value, sqlstate FROM sweep_results ORDER BY function, arg, value;
-- The server is still up and the rows are as they were.
SELECT count(*) AS jobs, (SELECT count(*) FROM jobkeeper.export_jobs) AS exports FROM jobkeeper.jobs;
DROP EXTENSION jobkeeper;
DROP VIEW sweep_view;
DROP TABLE sweep_codes;
DROP ROLE regress_jk_sweep_owner;
