# PgBouncer in transaction pooling mode in front of the cluster: 8 workers of the examples (3
# psycopg 3 with prepare_threshold=None, 3 asyncpg with statement_cache_size=0, both --pooler,
# and 2 of Node's pg, whose unnamed statements need nothing; polling, since LISTEN needs a
# session) share 4 server connections and do
# 10,000 jobs exactly once; afterwards no server connection holds any session state (prepared
# statements, LISTEN, advisory locks, settings, temporary tables, an open transaction).
use strict;
use warnings;
use IPC::Run;
use Time::HiRes qw(sleep);    # sleep 0.2 waits 0.2 s, not 0
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $python = '/usr/bin/python3';
my $pgbouncer = '/usr/sbin/pgbouncer';
plan skip_all => 'pgbouncer, psycopg or asyncpg is not installed'
	unless -x $pgbouncer && system($python, '-c', 'import psycopg, asyncpg') == 0;

my $npm_dir = PostgreSQL::Test::Utils::tempdir();
my ($npm_out, $npm_err) = ('', '');
IPC::Run::run([ 'npm', 'install', '--no-audit', '--no-fund', '--prefix', $npm_dir, 'pg@8' ],
	'>', \$npm_out, '2>', \$npm_err)
	or BAIL_OUT("npm install pg: $npm_err");
$ENV{NODE_PATH} = "$npm_dir/node_modules";

my $node = PostgreSQL::Test::Cluster->new('pooled');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'jobkeeper'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql('app', q{
	CREATE EXTENSION jobkeeper;
	CREATE ROLE worker LOGIN;
	GRANT USAGE ON SCHEMA jobkeeper TO worker;
	GRANT EXECUTE ON FUNCTION
	  jobkeeper.claim_jobs(text, integer, text[], interval),
	  jobkeeper.heartbeat(uuid, text, interval),
	  jobkeeper.set_job_progress(uuid, integer),
	  jobkeeper.complete_job(uuid, text), jobkeeper.fail_job(uuid, text, text, boolean)
	  TO worker;
});
my $file = $node->basedir . '/audio.mp3';
open(my $fh, '>', $file) or die $!;
print $fh "audio\n";
close $fh;
$node->safe_psql('app', qq{
	SET jobkeeper.notify = off;
	SELECT count(jobkeeper.submit_job('f' || g, '$file')) FROM generate_series(1, 10000) g;
});

