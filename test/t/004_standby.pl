# On a hot standby no jobkeeper worker runs; after promotion the worker starts and works.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'jobkeeper'
jobkeeper.cleanup_interval = '1s'
});
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION jobkeeper');
$primary->safe_psql('postgres', q{
	INSERT INTO jobkeeper.jobs (file_name, file_path, status) VALUES ('kept', '/k', 'pending')});
$primary->backup('backup');

my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'backup', has_streaming => 1);
$standby->start;
$primary->stop;  # the standby keeps its copy; expired rows appear only after promotion

sleep 3;
is($standby->safe_psql('postgres', q{
	SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'jobkeeper%'}),
	'0', 'no jobkeeper launcher or worker on the standby');
is($standby->safe_psql('postgres', 'SELECT count(*) FROM jobkeeper.worker_status'), '0',
	'worker_status is empty on the standby');

$standby->promote;
ok($standby->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'jobkeeper worker'}),
	'the worker starts after promotion');
$standby->safe_psql('postgres', q{
	SET jobkeeper.notify = off;
	INSERT INTO jobkeeper.jobs (file_name, file_path, status, finished_at)
	VALUES ('expired', '/e', 'completed', now() - interval '2 days')});
ok($standby->poll_query_until('postgres',
		"SELECT NOT EXISTS (SELECT FROM jobkeeper.jobs WHERE file_name = 'expired')"),
	'and deletes expired work');
is($standby->safe_psql('postgres', 'SELECT file_name FROM jobkeeper.jobs'), 'kept',
	'pending work is kept');
$standby->stop;
done_testing();
