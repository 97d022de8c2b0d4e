# No row stops a pass for the others, and every pass ends: a row that a user's foreign key or
# trigger refuses is skipped and recorded while the other rows are cleaned up; a step whose
# every batch times out ends with the timeout recorded; lease checks keep their cadence during
# a long cleanup pass, and a reload applies in the middle of one.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('robust');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'jobkeeper'
jobkeeper.cleanup_interval = '1h'
jobkeeper.lease_check_interval = '1s'
});
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql('app', 'CREATE EXTENSION jobkeeper');
ok($node->poll_query_until('app', 'SELECT count(*) = 1 FROM jobkeeper.worker_status WHERE running'),
	'the worker runs');

# Appends settings to postgresql.conf (a later line wins) and reloads.
sub set_conf
{
	my ($settings) = @_;
	$node->append_conf('postgresql.conf', join('', map { "$_\n" } @$settings));
	$node->reload;
}

# Event payloads are bounded: a queue of 8,000 characters never gets into the table.
my ($rc, $out, $err) = $node->psql('app',
	"SET jobkeeper.notify = off; SELECT jobkeeper.submit_job('q', '/q', queue => repeat('q', 8000))");
like($err, qr/is 8000 characters long, more than 255/, 'submit_job refuses an 8,000-character queue');
($rc, $out, $err) = $node->psql('app',
	"SET jobkeeper.notify = off; INSERT INTO jobkeeper.jobs (file_name, file_path, queue) VALUES ('q', '/q', repeat('q', 8000))");
like($err, qr/jobs_queue_length/, 'and so does the table');

# Rows a user's constraint and trigger refuse.
$node->safe_psql('app', q{
	SET jobkeeper.notify = off;
	INSERT INTO jobkeeper.jobs (id, file_name, file_path, status, finished_at) VALUES
	  ('00000000-0000-0000-0000-00000000000a', 'pinned', '/pinned', 'completed', now() - interval '30 days');
	INSERT INTO jobkeeper.jobs (file_name, file_path, status, finished_at)
	SELECT 'old' || i, '/old' || i, 'completed', now() - interval '2 days' FROM generate_series(1, 300) i;
	INSERT INTO jobkeeper.jobs (id, file_name, file_path, status, attempts, locked_by, lease_expires_at) VALUES
	  ('00000000-0000-0000-0000-00000000000b', 'cursed', '/cursed', 'processing', 1, 'gone', now() - interval '1 minute'),
	  ('00000000-0000-0000-0000-00000000000c', 'stale', '/stale', 'processing', 1, 'gone', now() - interval '1 minute');
	CREATE TABLE app_refs (job_id uuid REFERENCES jobkeeper.jobs (id));
	INSERT INTO app_refs VALUES ('00000000-0000-0000-0000-00000000000a');
	CREATE FUNCTION refuse_cursed() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
	  IF NEW.file_name = 'cursed' THEN RAISE EXCEPTION 'the application refuses job %', NEW.id; END IF;
	  RETURN NEW;
	END $$;
	CREATE TRIGGER refuse_cursed BEFORE UPDATE ON jobkeeper.jobs FOR EACH ROW EXECUTE FUNCTION refuse_cursed();
});
ok($node->poll_query_until('app',
		"SELECT status = 'pending' FROM jobkeeper.jobs WHERE file_name = 'stale'"),
	'a lease pass re-queues the other expired lease while one row fails');
is($node->safe_psql('app', "SELECT status FROM jobkeeper.jobs WHERE file_name = 'cursed'"), 'processing',
	'the refused row is left as it was');
like($node->safe_psql('app', 'SELECT last_error FROM jobkeeper.worker_status'),
	qr/job 00000000-0000-0000-0000-00000000000b skipped: the application refuses job/,
	'worker_status names the skipped row and why');

set_conf([ "jobkeeper.cleanup_interval = '1s'" ]);
ok($node->poll_query_until('app', "SELECT count(*) = 0 FROM jobkeeper.jobs WHERE file_name LIKE 'old%'"),
	'the cleanup deletes every other expired job, though the oldest one cannot go');
is($node->safe_psql('app', "SELECT count(*) FROM jobkeeper.jobs WHERE file_name = 'pinned'"), '1',
	'the job a foreign key keeps is still there');
