
-- PUBLIC gets nothing, as at install (the README's roles recipe grants what each role needs).
REVOKE ALL ON jobkeeper.ttl_rules FROM PUBLIC;
REVOKE ALL ON FUNCTION jobkeeper.add_ttl_rule(regclass, name, interval, integer),
  jobkeeper.drop_ttl_rule(regclass, name), jobkeeper.run_ttl(),
  jobkeeper._retire_ttl_rules(), jobkeeper._follow_ttl_renames() FROM PUBLIC;

INSERT INTO jobkeeper.schema_history (version, action, from_version) VALUES ('1.1', 'update', '1.0');
