# The library loads preloaded and on demand, exports only its entry points, and the extension
# installs and drops cleanly on a server started with it in shared_preload_libraries.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('load');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'jobkeeper'");
$node->start;

is($node->safe_psql('postgres', 'SHOW shared_preload_libraries'), 'jobkeeper',
	'library preloaded');
$node->safe_psql('postgres', 'CREATE EXTENSION jobkeeper');
my $sql_version = $node->safe_psql('postgres',
	"SELECT extversion FROM pg_extension WHERE extname = 'jobkeeper'");
is($node->safe_psql('postgres', 'SELECT jobkeeper.version()'),
	$sql_version, 'library version matches the installed SQL version');

# Settings under the jobkeeper. prefix that the library does not define are refused.
my ($rc, $out, $err) = $node->psql('postgres', 'SET jobkeeper.no_such_setting = 1');
isnt($rc, 0, 'unknown jobkeeper.* setting is refused');
like($err, qr/invalid configuration parameter name/, 'with a clear message');

$node->safe_psql('postgres', 'DROP EXTENSION jobkeeper');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_namespace WHERE nspname = 'jobkeeper'"),
	'0', 'DROP EXTENSION removes the schema');

# The server keeps running and the library still loads after a restart.
$node->restart;
$node->safe_psql('postgres', 'CREATE EXTENSION jobkeeper');
ok($node->safe_psql('postgres', 'SELECT jobkeeper.version()') ne '', 'works after restart');
unlike(slurp_file($node->logfile), qr/PANIC|server process .* was terminated/,
	'no backend crashed');

# Only entry points are exported: SQL-callable functions, their info records, and the module
# hooks. Everything else is hidden by -fvisibility=hidden.
my $pkglibdir = `pg_config --pkglibdir`;
chomp $pkglibdir;
my @exported = grep { /\S/ } split /\n/, `nm -D --defined-only $pkglibdir/jobkeeper.so`;
ok(@exported > 0, 'nm lists exported symbols');
my @unexpected = grep {
	!/ T (Pg_magic_func|_PG_init|jobkeeper_\w+|pg_finfo_jobkeeper_\w+)$/
} @exported;
is_deeply(\@unexpected, [], 'no symbol beyond the entry points is exported');

$node->stop;
done_testing();
