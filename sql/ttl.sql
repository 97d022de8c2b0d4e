-- TTL rules for application tables (SPEC section 11): which targets a rule may have, who may
-- add and drop it, the deletes as the rule's owner (privileges and row-level security apply),
-- a row that cannot be deleted skipped alone, and a rule retired when its table or column goes.
CREATE EXTENSION jobkeeper;
SET jobkeeper.notify = off;
CREATE ROLE regress_jk_ttl_owner;
CREATE ROLE regress_jk_ttl_member IN ROLE regress_jk_ttl_owner;
CREATE ROLE regress_jk_ttl_other;
GRANT USAGE ON SCHEMA jobkeeper TO regress_jk_ttl_owner, regress_jk_ttl_member, regress_jk_ttl_other;
GRANT EXECUTE ON FUNCTION jobkeeper.add_ttl_rule(regclass, name, interval, integer),
  jobkeeper.drop_ttl_rule(regclass, name), jobkeeper.run_ttl()
  TO regress_jk_ttl_owner, regress_jk_ttl_member, regress_jk_ttl_other;
GRANT CREATE ON SCHEMA public TO regress_jk_ttl_owner;

SET ROLE regress_jk_ttl_owner;
CREATE TABLE codes (id int PRIMARY KEY, code text, created_at timestamptz, note_at text);
CREATE TABLE sessions (id int PRIMARY KEY, seen_at timestamp NOT NULL);
CREATE TABLE counters (id int PRIMARY KEY, day date NOT NULL);
CREATE INDEX ON sessions (seen_at);
CREATE INDEX ON counters (day);