is($node->safe_psql('app', "SELECT count(*) FROM jobkeeper.deleted_files WHERE file_path LIKE '/old%'"), '300',
	'and the deleted jobs\' paths are recorded, not the kept one\'s');
like(slurp_file($node->logfile),
	qr/jobkeeper cleanup skipped job 00000000-0000-0000-0000-00000000000a: update or delete on table "jobs" violates foreign key constraint/,
	'the log names each skipped row and its error');
like($node->safe_psql('app', q{
	SELECT error FROM jobkeeper.cleanup_runs WHERE jobs_deleted > 0 ORDER BY id DESC LIMIT 1}),
	qr/job 00000000-0000-0000-0000-00000000000b skipped: the application refuses job/,
	'cleanup_runs records the pass\'s first error');
ok($node->safe_psql('app', 'SELECT sum(rows_skipped) >= 2 FROM jobkeeper.cleanup_runs'),
	'and counts the skipped rows');
my $runs = $node->safe_psql('app', "SELECT count(*) FROM jobkeeper.cleanup_runs WHERE source = 'worker'");
ok($node->poll_query_until('app', "SELECT count(*) > $runs + 2 FROM jobkeeper.cleanup_runs WHERE source = 'worker'"),
	'the worker goes on running passes');

# run_cleanup() skips the same rows with a warning instead of failing.
($rc, $out, $err) = $node->psql('app', 'SELECT jobs_deleted FROM jobkeeper.run_cleanup()');
is($rc, 0, 'run_cleanup() succeeds with a row that cannot go');
like($err, qr/WARNING:  jobkeeper.run_cleanup\(\) skipped 2 rows that failed/, 'with a warning');
($rc, $out, $err) = $node->psql('app', 'SELECT * FROM jobkeeper.expire_leases()');
like($err, qr/WARNING:  jobkeeper.expire_leases\(\) skipped 1 rows/, 'expire_leases() too');

$node->safe_psql('app', q{
	DROP TABLE app_refs;
	DROP TRIGGER refuse_cursed ON jobkeeper.jobs;
});

# Every batch times out, even the smallest: the step ends and the pass records why.
$node->safe_psql('app', q{
	SET jobkeeper.notify = off;
	CREATE FUNCTION slow_delete() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
	  IF OLD.file_name LIKE 'slow%' THEN PERFORM pg_sleep(current_setting('test.delay')::float8); END IF;
	  RETURN OLD;
	END $$;
	CREATE TRIGGER slow_delete BEFORE DELETE ON jobkeeper.jobs FOR EACH ROW EXECUTE FUNCTION slow_delete();
	INSERT INTO jobkeeper.jobs (file_name, file_path, status, finished_at)
	SELECT 'slow' || i, '/slow' || i, 'completed', now() - interval '2 days' FROM generate_series(1, 50) i;
});
my $since = $node->safe_psql('app', 'SELECT now()');
set_conf([ "jobkeeper.cleanup_batch_timeout = '20ms'", "test.delay = '0.05'" ]);
ok($node->poll_query_until('app', qq{
	SELECT count(*) > 0 FROM jobkeeper.cleanup_runs
	 WHERE started_at > '$since' AND error LIKE '%every batch timed out, the smallest (10 rows) 3 times%'}),
	'a step whose every batch times out ends, and the run records it');
ok($node->poll_query_until('app', qq{
	SELECT count(*) >= 3 FROM jobkeeper.cleanup_runs WHERE started_at > '$since' AND source = 'worker'}),
	'the passes after it run too');
$node->safe_psql('app', q{
	SET jobkeeper.notify = off;
	INSERT INTO jobkeeper.jobs (id, file_name, file_path, status, attempts, locked_by, lease_expires_at) VALUES
	  ('00000000-0000-0000-0000-00000000000d', 'leased', '/leased', 'processing', 1, 'gone', now())});
ok($node->poll_query_until('app', "SELECT status = 'pending' FROM jobkeeper.jobs WHERE file_name = 'leased'"),
	'expired leases are re-queued meanwhile');

# A long pass: 600 rows at 10 ms each in batches of 100 take at least 6 s. The lease check
# keeps its 1 s cadence inside it, and a reload mid-pass changes the batch size at once.
set_conf([ "jobkeeper.cleanup_interval = '1h'", "jobkeeper.cleanup_batch_timeout = '5s'",
	"jobkeeper.cleanup_batch_size = 100", "test.delay = '0.01'" ]);
