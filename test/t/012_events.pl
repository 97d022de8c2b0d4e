# Events (SPEC section 6) reach a listener after commit. With the library preloaded, the
# database's worker sends them in batches (the sender's PID is the worker's), so a committing
# transaction never takes PostgreSQL's notify lock; they arrive within 100 ms (median). A
# transaction with more events than its share of the ring, a session with jobkeeper.notify =
# direct, and a database without a worker (here: a server without the library preloaded) send
# their own at commit. Nothing arrives for work that rolled back.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(gettimeofday tv_interval);

my $node = PostgreSQL::Test::Cluster->new('events');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'jobkeeper'
jobkeeper.cleanup_interval = '1h'
});
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql('app', 'CREATE EXTENSION jobkeeper');
ok($node->poll_query_until('app', 'SELECT count(*) = 1 FROM jobkeeper.worker_status WHERE running'),
	'the worker runs');
my $worker_pid = $node->safe_psql('app', 'SELECT pid FROM jobkeeper.worker_status');

# Polls $listener until its output has matched $count notifications of channel jobkeeper_jobs
# whose payload matches $pattern, or $limit seconds pass; returns the (payload, pid) pairs seen.
sub wait_for_events
{
	my ($listener, $pattern, $count, $limit) = @_;
	my $start = [gettimeofday];
	my @seen;
	my $output = '';
	while (tv_interval($start) < $limit)
	{
		$output .= $listener->query('SELECT 1') . "\n";
		@seen = ($output =~ /Asynchronous notification "jobkeeper_jobs" with payload "(\{[^\n]*\})" received from server process with PID (\d+)/g);
		last if scalar(grep { /$pattern/ } @seen) >= $count;
	}
	my @pairs;
	while (my ($payload, $pid) = splice(@seen, 0, 2)) { push @pairs, [ $payload, $pid ]; }
	return @pairs;
}

my $listener = $node->background_psql('app');
$listener->query_safe('LISTEN jobkeeper_jobs');

# 1. One event per transaction, sent by the worker; latency from the app's commit.
my @latencies;
my $by_worker = 0;
for my $i (1 .. 10)
{
	my $id = sprintf('00000000-0000-0000-0000-%012d', $i);
	$node->safe_psql('app', "INSERT INTO jobkeeper.jobs (id, file_name, file_path) VALUES ('$id', 'f$i', '/f')");
	my $committed = [gettimeofday];
	my @events = wait_for_events($listener, qr/$id/, 1, 10);
	my ($event) = grep { $_->[0] =~ /$id/ } @events;
	push @latencies, $event ? tv_interval($committed) : 99;
	$by_worker++ if $event && $event->[1] == $worker_pid;
}
my @sorted = sort { $a <=> $b } @latencies;
my $median = $sorted[4];
is($by_worker, 10, 'the worker sent each of 10 events, not the committing backend');
cmp_ok($median, '<', 0.1, sprintf('events arrive within 100 ms of the commit (median %.1f ms, max %.1f ms)',
	$median * 1000, $sorted[-1] * 1000));

# 2. Nothing for a rolled-back transaction; the marker after it arrives.
$node->safe_psql('app', q{
	BEGIN;
	INSERT INTO jobkeeper.jobs (id, file_name, file_path) VALUES ('00000000-0000-0000-0000-0000000000aa', 'gone', '/g');
	ROLLBACK;
	INSERT INTO jobkeeper.jobs (id, file_name, file_path) VALUES ('00000000-0000-0000-0000-0000000000bb', 'marker', '/m');
});
my @events = wait_for_events($listener, qr/0000000000bb/, 1, 10);
ok((grep { $_->[0] =~ /0000000000bb/ } @events) && !(grep { $_->[0] =~ /0000000000aa/ } @events),
	'a rolled-back insert announces nothing; the next commit is announced');

# 3. A bulk transaction sends its own 1,000 events at commit.
my $app_pid = $node->safe_psql('app', q{
	INSERT INTO jobkeeper.jobs (file_name, file_path, queue)
	SELECT 'bulk' || i, '/b', 'bulk' FROM generate_series(1, 1000) i;
	SELECT pg_backend_pid();
});
@events = wait_for_events($listener, qr/"queue": "bulk"/, 1000, 30);
my @bulk = grep { $_->[0] =~ /"queue": "bulk"/ } @events;
is(scalar(@bulk), 1000, '1,000 events of one transaction arrive');
is(scalar(grep { $_->[1] == $app_pid } @bulk), 1000, 'the bulk transaction sent them itself');

# 4. jobkeeper.notify = direct: the transaction sends its own.
$app_pid = $node->safe_psql('app', q{
	SET jobkeeper.notify = direct;
	INSERT INTO jobkeeper.jobs (id, file_name, file_path) VALUES ('00000000-0000-0000-0000-0000000000cc', 'direct', '/d');
	SELECT pg_backend_pid();
});
@events = grep { $_->[0] =~ /0000000000cc/ } wait_for_events($listener, qr/0000000000cc/, 1, 10);
ok(@events == 1 && $events[0][1] == $app_pid, 'with jobkeeper.notify = direct the committing backend sends it');

# 5. Events still come from the worker after all that, and while it runs a cleanup pass.
$node->safe_psql('app', q{
	SET jobkeeper.notify = off;
	INSERT INTO jobkeeper.jobs (file_name, file_path, status, finished_at)
	SELECT 'old' || i, '/old', 'completed', now() - interval '2 days' FROM generate_series(1, 100000) i;
});
$node->append_conf('postgresql.conf', "jobkeeper.cleanup_interval = '1s'\njobkeeper.cleanup_batch_size = 100\n");
$node->reload;
ok($node->poll_query_until('app', q{SELECT activity = 'cleanup' OR rows_deleted > 0 FROM jobkeeper.worker_status}),
	'a cleanup pass starts');
$node->safe_psql('app', "INSERT INTO jobkeeper.jobs (id, file_name, file_path) VALUES ('00000000-0000-0000-0000-0000000000dd', 'during', '/d')");
@events = grep { $_->[0] =~ /0000000000dd/ } wait_for_events($listener, qr/0000000000dd/, 1, 10);
my $activity = $node->safe_psql('app', 'SELECT activity FROM jobkeeper.worker_status');
ok(@events == 1 && $events[0][1] == $worker_pid && $activity eq 'cleanup',
	"an event committed during a cleanup pass is sent by the worker between two batches (activity: $activity)");
$listener->quit;

# 6. Without the library preloaded there is no worker: each transaction sends its own events at
# commit, as NOTIFY does, and they arrive all the same.
my $plain = PostgreSQL::Test::Cluster->new('plain');
$plain->init;
$plain->start;
$plain->safe_psql('postgres', 'CREATE EXTENSION jobkeeper');
my $plain_listener = $plain->background_psql('postgres');
$plain_listener->query_safe('LISTEN jobkeeper_jobs');
$app_pid = $plain->safe_psql('postgres', q{
	INSERT INTO jobkeeper.jobs (id, file_name, file_path) VALUES ('00000000-0000-0000-0000-0000000000ee', 'plain', '/p');
	SELECT pg_backend_pid();
});
@events = grep { $_->[0] =~ /0000000000ee/ } wait_for_events($plain_listener, qr/0000000000ee/, 1, 10);
ok(@events == 1 && $events[0][1] == $app_pid, 'without preload the committing backend sends its event');
$plain_listener->quit;
$plain->stop;

$node->stop;
done_testing();
