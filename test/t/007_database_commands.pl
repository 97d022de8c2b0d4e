# The worker never gets in the way of the commands that need a database to themselves: DROP
# DATABASE, ALTER DATABASE ... RENAME and ... SET TABLESPACE, CREATE DATABASE ... TEMPLATE all
# succeed without FORCE while the database has a worker, and the worker comes back where the
# database still exists. Slots belong to the launcher: databases come and go by the hundred
# and a new one still gets its worker; the cap is a setting, logged once.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $node = PostgreSQL::Test::Cluster->new('dbcommands');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'jobkeeper'
jobkeeper.lease_check_interval = '1s'
jobkeeper.max_databases = 6
max_worker_processes = 16
});
$node->start;

sub worker_running
{
	my ($db) = @_;
	return $node->poll_query_until('postgres', qq{
		SELECT count(*) = 1 FROM pg_stat_activity
		 WHERE backend_type = 'jobkeeper worker' AND datname = '$db'});
}

# Runs a command as a client would, without FORCE; returns (succeeded, seconds, stderr).
# Held up by a worker, PostgreSQL waits 5 s for other sessions and then fails the command, so
# success under 4.5 s means the worker was out of the way (typically it takes milliseconds;
# the bound leaves room for a slow machine's checkpoint during CREATE DATABASE).
sub timed
{
	my ($sql) = @_;
	my $start = time;
	my ($rc, $stdout, $stderr) = $node->psql('postgres', $sql);
	return ($rc == 0, time - $start, $stderr);
}

$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql('app', q{
	CREATE EXTENSION jobkeeper;
	SET jobkeeper.notify = off;
	INSERT INTO jobkeeper.jobs (file_name, file_path) SELECT 'f' || i, '/f' || i FROM generate_series(1, 100) i;
});
ok(worker_running('app'), 'app has a worker');

my ($ok, $secs, $err) = timed('ALTER DATABASE app RENAME TO app_renamed');
ok($ok, 'ALTER DATABASE ... RENAME succeeds while the worker runs') or diag($err);
cmp_ok($secs, '<', 4.5, "and ends before PostgreSQL's 5 s wait would ($secs s)");
ok(worker_running('app_renamed'), 'a worker serves the new name');
ok($node->poll_query_until('app_renamed',
		"SELECT datname = 'app_renamed' FROM jobkeeper.worker_status WHERE running"),
	'worker_status shows the new name');

($ok, $secs, $err) = timed('CREATE DATABASE copy TEMPLATE app_renamed');
ok($ok, 'CREATE DATABASE ... TEMPLATE of a served database succeeds') or diag($err);
cmp_ok($secs, '<', 4.5, "quickly ($secs s)");
is($node->safe_psql('copy', 'SELECT count(*) FROM jobkeeper.jobs'), '100', 'the copy has every row');
ok(worker_running('copy'), 'the copy gets a worker of its own');
ok(worker_running('app_renamed'), 'and the template gets its worker back');

my $tsdir = $node->basedir . '/ts';
mkdir $tsdir or die "mkdir $tsdir: $!";
$node->safe_psql('postgres', "CREATE TABLESPACE other_space LOCATION '$tsdir'");
($ok, $secs, $err) = timed('ALTER DATABASE app_renamed SET TABLESPACE other_space');
ok($ok, 'ALTER DATABASE ... SET TABLESPACE succeeds while the worker runs') or diag($err);
cmp_ok($secs, '<', 4.5, "quickly ($secs s)");
ok(worker_running('app_renamed'), 'the worker is back after the move');
is($node->safe_psql('app_renamed', 'SELECT count(*) FROM jobkeeper.jobs'), '100', 'no row lost by the move');

# A command that fails still releases its hold: the worker comes back.
$node->safe_psql('postgres', 'CREATE DATABASE taken');
($ok, $secs, $err) = timed('ALTER DATABASE app_renamed RENAME TO taken');
ok(!$ok, 'a rename to a taken name fails');
ok(worker_running('app_renamed'), 'and the worker is back at once');

