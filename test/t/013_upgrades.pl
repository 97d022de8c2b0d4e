# The release harness (SPEC section 9). For every released version (src/sql/released/): a
# fresh install; every update path from it to the newest, with rows in every state, must end
# with the catalog fingerprint of a fresh install of the newest (test/upgrade/fingerprint.sql)
# and every row kept; every downgrade must equal a fresh install of the older version; a dump
# taken at a version restores at that version and then updates. The harness proves it can fail:
# a database changed the way a faulty update script would change it (a comment lost, a default
# changed) is reported, with the difference named.
use strict;
use warnings;
use File::Basename qw(basename);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my @released = sort map { basename($_) =~ /^jobkeeper--([0-9.]+)\.sql$/ ? $1 : () }
	glob('src/sql/released/jobkeeper--*.sql');
my ($newest) = slurp_file('jobkeeper.control') =~ /^default_version\s*=\s*'([^']+)'/m;
ok(scalar(@released) >= 1, 'released versions: ' . join(', ', @released));
is($released[-1], $newest, 'the newest released version is the control file\'s default_version');

my $node = PostgreSQL::Test::Cluster->new('upgrades');
$node->init;
# No worker in these databases: a cleanup pass between two snapshots would change the rows.
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'jobkeeper'
jobkeeper.databases = 'postgres'
});
$node->start;

my $fingerprint_sql = slurp_file('test/upgrade/fingerprint.sql');
my $rows_sql = slurp_file('test/upgrade/rows.sql');
my $db_count = 0;

sub fingerprint { return $node->safe_psql($_[0], $fingerprint_sql); }

# A new database with jobkeeper at $version, optionally with the rows of every state.
sub fresh_database
{
	my ($version, $with_rows) = @_;
	my $db = 'db' . ++$db_count;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, "CREATE EXTENSION jobkeeper VERSION '$version'");
	$node->safe_psql($db, $rows_sql) if $with_rows;
	return $db;
}

# Every row of every table of the extension, as text, in a stable order; the history apart.
my @tables = qw(cleanup_runs deleted_file_batches export_jobs jobs);
sub rows
{
	my ($db) = @_;
	return join "\n", map {
		"-- $_\n" . $node->safe_psql($db, "SELECT t::text FROM jobkeeper.$_ t ORDER BY t::text")
	} @tables;
}

# The lines only in $got ('+') and only in $want ('-'): empty when the fingerprints are equal.
sub difference
{
	my ($got, $want) = @_;
	my %got = map { $_ => 1 } split /\n/, $got;
	my %want = map { $_ => 1 } split /\n/, $want;
	return join "\n", (map { "- $_" } grep { !$got{$_} } sort keys %want),
		(map { "+ $_" } grep { !$want{$_} } sort keys %got);
}

my %fresh;    # fingerprint of a fresh install of each released version
for my $version (@released)
{
	my $db = fresh_database($version, 0);
	$fresh{$version} = fingerprint($db);
	is(difference(fingerprint(fresh_database($version, 0)), $fresh{$version}), '',
		"$version: two fresh installs have the same fingerprint");
	is($node->safe_psql($db, q{
		SELECT installed_version || ' ' || library_version || ' ' || update_pending
		  FROM jobkeeper.version_info()}), "$version $newest " . ($version eq $newest ? 'false' : 'true'),
		"$version: version_info()");
	is($node->safe_psql($db, q{
		SELECT string_agg(version || ' ' || action || ' ' || by_role, ', ') FROM jobkeeper.schema_history}),
		"$version install " . $node->safe_psql('postgres', 'SELECT current_user'),
		"$version: schema_history records the install");
}

