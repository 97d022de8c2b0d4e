# Monitoring (examples/monitoring/queries.yaml): prometheus-postgres-exporter, started against a
# cluster with jobkeeper as a monitoring role with only the README's grants, is scraped on
# localhost; the queue depths per queue and status, the oldest pending age, the expired
# leases, the worker's state and the deleted-file paths waiting come out with their values.
use strict;
use warnings;
use HTTP::Tiny;
use IPC::Run;
use Time::HiRes qw(sleep);    # sleep 0.2 waits 0.2 s, not 0
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $exporter = '/usr/bin/prometheus-postgres-exporter';
plan skip_all => "$exporter is not installed" unless -x $exporter;

my $node = PostgreSQL::Test::Cluster->new('exporter');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'jobkeeper'
jobkeeper.cleanup_interval = '1h'
jobkeeper.lease_check_interval = '1h'
});
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql('app', q{
	CREATE EXTENSION jobkeeper;
	-- The README's monitoring role.
	CREATE ROLE monitor LOGIN;
	GRANT USAGE ON SCHEMA jobkeeper TO monitor;
	GRANT SELECT ON jobkeeper.queue_stats, jobkeeper.export_stats, jobkeeper.worker_status,
	  jobkeeper.deleted_files TO monitor;
});
# The worker's first pass (cleanup and leases) comes right after it starts; the rows come after
# it, so that it changes none of them.
ok($node->poll_query_until('app',
		"SELECT running AND last_run IS NOT NULL FROM jobkeeper.worker_status WHERE datname = 'app'"),
	'the worker runs');
$node->safe_psql('app', q{
	SET jobkeeper.notify = off;
	-- Two pending audio jobs, one waiting a minute; a finished job, deleted by a cleanup, whose
	-- file waits to be removed; then a job whose worker died.
	INSERT INTO jobkeeper.jobs (file_name, file_path, queue, run_after)
	VALUES ('a', '/a', 'audio', now() - interval '1 minute'), ('b', '/b', 'audio', now());
	INSERT INTO jobkeeper.jobs (file_name, file_path, status, finished_at)
	VALUES ('d', '/files/d.mp3', 'completed', now() - interval '2 days');
	INSERT INTO jobkeeper.export_jobs (job_id, export_type)
	SELECT id, 'pdf' FROM jobkeeper.jobs WHERE file_name = 'a';
	SELECT * FROM jobkeeper.run_cleanup();
	INSERT INTO jobkeeper.jobs (file_name, file_path, status, attempts, locked_by, lease_expires_at)
	VALUES ('c', '/c', 'processing', 1, 'gone', now() - interval '1 second');
});

my $port = PostgreSQL::Test::Cluster::get_free_port();
my ($out, $err) = ('', '');
local $ENV{DATA_SOURCE_NAME} =
	'host=' . $node->host . ' port=' . $node->port . ' user=monitor dbname=app sslmode=disable';
my $h = IPC::Run::start(
	[ $exporter, "--web.listen-address=127.0.0.1:$port",
	  '--extend.query-path=examples/monitoring/queries.yaml',
	  '--disable-default-metrics', '--disable-settings-metrics' ],
	'>', \$out, '2>', \$err);

my $metrics = '';
my $http = HTTP::Tiny->new(timeout => 5);
# Scrapes until the metrics hold the jobkeeper queries' results.
sub scrape
{
	for (1 .. 150)    # 30 s: the exporter may take a while to start on a loaded machine
	{
		my $r = $http->get("http://127.0.0.1:$port/metrics");
		$metrics = $r->{content} if $r->{success};
		return if $metrics =~ /^jobkeeper_deleted_files_waiting/m;
		sleep 0.2;
	}
}
scrape();
diag("the exporter said: $err") unless $metrics =~ /^jobkeeper_/m;
# The value of metric $name whose labels include %want (the exporter adds its own, server).
sub value
{
	my ($name, %want) = @_;
	for my $line (split /\n/, $metrics)
	{
		next unless $line =~ /^\Q$name\E(?:\{(.*)\})? (\S+)$/;
		my ($labels, $value) = ($1 // '', $2);
		my %have = $labels =~ /(\w+)="([^"]*)"/g;
		next if grep { ($have{$_} // '') ne $want{$_} } keys %want;
		return $value;
	}
	return undef;
}
is(value('jobkeeper_queue_jobs', queue => 'audio', status => 'pending'), 2,
	'queue depth per queue and status');
is(value('jobkeeper_queue_jobs', queue => 'default', status => 'processing'), 1,
	'processing jobs too');
my $age = value('jobkeeper_queue_oldest_pending_seconds', queue => 'audio', status => 'pending');
ok(defined $age && $age >= 59 && $age < 600, 'the oldest pending job\'s age: ' . ($age // 'none'));
is(value('jobkeeper_queue_expired_leases', queue => 'default', status => 'processing'), 1,
	'an expired lease');
is(value('jobkeeper_exports_exports', export_type => 'pdf', status => 'pending'), 1,
	'exports per type and status');
is(value('jobkeeper_worker_running', datname => 'app'), 1, 'the worker is running');
my $last_run = value('jobkeeper_worker_last_run_age_seconds', datname => 'app');
ok(defined $last_run && $last_run >= 0, 'the age of its last run: ' . ($last_run // 'none'));
is(value('jobkeeper_worker_has_error', datname => 'app'), 0, 'no error');
is(value('jobkeeper_deleted_files_waiting'), 1, 'a deleted file\'s path waits');
is(value('pg_exporter_user_queries_load_error'), 0, 'the queries file loads');
is(value('pg_up'), 1, 'the exporter reached the database');

# The worker's last error, as its own metric: a row a trigger refuses to let the cleanup delete.
$node->safe_psql('app', q{
	SET jobkeeper.notify = off;
	CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN RAISE EXCEPTION 'job % is on legal hold', OLD.file_name; END $$;
	CREATE TRIGGER refuse BEFORE DELETE ON jobkeeper.jobs FOR EACH ROW EXECUTE FUNCTION refuse();
	INSERT INTO jobkeeper.jobs (file_name, file_path, status, finished_at)
	VALUES ('held', '/held', 'completed', now() - interval '2 days');
});
$node->safe_psql('postgres', "ALTER SYSTEM SET jobkeeper.cleanup_interval = '1s'");
$node->reload;
ok($node->poll_query_until('app',
		"SELECT last_error LIKE '%legal hold%' FROM jobkeeper.worker_status WHERE datname = 'app'"),
	'the worker records the error');
scrape();
is(value('jobkeeper_worker_has_error', datname => 'app'), 1, 'the error shows');
like($metrics, qr/^jobkeeper_worker_error_active\{[^}]*error="[^"]*legal hold[^"]*"[^}]*\} 1$/m,
	'with its message as a label');
$h->kill_kill;

$node->stop;
done_testing();
