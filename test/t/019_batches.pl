# Batches with the worker (SPEC section 10): when the last jobs of a batch finish in two
# sessions at once, the worker announces it on jobkeeper_batches exactly once, soon after the
# commit (through the events ring: the lease check's look at every batch is set to an hour
# here); retention deletes a finished batch with its last job; pg_dump and pg_restore keep
# the batches and rebuild their counts; a 1.0 database updated to 1.1 batches its old jobs.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(gettimeofday tv_interval sleep);

my $node = PostgreSQL::Test::Cluster->new('batches');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'jobkeeper'
jobkeeper.cleanup_interval = '1h'
jobkeeper.lease_check_interval = '1h'
});
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql('app', 'CREATE EXTENSION jobkeeper');
ok($node->poll_query_until('app', 'SELECT count(*) = 1 FROM jobkeeper.worker_status WHERE running'),
	'the worker runs');
my $worker_pid = $node->safe_psql('app', 'SELECT pid FROM jobkeeper.worker_status');

# Polls $listener for $seconds and returns the jobkeeper_batches notifications seen, as
# [payload, pid] pairs; stops early once $enough have come.
sub batch_events
{
	my ($listener, $seconds, $enough) = @_;
	my $start = [gettimeofday];
	my $output = '';
	my @seen;
	while (tv_interval($start) < $seconds)
	{
		$output .= $listener->query('SELECT 1') . "\n";
		@seen = ($output =~ /Asynchronous notification "jobkeeper_batches" with payload "(\{[^\n]*\})" received from server process with PID (\d+)/g);
		last if defined $enough && @seen / 2 >= $enough;
		sleep 0.02;
	}
	my @pairs;
	while (my ($payload, $pid) = splice(@seen, 0, 2)) { push @pairs, [ $payload, $pid ]; }
	return @pairs;
}

my $listener = $node->background_psql('app');
$listener->query_safe('LISTEN jobkeeper_batches');

# 1. The last two jobs finish in two sessions whose commits follow each other at once.
my $batch = $node->safe_psql('app', "SELECT jobkeeper.create_batch('race', '{\"n\": 1}')");
$node->safe_psql('app', qq{
	SELECT jobkeeper.submit_to_batch('$batch', 'f' || i, '/f') FROM generate_series(1, 4) i;
	SELECT count(*) FROM jobkeeper.claim_jobs('w', 4);
	SELECT jobkeeper.complete_job(id) FROM jobkeeper.jobs ORDER BY id LIMIT 2;
});
my @last = split /\n/, $node->safe_psql('app',
	"SELECT id FROM jobkeeper.jobs WHERE status = 'processing' ORDER BY id");
my $s1 = $node->background_psql('app');
my $s2 = $node->background_psql('app');
$s1->query_safe("BEGIN; SELECT jobkeeper.complete_job('$last[0]')");
$s2->query_safe("BEGIN; SELECT jobkeeper.fail_job('$last[1]', 'boom', retry => false)");
$s1->query_safe('COMMIT');
my $committed = [gettimeofday];
$s2->query_safe('COMMIT');
my @events = batch_events($listener, 10, 1);
my $latency = tv_interval($committed);
@events = (@events, batch_events($listener, 3));
is(scalar(@events), 1, 'the batch is announced exactly once');
like($events[0][0] // "", qr/"id": "$batch", "status": "finished", "total": 4, "completed": 3, "failed": 1, "cancelled": 0/,
	'its payload names the batch and its counts');
