// jobkeeper.run_cleanup(): the worker's cleanup pass on demand, in the caller's transaction.
#include "pg/entry.hpp"
#include "worker/cleanup_pass.hpp"

extern "C" {
#include "access/htup_details.h"
#include "access/xact.h"
#include "funcapi.h"
#include "utils/timestamp.h"
}

// Runs one cleanup pass with the calling session's settings, records it in cleanup_runs and
// returns (jobs_deleted, exports_deleted, leases_requeued, leases_failed). Only at READ
// COMMITTED: a batch checks its locked jobs for exports again with a snapshot taken after the
// locks, which a transaction snapshot (REPEATABLE READ, SERIALIZABLE) would not give, and an
// export requested meanwhile would be deleted with its job.
JK_FUNCTION(jobkeeper_run_cleanup) {
  if (IsolationUsesXactSnapshot()) {
    ereport(ERROR,
            (errcode(ERRCODE_INVALID_TRANSACTION_STATE),
             errmsg("jobkeeper.run_cleanup() must run at READ COMMITTED, not at %s",
                    IsolationIsSerializable() ? "SERIALIZABLE" : "REPEATABLE READ"),
             errhint("Run it in a READ COMMITTED transaction (the default); its batches need a "
                     "fresh snapshot after taking their locks.")));
  }
  TupleDesc desc;
  if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE) {
    elog(ERROR, "jobkeeper.run_cleanup() must return a record");
  }
  jk::worker::CleanupCounts counts = {};
  const TimestampTz started = GetCurrentTimestamp();
  jk::worker::RunCleanupPass(jk::worker::TxMode::kCallerTransaction, &counts);
  jk::worker::RecordCleanupRun("run_cleanup", started, counts, nullptr);
  Datum values[4] = {Int64GetDatum(counts.jobs_deleted), Int64GetDatum(counts.exports_deleted),
                     Int64GetDatum(counts.leases_requeued), Int64GetDatum(counts.leases_failed)};
  bool nulls[4] = {false, false, false, false};
  PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}
