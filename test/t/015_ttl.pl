# TTL rules run by the worker (SPEC section 11): expired rows of an application table deleted
# every jobkeeper.ttl_interval with the rule owner's rights, SKIP LOCKED, under the cleanup's
# timeouts (a rule whose every batch times out ends and the others still run), a dropped table
# retiring its rule without an error loop, and a database still at SQL version 1.0 served
# without TTL rules until it is updated.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('ttl');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'jobkeeper'
jobkeeper.cleanup_interval = '1h'
jobkeeper.ttl_interval = '1s'
jobkeeper.lease_check_interval = '1s'
});
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql('app', q{
	CREATE EXTENSION jobkeeper;
	CREATE ROLE app_owner;
	-- Who deletes: a trigger writes the role of every delete it sees.
	CREATE TABLE deleted_by (role name, code text);
	GRANT INSERT ON deleted_by TO app_owner;
	CREATE FUNCTION note_delete() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
	  INSERT INTO public.deleted_by VALUES (current_user, OLD.code);
	  IF OLD.code LIKE 'slow%' THEN PERFORM pg_sleep(0.05); END IF;
	  RETURN OLD;
	END $$;
	CREATE TABLE codes (code text PRIMARY KEY, created_at timestamptz NOT NULL);
	CREATE INDEX ON codes (created_at);
	CREATE TRIGGER note_delete BEFORE DELETE ON codes FOR EACH ROW EXECUTE FUNCTION note_delete();
	CREATE TABLE sessions (id int PRIMARY KEY, seen_at timestamptz NOT NULL);
	CREATE INDEX ON sessions (seen_at);
	ALTER TABLE codes OWNER TO app_owner;
	ALTER TABLE sessions OWNER TO app_owner;
	SELECT jobkeeper.add_ttl_rule('codes', 'created_at', '5 minutes');
	SELECT jobkeeper.add_ttl_rule('sessions', 'seen_at', '1 hour');
});
ok($node->poll_query_until('app', 'SELECT count(*) = 1 FROM jobkeeper.worker_status WHERE running'),
	'the worker runs');

# Expired rows go within a few seconds; fresh ones and a row someone holds stay.
$node->safe_psql('app', q{
	INSERT INTO codes SELECT 'old' || g, now() - interval '10 minutes' FROM generate_series(1, 50) g;
	INSERT INTO codes VALUES ('held', now() - interval '10 minutes'), ('fresh', now());
});
my $holder = $node->background_psql('app');
$holder->query_safe("BEGIN; SELECT * FROM codes WHERE code = 'held' FOR UPDATE");
ok($node->poll_query_until('app', "SELECT count(*) = 0 FROM codes WHERE code LIKE 'old%'"),
	'the worker deletes the expired rows');
is($node->safe_psql('app', 'SELECT string_agg(code, \',\' ORDER BY code) FROM codes'), 'fresh,held',
	'a fresh row and a row another session holds (SKIP LOCKED) are kept');
is($node->safe_psql('app', 'SELECT string_agg(DISTINCT role, \',\') FROM deleted_by'), 'app_owner',
	'the deletes run as the rule\'s owner, not as the superuser worker');
ok($node->poll_query_until('app', q{
	SELECT sum(ttl_rows_deleted) >= 50 FROM jobkeeper.cleanup_runs WHERE source = 'worker_ttl'}),
	'the worker records its TTL runs in cleanup_runs');
ok($node->poll_query_until('app', q{
	SELECT rows_deleted >= 50 AND last_run_at > now() - interval '10 seconds' AND last_error IS NULL
	  FROM jobkeeper.ttl_rules WHERE tbl = 'codes'::regclass}),
	'and each rule\'s counts in ttl_rules');
$holder->query_safe('COMMIT');
ok($node->poll_query_until('app', "SELECT count(*) = 0 FROM codes WHERE code = 'held'"),
	'the held row goes once it is released');
