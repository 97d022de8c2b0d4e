# The client examples (examples/python, examples/node): submitters that hash with the
# language's own SHA-256 and rely on dedup, and workers that LISTEN (polling as the fallback),
# claim, heartbeat, report progress and complete or fail, in psycopg 3, asyncpg and Node's
# pg (installed from npm), run against a cluster as the README's roles. Every job is done exactly once, a file submitted twice is one job, and a file
# that cannot be processed is retried with backoff and then failed.
use strict;
use warnings;
use File::Path qw(make_path);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $python = '/usr/bin/python3';
plan skip_all => 'psycopg and asyncpg are not installed'
	unless system($python, '-c', 'import psycopg, asyncpg') == 0;

# Node's pg, from the npm registry, into a directory of the test's.
my $npm_dir = PostgreSQL::Test::Utils::tempdir();
my ($npm_out, $npm_err) = ('', '');
IPC::Run::run([ 'npm', 'install', '--no-audit', '--no-fund', '--prefix', $npm_dir, 'pg@8' ],
	'>', \$npm_out, '2>', \$npm_err)
	or BAIL_OUT("npm install pg: $npm_err");
$ENV{NODE_PATH} = "$npm_dir/node_modules";

my $node = PostgreSQL::Test::Cluster->new('clients');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'jobkeeper'
jobkeeper.lease_check_interval = '1s'
});
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql('app', q{
	CREATE EXTENSION jobkeeper;
	CREATE ROLE app LOGIN;
	CREATE ROLE worker LOGIN;
	GRANT USAGE ON SCHEMA jobkeeper TO app, worker;
	GRANT SELECT ON ALL TABLES IN SCHEMA jobkeeper TO app;
	GRANT EXECUTE ON FUNCTION
	  jobkeeper.submit_job(text, text, text, text, integer, timestamptz, integer, jsonb) TO app;
	GRANT EXECUTE ON FUNCTION
	  jobkeeper.claim_jobs(text, integer, text[], interval),
	  jobkeeper.heartbeat(uuid, text, interval),
	  jobkeeper.set_job_progress(uuid, integer),
	  jobkeeper.complete_job(uuid, text), jobkeeper.fail_job(uuid, text, text, boolean)
	  TO worker;
});
ok($node->poll_query_until('app', 'SELECT count(*) = 1 FROM jobkeeper.worker_status WHERE running'),
	'the worker that sends the events runs');
# A URL: both drivers take it (asyncpg only that form).
sub dsn
{
	(my $host = $node->host) =~ s{/}{%2F}g;
	return "postgresql://$_[0]\@/app?host=$host&port=" . $node->port;
}

# 24 files: 20 distinct (two of them long: their work outlasts the lease, and only the
# heartbeat keeps it), 2 copies of earlier ones under other names, 2 that cannot be processed.
my $dir = $node->basedir . '/files';
make_path($dir);
my @files;
for my $i (1 .. 24)
{
	my $content = $i <= 20 ? "audio $i\n" x $i : $i <= 22 ? ("audio " . ($i - 20) . "\n") x ($i - 20) : "BROKEN $i";
	$content .= "LONG\n" if $i == 5 || $i == 15;
	my $path = "$dir/f$i.mp3";
	open(my $fh, '>', $path) or die $!;
	print $fh $content;
	close $fh;
	push @files, $path;
}

# Submitters: psycopg, asyncpg and Node a third each (the two copies in Node's), each file once.
my ($out1, $out2, $err) = ('', '', '');
my $out3 = '';
IPC::Run::run([ $python, 'examples/python/psycopg_submitter.py', '--dsn', dsn('app'),
		'--max-attempts', '2', @files[0 .. 7] ], '>', \$out1, '2>', \$err)
	or die "psycopg submitter: $err";
IPC::Run::run([ $python, 'examples/python/asyncpg_submitter.py', '--dsn', dsn('app'),
		'--max-attempts', '2', @files[8 .. 15] ], '>', \$out2, '2>', \$err)
	or die "asyncpg submitter: $err";
IPC::Run::run([ 'node', 'examples/node/submitter.js', dsn('app'), '--max-attempts', '2',
		@files[16 .. 23] ], '>', \$out3, '2>', \$err)
	or die "node submitter: $err";
my @submitted = (split(/\n/, $out1), split(/\n/, $out2), split(/\n/, $out3));
is(scalar(@submitted), 24, 'every file submitted');
is(scalar(grep { / dedup$/ } @submitted), 2, 'the two copies were deduplicated by their hash');
is($node->safe_psql('app', 'SELECT count(*) FROM jobkeeper.jobs'), '22', 'one job per distinct file');
is($node->safe_psql('app', q{
	SELECT count(*) FROM jobkeeper.jobs j
	 WHERE j.file_hash = encode(sha256(pg_read_binary_file(j.file_path)), 'hex')}), '22',
	'the clients\' SHA-256 is the database\'s');

