// The batched statements of a cleanup pass and the transaction handling around them.
#include "worker/cleanup_pass.hpp"

#include "core/retention.hpp"
#include "pg/postgres.hpp"
#include "pg/settings.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"
}

namespace jk::worker {

namespace {

// Re-queues up to $1 expired leases per table; returns (requeued, failed).
constexpr const char* kLeaseSql =
    "SELECT leases_requeued, leases_failed FROM jobkeeper.expire_leases($1)";

// The batch statements lock their victims with SKIP LOCKED and then delete them by ctid (a
// TID scan). Joining the DELETE to the locking query instead lets the planner hash the whole
// table for every batch, which made a cleanup quadratic; the "OFFSET 0" keeps each NOT EXISTS
// a per-row index probe rather than a hash anti-join over every export. Locked rows cannot
// change under us, so their ctids stay valid until the DELETE. The deleted rows' paths go to
// deleted_file_batches, up to 1000 to a row.
#define JK_RECORD_PATHS(kind, source)                                                    \
  "INSERT INTO jobkeeper.deleted_file_batches (kind, row_ids, file_paths)"               \
  " SELECT '" kind "', array_agg(g.id), array_agg(g.file_path)"                          \
  "   FROM (SELECT s.id, s.file_path, (row_number() OVER () - 1) / 1000 AS chunk"        \
  "           FROM " source " s WHERE s.file_path IS NOT NULL) g GROUP BY g.chunk"

// Deletes up to $2 finished exports older than the cutoff $1; returns (exports deleted).
constexpr const char* kExportSql =
    "WITH victims AS MATERIALIZED ("
    "  SELECT e.ctid AS tid FROM jobkeeper.export_jobs e"
    "   WHERE e.finished_at <= $1 AND e.status IN ('completed', 'failed', 'cancelled')"
    "   ORDER BY e.finished_at LIMIT $2 FOR UPDATE SKIP LOCKED),"
    " gone AS (DELETE FROM jobkeeper.export_jobs e"
    "           WHERE e.ctid = ANY (ARRAY(SELECT tid FROM victims))"
    "          RETURNING e.id, e.file_path),"
    " files AS (" JK_RECORD_PATHS("export", "gone") ")"
    " SELECT count(*), 0::bigint FROM gone";

// Jobs go in two statements. The first locks up to $2 jobs finished at or before $1 that
// have no export left (the export step ran first and took the expired ones; any other export
// keeps its job) and returns their ctids.
constexpr const char* kLockJobsSql =
    "SELECT array_agg(v.tid), count(*) FROM ("
    "  SELECT j.ctid AS tid FROM jobkeeper.jobs j"
    "   WHERE j.finished_at <= $1 AND j.status IN ('completed', 'failed', 'cancelled')"
    "     AND NOT EXISTS (SELECT FROM jobkeeper.export_jobs e WHERE e.job_id = j.id OFFSET 0)"
    "   ORDER BY j.finished_at LIMIT $2 FOR UPDATE SKIP LOCKED) v";

// The second, with a snapshot taken after the locks, deletes the locked jobs ($1) that still
// have no export. An export committed between the first statement's snapshot and its lock
// shows up here and keeps its job; none can be added once the job is locked (the foreign key
// check needs a lock that conflicts with ours). So the ON DELETE CASCADE finds nothing to
// delete whose path would go unrecorded, and never takes an active export. Returns the count.
constexpr const char* kDeleteJobsSql =
    "WITH gone AS (DELETE FROM jobkeeper.jobs j WHERE j.ctid = ANY ($1)"
    "     AND NOT EXISTS (SELECT FROM jobkeeper.export_jobs e WHERE e.job_id = j.id OFFSET 0)"
    "    RETURNING j.id, j.file_path),"
    " files AS (" JK_RECORD_PATHS("job", "gone") ")"
    " SELECT count(*) FROM gone";
#undef JK_RECORD_PATHS

// Drops up to $2 unclaimed path batches recorded at or before $1.
constexpr const char* kDeletedFilesSql =
    "WITH old AS MATERIALIZED ("
    "  SELECT d.ctid AS tid FROM jobkeeper.deleted_file_batches d WHERE d.deleted_at <= $1"
    "   ORDER BY d.id LIMIT $2 FOR UPDATE SKIP LOCKED),"
    " gone AS (DELETE FROM jobkeeper.deleted_file_batches d"
    "           WHERE d.ctid = ANY (ARRAY(SELECT tid FROM old)) RETURNING 1)"
    " SELECT count(*), 0::bigint FROM gone";

// What one batch did: "taken" rows counts towards the batch size (a batch that takes fewer
// than asked for ends the pass); first and second are the counts it reports.
struct BatchResult {
  int64 taken;
  int64 first;
  int64 second;
};

// One batch: runs its statements through SPI with the pass's cutoff and the batch size.
using BatchFn = BatchResult (*)(Datum cutoff, int batch_size);

// Reads bigint column col of the one row the last statement returned (null reads as 0).
int64 ReadInt64(int col) {
  bool isnull;
  const Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, &isnull);
  return isnull ? 0 : DatumGetInt64(d);
}

// Runs a statement that must return exactly one row, left in SPI_tuptable.
void ExecuteOneRow(const char* sql, int nargs, Oid* types, Datum* values) {
  if (SPI_execute_with_args(sql, nargs, types, values, nullptr, false, 1) != SPI_OK_SELECT ||
      SPI_processed != 1) {
    elog(ERROR, "jobkeeper cleanup statement returned no row");
  }
}

BatchResult LeaseBatch(Datum, int batch_size) {
  Oid types[1] = {INT4OID};
  Datum values[1] = {Int32GetDatum(batch_size)};
  ExecuteOneRow(kLeaseSql, 1, types, values);
  const int64 requeued = ReadInt64(1);
  const int64 failed = ReadInt64(2);
  SPI_freetuptable(SPI_tuptable);
  return {requeued + failed, requeued, failed};
}

// Runs a statement taking (cutoff, batch size) and returning (deleted, 0).
BatchResult DeleteBatch(const char* sql, Datum cutoff, int batch_size) {
  Oid types[2] = {TIMESTAMPTZOID, INT4OID};
  Datum values[2] = {cutoff, Int32GetDatum(batch_size)};
  ExecuteOneRow(sql, 2, types, values);
  const int64 deleted = ReadInt64(1);
  SPI_freetuptable(SPI_tuptable);
  return {deleted, deleted, 0};
}

BatchResult ExportBatch(Datum cutoff, int batch_size) {
  return DeleteBatch(kExportSql, cutoff, batch_size);
}

BatchResult DeletedFilesBatch(Datum cutoff, int batch_size) {
  return DeleteBatch(kDeletedFilesSql, cutoff, batch_size);
}

BatchResult JobBatch(Datum cutoff, int batch_size) {
  Oid types[2] = {TIMESTAMPTZOID, INT4OID};
  Datum values[2] = {cutoff, Int32GetDatum(batch_size)};
  ExecuteOneRow(kLockJobsSql, 2, types, values);
  const int64 locked = ReadInt64(2);
  SPITupleTable* locked_rows = SPI_tuptable;
  if (locked == 0) {
    SPI_freetuptable(locked_rows);
    return {0, 0, 0};
  }
  bool isnull;
  Datum tids[1] = {SPI_getbinval(locked_rows->vals[0], locked_rows->tupdesc, 1, &isnull)};
  Oid tid_types[1] = {TIDARRAYOID};
  ExecuteOneRow(kDeleteJobsSql, 1, tid_types, tids);
  const int64 deleted = ReadInt64(1);
  // run_cleanup() keeps one SPI connection for every batch: free each batch's results.
  SPI_freetuptable(SPI_tuptable);
  SPI_freetuptable(locked_rows);
  return {locked, deleted, 0};
}

// Runs a batch in its own transaction under the batch timeout. Returns false, having rolled
// back, when it timed out or hit a lock timeout; any other error propagates.
bool ExecuteBatchInOwnTransaction(BatchFn fn, Datum cutoff, int batch_size, BatchResult* out) {
  MemoryContext caller = CurrentMemoryContext;
  volatile bool ok = true;
  // A background worker sets the statement start itself; now() inside is that time.
  SetCurrentStatementStartTimestamp();
  StartTransactionCommand();
  if (IsolationUsesXactSnapshot()) {  // the worker sets READ COMMITTED; JobBatch relies on it
    elog(ERROR, "jobkeeper cleanup batch must run at READ COMMITTED");
  }
  PushActiveSnapshot(GetTransactionSnapshot());
  SPI_connect();
  PG_TRY();
  {
    char timeout[32];
    snprintf(timeout, sizeof timeout, "%dms", jk::pg::cleanup_batch_timeout_ms);
    SetConfigOption("lock_timeout", timeout, PGC_SUSET, PGC_S_SESSION);
    enable_timeout_after(STATEMENT_TIMEOUT, jk::pg::cleanup_batch_timeout_ms);
    *out = fn(cutoff, batch_size);
    disable_timeout(STATEMENT_TIMEOUT, false);
  }
  PG_CATCH();
  {
    disable_timeout(STATEMENT_TIMEOUT, false);
    MemoryContextSwitchTo(caller);
    ErrorData* edata = CopyErrorData();
    if (edata->sqlerrcode != ERRCODE_QUERY_CANCELED &&
        edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE) {
      PG_RE_THROW();
    }
    ereport(LOG, (errmsg("jobkeeper cleanup batch timed out; retrying with a smaller batch"),
                  errdetail("%s", edata->message)));
    FlushErrorState();
    FreeErrorData(edata);
    AbortCurrentTransaction();
    ok = false;
  }
  PG_END_TRY();
  if (ok) {
    SPI_finish();
    PopActiveSnapshot();
    CommitTransactionCommand();
  }
  MemoryContextSwitchTo(caller);
  return ok;
}

// Repeats a batch until one takes fewer rows than asked for. Adds the batches' two counts to
// *first and *second.
void RunBatches(TxMode mode, BatchFn fn, Datum cutoff, int64* first, int64* second) {
  int batch = jk::pg::cleanup_batch_size;
  for (;;) {
    BatchResult r;
    if (mode == TxMode::kCallerTransaction) {
      r = fn(cutoff, batch);
    } else if (!ExecuteBatchInOwnTransaction(fn, cutoff, batch, &r)) {
      batch = jk::core::NextBatchSize(batch, true, jk::pg::cleanup_batch_size);
      continue;
    }
    *first += r.first;
    *second += r.second;
    CHECK_FOR_INTERRUPTS();
    // A short batch means nothing is left that this pass may take (rows skipped because
    // someone holds them wait for the next pass).
    if (r.taken < batch) break;
    batch = jk::core::NextBatchSize(batch, false, jk::pg::cleanup_batch_size);
  }
}

Datum TimestampArg(jk::core::Micros t) { return TimestampTzGetDatum(t); }

}  // namespace