my $runs = $node->safe_psql('app', 'SELECT count(*) FROM jobkeeper.cleanup_runs');
sleep 3;
is($node->safe_psql('app', 'SELECT count(*) FROM jobkeeper.cleanup_runs'), $runs,
	'runs that delete nothing are not recorded (the history keeps the retention runs)');

# A table most of whose rows have expired is swept in physical order; a row someone holds is
# left by the sweep and by the index step after it, and goes once released.
$node->safe_psql('app', q{
	CREATE TABLE big (id int PRIMARY KEY, created_at timestamptz NOT NULL);
	CREATE INDEX ON big (created_at);
	ALTER TABLE big OWNER TO app_owner;
	INSERT INTO big SELECT g, now() - interval '1 hour' FROM generate_series(1, 30000) g;
	INSERT INTO big VALUES (0, now());
	ANALYZE big;
});
$holder->query_safe("BEGIN; SELECT * FROM big WHERE id = 777 FOR UPDATE");
$node->safe_psql('app', "SELECT jobkeeper.add_ttl_rule('big', 'created_at', '1 minute')");
ok($node->poll_query_until('app', 'SELECT count(*) = 2 FROM big'),
	'the worker deletes the expired rows of a mostly expired table');
is($node->safe_psql('app', 'SELECT string_agg(id::text, \',\' ORDER BY id) FROM big'), '0,777',
	'the fresh row and the held one are kept');
$holder->query_safe('COMMIT');
ok($node->poll_query_until('app', 'SELECT count(*) = 1 FROM big'), 'the held row goes once released');
$node->safe_psql('app', "SELECT jobkeeper.drop_ttl_rule('big'); DROP TABLE big");

# Every batch of one rule times out: that rule's step ends with the error recorded, the pass
# ends, and the other rule still runs in every pass.
$node->safe_psql('app', q{
	INSERT INTO codes SELECT 'slow' || g, now() - interval '10 minutes' FROM generate_series(1, 40) g;
});
$node->append_conf('postgresql.conf', "jobkeeper.cleanup_batch_timeout = '20ms'\n");
$node->reload;
ok($node->poll_query_until('app', q{
	SELECT last_error LIKE '%every batch timed out, the smallest (10 rows) 3 times%'
	  FROM jobkeeper.ttl_rules WHERE tbl = 'codes'::regclass}),
	'a rule whose every batch times out ends its step, with the error recorded');
ok($node->poll_query_until('app', q{
	SELECT count(*) > 0 FROM jobkeeper.cleanup_runs
	 WHERE source = 'worker_ttl' AND error LIKE 'TTL rule % every batch timed out%'}),
	'and in the run');
$node->safe_psql('app', "INSERT INTO sessions VALUES (1, now() - interval '2 hours')");
ok($node->poll_query_until('app', 'SELECT count(*) = 0 FROM sessions'),
	'the other rule runs meanwhile');
$node->append_conf('postgresql.conf', "jobkeeper.cleanup_batch_timeout = '5s'\n");
$node->reload;
ok($node->poll_query_until('app', "SELECT count(*) = 0 FROM codes WHERE code LIKE 'slow%'"),
	'with a longer timeout the slow rows go too');

# A dropped table retires its rule; with event triggers disabled the worker retires it itself,
# once, and carries on.
$node->safe_psql('app', 'DROP TABLE sessions');
is($node->safe_psql('app', 'SELECT count(*) FROM jobkeeper.ttl_rules'), '1',
	'dropping a table retires its rule at once');
my $log_offset = -s $node->logfile;
$node->safe_psql('app', q{
	ALTER EVENT TRIGGER jobkeeper_retire_ttl_rules DISABLE;
	DROP TABLE codes;
	ALTER EVENT TRIGGER jobkeeper_retire_ttl_rules ENABLE;
});
ok($node->poll_query_until('app', 'SELECT count(*) = 0 FROM jobkeeper.ttl_rules'),
	'a rule whose table went unseen is retired by the worker');
