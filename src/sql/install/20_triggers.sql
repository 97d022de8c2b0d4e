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

-- The events of SPEC section 6, in C++ (src/triggers/event_trigger.cpp): AFTER INSERT, so
-- that only rows that were stored are announced, and sent once the transaction commits. An
-- UPDATE's event is recorded by the status trigger above, which sees the old and new status:
-- an AFTER ROW UPDATE trigger would make every UPDATE fetch each old row once more.
CREATE FUNCTION jobkeeper.event_trigger() RETURNS trigger
  LANGUAGE c
  AS 'MODULE_PATHNAME', 'jobkeeper_event_trigger';
COMMENT ON FUNCTION jobkeeper.event_trigger() IS
  'records the NOTIFY event of a job or export inserted as pending or finished; sent after commit';

CREATE TRIGGER jobkeeper_events AFTER INSERT ON jobkeeper.jobs
  FOR EACH ROW EXECUTE FUNCTION jobkeeper.event_trigger('job');
CREATE TRIGGER jobkeeper_events AFTER INSERT ON jobkeeper.export_jobs
  FOR EACH ROW EXECUTE FUNCTION jobkeeper.event_trigger('export');