# Someone who may not run the command does not get the worker stopped.
$node->safe_psql('postgres', 'CREATE ROLE mallory LOGIN');
my $pid = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'jobkeeper worker' AND datname = 'app_renamed'");
my ($rc, $out, $stderr) = $node->psql('postgres', 'DROP DATABASE app_renamed', extra_params => [ '-U', 'mallory' ]);
like($stderr, qr/must be owner of database/, 'a DROP by a non-owner is refused');
is($node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'jobkeeper worker' AND datname = 'app_renamed'"),
	$pid, 'and the worker was not stopped for it');

($ok, $secs, $err) = timed('DROP DATABASE app_renamed');
ok($ok, 'DROP DATABASE succeeds without FORCE while the worker runs') or diag($err);
cmp_ok($secs, '<', 4.5, "quickly ($secs s)");
($ok, $secs, $err) = timed('DROP DATABASE copy');
ok($ok, 'so does dropping the copy') or diag($err);
ok($node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'jobkeeper worker'"),
	'no worker is left');

# Databases come and go: 100 of them, half with the extension, in rounds of 10 at a time
# (more than the 6 slots of jobkeeper.max_databases). Slots are freed with their databases.
my $log_offset = -s $node->logfile;
my $script = '';
for my $round (1 .. 10)
{
	my @names = map { "churn_${round}_$_" } 1 .. 10;
	for my $i (0 .. $#names)
	{
		$script .= "CREATE DATABASE $names[$i];\n";
		$script .= "\\c $names[$i]\nCREATE EXTENSION jobkeeper;\n\\c postgres\n" if $i % 2 == 0;
	}
	$script .= "DROP DATABASE $_;\n" for @names;
}
$node->safe_psql('postgres', $script);
pass('100 databases created and dropped without FORCE');
my $log = slurp_file($node->logfile, $log_offset);
unlike($log, qr/is being accessed by other users/, 'no DROP had to wait for a worker');
$node->safe_psql('postgres', 'CREATE DATABASE last');
$node->safe_psql('last', 'CREATE EXTENSION jobkeeper');
ok(worker_running('last'), 'after 100 databases came and went, a new one gets its worker');
is($node->safe_psql('last', 'SELECT string_agg(datname, \',\') FROM jobkeeper.worker_status'), 'last',
	'worker_status lists only the served database');

# The cap: 7 databases with the extension and 6 slots. One waits, said once.
$log_offset = -s $node->logfile;
for my $i (1 .. 6)
{
	$node->safe_psql('postgres', "CREATE DATABASE capped_$i");
	$node->safe_psql("capped_$i", 'CREATE EXTENSION jobkeeper');
}
ok($node->poll_query_until('postgres',
		"SELECT count(*) = 6 FROM pg_stat_activity WHERE backend_type = 'jobkeeper worker'"),
	'as many workers as jobkeeper.max_databases');
ok($node->wait_for_log(qr/jobkeeper serves at most 6 databases \(jobkeeper.max_databases\)/, $log_offset),
	'the cap is logged');
sleep 12;    # a launcher round or two more
my $cap_lines = () = slurp_file($node->logfile, $log_offset) =~ /jobkeeper serves at most/g;
is($cap_lines, 1, 'once');
$node->safe_psql('postgres', 'DROP DATABASE last');
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 6 FROM pg_stat_activity
	 WHERE backend_type = 'jobkeeper worker' AND datname LIKE 'capped_%'}),
	'a dropped database frees its slot for the one that waited');

# jobkeeper.databases names databases exactly as written, quoted ones too.
$node->safe_psql('postgres', 'CREATE DATABASE "MyApp"');
$node->safe_psql('postgres', 'CREATE DATABASE "my, app"');
$node->safe_psql('MyApp', 'CREATE EXTENSION jobkeeper');
$node->safe_psql('my, app', 'CREATE EXTENSION jobkeeper');
$node->append_conf('postgresql.conf', qq{jobkeeper.databases = 'MyApp, "my, app"'\n});
$node->reload;
ok($node->poll_query_until('postgres', q{
	SELECT string_agg(datname, '|' ORDER BY datname) = 'MyApp|my, app' FROM pg_stat_activity
	 WHERE backend_type = 'jobkeeper worker'}),
	'jobkeeper.databases serves "MyApp" and the quoted "my, app", and no other');

$node->stop;
done_testing();
