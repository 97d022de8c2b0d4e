-- The status rules of SPEC section 3, in C++ (src/triggers/status_trigger.cpp).

CREATE FUNCTION jobkeeper.status_trigger() RETURNS trigger
  LANGUAGE c
  AS 'MODULE_PATHNAME', 'jobkeeper_status_trigger';
COMMENT ON FUNCTION jobkeeper.status_trigger() IS
  'enforces status transitions and sets updated_at, finished_at, started_at, progress and the lease on jobs and export_jobs';

-- Named so they fire in a known order before any trigger an application adds (names sort).
CREATE TRIGGER jobkeeper_00_status BEFORE INSERT OR UPDATE ON jobkeeper.jobs
  FOR EACH ROW EXECUTE FUNCTION jobkeeper.status_trigger('job');
CREATE TRIGGER jobkeeper_00_status BEFORE INSERT OR UPDATE ON jobkeeper.export_jobs
  FOR EACH ROW EXECUTE FUNCTION jobkeeper.status_trigger('export');
