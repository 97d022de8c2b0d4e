// Finishing and deleting batches (see batch_pass.hpp).
#include "worker/batch_pass.hpp"

#include "pg/events.hpp"
#include "pg/saved_plans.hpp"
#include "pg/settings.hpp"
#include "triggers/batch_counts.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type_d.h"
#include "commands/async.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
}

namespace jk::worker {

namespace {

// The batches to check, locked. A batch has finished (again) when it has jobs, none is
// pending or processing (its counts are the sums of its counter rows), and its last job
// finished after the finish it last announced (its stamp): a finish is announced once, and a
// batch reopened by a retry or a new job is announced again when it finishes again.
#define JK_NEWLY_FINISHED                                                                     \
  "(SELECT pg_catalog.sum(c.pending) OPERATOR(pg_catalog.=) 0 AND pg_catalog.sum(c.processing) " \
  "OPERATOR(pg_catalog.=) 0 AND pg_catalog.sum(c.completed OPERATOR(pg_catalog.+) c.failed "     \
  "OPERATOR(pg_catalog.+) c.cancelled) OPERATOR(pg_catalog.>) 0 AND (b.finished_at IS NULL OR "  \
  "b.finished_at OPERATOR(pg_catalog.<) pg_catalog.max(c.last_finished_at)) "                     \
  "FROM jobkeeper.batch_counts c WHERE c.batch_id OPERATOR(pg_catalog.=) b.id)"
constexpr const char* kLockSomeSql =
    "SELECT pg_catalog.array_agg(l.id) FROM (SELECT b.id FROM jobkeeper.batches b "
    "WHERE b.id OPERATOR(pg_catalog.=) ANY ($1) AND " JK_NEWLY_FINISHED
    " ORDER BY b.id FOR NO KEY UPDATE OF b SKIP LOCKED) l";
constexpr const char* kLockAllSql =
    "SELECT pg_catalog.array_agg(l.id) FROM (SELECT b.id FROM jobkeeper.batches b "
    "WHERE " JK_NEWLY_FINISHED " ORDER BY b.id FOR NO KEY UPDATE OF b SKIP LOCKED) l";
#undef JK_NEWLY_FINISHED

// With a snapshot taken after the locks: the batches still newly finished get their stamp
// (when their last job finished) and their event. Nobody else stamps a batch while its row is
// locked here, so each finish is stamped once.
constexpr const char* kStampSql =
    "WITH n AS (SELECT c.batch_id, pg_catalog.sum(c.pending) AS pending, "
    "pg_catalog.sum(c.processing) AS processing, pg_catalog.sum(c.completed) AS completed, "
    "pg_catalog.sum(c.failed) AS failed, pg_catalog.sum(c.cancelled) AS cancelled, "
    "pg_catalog.max(c.last_finished_at) AS last_finished_at FROM jobkeeper.batch_counts c "
    "WHERE c.batch_id OPERATOR(pg_catalog.=) ANY ($1) GROUP BY c.batch_id) "
    "UPDATE jobkeeper.batches b SET finished_at = n.last_finished_at "
    "FROM n WHERE b.id OPERATOR(pg_catalog.=) n.batch_id "
    "AND n.pending OPERATOR(pg_catalog.=) 0 AND n.processing OPERATOR(pg_catalog.=) 0 "
    "AND n.completed OPERATOR(pg_catalog.+) n.failed OPERATOR(pg_catalog.+) n.cancelled "
    "OPERATOR(pg_catalog.>) 0 AND (b.finished_at IS NULL OR b.finished_at "
    "OPERATOR(pg_catalog.<) n.last_finished_at) "
    "RETURNING pg_catalog.format('{\"id\": \"%s\", \"status\": \"finished\", \"total\": %s, "
    "\"completed\": %s, \"failed\": %s, \"cancelled\": %s}', b.id, n.completed "
    "OPERATOR(pg_catalog.+) n.failed OPERATOR(pg_catalog.+) n.cancelled, n.completed, n.failed, "
    "n.cancelled)";

// Finished batches whose jobs are all gone, stamped at or before the jobs' retention cutoff
// (their jobs went by retention; a batch that a restore has loaded before its jobs is newer),
// locked; then deleted with their counter rows, checked again with a snapshot taken after the
// locks (a job added meanwhile keeps its batch: add_to_batch holds the batch's row while it
// adds). Returns the ids deleted.
constexpr const char* kLockEmptySql =
    "SELECT pg_catalog.array_agg(l.id) FROM (SELECT b.id FROM jobkeeper.batches b "
    "WHERE b.finished_at OPERATOR(pg_catalog.<=) $1 AND NOT EXISTS (SELECT FROM "
    "jobkeeper.batch_jobs bj WHERE bj.batch_id OPERATOR(pg_catalog.=) b.id) "
    "FOR UPDATE OF b SKIP LOCKED) l";
constexpr const char* kDeleteEmptySql =
    "WITH gone AS (DELETE FROM jobkeeper.batches b WHERE b.id OPERATOR(pg_catalog.=) ANY ($1) "
    "AND NOT EXISTS (SELECT FROM jobkeeper.batch_jobs bj WHERE bj.batch_id "
    "OPERATOR(pg_catalog.=) b.id) RETURNING b.id), "
    "counts AS (DELETE FROM jobkeeper.batch_counts c WHERE c.batch_id OPERATOR(pg_catalog.=) "
    "ANY (ARRAY(SELECT gone.id FROM gone))) "
    "SELECT pg_catalog.array_agg(gone.id) FROM gone";

void Execute(SPIPlanPtr plan, Datum* values, const char* nulls) {
  (void)jk::pg::ExecuteIndexed(plan, values, nulls, 0);
}

// The first column of the first row, as a Datum copied out of SPI's memory; 0 when null.
Datum FirstArray() {
  if (SPI_processed != 1) return 0;
  bool isnull;
  const Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
  return isnull ? 0 : SPI_datumTransfer(d, false, -1);
}

void FinishStep(void*) {
  if (SchemaHasBatches()) FinishBatches(nullptr, -1);
}

struct DeleteArgs {
  TimestampTz cutoff;
  bool caller;  // run_cleanup(): forget the deleted batches' waiting counts
};

void DeleteStep(void* arg) {
  const auto* args = static_cast<const DeleteArgs*>(arg);
  if (!SchemaHasBatches()) return;
  static SPIPlanPtr lock_plan = nullptr;
  static SPIPlanPtr delete_plan = nullptr;
  const Oid cutoff_type[1] = {TIMESTAMPTZOID};
  Datum cutoff = TimestampTzGetDatum(args->cutoff);
  jk::pg::PinSearchPath();
  Execute(jk::pg::SavedPlan(&lock_plan, kLockEmptySql, 1, cutoff_type, true), &cutoff, nullptr);
  Datum ids = FirstArray();
  if (ids != 0) {
    const Oid types[1] = {UUIDARRAYOID};
    Execute(jk::pg::SavedPlan(&delete_plan, kDeleteEmptySql, 1, types, true), &ids, nullptr);
    const Datum gone = FirstArray();
    if (gone != 0 && args->caller) {
      Datum* elems;
      bool* nulls;
      int n;
      deconstruct_array(DatumGetArrayTypeP(gone), UUIDOID, UUID_LEN, false, TYPALIGN_CHAR,
                        &elems, &nulls, &n);
      pg_uuid_t* batches = static_cast<pg_uuid_t*>(palloc(sizeof(pg_uuid_t) * (n > 0 ? n : 1)));
      for (int i = 0; i < n; i++) batches[i] = *DatumGetUUIDP(elems[i]);
      // The deleted jobs' counts, waiting for this transaction's commit, would bring the
      // batches' rows back.
      jk::triggers::ForgetBatchCounts(batches, n);
    }
  }
  jk::pg::UnpinSearchPath();
}

void RunStep(TxMode mode, void (*body)(void*), void* arg, CleanupCounts* counts) {
  char error[kPassErrorLength] = "";
  if (RunIsolatedBody(mode, body, arg, error, true) != Outcome::kDone) {
    NoteError(counts, error);
  }
}

}  // namespace

bool SchemaHasBatches() {
  const Oid schema = get_namespace_oid("jobkeeper", true);
  return OidIsValid(schema) && OidIsValid(get_relname_relid("batch_counts", schema));
}

bool SchemaHasBatches(TxMode mode) {
  if (mode == TxMode::kCallerTransaction) return SchemaHasBatches();
  SetCurrentStatementStartTimestamp();
  StartTransactionCommand();
  const bool has = SchemaHasBatches();
  CommitTransactionCommand();
  return has;
}

long FinishBatches(const pg_uuid_t* ids, int n) {
  static SPIPlanPtr lock_some = nullptr;
  static SPIPlanPtr lock_all = nullptr;
  static SPIPlanPtr stamp = nullptr;
  const Oid types[1] = {UUIDARRAYOID};
  jk::pg::PinSearchPath();
  if (ids != nullptr) {
    if (n <= 0) {
      jk::pg::UnpinSearchPath();
      return 0;
    }
    Datum* elems = static_cast<Datum*>(palloc(sizeof(Datum) * n));
    for (int i = 0; i < n; i++) elems[i] = UUIDPGetDatum(&ids[i]);
    Datum arg = PointerGetDatum(construct_array(elems, n, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR));
    Execute(jk::pg::SavedPlan(&lock_some, kLockSomeSql, 1, types, true), &arg, nullptr);
  } else {
    Execute(jk::pg::SavedPlan(&lock_all, kLockAllSql, 0, nullptr, true), nullptr, nullptr);
  }
  Datum locked = FirstArray();
  long announced = 0;
  if (locked != 0) {
    // run_cleanup() in a transaction that changed some of these batches reads their counts
    // without its own changes: those wait for its commit and a later check.
    Datum* elems;
    bool* nulls;
    int count;
    deconstruct_array(DatumGetArrayTypeP(locked), UUIDOID, UUID_LEN, false, TYPALIGN_CHAR,
                      &elems, &nulls, &count);
    int kept = 0;
    for (int i = 0; i < count; i++) {
      if (!jk::triggers::HasWaitingBatchCounts(DatumGetUUIDP(elems[i]))) elems[kept++] = elems[i];
    }
    locked = kept == 0 ? (Datum)0
                       : PointerGetDatum(construct_array(elems, kept, UUIDOID, UUID_LEN, false,
                                                         TYPALIGN_CHAR));
  }
  if (locked != 0) {
    Execute(jk::pg::SavedPlan(&stamp, kStampSql, 1, types, true), &locked, nullptr);
    announced = static_cast<long>(SPI_processed);
    if (static_cast<jk::pg::NotifyMode>(jk::pg::notify_mode) != jk::pg::NotifyMode::kOff) {
      for (uint64 i = 0; i < SPI_processed; i++) {
        const char* payload = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
        Async_Notify(jk::worker::ChannelName(EventChannel::kBatches), payload);
      }
    }
  }
  jk::pg::UnpinSearchPath();
  return announced;
}

void RunBatchFinishStep(TxMode mode, CleanupCounts* counts) {
  RunStep(mode, FinishStep, nullptr, counts);
}

void RunBatchDeleteStep(TxMode mode, CleanupCounts* counts, TimestampTz cutoff) {
  DeleteArgs args{cutoff, mode == TxMode::kCallerTransaction};
  RunStep(mode, DeleteStep, &args, counts);
}

}  // namespace jk::worker
