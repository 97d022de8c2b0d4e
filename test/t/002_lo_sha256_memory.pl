# lo_sha256 streams a 100 MB large object: the backend's peak memory stays far below the
# object's size, while reading the same object whole (lo_get) does not.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('lo');
$node->init;
# Small shared buffers so that pages of the object touched through shared memory cannot
# account for much of the backend's resident size.
$node->append_conf('postgresql.conf', "shared_buffers = '16MB'");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION jobkeeper');

# 100 MB of pseudo-random bytes, written in 1 MB pieces by another session.
my $mb = 100;
$node->safe_psql('postgres', qq{
	SELECT lo_create(4242);
	DO \$\$
	DECLARE fd int := lo_open(4242, x'20000'::int);
	BEGIN
	  FOR i IN 1..$mb LOOP
	    PERFORM lowrite(fd, (SELECT string_agg(sha256(int4send(i * 100000 + j)), ''::bytea)
	                          FROM generate_series(1, 32768) j));
	  END LOOP;
	  PERFORM lo_close(fd);
	END \$\$;
});
is($node->safe_psql('postgres', "SELECT sum(length(data)) FROM pg_largeobject WHERE loid = 4242"),
	$mb * 1024 * 1024, '100 MB large object written');

# Runs $hash_sql in a fresh session and returns its result and that backend's peak resident
# memory (VmHWM, kB), read from /proc inside the same session.
sub hash_and_peak
{
	my ($hash_sql) = @_;
	my $out = $node->safe_psql('postgres', qq{
		SELECT $hash_sql;
		SELECT (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'), 'VmHWM:\\s+(\\d+)'))[1];
	});
	return split /\n/, $out;
}

my ($base_hash, $base_kb) = hash_and_peak("'no hash'");
my ($lo_hash, $lo_kb) = hash_and_peak('jobkeeper.lo_sha256(4242)');
my ($whole_hash, $whole_kb) = hash_and_peak("encode(sha256(lo_get(4242)), 'hex')");
note("peak resident kB: idle backend $base_kb, lo_sha256 $lo_kb, sha256(lo_get()) $whole_kb");

is($lo_hash, $whole_hash, 'lo_sha256 equals the hash of the whole object');
cmp_ok($lo_kb - $base_kb, '<', 32 * 1024, 'lo_sha256 peak memory grows by less than 32 MB');
cmp_ok($whole_kb - $base_kb, '>', $mb * 1024, 'the control (reading it whole) grows by more than 100 MB');

$node->stop;
done_testing();
