-- The catalog fingerprint of jobkeeper in the current database (SPEC section 9): one line per
-- fact, sorted. Two databases with equal fingerprints have the same tables, columns,
-- constraints, indexes, storage options, triggers, functions with their bodies, signatures
-- and SET clauses, views, sequences, statistics objects, event triggers, privileges, comments,
-- owners, extension members and config-dump registrations. No OID appears, so databases of different
-- clusters compare.
WITH ns AS (
  SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'jobkeeper'
), rels AS (
  SELECT c.* FROM pg_catalog.pg_class c WHERE c.relnamespace = (SELECT oid FROM ns)
), ext AS (
  SELECT * FROM pg_catalog.pg_extension WHERE extname = 'jobkeeper'
)
SELECT line FROM (
  SELECT format('schema jobkeeper owner=%s acl=%s comment=%L', pg_get_userbyid(n.nspowner),
                n.nspacl, obj_description(n.oid, 'pg_namespace'))
    FROM pg_catalog.pg_namespace n WHERE n.oid = (SELECT oid FROM ns)
  UNION ALL
  SELECT format('extension version=%s relocatable=%s owner=%s', e.extversion, e.extrelocatable,
                pg_get_userbyid(e.extowner))
    FROM ext e
  UNION ALL
  SELECT format('relation %s kind=%s persistence=%s options=%s owner=%s acl=%s rls=%s comment=%L',
                c.relname, c.relkind, c.relpersistence, c.reloptions, pg_get_userbyid(c.relowner),
                c.relacl, c.relrowsecurity, obj_description(c.oid, 'pg_class'))
    FROM rels c
  UNION ALL
  SELECT format('column %s.%s #%s type=%s notnull=%s default=%s identity=%L generated=%L '
                'collation=%s storage=%s acl=%s comment=%L',
                c.relname, a.attname, a.attnum, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
                a.attcollation::regcollation, a.attstorage, a.attacl,
                col_description(c.oid, a.attnum))
    FROM rels c
    JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
   WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  UNION ALL
  SELECT format('constraint %s.%s %s deferrable=%s deferred=%s validated=%s comment=%L',
                c.relname, con.conname, pg_get_constraintdef(con.oid), con.condeferrable,
                con.condeferred, con.convalidated, obj_description(con.oid, 'pg_constraint'))
    FROM pg_catalog.pg_constraint con JOIN rels c ON c.oid = con.conrelid
  UNION ALL
  SELECT format('index %s', pg_get_indexdef(i.indexrelid))
    FROM pg_catalog.pg_index i JOIN rels c ON c.oid = i.indrelid
  UNION ALL
  SELECT format('trigger %s enabled=%s comment=%L', pg_get_triggerdef(t.oid), t.tgenabled,
                obj_description(t.oid, 'pg_trigger'))
    FROM pg_catalog.pg_trigger t JOIN rels c ON c.oid = t.tgrelid
   WHERE NOT t.tgisinternal
  UNION ALL
  SELECT format('function %s(%s) returns %s language=%s kind=%s volatility=%s strict=%s '
                'security_definer=%s parallel=%s leakproof=%s cost=%s rows=%s config=%s owner=%s '
                'acl=%s comment=%L body=%s',
                p.proname, pg_get_function_identity_arguments(p.oid), pg_get_function_result(p.oid),
                l.lanname, p.prokind, p.provolatile, p.proisstrict, p.prosecdef, p.proparallel,
                p.proleakproof, p.procost, p.prorows, p.proconfig, pg_get_userbyid(p.proowner),
                p.proacl, obj_description(p.oid, 'pg_proc'),
                CASE WHEN l.lanname = 'c' THEN p.probin || ':' || p.prosrc ELSE md5(p.prosrc) END)
    FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_language l ON l.oid = p.prolang
   WHERE p.pronamespace = (SELECT oid FROM ns)
  UNION ALL
  SELECT format('view %s definition=%s', c.relname, md5(pg_get_viewdef(c.oid)))
    FROM rels c WHERE c.relkind IN ('v', 'm')
  UNION ALL
  SELECT format('sequence %s type=%s start=%s increment=%s min=%s max=%s cache=%s cycle=%s',
                c.relname, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin,
                s.seqmax, s.seqcache, s.seqcycle)
    FROM pg_catalog.pg_sequence s JOIN rels c ON c.oid = s.seqrelid
  UNION ALL
  SELECT format('statistics %s on %s kinds=%s columns=%s', st.stxname, c.relname, st.stxkind,
                (SELECT string_agg(a.attname, ',' ORDER BY a.attnum)
                   FROM pg_catalog.pg_attribute a
                  WHERE a.attrelid = c.oid AND a.attnum = ANY (st.stxkeys)))
    FROM pg_catalog.pg_statistic_ext st JOIN rels c ON c.oid = st.stxrelid
  UNION ALL
  SELECT format('type %s kind=%s', t.typname, t.typtype)
    FROM pg_catalog.pg_type t
   WHERE t.typnamespace = (SELECT oid FROM ns) AND t.typtype NOT IN ('c', 'b')
  UNION ALL
  SELECT format('policy %s.%s %s', c.relname, pol.polname, pg_get_expr(pol.polqual, pol.polrelid))
    FROM pg_catalog.pg_policy pol JOIN rels c ON c.oid = pol.polrelid
  UNION ALL
  SELECT format('event-trigger %s on %s tags=%s function=%s enabled=%s owner=%s comment=%L',
                et.evtname, et.evtevent, et.evttags, et.evtfoid::regprocedure, et.evtenabled,
                pg_get_userbyid(et.evtowner), obj_description(et.oid, 'pg_event_trigger'))
    FROM pg_catalog.pg_event_trigger et
    JOIN pg_catalog.pg_proc p ON p.oid = et.evtfoid AND p.pronamespace = (SELECT oid FROM ns)
  UNION ALL
  SELECT format('member %s', pg_describe_object(d.classid, d.objid, d.objsubid))
    FROM pg_catalog.pg_depend d
   WHERE d.refclassid = 'pg_catalog.pg_extension'::regclass
     AND d.refobjid = (SELECT oid FROM ext) AND d.deptype = 'e'
  UNION ALL
  SELECT format('config-dump %s condition=%L', cfg.rel::regclass, cfg.cond)
    FROM ext e, unnest(e.extconfig, e.extcondition) AS cfg(rel, cond)
) facts(line)
ORDER BY line;
