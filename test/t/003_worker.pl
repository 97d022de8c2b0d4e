# The background worker: one per database with the extension, retention and leases without
# any client, SIGHUP, restarts after pg_terminate_backend and kill -9, DROP/CREATE EXTENSION.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('worker');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'jobkeeper'
jobkeeper.cleanup_interval = '1h'
jobkeeper.lease_check_interval = '1s'
restart_after_crash = on
});
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql('postgres', 'CREATE DATABASE other');
$node->safe_psql('app', 'CREATE EXTENSION jobkeeper');

sub worker_pid
{
	my ($db) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT coalesce(max(pid), 0) FROM pg_stat_activity
		 WHERE backend_type = 'jobkeeper worker' AND datname = '$db'});
}

ok($node->poll_query_until('app',
		"SELECT running FROM jobkeeper.worker_status WHERE datname = 'app'"),
	'a worker runs in the database with the extension');
ok($node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'jobkeeper launcher'"),
	'one launcher');
sleep 2;
is($node->safe_psql('postgres', q{
	SELECT string_agg(datname, ',') FROM pg_stat_activity WHERE backend_type = 'jobkeeper worker'}),
	'app', 'only that database has a worker');

# Expired work: deleted by the worker itself once a short interval is set by SIGHUP.
$node->safe_psql('app', q{
	SET jobkeeper.notify = off;
	INSERT INTO jobkeeper.jobs (id, file_name, file_path, status, finished_at) VALUES
	  ('00000000-0000-0000-0000-000000000001', 'old', '/files/old', 'completed', now() - interval '2 days'),
	  ('00000000-0000-0000-0000-000000000002', 'young export', '/files/ye', 'completed', now() - interval '2 days'),
	  ('00000000-0000-0000-0000-000000000003', 'running', '/files/run', 'pending', NULL);
	INSERT INTO jobkeeper.export_jobs (job_id, export_type, status, file_path, finished_at)
	VALUES ('00000000-0000-0000-0000-000000000002', 'pdf', 'completed', '/out/ye.pdf', now() - interval '1 hour');
});
$node->safe_psql('postgres', "ALTER SYSTEM SET jobkeeper.cleanup_interval = '1s'");
$node->reload;
ok($node->poll_query_until('app',
		"SELECT NOT EXISTS (SELECT FROM jobkeeper.jobs WHERE file_name = 'old')"),
	'the worker deletes an expired job after SIGHUP shortens the interval');
is($node->safe_psql('app', 'SELECT file_name FROM jobkeeper.jobs ORDER BY id'),
	"young export\nrunning", 'a job with a young export and a pending job are kept');
is($node->safe_psql('app', 'SELECT file_path FROM jobkeeper.deleted_files'),
	'/files/old', 'the deleted file path is recorded');
ok($node->safe_psql('app',
		"SELECT count(*) > 0 FROM jobkeeper.cleanup_runs WHERE source = 'worker' AND error IS NULL"),
	'worker runs are recorded');

# Jobs that their exports keep, at the front of the expired ones. The worker's batches lock
# jobs without looking at their exports first, and their delete, looking after the locks, keeps
# these; once a batch found more than a tenth of its jobs kept, the later ones look first.
# 5 kept in front of 25 in batches of 7; then 1 kept in front of 20 in batches of 20, which
# every batch locks again.
my $kept_since = $node->safe_psql('app', 'SELECT now()');
foreach my $case ([7, 5, 30], [20, 1, 21])
{
	my ($size, $kept, $all) = @$case;
	$node->safe_psql('postgres', "ALTER SYSTEM SET jobkeeper.cleanup_batch_size = $size");
	$node->reload;
	$node->safe_psql('app', qq{
		SET jobkeeper.notify = off;
		BEGIN;
		INSERT INTO jobkeeper.jobs (file_name, file_path, status, finished_at)
		SELECT CASE WHEN i <= $kept THEN 'kept' ELSE 'free' END, '/k$size/' || i, 'completed',
		       now() - interval '3 days' + i * interval '1 second'
		  FROM generate_series(1, $all) i;
		INSERT INTO jobkeeper.export_jobs (job_id, export_type)
		SELECT id, 'pdf' FROM jobkeeper.jobs WHERE file_name = 'kept';
		INSERT INTO jobkeeper.export_jobs (job_id, export_type, status, file_path, finished_at)
		SELECT id, 'srt', 'completed', file_path || '.srt', now() - interval '3 days'
		  FROM jobkeeper.jobs WHERE file_name = 'free';
		COMMIT;
	});
	ok($node->poll_query_until('app',
			"SELECT NOT EXISTS (SELECT FROM jobkeeper.jobs WHERE file_name = 'free')"),
		"batches of $size: the worker deletes the jobs behind $kept kept ones");
	is($node->safe_psql('app', q{
		SELECT count(DISTINCT j.id) || ' jobs, ' || count(e.id) || ' exports'
		  FROM jobkeeper.jobs j LEFT JOIN jobkeeper.export_jobs e ON e.job_id = j.id
		 WHERE j.file_name = 'kept'}),
		"$kept jobs, $kept exports", "batches of $size: the kept jobs stay with their exports");
	is($node->safe_psql('app', qq{
		SELECT string_agg(kind || ' ' || n, ', ' ORDER BY kind) FROM (
		  SELECT kind, count(*) AS n FROM jobkeeper.deleted_files
		   WHERE file_path LIKE '/k$size/%' GROUP BY kind) k}),
		'export ' . ($all - $kept) . ', job ' . ($all - $kept),
		"batches of $size: every deleted job's and export's path is recorded");
	$node->safe_psql('app', q{
		DELETE FROM jobkeeper.export_jobs e USING jobkeeper.jobs j
		 WHERE j.id = e.job_id AND j.file_name = 'kept';
		DELETE FROM jobkeeper.jobs WHERE file_name = 'kept'});
}
is($node->safe_psql('app', qq{
	SELECT count(*) FROM jobkeeper.cleanup_runs WHERE error IS NOT NULL AND started_at >= '$kept_since'}),
	'0', 'and no run failed');
