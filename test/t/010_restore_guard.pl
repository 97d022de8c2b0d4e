# pg_restore into a preloaded cluster whose worker cleans up every second: a dump with
# expired jobs restores every row, and the worker deletes nothing while the restore runs (a job
# restored before its exports would look as if it had none). The guard: the worker waits while
# a session whose application_name is pg_restore is connected to its database.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes ();

my $node = PostgreSQL::Test::Cluster->new('restore');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'jobkeeper'
jobkeeper.cleanup_interval = '1s'
jobkeeper.lease_check_interval = '1s'
});
$node->start;

# The source keeps everything (its own worker must not clean up what we want in the dump).
$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('postgres', q{
	ALTER DATABASE src SET jobkeeper.job_retention = -1;
	ALTER DATABASE src SET jobkeeper.export_retention = -1;
});
$node->safe_psql('src', q{
	CREATE EXTENSION jobkeeper;
	SET jobkeeper.notify = off;
	-- Expired jobs whose young exports keep them: deleted, they would take the exports' COPY
	-- down with a foreign key error.
	INSERT INTO jobkeeper.jobs (id, file_name, file_path, status, finished_at)
	SELECT ('00000000-0000-0000-0000-' || lpad(to_hex(i), 12, '0'))::uuid, 'kept' || i, '/kept/' || i,
	       'completed', now() - interval '2 days'
	  FROM generate_series(1, 30000) i;
	INSERT INTO jobkeeper.export_jobs (job_id, export_type, status, file_path, finished_at)
	SELECT j.id, 'pdf', 'completed', j.file_path || '.pdf', now() - interval '1 hour'
	  FROM jobkeeper.jobs j;
	-- Expired jobs without exports: the worker deletes them, but only after the restore.
	INSERT INTO jobkeeper.jobs (file_name, file_path, status, finished_at)
	SELECT 'expired' || i, '/expired/' || i, 'completed', now() - interval '2 days'
	  FROM generate_series(1, 5000) i;
});
my $dump = $node->basedir . '/src.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('src') ], 'pg_dump -Fc');

for my $jobs (1, 2)
{
	my $db = "dst_$jobs";
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	# The restore's bounds as the client sees them, read without a round trip (same clock).
	my $started = Time::HiRes::time();
	{
		# As a user runs it: the test harness names every client after the test (PGAPPNAME),
		# which would hide pg_restore's own application_name from the guard.
		local $ENV{PGAPPNAME};
		delete $ENV{PGAPPNAME};
		$node->command_ok([ 'pg_restore', '--jobs', $jobs, '-d', $node->connstr($db), $dump ],
			"pg_restore --jobs $jobs into a served database succeeds");
	}
	my $ended = Time::HiRes::time();
	is($node->safe_psql($db, q{
		SELECT count(*) FROM jobkeeper.jobs j JOIN jobkeeper.export_jobs e ON e.job_id = j.id
		 WHERE j.file_name LIKE 'kept%'}), '30000', "--jobs $jobs: every job with its export is restored");
	is($node->safe_psql($db, qq{
		SELECT count(*) FROM jobkeeper.cleanup_runs
		 WHERE started_at BETWEEN to_timestamp($started) AND to_timestamp($ended)
		   AND jobs_deleted + exports_deleted + leases_requeued + leases_failed > 0}), '0',
		"--jobs $jobs: the worker changed nothing while the restore ran");
	ok($node->poll_query_until($db, q{
		SELECT count(*) = 0 FROM jobkeeper.jobs WHERE file_name LIKE 'expired%'}),
		"--jobs $jobs: after the restore the worker deletes the expired jobs");
	is($node->safe_psql($db, q{
		SELECT count(*) FILTER (WHERE file_path LIKE '/expired/%') || '/' || count(*)
		  FROM jobkeeper.deleted_files}), '5000/5000',
		"--jobs $jobs: and records exactly their paths");
	is($node->safe_psql($db, "SELECT count(*) FROM jobkeeper.jobs WHERE file_name LIKE 'kept%'"), '30000',
		"--jobs $jobs: the jobs with young exports stay");
}
# A COPY of exports whose job never comes still fails with the foreign key's error, after
# the few seconds it waits for a load of jobs.
my ($rc, $out, $err) = $node->psql('dst_1', q{
	COPY jobkeeper.export_jobs (job_id, export_type) FROM stdin;
00000000-0000-0000-0000-0000000fffff	pdf
\.
});
like($err, qr/violates foreign key constraint "export_jobs_job_id_fkey"/,
	'a COPY of an export of an unknown job fails with the foreign key error');

like(slurp_file($node->logfile), qr/jobkeeper worker waits: pg_restore is connected to database "dst_/,
	'the worker said that it waited');

$node->stop;
done_testing();