void RunLeasePass(TxMode mode, CleanupCounts* counts) {
  if (mode == TxMode::kCallerTransaction) SPI_connect();
  RunBatches(mode, LeaseBatch, 0, &counts->leases_requeued, &counts->leases_failed);
  if (mode == TxMode::kCallerTransaction) SPI_finish();
}

void RunCleanupPass(TxMode mode, CleanupCounts* counts) {
  RunLeasePass(mode, counts);

  const jk::core::RetentionSettings settings{
      jk::pg::job_retention_s < 0 ? jk::core::kKeepForever
                                  : int64{jk::pg::job_retention_s} * USECS_PER_SEC,
      jk::pg::export_retention_s < 0 ? jk::core::kKeepForever
                                     : int64{jk::pg::export_retention_s} * USECS_PER_SEC};
  const jk::core::RetentionCutoffs cutoffs =
      jk::core::ComputeCutoffs(GetCurrentTimestamp(), settings);

  if (mode == TxMode::kCallerTransaction) SPI_connect();
  int64 unused = 0;
  // Exports first: a job goes only once it has no export left, so expired exports must be
  // gone before their jobs are looked at.
  if (cutoffs.exports_enabled) {
    RunBatches(mode, ExportBatch, TimestampArg(cutoffs.export_cutoff), &counts->exports_deleted,
               &unused);
  }
  if (cutoffs.jobs_enabled) {
    RunBatches(mode, JobBatch, TimestampArg(cutoffs.job_cutoff), &counts->jobs_deleted, &unused);
  }
  if (jk::pg::deleted_files_retention_s >= 0) {
    const jk::core::RetentionCutoffs files = jk::core::ComputeCutoffs(
        GetCurrentTimestamp(),
        {int64{jk::pg::deleted_files_retention_s} * USECS_PER_SEC, jk::core::kKeepForever});
    RunBatches(mode, DeletedFilesBatch, TimestampArg(files.job_cutoff), &unused, &unused);
  }
  if (mode == TxMode::kCallerTransaction) SPI_finish();
}