-- Refused: no index leads with the column, and the hint names the one to create.
SELECT jobkeeper.add_ttl_rule('codes', 'created_at', '5 minutes');
CREATE INDEX codes_partial_idx ON codes (created_at) WHERE code IS NOT NULL;  -- partial: no
CREATE INDEX codes_second_idx ON codes (code, created_at);                    -- not leading: no
SELECT jobkeeper.add_ttl_rule('codes', 'created_at', '5 minutes');
CREATE INDEX codes_created_at_idx ON codes (created_at);
-- Refused: a column that is not timestamptz, timestamp or date, or none at all.
SELECT jobkeeper.add_ttl_rule('codes', 'note_at', '5 minutes');
SELECT jobkeeper.add_ttl_rule('codes', 'Created_At', '5 minutes');  -- names are taken as written
-- Refused: bad values, each named.
SELECT jobkeeper.add_ttl_rule('codes', 'created_at', '-1 second');
SELECT jobkeeper.add_ttl_rule('codes', 'created_at', '10000 years');
SELECT jobkeeper.add_ttl_rule('codes', 'created_at', '5 minutes', 0);
SELECT jobkeeper.add_ttl_rule('codes', 'created_at', NULL);
SELECT jobkeeper.add_ttl_rule(NULL, 'created_at');
-- Refused: what is not a plain permanent table of the application's.
CREATE VIEW codes_view AS SELECT * FROM codes;
SELECT jobkeeper.add_ttl_rule('codes_view', 'created_at');
CREATE TABLE parted (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT jobkeeper.add_ttl_rule('parted', 'at');
CREATE TEMP TABLE scratch (at timestamptz NOT NULL);
CREATE INDEX ON scratch (at);
SELECT jobkeeper.add_ttl_rule('scratch', 'at');
RESET ROLE;
SELECT jobkeeper.add_ttl_rule('pg_catalog.pg_class', 'relname');
SELECT jobkeeper.add_ttl_rule('jobkeeper.jobs', 'finished_at');

-- Only the table's owner, or a member of the owning role, may add or drop its rule.
SET ROLE regress_jk_ttl_other;
SELECT jobkeeper.add_ttl_rule('codes', 'created_at', '5 minutes');
RESET ROLE;
SET ROLE regress_jk_ttl_member;
SELECT tbl, column_name, ttl, batch_size, owner FROM jobkeeper.add_ttl_rule('codes', 'created_at', '1 hour');
RESET ROLE;
SET ROLE regress_jk_ttl_owner;
-- Adding it again changes it (and makes the caller its owner).
SELECT tbl, column_name, ttl, batch_size, owner FROM jobkeeper.add_ttl_rule('codes', 'created_at', '5 minutes', 2);
SELECT tbl, column_name, ttl FROM jobkeeper.add_ttl_rule('sessions', 'seen_at', '1 day');
SELECT tbl, column_name, ttl FROM jobkeeper.add_ttl_rule('counters', 'day', '7 days');
RESET ROLE;
SET ROLE regress_jk_ttl_other;
SELECT jobkeeper.drop_ttl_rule('codes', 'created_at');
RESET ROLE;
-- A superuser's rule runs as the table's owner; on a superuser's own table it is refused.
CREATE TABLE su_table (at timestamptz NOT NULL);
CREATE INDEX ON su_table (at);
SELECT jobkeeper.add_ttl_rule('su_table', 'at');
DROP TABLE su_table;
-- The limits of add_ttl_rule and of the table's constraints agree.
\set VERBOSITY terse
INSERT INTO jobkeeper.ttl_rules (tbl, column_name, ttl, batch_size, owner)
  VALUES ('codes', 'code', '-1 second', NULL, 'regress_jk_ttl_owner');
INSERT INTO jobkeeper.ttl_rules (tbl, column_name, ttl, batch_size, owner)
  VALUES ('codes', 'code', '1 second', 0, 'regress_jk_ttl_owner');
INSERT INTO jobkeeper.ttl_rules (tbl, column_name, ttl, batch_size, owner)
  VALUES ('codes', 'code', '1 second', 1000001, 'regress_jk_ttl_owner');
\set VERBOSITY default
SELECT jobkeeper.add_ttl_rule('codes', 'created_at', '5 minutes', 1000001);
SELECT batch_size FROM jobkeeper.add_ttl_rule('codes', 'created_at', '5 minutes', 1000000);
SELECT batch_size FROM jobkeeper.add_ttl_rule('codes', 'created_at', '5 minutes', 2);

-- run_ttl(): what expired goes, in batches of the rule's size; NULL never expires; each column
-- type compares as written (column + ttl <= now()).
INSERT INTO codes SELECT g, 'c' || g, now() - g * interval '1 minute', NULL FROM generate_series(1, 10) g;
INSERT INTO codes VALUES (11, 'forever', NULL, NULL);
INSERT INTO sessions SELECT g, localtimestamp - g * interval '12 hours' FROM generate_series(1, 4) g;
INSERT INTO counters SELECT g, current_date - g FROM generate_series(0, 9) g;
SET ROLE regress_jk_ttl_owner;
SELECT tbl, column_name, rows_deleted, error FROM jobkeeper.run_ttl() ORDER BY rule_id;
RESET ROLE;
SELECT array_agg(id ORDER BY id) AS codes_left FROM codes;
SELECT array_agg(id ORDER BY id) AS sessions_left FROM sessions;
SELECT array_agg(id ORDER BY id) AS counters_left FROM counters;
SELECT tbl, last_rows_deleted, rows_deleted, last_error, last_run_at IS NOT NULL AS ran
  FROM jobkeeper.ttl_rules ORDER BY id;
SELECT source, ttl_rows_deleted, rows_skipped, error FROM jobkeeper.cleanup_runs ORDER BY id;
-- Nothing left to delete: a second run deletes nothing.
SELECT tbl, rows_deleted FROM jobkeeper.run_ttl() ORDER BY rule_id;

-- The deletes run as the rule's owner: row-level security the owner is held to applies ...
INSERT INTO codes SELECT g, 'c' || g, now() - interval '1 hour', NULL FROM generate_series(21, 24) g;
ALTER TABLE codes ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY keep_even ON codes USING (id % 2 = 1);
SELECT tbl, rows_deleted FROM jobkeeper.run_ttl() WHERE tbl = 'codes'::regclass;
SELECT array_agg(id ORDER BY id) AS codes_left FROM codes;
DROP POLICY keep_even ON codes;
ALTER TABLE codes DISABLE ROW LEVEL SECURITY, NO FORCE ROW LEVEL SECURITY;
-- ... and so do its privileges: without DELETE the rule fails, alone, with its error recorded.
REVOKE DELETE ON codes FROM regress_jk_ttl_owner;
INSERT INTO sessions VALUES (10, localtimestamp - interval '2 days');
SELECT tbl, rows_deleted, error FROM jobkeeper.run_ttl() ORDER BY rule_id;
SELECT tbl, last_error FROM jobkeeper.ttl_rules ORDER BY id;
GRANT DELETE ON codes TO regress_jk_ttl_owner;
-- An owner who became a superuser: the rule is skipped, never run as a superuser.
ALTER ROLE regress_jk_ttl_owner SUPERUSER;
SELECT tbl, rows_deleted, error FROM jobkeeper.run_ttl() WHERE tbl = 'codes'::regclass;
ALTER ROLE regress_jk_ttl_owner NOSUPERUSER;

-- A row a trigger refuses to delete is skipped alone; the others go.
CREATE FUNCTION refuse_22() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.id = 22 THEN RAISE EXCEPTION 'code 22 is evidence'; END IF;
  RETURN OLD;
END $$;
CREATE TRIGGER refuse_22 BEFORE DELETE ON codes FOR EACH ROW EXECUTE FUNCTION refuse_22();
SELECT tbl, rows_deleted, error FROM jobkeeper.run_ttl() WHERE tbl = 'codes'::regclass;
SELECT array_agg(id ORDER BY id) AS codes_left FROM codes;
DROP TRIGGER refuse_22 ON codes;

-- A table many of whose rows have expired is swept in physical order instead (src/core/ttl.cpp:
-- a twentieth or more of its estimated rows), each batch a range of pages. Here the newest rows
-- come first on disk: a sweep deletes from the first page on, the index from the oldest row.
CREATE TABLE big_codes (id int PRIMARY KEY, created_at timestamptz NOT NULL);
CREATE INDEX ON big_codes (created_at);
ALTER TABLE big_codes OWNER TO regress_jk_ttl_owner;
CREATE TABLE big_deleted (n serial, id int);
GRANT INSERT ON big_deleted TO regress_jk_ttl_owner;
GRANT USAGE ON SEQUENCE big_deleted_n_seq TO regress_jk_ttl_owner;
CREATE FUNCTION note_big() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.big_deleted (id) VALUES (OLD.id);
  RETURN OLD;
END $$;
CREATE TRIGGER note_big AFTER DELETE ON big_codes FOR EACH ROW EXECUTE FUNCTION note_big();
CREATE PROCEDURE load_big() LANGUAGE sql AS $$
  INSERT INTO big_codes SELECT g, now() - interval '1 hour' - g * interval '1 second'
    FROM generate_series(1, 20000) g;
  INSERT INTO big_codes VALUES (0, now());
$$;
CALL load_big();
ANALYZE big_codes;
SELECT tbl FROM jobkeeper.add_ttl_rule('big_codes', 'created_at', '1 minute');
SELECT tbl, rows_deleted, error FROM jobkeeper.run_ttl() WHERE tbl = 'big_codes'::regclass;
SELECT array_agg(id) AS big_left FROM big_codes;
SELECT id AS first_deleted FROM big_deleted ORDER BY n LIMIT 1;  -- 1: the sweep's order
-- A sweep batch that fails (a trigger refuses a row) hands the rest to the index, which skips
-- that row alone.
TRUNCATE big_deleted, big_codes;
CALL load_big();
ANALYZE big_codes;
CREATE TRIGGER refuse_22 BEFORE DELETE ON big_codes FOR EACH ROW EXECUTE FUNCTION refuse_22();
SELECT tbl, rows_deleted, error FROM jobkeeper.run_ttl() WHERE tbl = 'big_codes'::regclass;
SELECT array_agg(id ORDER BY id) AS big_left FROM big_codes;
SELECT id AS first_deleted FROM big_deleted ORDER BY n LIMIT 1;  -- 15001: the oldest 5,000 first
DROP TABLE big_codes, big_deleted;
DROP FUNCTION note_big();
DROP PROCEDURE load_big();

-- Nothing the owner's code sets outlives its deletes: a trigger that changes settings for the
-- session (set_config(..., false)) has them undone, so that they never reach the statements
-- jobkeeper runs with its own rights afterwards, nor the caller.
CREATE FUNCTION meddle() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('regress.meddled', 'yes', false);
  PERFORM set_config('default_transaction_isolation', 'serializable', false);
  RETURN OLD;
END $$;
CREATE TRIGGER meddle BEFORE DELETE ON codes FOR EACH ROW EXECUTE FUNCTION meddle();
INSERT INTO codes VALUES (31, 'm', now() - interval '1 hour', NULL);
SELECT tbl, rows_deleted, error FROM jobkeeper.run_ttl() WHERE tbl = 'codes'::regclass;
SELECT coalesce(current_setting('regress.meddled', true), '') AS meddled,
       current_setting('default_transaction_isolation') AS isolation;
DROP TRIGGER meddle ON codes;
DROP FUNCTION meddle();

-- Names that need quoting are quoted.
CREATE TABLE "Odd ""Codes""; --" ("Made At" timestamptz NOT NULL);
CREATE INDEX ON "Odd ""Codes""; --" ("Made At");
ALTER TABLE "Odd ""Codes""; --" OWNER TO regress_jk_ttl_owner;
INSERT INTO "Odd ""Codes""; --" VALUES (now() - interval '1 day'), (now() + interval '1 day');
SELECT tbl, column_name FROM jobkeeper.add_ttl_rule('"Odd ""Codes""; --"', 'Made At');
SELECT tbl, rows_deleted, error FROM jobkeeper.run_ttl() WHERE column_name = 'Made At';
SELECT count(*) AS odd_left FROM "Odd ""Codes""; --";

-- Renaming the column takes the rule along; so does a swap of names.
ALTER TABLE sessions RENAME COLUMN seen_at TO last_seen_at;
SELECT tbl, column_name FROM jobkeeper.ttl_rules WHERE tbl = 'sessions'::regclass;
ALTER TABLE sessions ADD COLUMN seen_at timestamptz;
ALTER TABLE sessions RENAME COLUMN last_seen_at TO swap;
ALTER TABLE sessions RENAME COLUMN seen_at TO last_seen_at;
ALTER TABLE sessions RENAME COLUMN swap TO seen_at;
SELECT tbl, column_name FROM jobkeeper.ttl_rules WHERE tbl = 'sessions'::regclass;
ALTER TABLE sessions DROP COLUMN last_seen_at;
-- Dropping a rule's column or table retires the rule at once ...
ALTER TABLE sessions DROP COLUMN seen_at;
DROP TABLE "Odd ""Codes""; --";
SELECT tbl, column_name FROM jobkeeper.ttl_rules ORDER BY id;
-- ... and should a drop go unseen (event triggers disabled), the next run retires it.
ALTER EVENT TRIGGER jobkeeper_retire_ttl_rules DISABLE;
DROP TABLE counters;
SELECT rows_deleted, regexp_replace(error, '[0-9]+', 'N') AS error
  FROM jobkeeper.run_ttl() WHERE column_name = 'day';
ALTER EVENT TRIGGER jobkeeper_retire_ttl_rules ENABLE;
SELECT tbl, column_name FROM jobkeeper.ttl_rules ORDER BY id;

-- drop_ttl_rule: by the owner; one that does not exist is an error.
SET ROLE regress_jk_ttl_owner;
SELECT jobkeeper.drop_ttl_rule('codes', 'code');
SELECT jobkeeper.drop_ttl_rule('codes');
SELECT jobkeeper.drop_ttl_rule('codes');
RESET ROLE;
SELECT count(*) AS rules_left FROM jobkeeper.ttl_rules;

DROP EXTENSION jobkeeper;
DROP TABLE codes, sessions, parted, scratch CASCADE;
DROP FUNCTION refuse_22();
REVOKE CREATE ON SCHEMA public FROM regress_jk_ttl_owner;
DROP ROLE regress_jk_ttl_owner, regress_jk_ttl_member, regress_jk_ttl_other;
