# pg_dump / pg_restore keep every row of every jobkeeper table unchanged, finished rows
# included (the status trigger must not rewrite restored rows), and the restored database
# works: its sequences continue and its rules still hold.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', q{
	CREATE EXTENSION jobkeeper;
	SET jobkeeper.notify = off;
	SELECT jobkeeper.submit_job('a.mp3', '/a', jobkeeper.sha256_hex('a'), metadata => '{"k": 1}');
	SELECT jobkeeper.submit_job('a copy.mp3', '/a2', jobkeeper.sha256_hex('a'));
	SELECT jobkeeper.submit_job('b.mp3', '/b');
	SELECT jobkeeper.submit_job('c.mp3', '/c');
	SELECT count(*) FROM jobkeeper.claim_jobs('w', 3);
	SELECT jobkeeper.set_job_progress(id, 40) FROM jobkeeper.jobs WHERE file_name = 'b.mp3';
	SELECT jobkeeper.complete_job(id) FROM jobkeeper.jobs WHERE file_name = 'a.mp3';
	SELECT jobkeeper.fail_job(id, 'broken', retry => false) FROM jobkeeper.jobs WHERE file_name = 'c.mp3';
	SELECT jobkeeper.request_export(id, 'pdf_summary') FROM jobkeeper.jobs WHERE file_name = 'a.mp3';
	SELECT count(*) FROM jobkeeper.claim_exports('x', 1);
	SELECT jobkeeper.complete_export(id, '/out/a.pdf') FROM jobkeeper.export_jobs;
	SELECT jobkeeper.request_export(id, 'srt') FROM jobkeeper.jobs WHERE file_name = 'a.mp3';
	INSERT INTO jobkeeper.jobs (file_name, file_path, status, finished_at)
	VALUES ('old.mp3', '/old', 'completed', now() - interval '2 days');
	SELECT * FROM jobkeeper.run_cleanup();
});

# Every column of every row, in a stable order, as text.
my %tables = (
	jobs => 'id', export_jobs => 'id', deleted_file_batches => 'id', cleanup_runs => 'id');
sub snapshot
{
	my ($db) = @_;
	return join "\n", map {
		$node->safe_psql($db, "SELECT t::text FROM jobkeeper.$_ t ORDER BY $tables{$_}")
	} sort keys %tables;
}
my $before = snapshot('src');
like($before, qr/completed.*failed|failed.*completed/s, 'source has finished rows');

my $dump = $node->basedir . '/src.dump';
command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('src'), '-f', $dump ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE dst');
command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst'), $dump ], 'pg_restore');

is(snapshot('dst'), $before, 'every row of every table is restored unchanged');
is($node->safe_psql('dst', q{SELECT extversion FROM pg_extension WHERE extname = 'jobkeeper'}),
	$node->safe_psql('src', q{SELECT extversion FROM pg_extension WHERE extname = 'jobkeeper'}),
	'same extension version');

# The restored database works: new rows get fresh ids, dedup finds restored hashes, the rules hold.
$node->safe_psql('dst', q{SELECT * FROM jobkeeper.run_cleanup()});
ok($node->safe_psql('dst', q{
	SELECT count(DISTINCT id) = count(*) FROM jobkeeper.cleanup_runs}), 'cleanup_runs ids continue');
is($node->safe_psql('dst', q{
	SELECT deduplicated FROM jobkeeper.submit_job('again.mp3', '/x', jobkeeper.sha256_hex('a'))}),
	't', 'dedup finds a restored hash');
my ($rc, $out, $err) = $node->psql('dst', q{
	UPDATE jobkeeper.jobs SET status = 'pending' WHERE file_name = 'a.mp3'});
like($err, qr/cannot change status of job .* from "completed" to "pending"/,
	'status rules hold in the restored database');

$node->stop;
done_testing();