ok($node->wait_for_log(qr/jobkeeper TTL rule \d+ retired: table \d+ no longer exists/, $log_offset),
	'and the log says so');
sleep 2;
my $log = slurp_file($node->logfile, $log_offset);
my $retired = () = $log =~ /retired: table/g;
is($retired, 1, 'once: no error loop');
is($node->safe_psql('app', 'SELECT running FROM jobkeeper.worker_status'), 't', 'the worker still runs');

# A rule survives pg_dump and pg_restore (its table and owner are restored by name) and runs
# in the restored database.
$node->safe_psql('postgres', 'CREATE DATABASE dumped');
$node->safe_psql('dumped', q{
	CREATE EXTENSION jobkeeper;
	CREATE TABLE otp (code text, created_at timestamptz NOT NULL);
	CREATE INDEX ON otp (created_at);
	ALTER TABLE otp OWNER TO app_owner;
	SELECT jobkeeper.add_ttl_rule('otp', 'created_at', '10 minutes', 100);
	INSERT INTO otp VALUES ('fresh', now());
});
my $rule_sql = q{SELECT tbl || ' ' || column_name || ' ' || ttl || ' ' || batch_size || ' ' || owner
	FROM jobkeeper.ttl_rules};
my $rule = $node->safe_psql('dumped', $rule_sql);
my $dump = $node->basedir . '/dumped.dump';
command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('dumped'), '-f', $dump ], 'pg_dump of a database with a rule');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
{
	local $ENV{PGAPPNAME};
	delete $ENV{PGAPPNAME};
	command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('restored'), $dump ], 'pg_restore');
}
is($node->safe_psql('restored', $rule_sql), $rule, 'the rule is restored as it was');
$node->safe_psql('restored', "INSERT INTO otp VALUES ('old', now() - interval '1 day')");
ok($node->poll_query_until('restored', "SELECT string_agg(code, ',') = 'fresh' FROM otp"),
	'and runs in the restored database');

# A database still at SQL version 1.0: its worker serves it (retention runs) without TTL rules;
# after ALTER EXTENSION UPDATE its rules run.
$node->safe_psql('postgres', 'CREATE DATABASE old');
$node->safe_psql('old', q{
	CREATE EXTENSION jobkeeper VERSION '1.0';
	SET jobkeeper.notify = off;
	INSERT INTO jobkeeper.jobs (file_name, file_path, status, finished_at)
	VALUES ('expired', '/expired', 'completed', now() - interval '2 days');
	CREATE ROLE old_owner;
	CREATE TABLE codes (code text, created_at timestamptz NOT NULL);
	CREATE INDEX ON codes (created_at);
	ALTER TABLE codes OWNER TO old_owner;
	INSERT INTO codes VALUES ('old', now() - interval '1 day');
});
ok($node->poll_query_until('old', "SELECT count(*) = 1 FROM jobkeeper.worker_status WHERE datname = 'old' AND running"),
	'a database at 1.0 gets its worker');
$node->safe_psql('old', 'SELECT jobkeeper._wake_launcher()');
$log_offset = -s $node->logfile;
$node->safe_psql('postgres', "ALTER DATABASE old SET jobkeeper.cleanup_interval = '1s'");
$node->reload;
ok($node->poll_query_until('old', 'SELECT count(*) = 0 FROM jobkeeper.jobs'),
	'at 1.0 the worker still deletes expired jobs');
sleep 2;
unlike(slurp_file($node->logfile, $log_offset), qr/ttl_rules|TTL/,
	'and does not look for TTL rules, which 1.0 has not');
$node->safe_psql('old', q{
	ALTER EXTENSION jobkeeper UPDATE;
	SELECT jobkeeper.add_ttl_rule('codes', 'created_at', '1 hour');
});
ok($node->poll_query_until('old', 'SELECT count(*) = 0 FROM codes'),
	'after the update to 1.1 its TTL rules run');

$node->stop;
done_testing();
