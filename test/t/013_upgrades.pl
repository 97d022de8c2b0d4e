# The release harness (SPEC section 9). For every released version (src/sql/released/), and
# for the version in development when default_version is not released yet: a fresh install;
# every update path from it to the newest, with rows in every state, must end
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
# default_version is the newest release, or the version in development after it.
my $developing = $released[-1] ne $newest;
my @versions = $developing ? (@released, $newest) : @released;
ok(!$developing || version_after($newest, $released[-1]),
	$developing ? "$newest is in development, after release $released[-1]"
	  : "the newest released version is the control file's default_version");

sub version_after
{
	my ($a_major, $a_minor) = split /\./, $_[0];
	my ($b_major, $b_minor) = split /\./, $_[1];
	return $a_major > $b_major || ($a_major == $b_major && $a_minor > $b_minor);
}

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
# Only the columns of $columns_db (the database's own by default): an update adds columns, and
# the rows of the older version's columns must survive it.
my @tables = qw(cleanup_runs deleted_file_batches export_jobs jobs);
sub rows
{
	my ($db, $columns_db) = @_;
	$columns_db //= $db;
	return join "\n", map {
		my $columns = $node->safe_psql($columns_db, qq{
			SELECT string_agg('t.' || quote_ident(attname), ', ' ORDER BY attnum)
			  FROM pg_attribute WHERE attrelid = 'jobkeeper.$_'::regclass
			   AND attnum > 0 AND NOT attisdropped});
		"-- $_\n" . $node->safe_psql($db, "SELECT ROW($columns)::text FROM jobkeeper.$_ t ORDER BY 1")
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

my %fresh;    # fingerprint of a fresh install of each version
for my $version (@versions)
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
	sequence statistics event-trigger member config-dump))
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
	my $columns_db = fresh_database($from, 0);    # the columns whose rows must survive
	my $before = rows($db);
	my $path = $node->safe_psql($db, qq{
		SELECT path FROM pg_extension_update_paths('jobkeeper')
		 WHERE source = '$from' AND target = '$newest'});
	ok($path ne '', "$from: an update path to $newest exists ($path)");
	for my $step (grep { $_ ne $from } split /--/, $path)
	{
		$node->safe_psql($db, "ALTER EXTENSION jobkeeper UPDATE TO '$step'");
		is(rows($db, $columns_db), $before, "$from: rows survive the update to $step");
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
		is(rows($db, $columns_db), $before, "$from: rows survive the downgrade to $step");
		is(difference(fingerprint($db), $fresh{$step}), '', "downgraded to $step equals a fresh $step");
	}
}
note('only ' . join(', ', @released) . ' released: no update path to test yet') unless @paths;

# A dump taken at each version restores at that version (rows, fingerprint, history) and then
# updates to the newest. pg_dump records no extension version, so a plain pg_restore installs
# the newest (the default) and loads the older rows into it; to restore at the dump's own
# version, create the extension at it first and leave the dump's CREATE EXTENSION out.
sub restore
{
	my ($version, $dump, $list) = @_;
	my $dst = 'restored' . ++$db_count;
	$node->safe_psql('postgres', "CREATE DATABASE $dst");
	$node->safe_psql($dst, "CREATE EXTENSION jobkeeper VERSION '$version'") if $list;
	# As a user runs it: the TAP harness sets PGAPPNAME, which would hide pg_restore's name.
	local $ENV{PGAPPNAME};
	delete $ENV{PGAPPNAME};
	command_ok([ 'pg_restore', '--exit-on-error', ($list ? ('-L', $list) : ()),
			'-d', $node->connstr($dst), $dump ],
		"$version: pg_restore" . ($list ? ' at its version' : ''));
	return $dst;
}

sub history
{
	return $node->safe_psql($_[0], q{
		SELECT string_agg(version || ' ' || action, ', ' ORDER BY at) FROM jobkeeper.schema_history});
}

for my $version (@versions)
{
	my $src = fresh_database($version, 1);
	my $dump = $node->basedir . "/jobkeeper-$version.dump";
	command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr($src), '-f', $dump ], "$version: pg_dump");
	my $dst = restore($version, $dump);
	is(rows($dst, $src), rows($src), "$version: every row restored");
	is(difference(fingerprint($dst), $newest_fp), '', "$version: the restored schema equals a fresh $newest");
	is(history($dst), "$version install, $newest install",
		"$version: the history survives, the restore recorded as an install");
	is($node->safe_psql($dst, q{
		SELECT application FROM jobkeeper.schema_history ORDER BY at DESC LIMIT 1}),
		'pg_restore', "$version: the restore's install names pg_restore");
	next if $version eq $newest;

	# At the dump's own version: the extension made first, the dump's left out of the list.
	my $list = $node->basedir . "/jobkeeper-$version.list";
	my ($toc) = run_command([ 'pg_restore', '-l', $dump ]);
	open(my $fh, '>', $list) or die "$list: $!";
	print $fh grep { !/ EXTENSION - jobkeeper$| COMMENT - EXTENSION jobkeeper$/ } split /^/, $toc;
	close $fh;
	$dst = restore($version, $dump, $list);
	is(rows($dst), rows($src), "$version: every row restored at $version");
	is(difference(fingerprint($dst), $fresh{$version}), '', "$version: restored at $version equals a fresh $version");
	is(history($dst), "$version install, $version install", "$version: the history survives the restore at $version");
	$node->safe_psql($dst, "ALTER EXTENSION jobkeeper UPDATE TO '$newest'");
	is(difference(fingerprint($dst), $newest_fp), '', "$version: restored, then updated, equals a fresh $newest");
	is(rows($dst, $src), rows($src), "$version: the restored rows survive the update");
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
