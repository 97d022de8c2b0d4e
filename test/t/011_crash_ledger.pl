# Crashes lose nothing that a client saw commit. Eight clients run the job lifecycle (submit,
# claim, complete) and write a ledger line only after a statement returned; the worker cleans
# up meanwhile (completed jobs are deleted after 2 s, their paths recorded). Then: kill -9 of
# the postmaster, of one backend mid-claim, and of the worker mid-batch. After each restart
# every job in the ledger is there (or was deleted by retention with its path recorded), none is
# duplicated, nothing stays processing past one lease, and deleted rows and recorded paths agree
# exactly.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use POSIX ();
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('crash');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'jobkeeper'
restart_after_crash = on
jobkeeper.cleanup_interval = '1s'
jobkeeper.lease_check_interval = '1s'
jobkeeper.job_retention = '2s'
jobkeeper.cleanup_batch_size = 1000
});
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql('app', 'CREATE EXTENSION jobkeeper');
my $ledger_dir = $node->basedir . '/ledger';
$SIG{PIPE} = 'IGNORE';
mkdir $ledger_dir;

# One client: submit, claim, complete until the server goes away or $stop exists. Each line
# of its ledger is written after the statement's commit was reported.
sub client
{
	my ($round, $c, $stop) = @_;
	local $SIG{PIPE} = 'IGNORE';
	open(my $ledger, '>', "$ledger_dir/$round-$c") or die $!;
	$ledger->autoflush(1);
	# A crash makes psql (or IPC::Run writing to it) fail: that ends the client, never the test.
	eval { client_loop($round, $c, $stop, $ledger); };
	close $ledger;
	# _exit: a child must not run the test's END blocks, which stop every node.
	POSIX::_exit(0);
}

sub client_loop
{
	my ($round, $c, $stop, $ledger) = @_;
	for (my $i = 0; !-e $stop; $i++)
	{
		my $name = "$round-$c-$i";
		my ($rc, $id) = $node->psql('app',
			"SET jobkeeper.notify = off; SELECT id FROM jobkeeper.submit_job('$name', '/f/$name', jobkeeper.sha256_hex('$name'))",
			timeout => 60);
		last if $rc != 0;
		print $ledger "S $id\n";
		my $claimed;
		($rc, $claimed) = $node->psql('app',
			"SELECT id FROM jobkeeper.claim_jobs('w$c', 1, lease => '3 seconds')", timeout => 60);
		last if $rc != 0;
		next if $claimed eq '';
		print $ledger "C $claimed\n";
		($rc) = $node->psql('app', "SELECT jobkeeper.complete_job('$claimed', 'w$c')", timeout => 60);
		last if $rc != 0;
		print $ledger "D $claimed\n";
	}
}

sub start_clients
{
	my ($round) = @_;
	my $stop = "$ledger_dir/stop-$round";
	my @pids;
	for my $c (1 .. 8)
	{
		my $pid = fork();
		die "fork: $!" unless defined $pid;
		client($round, $c, $stop) if $pid == 0;
		push @pids, $pid;
	}
	return ($stop, @pids);
}

# Waits for the server to accept connections again after a crash of any kind.
sub wait_restarted
{
	for (1 .. 120)
	{
		my ($rc) = $node->psql('app', 'SELECT 1');
		return 1 if $rc == 0;
		sleep 1;
	}
	return 0;
}