$node->safe_psql('postgres', 'ALTER SYSTEM RESET jobkeeper.cleanup_batch_size');
$node->reload;

# An expired lease comes back within seconds.
$node->safe_psql('app', q{
	UPDATE jobkeeper.jobs SET status = 'processing', locked_by = 'dead', attempts = 1,
	       lease_expires_at = now() + interval '1 second'
	 WHERE id = '00000000-0000-0000-0000-000000000003'});
ok($node->poll_query_until('app', q{
	SELECT status = 'pending' AND error_message = 'lease expired'
	  FROM jobkeeper.jobs WHERE id = '00000000-0000-0000-0000-000000000003'}),
	'an expired lease is re-queued by the worker');

# pg_terminate_backend: the worker comes back.
my $pid = worker_pid('app');
ok($pid > 0, 'worker pid known');
$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
ok($node->poll_query_until('postgres', qq{
	SELECT count(*) = 1 FROM pg_stat_activity
	 WHERE backend_type = 'jobkeeper worker' AND datname = 'app' AND pid <> $pid}, 't'),
	'the worker restarts after pg_terminate_backend');

# kill -9: the postmaster restarts everything; nothing is lost and the worker returns.
$pid = worker_pid('app');
kill 'KILL', $pid;
ok($node->poll_query_until('app', q{
	SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'jobkeeper worker'}),
	'the worker is back after kill -9');
is($node->safe_psql('app', 'SELECT count(*) FROM jobkeeper.jobs'), '2', 'no row lost');

# DROP EXTENSION stops the worker; CREATE EXTENSION elsewhere starts one within seconds.
$node->safe_psql('app', 'DROP EXTENSION jobkeeper');
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'jobkeeper worker'}),
	'DROP EXTENSION stops that database\'s worker');
$node->safe_psql('other', 'CREATE EXTENSION jobkeeper');
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM pg_stat_activity
	 WHERE backend_type = 'jobkeeper worker' AND datname = 'other'}),
	'CREATE EXTENSION in another database starts its worker');
is($node->safe_psql('other', 'SELECT string_agg(datname, \',\') FROM jobkeeper.worker_status WHERE running'),
	'other', 'worker_status shows the running worker from any database');

# Mid-upgrade (installed SQL version differs from the library): logged once, then it waits;
# with the versions matching again it carries on. (Simulated by editing the catalog.)
my $version = $node->safe_psql('other', "SELECT extversion FROM pg_extension WHERE extname = 'jobkeeper'");
my $log_offset = -s $node->logfile;
$node->safe_psql('other', "UPDATE pg_extension SET extversion = '0.0-test' WHERE extname = 'jobkeeper'");
ok($node->wait_for_log(qr/jobkeeper worker waiting: installed SQL version 0.0-test, library version \Q$version\E/,
		$log_offset), 'a version mismatch is logged');
sleep 3;
my $waiting_lines = () = substr(slurp_file($node->logfile), $log_offset) =~ /jobkeeper worker waiting/g;
is($waiting_lines, 1, 'once, while the worker waits');
$node->safe_psql('other', q{
	SET jobkeeper.notify = off;
	INSERT INTO jobkeeper.jobs (file_name, file_path, status, finished_at)
	VALUES ('expired', '/e', 'completed', now() - interval '2 days')});
sleep 2;
is($node->safe_psql('other', "SELECT count(*) FROM jobkeeper.jobs"), '1', 'nothing is deleted meanwhile');
$node->safe_psql('other', "UPDATE pg_extension SET extversion = '$version' WHERE extname = 'jobkeeper'");
ok($node->poll_query_until('other', 'SELECT count(*) = 0 FROM jobkeeper.jobs'),
	'with matching versions the worker carries on');

# The worker's batches run at READ COMMITTED whatever default_transaction_isolation says: a
# batch checks its locked jobs again with a fresh snapshot, and refuses to run without one.
my $rr_since = $node->safe_psql('other', 'SELECT now()');
$node->safe_psql('postgres', "ALTER SYSTEM SET default_transaction_isolation = 'repeatable read'");
$node->reload;
$node->safe_psql('other', q{
	SET jobkeeper.notify = off;
	INSERT INTO jobkeeper.jobs (file_name, file_path, status, finished_at)
	VALUES ('expired', '/e', 'completed', now() - interval '2 days')});
ok($node->poll_query_until('other', 'SELECT count(*) = 0 FROM jobkeeper.jobs'),
	'with REPEATABLE READ as the default the worker still deletes');
is($node->safe_psql('other', qq{
	SELECT count(*) FROM jobkeeper.cleanup_runs WHERE error IS NOT NULL AND started_at >= '$rr_since'}), '0',
	'and no run failed');
$node->safe_psql('postgres', 'ALTER SYSTEM RESET default_transaction_isolation');
$node->reload;

# The worker's log lines: start, one summary per run; no crash besides the deliberate one.
my $log = slurp_file($node->logfile);
like($log, qr/jobkeeper launcher started/, 'launcher logs its start');
like($log, qr/jobkeeper cleanup in database "app": \d+ jobs/, 'a summary per run');

$node->stop;
done_testing();
