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

// Deletes up to $2 finished exports older than the cutoff $1; returns (exports deleted).
constexpr const char* kExportSql =
    "WITH victims AS ("
    "  SELECT e.id FROM jobkeeper.export_jobs e"
    "   WHERE e.finished_at <= $1 AND e.status IN ('completed', 'failed', 'cancelled')"
    "   ORDER BY e.finished_at LIMIT $2 FOR UPDATE SKIP LOCKED),"
    " gone AS (DELETE FROM jobkeeper.export_jobs e USING victims v WHERE e.id = v.id"
    "          RETURNING e.id, e.file_path),"
    " files AS (INSERT INTO jobkeeper.deleted_files (file_path, kind, row_id)"
    "           SELECT file_path, 'export', id FROM gone WHERE file_path IS NOT NULL)"
    " SELECT count(*), 0::bigint FROM gone";

// Deletes up to $3 jobs finished at or before $1 that no export keeps (active, or finished
// after $2), with their remaining (expired) exports; returns (jobs, exports deleted).
constexpr const char* kJobSql =
    "WITH victims AS ("
    "  SELECT j.id FROM jobkeeper.jobs j"
    "   WHERE j.finished_at <= $1 AND j.status IN ('completed', 'failed', 'cancelled')"
    "     AND NOT EXISTS (SELECT FROM jobkeeper.export_jobs e WHERE e.job_id = j.id"
    "           AND (e.status IN ('pending', 'processing') OR e.finished_at IS NULL"
    "                OR e.finished_at > $2))"
    "   ORDER BY j.finished_at LIMIT $3 FOR UPDATE SKIP LOCKED),"
    " gone_exports AS (DELETE FROM jobkeeper.export_jobs e USING victims v"
    "                  WHERE e.job_id = v.id RETURNING e.id, e.file_path),"
    " gone_jobs AS (DELETE FROM jobkeeper.jobs j USING victims v WHERE j.id = v.id"
    "               RETURNING j.id, j.file_path),"
    " files AS (INSERT INTO jobkeeper.deleted_files (file_path, kind, row_id)"
    "           SELECT file_path, 'export', id FROM gone_exports WHERE file_path IS NOT NULL"
    "           UNION ALL SELECT file_path, 'job', id FROM gone_jobs)"
    " SELECT (SELECT count(*) FROM gone_jobs), (SELECT count(*) FROM gone_exports)";

// Drops up to $2 unclaimed deleted_files entries recorded at or before $1.
constexpr const char* kDeletedFilesSql =
    "WITH old AS (SELECT d.id FROM jobkeeper.deleted_files d WHERE d.deleted_at <= $1"
    "             ORDER BY d.deleted_at LIMIT $2 FOR UPDATE SKIP LOCKED),"
    " gone AS (DELETE FROM jobkeeper.deleted_files d USING old WHERE d.id = old.id RETURNING 1)"
    " SELECT count(*), 0::bigint FROM gone";

struct BatchResult {
  int64 first;
  int64 second;
};

// Runs one batch statement through SPI and reads its two bigint results.
BatchResult ExecuteBatch(const char* sql, int nargs, Oid* types, Datum* values) {
  if (SPI_execute_with_args(sql, nargs, types, values, nullptr, false, 1) != SPI_OK_SELECT ||
      SPI_processed != 1) {
    elog(ERROR, "jobkeeper cleanup statement returned no row");
  }
  bool isnull;
  BatchResult r;
  r.first = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
  r.second = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
  return r;
}

// Runs a batch in its own transaction under the batch timeout. Returns false, having rolled
// back, when it timed out or hit a lock timeout; any other error propagates.
bool ExecuteBatchInOwnTransaction(const char* sql, int nargs, Oid* types, Datum* values,
                                  BatchResult* out) {
  MemoryContext caller = CurrentMemoryContext;
  volatile bool ok = true;
  // A background worker sets the statement start itself; now() inside is that time.
  SetCurrentStatementStartTimestamp();
  StartTransactionCommand();
  PushActiveSnapshot(GetTransactionSnapshot());
  SPI_connect();
  PG_TRY();
  {
    char timeout[32];
    snprintf(timeout, sizeof timeout, "%dms", jk::pg::cleanup_batch_timeout_ms);
    SetConfigOption("lock_timeout", timeout, PGC_SUSET, PGC_S_SESSION);
    enable_timeout_after(STATEMENT_TIMEOUT, jk::pg::cleanup_batch_timeout_ms);
    *out = ExecuteBatch(sql, nargs, types, values);
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

// Repeats a batch statement until a batch comes back short; the batch size is the last
// argument. Adds the statement's two results to *first and *second.
void RunBatches(TxMode mode, const char* sql, int nargs, Oid* types, Datum* values,
                int64* first, int64* second) {
  int batch = jk::pg::cleanup_batch_size;
  for (;;) {
    values[nargs - 1] = Int32GetDatum(batch);
    BatchResult r;
    if (mode == TxMode::kCallerTransaction) {
      r = ExecuteBatch(sql, nargs, types, values);
    } else if (!ExecuteBatchInOwnTransaction(sql, nargs, types, values, &r)) {
      batch = jk::core::NextBatchSize(batch, true, jk::pg::cleanup_batch_size);
      continue;
    }
    *first += r.first;
    if (second != nullptr) *second += r.second;
    CHECK_FOR_INTERRUPTS();
    // A batch shorter than asked for means nothing is left that this pass may take (rows
    // skipped because someone holds them wait for the next pass).
    if (r.first + r.second < batch) break;
    batch = jk::core::NextBatchSize(batch, false, jk::pg::cleanup_batch_size);
  }
}

Datum TimestampArg(jk::core::Micros t) { return TimestampTzGetDatum(t); }

}  // namespace

void RunLeasePass(TxMode mode, CleanupCounts* counts) {
  if (mode == TxMode::kCallerTransaction) SPI_connect();
  Oid types[1] = {INT4OID};
  Datum values[1];
  RunBatches(mode, kLeaseSql, 1, types, values, &counts->leases_requeued, &counts->leases_failed);
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
  if (cutoffs.exports_enabled) {
    Oid types[2] = {TIMESTAMPTZOID, INT4OID};
    Datum values[2] = {TimestampArg(cutoffs.export_cutoff), 0};
    RunBatches(mode, kExportSql, 2, types, values, &counts->exports_deleted, &unused);
  }
  if (cutoffs.jobs_enabled) {
    // Exports kept forever keep every job that has a finished export: cutoff -infinity.
    Oid types[3] = {TIMESTAMPTZOID, TIMESTAMPTZOID, INT4OID};
    Datum values[3] = {TimestampArg(cutoffs.job_cutoff),
                       TimestampArg(cutoffs.exports_enabled ? cutoffs.export_cutoff
                                                            : DT_NOBEGIN),
                       0};
    RunBatches(mode, kJobSql, 3, types, values, &counts->jobs_deleted, &counts->exports_deleted);
  }
  if (jk::pg::deleted_files_retention_s >= 0) {
    const jk::core::RetentionCutoffs files = jk::core::ComputeCutoffs(
        GetCurrentTimestamp(),
        {int64{jk::pg::deleted_files_retention_s} * USECS_PER_SEC, jk::core::kKeepForever});
    Oid types[2] = {TIMESTAMPTZOID, INT4OID};
    Datum values[2] = {TimestampArg(files.job_cutoff), 0};
    RunBatches(mode, kDeletedFilesSql, 2, types, values, &unused, &unused);
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
