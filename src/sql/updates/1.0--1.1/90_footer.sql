
-- PUBLIC gets nothing, as at install (the README's roles recipe grants what each role needs).
REVOKE ALL ON jobkeeper.ttl_rules, jobkeeper.batches, jobkeeper.batch_jobs, jobkeeper.batch_counts,
  jobkeeper.batch_stats FROM PUBLIC;
REVOKE ALL ON FUNCTION jobkeeper.add_ttl_rule(regclass, name, interval, integer),
  jobkeeper.drop_ttl_rule(regclass, name), jobkeeper.run_ttl(),
  jobkeeper._retire_ttl_rules(), jobkeeper._follow_ttl_renames(),
  jobkeeper.batch_trigger(), jobkeeper.create_batch(text, jsonb),
  jobkeeper._lock_batch(uuid, boolean), jobkeeper.add_to_batch(uuid, uuid[]),
  jobkeeper.submit_to_batch(uuid, text, text, text, text, integer, timestamptz, integer, jsonb),
  jobkeeper.pause_batch(uuid), jobkeeper.resume_batch(uuid), jobkeeper.cancel_batch(uuid),
  jobkeeper.retry_batch(uuid) FROM PUBLIC;

INSERT INTO jobkeeper.schema_history (version, action, from_version) VALUES ('1.1', 'update', '1.0');
