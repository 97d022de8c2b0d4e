// jobkeeper.run_cleanup() and expire_leases(): the worker's cleanup pass and lease check on
// demand, in the caller's transaction.
#include "pg/entry.hpp"
#include "worker/cleanup_pass.hpp"
#include "worker/cleanup_records.hpp"

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
  jk::worker::RunCleanupPass(jk::worker::TxMode::kCallerTransaction, &counts, nullptr);
  const bool failed = counts.error[0] != '\0';
  if (failed && counts.rows_skipped > 0) {
    ereport(WARNING, (errmsg("jobkeeper.run_cleanup() skipped %lld rows that failed: %s",
                             static_cast<long long>(counts.rows_skipped), counts.error),
                      errdetail("The other rows were cleaned up; the failed ones are left as "
                                "they are and recorded in jobkeeper.cleanup_runs.")));
  } else if (failed) {
    ereport(WARNING, (errmsg("jobkeeper.run_cleanup() ended a step early: %s", counts.error),
                      errdetail("The rows it left are tried again by the next run; the error "
                                "is recorded in jobkeeper.cleanup_runs.")));
  }
  jk::worker::RecordCleanupRun("run_cleanup", started, counts, failed ? counts.error : nullptr);
  Datum values[4] = {Int64GetDatum(counts.jobs_deleted), Int64GetDatum(counts.exports_deleted),
                     Int64GetDatum(counts.leases_requeued), Int64GetDatum(counts.leases_failed)};
  bool nulls[4] = {false, false, false, false};
  PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

// Re-queues up to batch_size expired job leases and as many export leases (failed once their
// attempts are used up) and returns (leases_requeued, leases_failed). A row whose change
// fails is skipped with a warning; the others are re-queued.
JK_FUNCTION(jobkeeper_expire_leases) {
  const int batch_size = PG_ARGISNULL(0) ? 0 : PG_GETARG_INT32(0);
  if (PG_ARGISNULL(0) || batch_size < 1) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("batch_size must be at least 1, not %s",
                           PG_ARGISNULL(0) ? "null" : psprintf("%d", batch_size))));
  }
  TupleDesc desc;
  if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE) {
    elog(ERROR, "jobkeeper.expire_leases() must return a record");
  }
  jk::worker::CleanupCounts counts = {};
  jk::worker::RunLeaseBatch(batch_size, &counts);
  if (counts.error[0] != '\0') {
    ereport(WARNING, (errmsg("jobkeeper.expire_leases() skipped %lld rows that failed: %s",
                             static_cast<long long>(counts.rows_skipped), counts.error)));
  }
  Datum values[2] = {Int64GetDatum(counts.leases_requeued), Int64GetDatum(counts.leases_failed)};
  bool nulls[2] = {false, false};
  PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}