void RecordCleanupRun(const char* source, int64 started_at, const CleanupCounts& c,
                      const char* error) {
  SPI_connect();
  Oid types[8] = {TEXTOID, TIMESTAMPTZOID, INT8OID, INT8OID, INT8OID, INT8OID, TEXTOID, INT4OID};
  Datum values[8] = {CStringGetTextDatum(source), TimestampTzGetDatum(started_at),
                     Int64GetDatum(c.jobs_deleted), Int64GetDatum(c.exports_deleted),
                     Int64GetDatum(c.leases_requeued), Int64GetDatum(c.leases_failed),
                     error != nullptr ? CStringGetTextDatum(error) : (Datum)0,
                     Int32GetDatum(jk::pg::cleanup_history)};
  const char nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', error != nullptr ? ' ' : 'n', ' '};
  if (SPI_execute_with_args(
          "WITH run AS (INSERT INTO jobkeeper.cleanup_runs (source, started_at, finished_at,"
          " jobs_deleted, exports_deleted, leases_requeued, leases_failed, error)"
          " VALUES ($1, $2, clock_timestamp(), $3, $4, $5, $6, $7) RETURNING id)"
          " DELETE FROM jobkeeper.cleanup_runs r"
          "  WHERE r.id <= (SELECT run.id FROM run) - $8",
          8, types, values, nulls, false, 0) != SPI_OK_DELETE) {
    elog(ERROR, "could not record the jobkeeper cleanup run");
  }
  SPI_finish();
}

}  // namespace jk::worker
