# The Java example (examples/java, JDBC with Debian's pgJDBC), compiled with javac and run
# against a cluster as the README's roles: the submitter's SHA-256 is the database's and a file
# submitted twice is one job; LISTEN wakes an idle worker; three workers do every job exactly
# once (two of them longer than their leases, kept by the heartbeat) and a file that cannot be
# processed is retried after its backoff, then failed. While that retry waits, PgBouncer in
# transaction mode is put in front of a second database: four workers with prepareThreshold=0
# do every job there exactly once and leave no session state; without it, pgJDBC's named
# server-side statements ("S_1") are lost or collide between server connections.
use strict;
use warnings;
use File::Path qw(make_path);
use IPC::Run;
use Time::HiRes qw(sleep time);    # sleep 0.2 waits 0.2 s, not 0
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $javac = '/usr/bin/javac';
my $java = '/usr/bin/java';
my $jar = '/usr/share/java/postgresql.jar';
plan skip_all => 'javac or pgJDBC (libpostgresql-jdbc-java) is not installed'
	unless -x $javac && -x $java && -r $jar;
my $pgbouncer = '/usr/sbin/pgbouncer';

my $classes = PostgreSQL::Test::Utils::tempdir();
my ($cout, $cerr) = ('', '');
ok( IPC::Run::run(
		[ $javac, '-Xlint:all', '-cp', $jar, '-d', $classes,
			'examples/java/Worker.java', 'examples/java/Submitter.java' ],
		'>', \$cout, '2>', \$cerr),
	'Worker.java and Submitter.java compile') or BAIL_OUT("javac: $cerr");
is($cerr, '', 'without a warning');

# The command that runs class $class with its arguments. The JIT stops at C1: these are short
# runs on a small machine, and the JVMs start faster.
sub java
{
	my ($class, @args) = @_;
	return [ $java, '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-cp', "$classes:$jar",
		$class, @args ];
}

# pgJDBC speaks TCP only: the cluster listens on 127.0.0.1 as well (initdb's trust there too).
my $node = PostgreSQL::Test::Cluster->new('java');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'jobkeeper'
jobkeeper.lease_check_interval = '1s'
listen_addresses = '127.0.0.1'
});
$node->start;
my $grants = q{
	CREATE EXTENSION jobkeeper;
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
};
$node->safe_psql('postgres', 'CREATE ROLE app LOGIN; CREATE ROLE worker LOGIN;');
$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql('postgres', 'CREATE DATABASE pooled');
$node->safe_psql($_, $grants) for 'app', 'pooled';
ok($node->poll_query_until('app', 'SELECT count(*) = 2 FROM jobkeeper.worker_status WHERE running'),
	'the workers that send the events run');
sub url { return 'jdbc:postgresql://127.0.0.1:' . $node->port . "/app?user=$_[0]"; }

# 14 files: 10 distinct (two of them long: their work outlasts the 2 s lease, and only the
# heartbeat keeps it), 2 copies of earlier ones under other names, 2 that cannot be processed.
my $dir = $node->basedir . '/files';
make_path($dir);
my @files;
for my $i (1 .. 14)
{
	my $content = $i <= 10 ? "audio $i\n" x $i : $i <= 12 ? ("audio " . ($i - 10) . "\n") x ($i - 10) : "BROKEN $i";
	$content .= "LONG\n" if $i == 3 || $i == 8;
	my $path = "$dir/f$i.mp3";
	open(my $fh, '>', $path) or die $!;
	print $fh $content;
	close $fh;
	push @files, $path;
}
open(my $fh, '>', "$dir/wake.mp3") or die $!;
print $fh "wake\n";
close $fh;