# The fingerprint sees what it must: every kind of fact (and no OID: the restores below compare
# databases whose OIDs all differ).
my $newest_fp = $fresh{$newest};
for my $kind (qw(schema extension relation column constraint index trigger function view
	sequence statistics member config-dump))
{
	like($newest_fp, qr/^\Q$kind\E /m, "the fingerprint covers: $kind");
}
like($newest_fp, qr/^function submit_job\(.*comment='adds a job/m, 'functions with their comments');
like($newest_fp, qr/^function claim_exports\(.*config=\{"search_path=pg_catalog, pg_temp"\}/m,
	'functions with their SET clauses');

# Update paths: from every older release to the newest, step by step, with rows in every state.
my @paths = grep { $_ ne $newest } @released;
for my $from (@paths)
{
	my $db = fresh_database($from, 1);
	my $before = rows($db);
	my $path = $node->safe_psql($db, qq{
		SELECT path FROM pg_extension_update_paths('jobkeeper')
		 WHERE source = '$from' AND target = '$newest'});
	ok($path ne '', "$from: an update path to $newest exists ($path)");
	for my $step (grep { $_ ne $from } split /--/, $path)
	{
		$node->safe_psql($db, "ALTER EXTENSION jobkeeper UPDATE TO '$step'");
		is(rows($db), $before, "$from: rows survive the update to $step");
	}
	is(difference(fingerprint($db), $newest_fp), '', "$from -> $newest equals a fresh $newest");
	# And back: each downgrade equals a fresh install of the older version.
	my $down = $node->safe_psql($db, qq{
		SELECT path FROM pg_extension_update_paths('jobkeeper')
		 WHERE source = '$newest' AND target = '$from'});
	ok($down ne '', "$newest: a downgrade path to $from exists ($down)");
	for my $step (grep { $_ ne $newest } split /--/, $down)
	{
		$node->safe_psql($db, "ALTER EXTENSION jobkeeper UPDATE TO '$step'");
		is(rows($db), $before, "$from: rows survive the downgrade to $step");
		is(difference(fingerprint($db), $fresh{$step}), '', "downgraded to $step equals a fresh $step");
	}
}
note('only ' . join(', ', @released) . ' released: no update path to test yet') unless @paths;

# A dump taken at each release restores at that release (rows, fingerprint, history) and then
# updates to the newest.
for my $version (@released)
{
	my $src = fresh_database($version, 1);
	my $dump = $node->basedir . "/jobkeeper-$version.dump";
	command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr($src), '-f', $dump ], "$version: pg_dump");
	my $dst = 'restored' . ++$db_count;
	$node->safe_psql('postgres', "CREATE DATABASE $dst");
	{
		# As a user runs it: the TAP harness sets PGAPPNAME, which would hide pg_restore's name.
		local $ENV{PGAPPNAME};
		delete $ENV{PGAPPNAME};
		command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr($dst), $dump ],
			"$version: pg_restore");
	}
	is(rows($dst), rows($src), "$version: every row restored");
	is(difference(fingerprint($dst), $fresh{$version}), '', "$version: the restored schema equals a fresh one");
	is($node->safe_psql($dst, q{
		SELECT string_agg(version || ' ' || action, ', ' ORDER BY at) FROM jobkeeper.schema_history}),
		"$version install, $version install",
		"$version: the history survives, the restore recorded as an install");
	is($node->safe_psql($dst, q{
		SELECT application FROM jobkeeper.schema_history ORDER BY at DESC LIMIT 1}),
		'pg_restore', "$version: the restore's install names pg_restore");
	if ($version ne $newest)
	{
		$node->safe_psql($dst, "ALTER EXTENSION jobkeeper UPDATE TO '$newest'");
		is(difference(fingerprint($dst), $newest_fp), '', "$version: restored, then updated, equals a fresh $newest");
	}
}

# The harness can fail. Each change below is what a faulty update script could leave behind;
# the comparison must report it, naming the object, and nothing else.
my @faults = (
	[ 'a comment lost',
	  q{COMMENT ON FUNCTION jobkeeper.cancel_job(uuid) IS NULL},
	  qr/^- function cancel_job\(job_id uuid\).*comment='[^']+.*\n\+ function cancel_job\(job_id uuid\).*comment=NULL /m ],
	[ 'a default changed',
	  q{ALTER TABLE jobkeeper.jobs ALTER COLUMN max_attempts SET DEFAULT 5},
	  qr/^- column jobs\.max_attempts .*default=3 .*\n\+ column jobs\.max_attempts .*default=5 /m ],
	[ 'a SET clause dropped',
	  q{ALTER FUNCTION jobkeeper.claim_exports(text, integer, text[], interval) RESET search_path},
	  qr/^- function claim_exports\(.*\n\+ function claim_exports\(.*config= /m ],
	[ 'an object left outside the extension',
	  q{ALTER EXTENSION jobkeeper DROP VIEW jobkeeper.duplicate_hashes},
	  qr/^- member view jobkeeper\.duplicate_hashes$/m ],
);
for my $fault (@faults)
{
	my ($name, $sql, $expected) = @$fault;
	my $db = fresh_database($newest, 0);
	$node->safe_psql($db, $sql);
	my $diff = difference(fingerprint($db), $newest_fp);
	like($diff, $expected, "self-test: $name is reported");
	my $lines = () = $diff =~ /^[-+] /mg;
	ok($lines >= 1 && $lines <= 2, "self-test: $name is the only difference ($lines lines)");
}

$node->stop;
done_testing();
