// Finishing and deleting batches (see batch_pass.hpp).
#include "worker/batch_pass.hpp"

#include "pg/events.hpp"
#include "pg/saved_plans.hpp"
#include "pg/settings.hpp"
#include "triggers/batch_counts.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/pg_type_d.h"
#include "commands/async.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
}

namespace jk::worker {

namespace {

// The batches to check, locked. A batch is finished when it has jobs and none is pending or
// processing (its counts are the sums of its counter rows).
#define JK_FINISHED_COUNTS                                                                    \
  "(SELECT pg_catalog.sum(c.pending) OPERATOR(pg_catalog.=) 0 AND pg_catalog.sum(c.processing) " \
  "OPERATOR(pg_catalog.=) 0 FROM jobkeeper.batch_counts c WHERE c.batch_id OPERATOR(pg_catalog.=) b.id)"
constexpr const char* kLockSomeSql =
    "SELECT pg_catalog.array_agg(l.id) FROM (SELECT b.id FROM jobkeeper.batches b "
    "WHERE b.id OPERATOR(pg_catalog.=) ANY ($1) AND b.finished_at IS NULL AND " JK_FINISHED_COUNTS
    " ORDER BY b.id FOR NO KEY UPDATE OF b SKIP LOCKED) l";
constexpr const char* kLockAllSql =
    "SELECT pg_catalog.array_agg(l.id) FROM (SELECT b.id FROM jobkeeper.batches b "
    "WHERE b.finished_at IS NULL AND " JK_FINISHED_COUNTS
    " ORDER BY b.id FOR NO KEY UPDATE OF b SKIP LOCKED) l";
#undef JK_FINISHED_COUNTS

// With a snapshot taken after the locks: the batches still finished get their stamp (when
// their last job finished) and their event.
constexpr const char* kStampSql =
    "WITH n AS (SELECT c.batch_id, pg_catalog.sum(c.pending) AS pending, "
    "pg_catalog.sum(c.processing) AS processing, pg_catalog.sum(c.completed) AS completed, "
    "pg_catalog.sum(c.failed) AS failed, pg_catalog.sum(c.cancelled) AS cancelled, "
    "pg_catalog.max(c.last_finished_at) AS last_finished_at FROM jobkeeper.batch_counts c "
    "WHERE c.batch_id OPERATOR(pg_catalog.=) ANY ($1) GROUP BY c.batch_id) "
    "UPDATE jobkeeper.batches b SET finished_at = COALESCE(n.last_finished_at, "
    "pg_catalog.now()) FROM n WHERE b.id OPERATOR(pg_catalog.=) n.batch_id "
    "AND b.finished_at IS NULL AND n.pending OPERATOR(pg_catalog.=) 0 "
    "AND n.processing OPERATOR(pg_catalog.=) 0 AND n.completed OPERATOR(pg_catalog.+) n.failed "
    "OPERATOR(pg_catalog.+) n.cancelled OPERATOR(pg_catalog.>) 0 "
    "RETURNING pg_catalog.json_build_object('id', b.id, 'status', 'finished', 'total', "
    "n.completed OPERATOR(pg_catalog.+) n.failed OPERATOR(pg_catalog.+) n.cancelled, "
    "'completed', n.completed, 'failed', n.failed, 'cancelled', n.cancelled)::text";

// Finished batches whose jobs are all gone, locked; then deleted with their counter rows,
// checked again with a snapshot taken after the locks (a job added meanwhile keeps its
// batch: add_to_batch holds the batch's row while it adds).
constexpr const char* kLockEmptySql =
    "SELECT pg_catalog.array_agg(l.id) FROM (SELECT b.id FROM jobkeeper.batches b "
    "WHERE b.finished_at IS NOT NULL AND NOT EXISTS (SELECT FROM jobkeeper.batch_jobs bj "
    "WHERE bj.batch_id OPERATOR(pg_catalog.=) b.id) FOR UPDATE OF b SKIP LOCKED) l";
constexpr const char* kDeleteEmptySql =
    "WITH gone AS (DELETE FROM jobkeeper.batches b WHERE b.id OPERATOR(pg_catalog.=) ANY ($1) "
    "AND NOT EXISTS (SELECT FROM jobkeeper.batch_jobs bj WHERE bj.batch_id "
    "OPERATOR(pg_catalog.=) b.id) RETURNING b.id), "
    "counts AS (DELETE FROM jobkeeper.batch_counts c WHERE c.batch_id OPERATOR(pg_catalog.=) "
    "ANY (ARRAY(SELECT gone.id FROM gone))) "
    "SELECT pg_catalog.count(*) FROM gone";

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

void FinishStep(void* arg) {
  auto* counts = static_cast<CleanupCounts*>(arg);
  (void)counts;
  if (SchemaHasBatches()) FinishBatches(nullptr, -1);
}

void DeleteStep(void*) {
  if (!SchemaHasBatches()) return;
  static SPIPlanPtr lock_plan = nullptr;
  static SPIPlanPtr delete_plan = nullptr;
  jk::pg::PinSearchPath();
  Execute(jk::pg::SavedPlan(&lock_plan, kLockEmptySql, 0, nullptr, true), nullptr, nullptr);
  Datum ids = FirstArray();
  if (ids != 0) {
    const Oid types[1] = {UUIDARRAYOID};
    Execute(jk::pg::SavedPlan(&delete_plan, kDeleteEmptySql, 1, types, true), &ids, nullptr);
  }
  jk::pg::UnpinSearchPath();
}

void RunStep(TxMode mode, void (*body)(void*), CleanupCounts* counts) {
  char error[kPassErrorLength] = "";
  if (RunIsolatedBody(mode, body, counts, error, true) != Outcome::kDone) {
    NoteError(counts, error);
  }
}

}  // namespace

bool SchemaHasBatches() {
  const Oid schema = get_namespace_oid("jobkeeper", true);
  return OidIsValid(schema) && OidIsValid(get_relname_relid("batch_counts", schema));
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

void RunBatchFinishStep(TxMode mode, CleanupCounts* counts) { RunStep(mode, FinishStep, counts); }

void RunBatchDeleteStep(TxMode mode, CleanupCounts* counts) {
  // run_cleanup() deleted jobs in this transaction: their counts are written first (in the
  // caller's transaction, not in the step's subtransaction, whose rollback would lose them),
  // so that the rows the step deletes hold them all.
  if (mode == TxMode::kCallerTransaction) jk::triggers::FlushBatchCounts();
  RunStep(mode, DeleteStep, counts);
}

}  // namespace jk::worker
