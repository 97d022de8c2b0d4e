// jobkeeper.worker_status() and jobkeeper._wake_launcher(): the SQL side of the workers'
// shared memory.
#include "pg/entry.hpp"
#include "worker/shared_state.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"
}

namespace {

// Refuses roles that may not SELECT from jobkeeper.worker_status (the function is PUBLIC so
// that the view works for the roles granted it).
void CheckMayReadWorkerStatus() {
  const Oid view = get_relname_relid("worker_status", get_namespace_oid("jobkeeper", false));
  if (!OidIsValid(view) || pg_class_aclcheck(view, GetUserId(), ACL_SELECT) != ACLCHECK_OK) {
    ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                    errmsg("permission denied for view jobkeeper.worker_status"),
                    errhint("GRANT SELECT ON jobkeeper.worker_status to the role.")));
  }
}

}  // namespace

// Returns one row per database served by a jobkeeper worker: datname, running, pid,
// last_run, next_run, last_error, rows_deleted, files_waiting, oldest_file_at, activity. No
// rows when the library is not preloaded.
JK_FUNCTION(jobkeeper_worker_status) {
  CheckMayReadWorkerStatus();
  InitMaterializedSRF(fcinfo, 0);
  ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  jk::worker::SharedState* st = jk::worker::State();
  if (st == nullptr) PG_RETURN_VOID();
  LWLockAcquire(st->lock, LW_SHARED);
  for (int i = 0; i < st->slot_count; i++) {
    const jk::worker::DatabaseSlot& slot = st->slots[i];
    if (!slot.in_use || slot.state != jk::worker::SlotState::kServed) continue;
    Datum values[10];
    bool nulls[10] = {};
    values[0] = CStringGetTextDatum(slot.datname);
    values[1] = BoolGetDatum(slot.pid != 0);
    values[2] = Int32GetDatum(slot.pid);
    nulls[2] = slot.pid == 0;
    values[3] = TimestampTzGetDatum(slot.last_run);
    nulls[3] = slot.last_run == 0;
    values[4] = TimestampTzGetDatum(slot.next_run);
    nulls[4] = slot.next_run == 0 || slot.pid == 0;
    values[5] = CStringGetTextDatum(slot.last_error);
    nulls[5] = slot.last_error[0] == '\0';
    values[6] = Int64GetDatum(slot.rows_deleted);
    values[7] = Int64GetDatum(slot.files_waiting);
    values[8] = TimestampTzGetDatum(slot.oldest_file_at);
    nulls[8] = slot.oldest_file_at == 0;
    values[9] = CStringGetTextDatum(slot.pid != 0 ? slot.activity : "stopped");
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  }
  LWLockRelease(st->lock);
  PG_RETURN_VOID();
}

// Wakes the launcher so that a database where the extension was just created gets its
// worker within seconds; does nothing when the library is not preloaded.
JK_FUNCTION(jobkeeper_wake_launcher) {
  jk::worker::SharedState* st = jk::worker::State();
  if (st != nullptr) {
    LWLockAcquire(st->lock, LW_EXCLUSIVE);
    st->rescan_all = true;
    Latch* latch = st->launcher_latch;
    LWLockRelease(st->lock);
    if (latch != nullptr) SetLatch(latch);
  }
  PG_RETURN_VOID();
}
