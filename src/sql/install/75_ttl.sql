-- TTL rules for application tables (SPEC section 11): the worker deletes the rows of a table
-- whose column + ttl <= now(), every jobkeeper.ttl_interval, in the retention cleanup's
-- batches and under its timeouts, with the rights of the rule's owner (src/worker/ttl_pass.cpp;
-- the rules on a target are in src/core/ttl.cpp).

-- One row per rule, kept by pg_dump (a restore needs the table and the owner role to exist:
-- both are stored by name, and tbl follows the table through a rename). The counts are the
-- worker's and run_ttl()'s, per rule; each run's total is in cleanup_runs.ttl_rows_deleted.
CREATE TABLE jobkeeper.ttl_rules (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tbl               regclass NOT NULL,
  column_name       name NOT NULL,
  ttl               interval NOT NULL DEFAULT '0',
  -- rows per delete batch; null: jobkeeper.cleanup_batch_size
  batch_size        integer,
  -- whose rights the deletes run with: the role that added the rule (for a superuser, the
  -- table's owner); never a superuser
  owner             regrole NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  last_run_at       timestamptz,
  last_rows_deleted bigint NOT NULL DEFAULT 0,
  rows_deleted      bigint NOT NULL DEFAULT 0,
  last_error        text,
  CONSTRAINT ttl_rules_target_unique UNIQUE (tbl, column_name),
  -- the same limits as add_ttl_rule's (sql/ttl.sql shows that they agree)
  CONSTRAINT ttl_rules_ttl_valid CHECK (ttl >= '0'),
  CONSTRAINT ttl_rules_batch_size_valid CHECK (batch_size BETWEEN 1 AND 1000000)
);
COMMENT ON TABLE jobkeeper.ttl_rules IS
  'one row per TTL rule: rows of tbl whose column_name + ttl <= now() are deleted by the worker every jobkeeper.ttl_interval, as owner; added and dropped with add_ttl_rule() and drop_ttl_rule()';
SELECT pg_catalog.pg_extension_config_dump('jobkeeper.ttl_rules', '');
SELECT pg_catalog.pg_extension_config_dump('jobkeeper.ttl_rules_id_seq', '');

-- SECURITY INVOKER: they check that the caller may own the table (its owner or a member of the
-- owning role), then write ttl_rules with the rights of its owner.
CREATE FUNCTION jobkeeper.add_ttl_rule(tbl regclass, column_name name, ttl interval DEFAULT '0',
                                       batch_size integer DEFAULT NULL)
  RETURNS jobkeeper.ttl_rules
  LANGUAGE c VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'jobkeeper_add_ttl_rule';
COMMENT ON FUNCTION jobkeeper.add_ttl_rule(regclass, name, interval, integer) IS
  'adds (or changes) the TTL rule on tbl.column_name: rows whose column + ttl <= now() are deleted; the table''s owner only; needs an index leading with the column';

CREATE FUNCTION jobkeeper.drop_ttl_rule(tbl regclass, column_name name DEFAULT NULL)
  RETURNS integer
  LANGUAGE c VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'jobkeeper_drop_ttl_rule';
COMMENT ON FUNCTION jobkeeper.drop_ttl_rule(regclass, name) IS
  'drops the TTL rule on tbl.column_name (every rule of tbl when column_name is null) and returns how many; the table''s owner only';

CREATE FUNCTION jobkeeper.run_ttl(
  OUT rule_id bigint, OUT tbl regclass, OUT column_name name, OUT rows_deleted bigint,
  OUT error text)
  RETURNS SETOF record
  LANGUAGE c VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'jobkeeper_run_ttl';
COMMENT ON FUNCTION jobkeeper.run_ttl() IS
  'runs every TTL rule now, in this transaction, each as its owner; one row per rule; recorded in ttl_rules and cleanup_runs';

-- Dropping a rule's table or column retires the rule in the same transaction: its OID or name
-- could later mean another table or column. (The worker retires such a rule too, should it
-- ever find one, for instance after a drop with event triggers disabled.)
CREATE FUNCTION jobkeeper._retire_ttl_rules() RETURNS event_trigger
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  retired record;
BEGIN
  FOR retired IN
    DELETE FROM jobkeeper.ttl_rules r
     USING pg_catalog.pg_event_trigger_dropped_objects() o
     WHERE o.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND o.objid = r.tbl::oid
       AND (o.objsubid = 0 OR o.address_names[3] = r.column_name)
    RETURNING r.id, o.object_type, o.object_identity
  LOOP
    RAISE NOTICE 'jobkeeper TTL rule % retired: % % was dropped',
      retired.id, retired.object_type, retired.object_identity;
  END LOOP;
END
$$;
COMMENT ON FUNCTION jobkeeper._retire_ttl_rules() IS
  'internal: event trigger that removes the TTL rules of dropped tables and columns';
CREATE EVENT TRIGGER jobkeeper_retire_ttl_rules ON sql_drop
  EXECUTE FUNCTION jobkeeper._retire_ttl_rules();

-- Renaming a rule's column takes its rule along: the rule names the column, and a restore
-- (which recreates a table's columns without the dropped ones, so their numbers change) keeps
-- names, not numbers. A RENAME reports the renamed column by number; a rule whose column name
-- no longer exists in that table takes the new name.
CREATE FUNCTION jobkeeper._follow_ttl_renames() RETURNS event_trigger
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  UPDATE jobkeeper.ttl_rules r SET column_name = a.attname
    FROM pg_catalog.pg_event_trigger_ddl_commands() c
    JOIN pg_catalog.pg_attribute a ON a.attrelid = c.objid AND a.attnum = c.objsubid
   WHERE c.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND c.objsubid > 0
     AND r.tbl::oid = c.objid AND NOT a.attisdropped
     AND NOT EXISTS (SELECT FROM pg_catalog.pg_attribute x
                      WHERE x.attrelid = c.objid AND x.attname = r.column_name
                        AND NOT x.attisdropped);
END
$$;
COMMENT ON FUNCTION jobkeeper._follow_ttl_renames() IS
  'internal: event trigger that renames a TTL rule''s column when the column is renamed';
CREATE EVENT TRIGGER jobkeeper_follow_ttl_renames ON ddl_command_end
  WHEN TAG IN ('ALTER TABLE')
  EXECUTE FUNCTION jobkeeper._follow_ttl_renames();