# The workers, before there is any work: three on queue audio, leases of 2 s, idle for 18 s
# before they exit (longer than the 15 s backoff of the first retry); and one on queue wake
# that polls only every 10 s.
my @workers;
for my $name ('j1', 'j2', 'j3', 'wake')
{
	my @options = $name eq 'wake'
	  ? ('--queue', 'wake', '--poll', '10', '--idle-exit', '3')
	  : ('--queue', 'audio', '--lease', '2', '--poll', '1', '--idle-exit', '18');
	my %h = (name => $name, out => '', err => '');
	$h{run} = IPC::Run::start(java('Worker', '--dsn', url('worker'), '--worker', $name, @options),
		'>', \$h{out}, '2>', \$h{err});
	push @workers, \%h;
}
ok($node->poll_query_until('app', q{
	SELECT count(*) = 4 FROM pg_stat_activity WHERE query = 'LISTEN jobkeeper_jobs'}),
	'the four workers listen');

my ($out1, $out2, $err) = ('', '', '');
IPC::Run::run(java('Submitter', '--dsn', url('app'), '--queue', 'audio', '--max-attempts', '2',
		@files), '>', \$out1, '2>', \$err)
	or die "submitter: $err";
my @submitted = split(/\n/, $out1);
is(scalar(@submitted), 14, 'every file submitted');
is(scalar(grep { / dedup$/ } @submitted), 2, 'the two copies were deduplicated by their hash');
is($node->safe_psql('app', q{SELECT count(*) FROM jobkeeper.jobs WHERE queue = 'audio'}), '12',
	'one job per distinct file');
is($node->safe_psql('app', q{
	SELECT count(*) FROM jobkeeper.jobs j
	 WHERE j.file_hash = encode(sha256(pg_read_binary_file(j.file_path)), 'hex')}), '12',
	'Java\'s SHA-256 is the database\'s');
is($node->safe_psql('app', q{SELECT sum(submit_count) FROM jobkeeper.jobs WHERE queue = 'audio'}), '14',
	'each copy counted on the job it found');

IPC::Run::run(java('Submitter', '--dsn', url('app'), '--queue', 'wake', "$dir/wake.mp3"),
	'>', \$out2, '2>', \$err)
	or die "submitter: $err";
like($out2, qr/^submitted \S+ pending new$/, 'the wake file is a new job');
ok($node->poll_query_until('app', q{
	SELECT count(*) = 1 FROM jobkeeper.jobs WHERE queue = 'wake' AND status = 'completed'
	   AND finished_at < created_at + interval '4 seconds'}),
	'LISTEN wakes an idle worker at once (it polls every 10 s)')
  or diag($node->safe_psql('app', q{SELECT status, created_at, finished_at FROM jobkeeper.jobs WHERE queue = 'wake'}));

# The first attempts: the good files done, the broken ones failed once and waiting for their
# backoff of retry_delay(1) = 15 s.
ok($node->poll_query_until('app', q{
	SELECT count(*) FILTER (WHERE status = 'completed') = 10
	   AND count(*) FILTER (WHERE status = 'pending' AND attempts = 1
	                          AND run_after >= (errors->0->>'at')::timestamptz + interval '15 seconds') = 2
	  FROM jobkeeper.jobs WHERE queue = 'audio'}),
	'the good files are done, the broken ones wait for their retry')
  or diag($node->safe_psql('app', q{SELECT status, attempts, run_after, errors FROM jobkeeper.jobs WHERE queue = 'audio'}));