# LISTEN wakes an idle worker: each driver's worker polls only every 8 s, and a job submitted
# to its queue is done well before that. (Any job's event wakes both; the one not theirs finds
# nothing to claim and they wait again.)
my @wakers;
# The command that runs worker $kind with the options given.
sub worker_command
{
	my ($kind, $dsn, $name, @options) = @_;
	return $kind eq 'node'
	  ? [ 'node', 'examples/node/worker.js', $dsn, $name, @options ]
	  : [ $python, "examples/python/${kind}_worker.py", '--dsn', $dsn, '--worker', $name, @options ];
}
for my $kind ('psycopg', 'asyncpg', 'node')
{
	my %h = (out => '', err => '');
	$h{run} = IPC::Run::start(worker_command($kind, dsn('worker'), "wake-$kind", '--queue', "wake-$kind",
			'--poll', '8', '--idle-exit', '5'),
		'>', \$h{out}, '2>', \$h{err});
	push @wakers, \%h;
}
sleep 2;    # both listen and wait
my $wake_dir = $node->basedir . '/wake';
make_path($wake_dir);
for my $kind ('psycopg', 'asyncpg', 'node')
{
	open(my $fh, '>', "$wake_dir/$kind.mp3") or die $!;
	print $fh "wake $kind\n";
	close $fh;
	my ($o, $e) = ('', '');
	IPC::Run::run($kind eq 'node'
		  ? [ 'node', 'examples/node/submitter.js', dsn('app'), '--queue', "wake-$kind", "$wake_dir/$kind.mp3" ]
		  : [ $python, "examples/python/${kind}_submitter.py", '--dsn', dsn('app'),
			'--queue', "wake-$kind", "$wake_dir/$kind.mp3" ], '>', \$o, '2>', \$e)
		or die "$kind submitter: $e";
}
ok($node->poll_query_until('app', q{
	SELECT count(*) = 3 FROM jobkeeper.jobs WHERE queue LIKE 'wake-%' AND status = 'completed'
	   AND finished_at < created_at + interval '4 seconds'}),
	'LISTEN wakes an idle psycopg, asyncpg and Node worker at once')
  or diag($node->safe_psql('app', q{SELECT queue, status, created_at, finished_at, locked_by FROM jobkeeper.jobs WHERE queue LIKE 'wake-%'}));
$_->{run}->finish for @wakers;
is(join('', map { $_->{err} } @wakers), '', 'the woken workers report no error of their own');
$node->safe_psql('app', q{DELETE FROM jobkeeper.jobs WHERE queue LIKE 'wake-%'});

# Workers: two of each driver, listening, until they have been idle longer than the retry
# backoff.
my @workers;
for my $w ([ 'psycopg', 'p1' ], [ 'psycopg', 'p2' ], [ 'asyncpg', 'a1' ], [ 'asyncpg', 'a2' ],
	[ 'node', 'n1' ], [ 'node', 'n2' ])
{
	my ($kind, $name) = @$w;
	my %h = (name => $name, out => '', err => '');
	$h{run} = IPC::Run::start(worker_command($kind, dsn('worker'), $name, '--lease', '2', '--poll', '1',
			'--idle-exit', '25'),
		'>', \$h{out}, '2>', \$h{err});
	push @workers, \%h;
}
$_->{run}->finish for @workers;
is(join('', map { $_->{err} } @workers), '', 'the workers report no error of their own');
my %done;
my @failed;
for my $w (@workers)
{
	$done{$_}++ for $w->{out} =~ /^done (\S+)$/mg;
	push @failed, $w->{out} =~ /^failed (\S+) \d+$/mg;
}
is(scalar(keys %done), 20, 'the 20 good files were done');
is(scalar(grep { $_ != 1 } values %done), 0,
	'each exactly once: the long ones kept their 2 s leases for 4 s of work by heartbeats');
is($node->safe_psql('app', q{SELECT max(attempts) FROM jobkeeper.jobs WHERE status = 'completed'}),
	'1', 'no lease expired: every completed job was claimed once');
is($node->safe_psql('app', q{
	SELECT string_agg(status || ' ' || progress, ',' ORDER BY status) FROM
	  (SELECT status, min(progress) AS progress FROM jobkeeper.jobs GROUP BY status) s}),
	'completed 100,failed 0', 'the rest are failed');
is(scalar(@failed), 4, 'the two broken files failed twice each: retried once with backoff');
is($node->safe_psql('app', q{
	SELECT string_agg(attempts || ' ' || jsonb_array_length(errors) || ' ' || (error_message LIKE 'cannot decode%'), ',')
	  FROM jobkeeper.jobs WHERE status = 'failed'}),
	'2 2 true,2 2 true', 'each failed job has its attempts and its errors');

$node->stop;
done_testing();
