# The worker's work is visible: its deletes reach the cumulative statistics after each batch,
# so autovacuum acts on them while the worker runs; pg_stat_activity shows what it is doing;
# worker_status shows the paths waiting in deleted_files. And its memory stays flat: its
# private memory after 100 passes is within 10% of what it was after 10.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('stats');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'jobkeeper'
jobkeeper.cleanup_interval = '1h'
jobkeeper.lease_check_interval = '1s'
autovacuum_naptime = '1s'
test.delay = '0'
});
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql('app', 'CREATE EXTENSION jobkeeper');
ok($node->poll_query_until('app', 'SELECT count(*) = 1 FROM jobkeeper.worker_status WHERE running'),
	'the worker runs');

sub set_conf
{
	$node->append_conf('postgresql.conf', join('', map { "$_\n" } @_));
	$node->reload;
}

# A VACUUM after the inserts, so that only the worker's deletes can make autovacuum due.
$node->safe_psql('app', q{
	SET jobkeeper.notify = off;
	INSERT INTO jobkeeper.jobs (file_name, file_path, status, finished_at)
	SELECT 'old' || i, '/old/' || i, 'completed', now() - interval '2 days' FROM generate_series(1, 20000) i;
});
$node->safe_psql('app', 'VACUUM jobkeeper.jobs');
my $before = $node->safe_psql('app',
	"SELECT n_tup_del FROM pg_stat_user_tables WHERE relid = 'jobkeeper.jobs'::regclass");
my $vacuums = $node->safe_psql('app',
	"SELECT autovacuum_count FROM pg_stat_user_tables WHERE relid = 'jobkeeper.jobs'::regclass");
set_conf("jobkeeper.cleanup_interval = '1s'");
ok($node->poll_query_until('app', 'SELECT count(*) = 0 FROM jobkeeper.jobs'), 'the worker deletes 20,000 jobs');
set_conf("jobkeeper.cleanup_interval = '1h'");
ok($node->poll_query_until('app', qq{
	SELECT n_tup_del - $before >= 20000 AND (n_dead_tup >= 20000 OR autovacuum_count > $vacuums)
	  FROM pg_stat_user_tables WHERE relid = 'jobkeeper.jobs'::regclass}),
	'n_tup_del and n_dead_tup count them while the worker still runs');
ok($node->safe_psql('app', 'SELECT running FROM jobkeeper.worker_status'), 'the worker has not exited');
ok($node->poll_query_until('app', qq{
	SELECT autovacuum_count > $vacuums AND n_dead_tup < 1000
	  FROM pg_stat_user_tables WHERE relid = 'jobkeeper.jobs'::regclass}),
	'autovacuum then processes the table and its dead rows are gone');

# worker_status: the paths waiting and the oldest one's age, as of the last check.
ok($node->poll_query_until('app', q{
	SELECT files_waiting = 20000 AND oldest_file_age >= interval '0' FROM jobkeeper.worker_status}),
	'worker_status shows 20,000 paths waiting');
$node->safe_psql('app', 'SELECT count(*) FROM jobkeeper.claim_deleted_files(20000)');
ok($node->poll_query_until('app', q{
	SELECT files_waiting = 0 AND oldest_file_age IS NULL FROM jobkeeper.worker_status}),
	'and none once they are claimed');

# pg_stat_activity shows the batch the worker runs: a slow delete trigger keeps it at it.
$node->safe_psql('app', q{
	SET jobkeeper.notify = off;
	CREATE FUNCTION slow_delete() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN PERFORM pg_sleep(current_setting('test.delay')::float8); RETURN OLD; END $$;
	CREATE TRIGGER slow_delete BEFORE DELETE ON jobkeeper.jobs FOR EACH ROW EXECUTE FUNCTION slow_delete();
	INSERT INTO jobkeeper.jobs (file_name, file_path, status, finished_at)
	SELECT 'slow' || i, '/slow/' || i, 'completed', now() - interval '2 days' FROM generate_series(1, 300) i;
});
set_conf("test.delay = '0.02'", "jobkeeper.cleanup_interval = '1s'");
ok($node->poll_query_until('app', q{
	SELECT count(*) = 1 FROM pg_stat_activity
	 WHERE backend_type = 'jobkeeper worker' AND state = 'active'
	   AND query = 'jobkeeper: deleting expired jobs'}),
	'pg_stat_activity shows the worker deleting expired jobs');
ok($node->poll_query_until('app', q{
	SELECT count(*) = 1 FROM pg_stat_activity
	 WHERE backend_type = 'jobkeeper worker' AND state = 'idle'}),
	'and idle once the pass is over');
$node->safe_psql('app', 'DROP TRIGGER slow_delete ON jobkeeper.jobs');

# Memory: every pass deletes jobs with exports and re-queues leases. Rows expire one second
# after another for two minutes, 20 jobs (each with 2 exports) and 5 leases a second.
$node->safe_psql('app', q{
	SET jobkeeper.notify = off;
	INSERT INTO jobkeeper.jobs (id, file_name, file_path, status, finished_at)
	SELECT ('00000000-0000-0000-0000-' || lpad(to_hex(i), 12, '0'))::uuid, 'mem' || i, '/mem/' || i,
	       'completed', now() - interval '12 hours' + (i / 20) * interval '1 second'
	  FROM generate_series(1, 2400) i;
	INSERT INTO jobkeeper.export_jobs (job_id, export_type, status, file_path, finished_at)
	SELECT j.id, t, 'completed', j.file_path || '.' || t, j.finished_at
	  FROM jobkeeper.jobs j, unnest(ARRAY['pdf', 'srt']) t WHERE j.file_name LIKE 'mem%';
	INSERT INTO jobkeeper.jobs (file_name, file_path, status, attempts, max_attempts, locked_by, lease_expires_at)
	SELECT 'lease' || i, '/lease/' || i, 'processing', 1, 1000, 'gone', now() + (i / 5) * interval '1 second'
	  FROM generate_series(1, 600) i;
});
my $pid = $node->safe_psql('app', 'SELECT pid FROM jobkeeper.worker_status');
sub private_kb
{
	my $status = slurp_file("/proc/$pid/status");
	my ($anon) = $status =~ /^RssAnon:\s+(\d+) kB/m;
	return $anon;
}
my $runs = $node->safe_psql('app', "SELECT count(*) FROM jobkeeper.cleanup_runs WHERE source = 'worker'");
ok($node->poll_query_until('app', qq{
	SELECT count(*) >= $runs + 10 FROM jobkeeper.cleanup_runs WHERE source = 'worker'}), '10 passes');
my $after_10 = private_kb();
ok($node->poll_query_until('app', qq{
	SELECT count(*) >= $runs + 100 FROM jobkeeper.cleanup_runs WHERE source = 'worker'}), '100 passes');
my $after_100 = private_kb();
is($node->safe_psql('app', 'SELECT pid FROM jobkeeper.worker_status'), $pid, 'by the same worker process');
ok($node->safe_psql('app', qq{
	SELECT sum(jobs_deleted) > 1000 AND sum(exports_deleted) > 2000 AND sum(leases_requeued) > 300
	  FROM (SELECT * FROM jobkeeper.cleanup_runs WHERE source = 'worker' ORDER BY id DESC LIMIT 90) r}),
	'passes that did work');
diag("worker private memory: $after_10 kB after 10 passes, $after_100 kB after 100");
cmp_ok($after_100, '<=', $after_10 * 1.1, 'memory after 100 passes within 10% of after 10');

$node->stop;
done_testing();