# Checks the ledger of a round against the database.
sub check_round
{
	my ($round) = @_;
	my (%submitted, %done);
	for my $file (glob "$ledger_dir/$round-*")
	{
		open(my $fh, '<', $file) or die $!;
		while (<$fh>)
		{
			my ($what, $id) = split;
			$submitted{$id} = 1 if $what eq 'S';
			$done{$id}++ if $what eq 'D';
		}
	}
	cmp_ok(scalar(keys %submitted), '>', 20, "$round: the clients committed work (" . scalar(keys %submitted) . " submits)");
	my $ids = join(',', map { "'$_'" } keys %submitted);
	my $done_ids = join(',', map { "'$_'" } keys %done);
	# A job is there, or retention deleted it and recorded its id with its path.
	is($node->safe_psql('app', qq{
		SELECT count(*) FROM unnest(ARRAY[$ids]::uuid[]) s(id)
		 WHERE NOT EXISTS (SELECT FROM jobkeeper.jobs j WHERE j.id = s.id)
		   AND NOT EXISTS (SELECT FROM jobkeeper.deleted_files d WHERE d.row_id = s.id)}), '0',
		"$round: every submit a client saw commit is there");
	is($node->safe_psql('app', qq{
		SELECT count(*) FROM unnest(ARRAY[$done_ids]::uuid[]) s(id)
		 WHERE NOT EXISTS (SELECT FROM jobkeeper.jobs j WHERE j.id = s.id AND j.status = 'completed')
		   AND NOT EXISTS (SELECT FROM jobkeeper.deleted_files d WHERE d.row_id = s.id)}), '0',
		"$round: every completion a client saw commit is there");
	is(scalar(grep { $done{$_} > 1 } keys %done), 0, "$round: no job was completed twice");
	is($node->safe_psql('app', qq{
		SELECT count(*) - count(DISTINCT file_name) FROM jobkeeper.jobs WHERE file_name LIKE '$round-%'}), '0',
		"$round: no job is duplicated");
	ok($node->poll_query_until('app', q{
		SELECT count(*) = 0 FROM jobkeeper.jobs WHERE status = 'processing'}),
		"$round: nothing stays processing past one lease");
	is($node->safe_psql('app', q{
		SELECT count(*) FROM jobkeeper.deleted_files GROUP BY row_id HAVING count(*) > 1}), '',
		"$round: no path is recorded twice");
}

# 1. kill -9 of the postmaster while the clients run and the worker cleans up.
my ($stop, @pids) = start_clients('pm');
sleep 5;
kill 'KILL', $node->{_pid};
waitpid($_, 0) for @pids;
# Orphaned backends exit on their own once they notice; until then the old postmaster.pid
# blocks a start. The node object keeps the dead postmaster's pid: forget it each time.
for (1 .. 30)
{
	sleep 1;
	$node->{_pid} = undef;
	last if $node->start(fail_ok => 1);
}
ok(wait_restarted(), 'pm: the server starts again after kill -9 of the postmaster');
check_round('pm');

# 2. kill -9 of one client's backend in the middle of a claim.
($stop, @pids) = start_clients('be');
sleep 4;    # let the clients commit some work first
my $victim = '';
for (1 .. 500)
{
	$victim = $node->safe_psql('app', q{
		SELECT pid FROM pg_stat_activity
		 WHERE state = 'active' AND query LIKE '%claim_jobs%' AND pid <> pg_backend_pid() LIMIT 1});
	last if $victim ne '';
	usleep(10_000);
}
ok($victim ne '', 'be: caught a backend running claim_jobs');
kill 'KILL', $victim if $victim ne '';
# The server restarts within a second or so; the clients stop once it is back.
sleep 2;
open(my $fh, '>', $stop) or die $!;
close $fh;
waitpid($_, 0) for @pids;
ok(wait_restarted(), 'be: the server recovers');
check_round('be');

# 3. kill -9 of the worker in the middle of a cleanup batch.
$node->safe_psql('app', q{
	SET jobkeeper.notify = off;
	TRUNCATE jobkeeper.deleted_file_batches;
	INSERT INTO jobkeeper.jobs (file_name, file_path, status, finished_at)
	SELECT 'bulk' || i, '/bulk/' || i, 'completed', now() - interval '1 day' FROM generate_series(1, 100000) i;
});
ok($node->poll_query_until('app', 'SELECT count(*) > 0 FROM jobkeeper.deleted_file_batches'),
	'wk: the worker is deleting');
my $worker = $node->safe_psql('app', 'SELECT pid FROM jobkeeper.worker_status');
kill 'KILL', $worker;
ok(wait_restarted(), 'wk: the server recovers after kill -9 of the worker');
ok($node->poll_query_until('app', "SELECT count(*) = 0 FROM jobkeeper.jobs WHERE file_name LIKE 'bulk%'"),
	'wk: the new worker finishes the deletes');
is($node->safe_psql('app', q{
	SELECT count(*) || '/' || count(DISTINCT file_path) FROM jobkeeper.deleted_files WHERE file_path LIKE '/bulk/%'}),
	'100000/100000', 'wk: every deleted job\'s path is recorded exactly once');
is($node->safe_psql('app', q{
	SELECT count(*) FROM generate_series(1, 100000) i
	 WHERE NOT EXISTS (SELECT FROM jobkeeper.deleted_files d WHERE d.file_path = '/bulk/' || i)}), '0',
	'wk: and they are exactly the paths of the deleted jobs');

$node->stop;
done_testing();