# PgBouncer, while the retry waits: transaction pooling in front of database pooled, 2 server
# connections for 4 workers, handed out round robin so that a client's consecutive
# transactions land on different ones. pgJDBC sends extra_float_digits at startup, which
# PgBouncer refuses unless told to ignore it.
SKIP:
{
	skip 'pgbouncer is not installed', 10 unless -x $pgbouncer;
	$node->safe_psql('pooled', q{
		SET jobkeeper.notify = off;
		SELECT count(jobkeeper.submit_job('p' || g, '/dev/null', queue => 'pooled'))
		  FROM generate_series(1, 3000) g;
		SELECT count(jobkeeper.submit_job('n' || g, '/dev/null', queue => 'named'))
		  FROM generate_series(1, 1000) g;
	});
	my $bdir = $node->basedir . '/pgbouncer';
	mkdir $bdir;
	my $port = PostgreSQL::Test::Cluster::get_free_port();
	open($fh, '>', "$bdir/users.txt") or die $!;
	print $fh qq{"worker" ""\n};
	close $fh;
	open($fh, '>', "$bdir/pgbouncer.ini") or die $!;
	print $fh "[databases]\npooled = host=" . $node->host . ' port=' . $node->port . " dbname=pooled\n" . qq{
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $bdir/users.txt
pool_mode = transaction
default_pool_size = 2
server_round_robin = 1
max_client_conn = 100
ignore_startup_parameters = extra_float_digits
logfile = $bdir/pgbouncer.log
pidfile = $bdir/pgbouncer.pid
};
	close $fh;
	my ($bout, $berr) = ('', '');
	my $bouncer = IPC::Run::start([ $pgbouncer, "$bdir/pgbouncer.ini" ], '>', \$bout, '2>', \$berr);
	# A statement through PgBouncer, by psql (simple protocol: it prepares nothing).
	my $through = sub {
		my ($o, $e) = ('', '');
		IPC::Run::run([ 'psql', '-XAtq', '-h', '127.0.0.1', '-p', $port, '-U', 'worker',
				'-d', 'pooled', '-c', $_[0] ], '>', \$o, '2>', \$e);
		chomp $o;
		return $o || $e;
	};
	my $up = 0;
	for (1 .. 50)
	{
		last if ($up = $through->('SELECT 1') eq '1');
		sleep 0.2;
	}
	ok($up, 'PgBouncer accepts connections');
	my $burl = "jdbc:postgresql://127.0.0.1:$port/pooled?user=worker";

	# Four workers polling (no LISTEN through a transaction pooler): two given
	# prepareThreshold=0 (no named statements) and assumeMinServerVersion=9.0 (no SET after
	# connecting) in the URL, two by --pooler, which adds both.
	my $start = time;
	my @pooled;
	for my $i (1 .. 4)
	{
		my %h = (out => '', err => '');
		my @how = $i <= 2
		  ? ('--dsn', "$burl&prepareThreshold=0&assumeMinServerVersion=9.0")
		  : ('--dsn', $burl, '--pooler');
		$h{run} = IPC::Run::start(java('Worker', @how, '--worker', "pooled$i", '--queue', 'pooled',
				'--no-listen', '--batch', '10', '--poll', '0.5', '--idle-exit', '2'),
			'>', \$h{out}, '2>', \$h{err});
		push @pooled, \%h;
	}
	$_->{run}->finish for @pooled;
	note(sprintf('3,000 jobs through PgBouncer in %.1f s', time - $start));
	is(join('', map { $_->{err} } @pooled), '',
		'the workers report no error (no prepared statement lost)');
	my %done;
	for my $w (@pooled) { $done{$_}++ for $w->{out} =~ /^done (\S+)$/mg; }
	is(scalar(keys %done), 3000, '3,000 jobs done through PgBouncer');
	is(scalar(grep { $_ != 1 } values %done), 0, 'each exactly once');
	is($node->safe_psql('pooled', q{SELECT string_agg(status || ' ' || n || ' ' || max_attempts, ',') FROM
		(SELECT status, count(*) AS n, max(attempts) AS max_attempts FROM jobkeeper.jobs
		  WHERE queue = 'pooled' GROUP BY status) s}), 'completed 3000 1',
		'every job completed, each claimed once');
	is(scalar(grep { $_->{out} =~ /^done /m } @pooled), 4, 'the workers shared the work');

	# No session state on either server connection (round robin: consecutive statements
	# reach both).
	my $state_sql = q{SELECT (SELECT count(*) FROM pg_prepared_statements) || ' ' ||
		  (SELECT count(*) FROM pg_listening_channels()) || ' ' ||
		  (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory') || ' ' ||
		  current_setting('search_path') || ' ' || current_setting('extra_float_digits') || ' ' ||
		  (SELECT count(*) FROM pg_class WHERE relpersistence = 't')};
	$state_sql =~ s/\s+/ /g;
	my %states;
	$states{ $through->($state_sql) }++ for 1 .. 4;
	is(join(';', sort keys %states), '0 0 0 "$user", public 1 0',
		'no prepared statement, LISTEN, advisory lock, changed setting or temporary table left');
	is($node->safe_psql('pooled', q{
		SELECT count(*) FROM pg_stat_activity
		 WHERE datname = 'pooled' AND usename = 'worker' AND state <> 'idle'}), '0',
		'no server connection left in a transaction');

	# Without prepareThreshold=0, pgJDBC prepares a statement by name after its fifth
	# execution and from then on only binds it: on another server connection it does not
	# exist, or another client's statement of that name does (and may even run in its place:
	# "bind message supplies 3 parameters, but prepared statement "S_7" requires 2").
	my @named;
	for my $i (1 .. 4)
	{
		my %h = (out => '', err => '');
		$h{run} = IPC::Run::start(java('Worker', '--dsn', $burl, '--worker', "named$i", '--queue', 'named',
				'--no-listen', '--batch', '10', '--poll', '0.5', '--idle-exit', '2'),
			'>', \$h{out}, '2>', \$h{err});
		push @named, \%h;
	}
	$_->{run}->finish for @named;
	my $seen = join('', map { $_->{err} } @named) . $node->safe_psql('pooled', q{
		SELECT string_agg(e->>'error', E'\n') FROM jobkeeper.jobs, jsonb_array_elements(errors) e
		 WHERE queue = 'named'});
	like($seen, qr/prepared statement "S_\d+"/,
		'without prepareThreshold=0, named prepared statements break through PgBouncer');
	# And without assumeMinServerVersion=9.0 pgJDBC runs SET extra_float_digits = 3 after
	# connecting, which stays on the server connection it reached.
	%states = ();
	$states{ $through->('SHOW extra_float_digits') }++ for 1 .. 4;
	ok(exists $states{3}, 'without assumeMinServerVersion, a SET stays on a server connection')
	  or diag(join(';', sort keys %states));
	$bouncer->kill_kill;
}

# The retry: the broken files are claimed again once their backoff is over, and fail for good.
$_->{run}->finish for @workers;
is(join('', map { $_->{err} } @workers), '', 'the workers report no error of their own');
my %done;
my @failed;
for my $w (@workers)
{
	$done{$_}++ for $w->{out} =~ /^done (\S+)$/mg;
	push @failed, $w->{out} =~ /^failed (\S+) \d+$/mg;
}
is(scalar(keys %done), 11, 'the 10 good files and the wake file were done');
is(scalar(grep { $_ != 1 } values %done), 0,
	'each exactly once: the long ones kept their 2 s leases for 4 s of work by heartbeats');
is($node->safe_psql('app', q{SELECT max(attempts) FROM jobkeeper.jobs WHERE status = 'completed'}),
	'1', 'no lease expired: every completed job was claimed once');
is($node->safe_psql('app', q{
	SELECT string_agg(status || ' ' || n || ' ' || progress, ',' ORDER BY status) FROM
	  (SELECT status, count(*) AS n, min(progress) AS progress FROM jobkeeper.jobs GROUP BY status) s}),
	'completed 11 100,failed 2 0', 'the rest are failed');
is(scalar(@failed), 4, 'the two broken files failed twice each: retried once after the backoff');
is($node->safe_psql('app', q{
	SELECT string_agg(attempts || ' ' || jsonb_array_length(errors) || ' ' || (error_message LIKE 'cannot decode f1_.mp3: not an audio file'), ',')
	  FROM jobkeeper.jobs WHERE status = 'failed'}),
	'2 2 true,2 2 true', 'each failed job has its attempts and its errors');

$node->stop;
done_testing();