sleep 2;    # a pass that began before the reload has ended
$node->safe_psql('app', q{
	SET jobkeeper.notify = off;
	DELETE FROM jobkeeper.jobs WHERE file_name LIKE 'slow%';
	TRUNCATE jobkeeper.deleted_file_batches;
	INSERT INTO jobkeeper.jobs (file_name, file_path, status, finished_at)
	SELECT 'slow' || i, '/slow' || i, 'completed', now() - interval '2 days' FROM generate_series(1, 600) i;
	INSERT INTO jobkeeper.jobs (id, file_name, file_path, status, attempts, locked_by, lease_expires_at) VALUES
	  ('00000000-0000-0000-0000-00000000000e', 'mid-pass', '/mid', 'processing', 1, 'gone', now() + interval '3 seconds')});
$since = $node->safe_psql('app', 'SELECT now()');
set_conf([ "jobkeeper.cleanup_interval = '1s'" ]);
sleep 3;
set_conf([ "jobkeeper.cleanup_interval = '1h'", "jobkeeper.cleanup_batch_size = 7" ]);
ok($node->poll_query_until('app', "SELECT count(*) = 0 FROM jobkeeper.jobs WHERE file_name LIKE 'slow%'"),
	'the long pass deletes every slow job');
my $pass = $node->safe_psql('app', qq{
	SELECT started_at || '|' || finished_at FROM jobkeeper.cleanup_runs
	 WHERE started_at > '$since' AND jobs_deleted = 600});
ok($pass ne '', 'in one pass') or diag($node->safe_psql('app', "SELECT * FROM jobkeeper.cleanup_runs WHERE started_at > '$since'"));
my ($pass_start, $pass_end) = split /\|/, $pass;
ok($node->safe_psql('app', qq{
	SELECT status = 'pending' AND updated_at > '$pass_start' AND updated_at < '$pass_end'
	  FROM jobkeeper.jobs WHERE file_name = 'mid-pass'}),
	'a lease that expired during the pass was re-queued during it');
is($node->safe_psql('app', q{
	SELECT string_agg(DISTINCT cardinality(file_paths)::text, ',' ORDER BY cardinality(file_paths)::text)
	  FROM jobkeeper.deleted_file_batches WHERE file_paths[1] LIKE '/slow%' AND cardinality(file_paths) IN (7, 100)}),
	'100,7', 'the reload mid-pass turned batches of 100 into batches of 7');

# jobkeeper.cleanup_batch_delay pauses the worker between two batches: 10 batches of 50 rows
# with 300 ms between them take at least 2.7 s; lease checks and events go on meanwhile.
$node->safe_psql('app', q{
	SET jobkeeper.notify = off;
	INSERT INTO jobkeeper.jobs (file_name, file_path, status, finished_at)
	SELECT 'paced' || i, '/paced' || i, 'completed', now() - interval '2 days' FROM generate_series(1, 500) i});
$since = $node->safe_psql('app', 'SELECT now()');
set_conf([ "jobkeeper.cleanup_batch_size = 50", "jobkeeper.cleanup_batch_delay = '300ms'",
	"jobkeeper.cleanup_interval = '1s'" ]);
ok($node->poll_query_until('app', qq{
	SELECT NOT EXISTS (SELECT FROM jobkeeper.jobs WHERE file_name LIKE 'paced%')
	   AND EXISTS (SELECT FROM jobkeeper.cleanup_runs WHERE started_at > '$since' AND jobs_deleted > 0)}),
	'the paced pass deletes every job and records itself');
set_conf([ "jobkeeper.cleanup_interval = '1h'", "jobkeeper.cleanup_batch_delay = 0" ]);
my $paced = $node->safe_psql('app', qq{
	SELECT extract(epoch FROM max(finished_at) - min(started_at)) FROM jobkeeper.cleanup_runs
	 WHERE started_at > '$since' AND jobs_deleted > 0});
ok($paced ne '' && $paced >= 2.7, "10 batches with 300 ms pauses took $paced s (at least 2.7 s)")
  or diag($node->safe_psql('app', "SELECT * FROM jobkeeper.cleanup_runs WHERE started_at > '$since'"));

$node->stop;
done_testing();
