// jobkeeper.worker_status() and jobkeeper._wake_launcher(): the SQL side of the workers'
// shared memory.
#include "pg/entry.hpp"
#include "worker/shared_state.hpp"

extern "C" {
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/tuplestore.h"
}

// Returns one row per database that has (or had) a jobkeeper worker since the server started:
// datname, running, pid, last_run, next_run, last_error, rows_deleted. No rows when the
// library is not preloaded.
JK_FUNCTION(jobkeeper_worker_status) {
  InitMaterializedSRF(fcinfo, 0);
  ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  jk::worker::SharedState* st = jk::worker::State();
  if (st == nullptr) PG_RETURN_VOID();
  LWLockAcquire(st->lock, LW_SHARED);
  for (const jk::worker::DatabaseSlot& slot : st->slots) {
    if (!slot.in_use || slot.no_extension || slot.datname[0] == '\0') continue;
    Datum values[7];
    bool nulls[7] = {false, false, false, false, false, false, false};
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