is($events[0][1] // 0, $worker_pid, 'the worker sent it');
cmp_ok($latency, '<', 5, sprintf('it came %.0f ms after the commits (the lease check is an hour away)', $latency * 1000));
is($node->safe_psql('app', "SELECT total || ' ' || completed || ' ' || failed || ' ' || (finished_at IS NOT NULL) FROM jobkeeper.batch_stats WHERE id = '$batch'"),
	'4 3 1 true', 'the roll-up is exact and finished');
ok($node->safe_psql('app', "SELECT finished_at IS NOT NULL FROM jobkeeper.batches WHERE id = '$batch'") eq 't',
	'the worker stamped the batch');

# 2. Many pairs of sessions at once, each finishing the last two jobs of its own batch: one
# event per batch.
my @batches;
for my $i (1 .. 5)
{
	my $b = $node->safe_psql('app', "SELECT jobkeeper.create_batch('pair $i')");
	push @batches, $b;
	$node->safe_psql('app', qq{
		SELECT jobkeeper.submit_to_batch('$b', 'p$i-' || k, '/p') FROM generate_series(1, 2) k;
	});
}
$node->safe_psql('app', "SELECT count(*) FROM jobkeeper.claim_jobs('w', 100)");
my @ids = split /\n/, $node->safe_psql('app', q{
	SELECT string_agg(id::text, ' ' ORDER BY id) FROM jobkeeper.jobs WHERE status = 'processing'
	 GROUP BY batch_ids[1] ORDER BY batch_ids[1]});
for my $pair (@ids)
{
	my ($a, $b) = split / /, $pair;
	$s1->query_safe("BEGIN; SELECT jobkeeper.complete_job('$a')");
	$s2->query_safe("BEGIN; SELECT jobkeeper.complete_job('$b')");
	$s2->query_safe('COMMIT');
	$s1->query_safe('COMMIT');
}
@events = batch_events($listener, 10, 5);
@events = (@events, batch_events($listener, 2));
my %per_batch;
$per_batch{$_}++ for map { $_->[0] =~ /"id": "([^"]+)"/ ? $1 : 'none' } @events;
is(join(',', map { $per_batch{$_} // 0 } @batches), '1,1,1,1,1', 'each of 5 batches is announced once');
$s1->quit;
$s2->quit;

# 3. Nothing for a batch whose finishing rolled back; a paused batch's jobs stay pending.
my $rolled = $node->safe_psql('app', "SELECT jobkeeper.create_batch('rolled back')");
my $rid = $node->safe_psql('app', "SELECT id FROM jobkeeper.submit_to_batch('$rolled', 'r', '/r')");
$node->safe_psql('app', "BEGIN; SELECT jobkeeper.cancel_batch('$rolled'); ROLLBACK;");
is(scalar(batch_events($listener, 2)), 0, 'a rolled-back cancel announces nothing');
$node->safe_psql('app', "SELECT jobkeeper.pause_batch('$rolled')");
is($node->safe_psql('app', "SELECT count(*) FROM jobkeeper.claim_jobs('w', 10)"), '0',
	'a paused batch\'s job is not claimed');
$node->safe_psql('app', "SELECT jobkeeper.resume_batch('$rolled')");
is($node->safe_psql('app', "SELECT id FROM jobkeeper.claim_jobs('w', 10)"), $rid,
	'resumed, it is');
$node->safe_psql('app', "SELECT jobkeeper.complete_job('$rid')");
@events = batch_events($listener, 10, 1);
is(scalar(@events), 1, 'and its batch is announced when it completes');

# 4. pg_dump and pg_restore: batches are dumped, their job lists and counts rebuilt.
my $rollup = q{SELECT string_agg(concat_ws(' ', name, paused, total, pending, processing,
	completed, failed, cancelled, progress, finished_at IS NOT NULL), E'\n' ORDER BY name)
	FROM jobkeeper.batch_stats};
$node->safe_psql('app', qq{
	SELECT jobkeeper.create_batch('open');
	SELECT jobkeeper.submit_to_batch((SELECT id FROM jobkeeper.batches WHERE name = 'open'), 'o' || i, '/o')
	  FROM generate_series(1, 3) i;
	SELECT jobkeeper.pause_batch((SELECT id FROM jobkeeper.batches WHERE name = 'open'));
});
my $before = $node->safe_psql('app', $rollup);
my $dump = $node->basedir . '/app.dump';
command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('app'), '-f', $dump ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE copy');
command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('copy'), $dump ], 'pg_restore');
is($node->safe_psql('copy', $rollup), $before, 'the restored batches have the same roll-up');
is($node->safe_psql('copy', q{SELECT count(*) FROM jobkeeper.batch_jobs}),
	$node->safe_psql('app', q{SELECT count(*) FROM jobkeeper.batch_jobs}), 'and the same job lists');
is($node->safe_psql('copy', q{SELECT count(*) FROM jobkeeper.claim_jobs('w', 10)}), '0',
	'the paused batch is still paused');

# 5. Retention by the worker: finished batches go with their jobs; the open one stays.
$node->safe_psql('app', q{
	UPDATE jobkeeper.jobs SET finished_at = now() - interval '2 days' WHERE finished_at IS NOT NULL;
	UPDATE jobkeeper.batches SET finished_at = now() - interval '2 days' WHERE finished_at IS NOT NULL;
	UPDATE jobkeeper.batch_counts SET last_finished_at = now() - interval '2 days';
	ALTER DATABASE app SET jobkeeper.job_retention = '1d';
});
$node->append_conf('postgresql.conf', "jobkeeper.cleanup_interval = '1s'");
$node->reload;
ok($node->poll_query_until('app', q{SELECT count(*) = 1 FROM jobkeeper.batches}),
	'the worker deleted the finished batches');
is($node->safe_psql('app', q{SELECT string_agg(name, ',') FROM jobkeeper.batches}), 'open',
	'the open batch is kept');
is($node->safe_psql('app', q{SELECT count(*) FROM jobkeeper.jobs WHERE finished_at IS NOT NULL}), '0',
	'with none of their jobs left');
is($node->safe_psql('app', q{SELECT count(*) FROM jobkeeper.batch_counts c
	WHERE NOT EXISTS (SELECT FROM jobkeeper.batches b WHERE b.id = c.batch_id)}), '0',
	'nor their counter rows');
$listener->quit;

# 6. A 1.0 database with jobs, updated to 1.1: its jobs join batches, and claims skip held ones.
$node->safe_psql('postgres', 'CREATE DATABASE old');
$node->safe_psql('old', q{
	CREATE EXTENSION jobkeeper VERSION '1.0';
	SELECT jobkeeper.submit_job('old' || i, '/old') FROM generate_series(1, 3) i;
	ALTER EXTENSION jobkeeper UPDATE TO '1.1';
	SELECT jobkeeper.create_batch('after update');
	SELECT jobkeeper.add_to_batch((SELECT id FROM jobkeeper.batches), ARRAY(SELECT id FROM jobkeeper.jobs));
	SELECT jobkeeper.pause_batch((SELECT id FROM jobkeeper.batches));
});
is($node->safe_psql('old', q{SELECT total || ' ' || pending FROM jobkeeper.batch_stats}), '3 3',
	'the updated database counts its old jobs into a batch');
is($node->safe_psql('old', q{SELECT count(*) FROM jobkeeper.claim_jobs('w', 10)}), '0',
	'and its claims skip the paused batch');

$node->stop;
done_testing();
