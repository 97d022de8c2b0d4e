# claim_jobs plans its statement once per session, and that one plan stays an index scan when
# it was made on an empty table and the table then grew: planning afresh on every call cost
# more than the claim, and a plan made on an empty table must not scan the whole table later.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('plans');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'jobkeeper, pg_stat_statements, auto_explain'
pg_stat_statements.track = all
pg_stat_statements.track_planning = on
auto_explain.log_nested_statements = on
jobkeeper.cleanup_interval = '1h'
autovacuum = off
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION jobkeeper; CREATE EXTENSION pg_stat_statements');
$node->safe_psql('postgres', 'SELECT pg_stat_statements_reset()');

my $log_start = -s $node->logfile;
# One session: the first call plans on an empty table; 50,000 jobs arrive without an ANALYZE
# (autovacuum is off: the statistics still say empty); then every claim is logged with its plan.
my $claimed = $node->safe_psql('postgres', q{
	SET jobkeeper.notify = off;
	SELECT count(*) FROM jobkeeper.claim_jobs('w', 1);
	INSERT INTO jobkeeper.jobs (file_name, file_path, priority)
	SELECT 'f' || i, '/f' || i, i % 3 FROM generate_series(1, 50000) i;
	SET auto_explain.log_min_duration = 0;
	DO $$ BEGIN FOR i IN 1..20 LOOP PERFORM jobkeeper.claim_jobs('w', 1); END LOOP; END $$;
	SELECT count(*) FROM jobkeeper.jobs WHERE status = 'processing';
	SELECT count(*) FROM jobkeeper.claim_jobs('w', 100);
	SELECT count(*) FROM jobkeeper.claim_jobs('w', 5, ARRAY['default']);
});
is($claimed, "0\n20\n100\n5", 'the claims return what they should');

# One job at a time is a statement of its own (an UPDATE of the row a scalar subquery picks);
# several, the CTE.
my $stats = $node->safe_psql('postgres', q{
	SELECT calls || ' calls, ' || plans || ' plans' FROM pg_stat_statements
	 WHERE query LIKE 'UPDATE jobkeeper.jobs j SET status = %' AND query NOT LIKE '%p.queue%'});
is($stats, '21 calls, 1 plans', 'the all-queues claim of one job was planned once for 21 calls');
$stats = $node->safe_psql('postgres', q{
	SELECT calls || ' calls, ' || plans || ' plans' FROM pg_stat_statements
	 WHERE query LIKE 'WITH picked AS%FROM jobkeeper.jobs p%' AND query NOT LIKE '%p.queue%'});
is($stats, '1 calls, 1 plans', 'the all-queues claim of several jobs is the other statement');

my $log = slurp_file($node->logfile, $log_start);
like($log, qr/Index Scan using jobs_claim_idx on jobs/, 'claims scan the claim index');
like($log, qr/Index Scan using jobs_claim_queue_idx on jobs/, 'one-queue claims scan the queue index');
unlike($log, qr/Seq Scan on jobs/, 'no claim scans the whole table');

$node->stop;
done_testing();