# PgBouncer on localhost, transaction pooling, 4 server connections for 8 workers.
my $dir = $node->basedir . '/pgbouncer';
mkdir $dir;
my $port = PostgreSQL::Test::Cluster::get_free_port();
open($fh, '>', "$dir/users.txt") or die $!;
print $fh qq{"worker" ""\n"postgres" ""\n};
close $fh;
# PgBouncer 1.21 and later can track protocol-level prepared statements (and 1.24 does by
# default): off, so that this PgBouncer behaves as the README's notes assume (Debian 12 has 1.18).
my ($major, $minor) = `$pgbouncer --version` =~ /PgBouncer (\d+)\.(\d+)/;
my $track_prepared =
  ($major // 0) > 1 || (($major // 0) == 1 && $minor >= 21) ? 'max_prepared_statements = 0' : '';
open($fh, '>', "$dir/pgbouncer.ini") or die $!;
print $fh "[databases]\napp = host=" . $node->host . ' port=' . $node->port . " dbname=app\n" . qq{
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/users.txt
pool_mode = transaction
default_pool_size = 4
server_round_robin = 1
max_client_conn = 100
$track_prepared
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
};
close $fh;
my ($bout, $berr) = ('', '');
my $bouncer = IPC::Run::start([ $pgbouncer, "$dir/pgbouncer.ini" ], '>', \$bout, '2>', \$berr);
my $dsn = "postgresql://worker\@127.0.0.1:$port/app";
my $up = 0;
for (1 .. 50)
{
	last if ($up = system($python, '-c', "import psycopg; psycopg.connect('$dsn').close()") == 0);
	sleep 0.2;
}
ok($up, 'PgBouncer accepts connections');

my @workers;
for my $i (1 .. 8)
{
	my $kind = $i <= 3 ? 'psycopg' : $i <= 6 ? 'asyncpg' : 'node';
	my @options = ('--no-listen', '--batch', '10', '--poll', '0.5', '--idle-exit', '3');
	my %h = (out => '', err => '');
	$h{run} = IPC::Run::start($kind eq 'node'
		  ? [ 'node', 'examples/node/worker.js', $dsn, "$kind$i", @options ]
		  : [ $python, "examples/python/${kind}_worker.py", '--dsn', $dsn, '--worker', "$kind$i",
			  '--pooler', @options ],
		'>', \$h{out}, '2>', \$h{err});
	push @workers, \%h;
}
$_->{run}->finish for @workers;
is(join('', map { $_->{err} } @workers), '', 'the workers report no error (no prepared statement lost)');
my %done;
for my $w (@workers) { $done{$_}++ for $w->{out} =~ /^done (\S+)$/mg; }
is(scalar(keys %done), 10000, '10,000 jobs done through PgBouncer');
is(scalar(grep { $_ != 1 } values %done), 0, 'each exactly once');
is($node->safe_psql('app', q{SELECT string_agg(status || ' ' || n, ',') FROM
	(SELECT status, count(*) AS n FROM jobkeeper.jobs GROUP BY status) s}), 'completed 10000',
	'every job completed');
is($node->safe_psql('app', q{SELECT max(attempts) FROM jobkeeper.jobs}), '1', 'each claimed once');
is(scalar(grep { $_->{out} =~ /^done /m } @workers) >= 2, 1, 'the workers shared the work');

# No session state on the server connections PgBouncer keeps: asked through PgBouncer, as
# often as there are server connections, and from the server's own view.
my $state_sql = q{SELECT (SELECT count(*) FROM pg_prepared_statements) || ' ' ||
	  (SELECT count(*) FROM pg_listening_channels()) || ' ' ||
	  (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory') || ' ' ||
	  current_setting('search_path') || ' ' ||
	  (SELECT count(*) FROM pg_class WHERE relpersistence = 't')};
$state_sql =~ s/\s+/ /g;
my %states;
for (1 .. 8)
{
	my ($out, $err) = ('', '');
	IPC::Run::run([ $python, '-c',
		"import psycopg; c = psycopg.connect('$dsn', prepare_threshold=None); "
		  . "print(c.execute(\"$state_sql\").fetchone()[0])" ], '>', \$out, '2>', \$err);
	chomp $out;
	$states{$out || $err}++;
}
is(join(';', sort keys %states), '0 0 0 "$user", public 0',
	'no prepared statement, LISTEN, advisory lock, changed setting or temporary table left');
is($node->safe_psql('app', q{
	SELECT count(*) FROM pg_stat_activity
	 WHERE usename = 'worker' AND state NOT IN ('idle')}), '0',
	'no server connection left in a transaction');

# Without the pooler settings: psycopg prepares a statement by name after its fifth execution
# (prepare_threshold=5), asyncpg prepares and caches every statement by name. Behind a
# transaction pooler the next execution reaches another server connection, where that name
# does not exist or is another client's statement.
$node->safe_psql('app', qq{
	SET jobkeeper.notify = off;
	SELECT count(jobkeeper.submit_job('n' || g, '$file', queue => 'named-' || k))
	  FROM generate_series(1, 200) g, unnest(ARRAY['psycopg', 'asyncpg']) k;
});
my %named;
my $hung = 0;
for my $i (1 .. 4)
{
	my $kind = $i <= 2 ? 'psycopg' : 'asyncpg';
	my %h = (kind => $kind, out => '', err => '');
	$h{run} = IPC::Run::start([ $python, "examples/python/${kind}_worker.py", '--dsn', $dsn,
			'--worker', "named$i", '--queue', "named-$kind", '--no-listen', '--batch', '10',
			'--poll', '0.5', '--idle-exit', '2' ],
		'>', \$h{out}, '2>', \$h{err}, IPC::Run::timeout(90));
	push @{ $named{$kind} }, \%h;
}
for my $kind ('psycopg', 'asyncpg')
{
	for my $h (@{ $named{$kind} })
	{
		next if eval { $h->{run}->finish; 1 };
		$h->{run}->kill_kill;
		$hung++;
		diag("a $kind worker without the pooler setting did not end: $@\n$h->{err}");
	}
	$named{$kind} = join('', map { $_->{err} } @{ $named{$kind} }) . $node->safe_psql('app', qq{
		SELECT string_agg(e->>'error', E'\n') FROM jobkeeper.jobs, jsonb_array_elements(errors) e
		 WHERE queue = 'named-$kind'});
}
is($hung, 0, 'the workers without the settings end, on their error or when idle (none hangs)');
like($named{psycopg}, qr/prepared statement "_pg3_\d+"/,
	'without prepare_threshold=None, psycopg\'s prepared statements break through PgBouncer');
like($named{asyncpg}, qr/prepared statement "__asyncpg_stmt_\w+"/,
	'without statement_cache_size=0, asyncpg\'s prepared statements break through PgBouncer');
$bouncer->kill_kill;
$node->stop;
done_testing();
