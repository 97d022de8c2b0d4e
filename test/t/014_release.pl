# The release's metadata agree (SPEC section 9): jobkeeper.control's default_version, META.json
# (PGXN: version, provides, the file it names), the frozen install script, the library's
# version and the SQL versions it serves, and the README.
use strict;
use warnings;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my ($version) = slurp_file('jobkeeper.control') =~ /^default_version\s*=\s*'([^']+)'/m;
like($version, qr/^\d+\.\d+$/, "default_version $version is major.minor");

# default_version is released (its install script frozen in src/sql/released/) or in
# development, until its release freezes it: META.json says which.
my $frozen = "src/sql/released/jobkeeper--$version.sql";
my $released = -f $frozen;
my $meta = decode_json(slurp_file('META.json'));
is($meta->{version}, "$version.0", 'META.json version is default_version as semver');
my $provides = $meta->{provides}{jobkeeper};
is($provides->{version}, "$version.0", 'META.json provides the same version');
is($meta->{release_status}, $released ? 'stable' : 'testing',
	$released ? "$version is released: META.json says stable" : "$version is in development: META.json says testing");
is($provides->{file}, $released ? $frozen : 'src/sql/install',
	'META.json names the install script (or, in development, its parts)');
ok(-e $provides->{file}, "$provides->{file} exists");
is($meta->{'meta-spec'}{version}, '1.0.0', 'PGXN meta-spec 1.0.0');
ok(-f $provides->{docfile}, 'the docfile exists');

# The installed script is the frozen one, byte for byte (the build refuses anything else), or
# in development the parts of src/sql/install/ in name order.
my $sharedir = `pg_config --sharedir`;
chomp $sharedir;
is(slurp_file("$sharedir/extension/jobkeeper--$version.sql"),
	$released ? slurp_file($frozen) : join('', map { slurp_file($_) } sort glob('src/sql/install/*.sql')),
	$released ? 'the installed install script is the frozen one' : 'the installed install script is the parts assembled');

# The library serves its own version last (src/core/versions.hpp).
my ($served) = slurp_file('src/core/versions.hpp') =~ /kServedSqlVersions\[\]\s*=\s*\{([^}]*)\}/;
my @served = $served =~ /"([^"]+)"/g;
is($served[-1], $version, 'the newest SQL version the library serves is default_version');

like(slurp_file('README.md'), qr/jobkeeper \Q$version\E\b/, "the README speaks of jobkeeper $version");
my ($deb_version) = slurp_file('debian/changelog') =~ /^jobkeeper \(([^)]+)\)/;
is($deb_version, "$version.0", 'the Debian package is the same version');

my $node = PostgreSQL::Test::Cluster->new('release');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'jobkeeper'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION jobkeeper');
is($node->safe_psql('postgres', q{
	SELECT library_version || ' ' || installed_version || ' ' || newest_version || ' ' ||
	       update_pending || ' ' || coalesce(update_path, '-')
	  FROM jobkeeper.version_info()}), "$version $version $version false -", 'version_info() at a fresh install');
is($node->safe_psql('postgres', q{SELECT default_version FROM pg_available_extensions WHERE name = 'jobkeeper'}),
	$version, 'the server offers default_version');
$node->stop;
done_testing();
