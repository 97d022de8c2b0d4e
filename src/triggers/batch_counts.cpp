// A job's change applied to its batches (see batch_counts.hpp).
//
// The counts of a transaction's changes wait in TopTransactionContext, one entry per batch and
// nesting level, until XACT_EVENT_PRE_COMMIT writes them in one statement: updating a counter
// row once per job would make one transaction's versions of that row a chain that each update
// walks again (a bulk change of 100,000 jobs took minutes). Another session sees the counts
// with the jobs, as both commit together; the changing transaction itself reads its batches'
// counts as they were before it.
#include "triggers/batch_counts.hpp"

#include <cstring>
#include <optional>

#include "core/batches.hpp"
#include "pg/events.hpp"
#include "pg/saved_plans.hpp"

extern "C" {
#include "access/genam.h"
#include "access/heapam.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "executor/tuptable.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/backendid.h"
#include "utils/array.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"
}

namespace {

using jk::core::BatchDelta;
using jk::core::BatchedJob;

struct Ids {
  pg_uuid_t* ids = nullptr;
  int n = 0;
};

bool Contains(const Ids& set, const pg_uuid_t& id) {
  for (int i = 0; i < set.n; i++) {
    if (std::memcmp(&set.ids[i], &id, sizeof id) == 0) return true;
  }
  return false;
}

// The distinct batch ids of a uuid[] (null elements, which no batch has, are left out).
Ids ReadIds(const jk::triggers::BatchSide& side) {
  Ids out;
  if (!side.present || side.batch_ids == 0) return out;
  Datum* elems;
  bool* nulls;
  int n;
  deconstruct_array(DatumGetArrayTypeP(side.batch_ids), UUIDOID, UUID_LEN, false, TYPALIGN_CHAR,
                    &elems, &nulls, &n);
  out.ids = static_cast<pg_uuid_t*>(palloc(sizeof(pg_uuid_t) * (n > 0 ? n : 1)));
  for (int i = 0; i < n; i++) {
    if (nulls[i]) continue;
    const pg_uuid_t* id = DatumGetUUIDP(elems[i]);
    if (!Contains(out, *id)) out.ids[out.n++] = *id;
  }
  return out;
}

// One batch's waiting counts, for one nesting level of the transaction.
struct Pending {
  pg_uuid_t batch;
  int level;
  int64 counters[5];  // pending, processing, completed, failed, cancelled
  int64 progress;
  TimestampTz last_finished;  // 0: none
};

Pending* pending = nullptr;  // in TopTransactionContext; null when nothing waits
int pending_count = 0;
int pending_capacity = 0;
int last_hit = -1;
Oid pending_owner = InvalidOid;  // the owner of jobs, whose rights the write runs with

void Forget() {
  pending = nullptr;  // freed with TopTransactionContext
  pending_count = pending_capacity = 0;
  last_hit = -1;
}

Pending& EntryFor(const pg_uuid_t& batch) {
  const int level = GetCurrentTransactionNestLevel();
  auto matches = [&](int i) {
    return pending[i].level == level && std::memcmp(&pending[i].batch, &batch, sizeof batch) == 0;
  };
  if (last_hit >= 0 && last_hit < pending_count && matches(last_hit)) return pending[last_hit];
  for (int i = pending_count - 1; i >= 0; i--) {
    if (matches(i)) return pending[last_hit = i];
  }
  if (pending_count == pending_capacity) {
    const int wanted = pending_capacity == 0 ? 8 : pending_capacity * 2;
    auto* grown = static_cast<Pending*>(
        MemoryContextAlloc(TopTransactionContext, sizeof(Pending) * wanted));
    if (pending_count > 0) std::memcpy(grown, pending, sizeof(Pending) * pending_count);
    if (pending != nullptr) pfree(pending);
    pending = grown;
    pending_capacity = wanted;
  }
  Pending& e = pending[pending_count];
  std::memset(&e, 0, sizeof e);
  e.batch = batch;
  e.level = level;
  return pending[last_hit = pending_count++];
}

void Execute(SPIPlanPtr plan, Datum* values, const char* nulls) {
  (void)jk::pg::ExecuteIndexed(plan, values, nulls, 0);
}

Datum UuidArray(Datum* elems, int n) {
  return PointerGetDatum(construct_array(elems, n, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR));
}

Datum Int8Array(Datum* elems, int n) {
  return PointerGetDatum(construct_array(elems, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

// Runs `body` connected to SPI, with the search path pinned and the rights of the owner of
// jobs (its tables are not the caller's to write).
template <typename Body>
void AsOwner(Oid owner, Body body) {
  Oid saved_user;
  int saved_context;
  GetUserIdAndSecContext(&saved_user, &saved_context);
  SetUserIdAndSecContext(owner, saved_context | SECURITY_LOCAL_USERID_CHANGE |
                                    SECURITY_NOFORCE_RLS);
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
  jk::pg::PinSearchPath();
  body();
  jk::pg::UnpinSearchPath();
  SPI_finish();
  SetUserIdAndSecContext(saved_user, saved_context);
}

// The counter rows of the transaction's batches, in this backend's stripe: concurrent backends
// never share a row (a backend id belongs to one live backend), so they never wait on each
// other, and rows are taken in batch id order.
constexpr const char* kCountsSql =
    "INSERT INTO jobkeeper.batch_counts AS c (batch_id, stripe, pending, processing, completed, "
    "failed, cancelled, progress_sum, last_finished_at) "
    "SELECT d.b, $2, d.pe, d.pr, d.co, d.fa, d.ca, d.ps, d.lf FROM ROWS FROM "
    "(pg_catalog.unnest($1), pg_catalog.unnest($3), pg_catalog.unnest($4), "
    "pg_catalog.unnest($5), pg_catalog.unnest($6), pg_catalog.unnest($7), "
    "pg_catalog.unnest($8), pg_catalog.unnest($9)) AS d(b, pe, pr, co, fa, ca, ps, lf) "
    "ORDER BY d.b "
    "ON CONFLICT (batch_id, stripe) DO UPDATE SET "
    "pending = c.pending OPERATOR(pg_catalog.+) EXCLUDED.pending, "
    "processing = c.processing OPERATOR(pg_catalog.+) EXCLUDED.processing, "
    "completed = c.completed OPERATOR(pg_catalog.+) EXCLUDED.completed, "
    "failed = c.failed OPERATOR(pg_catalog.+) EXCLUDED.failed, "
    "cancelled = c.cancelled OPERATOR(pg_catalog.+) EXCLUDED.cancelled, "
    "progress_sum = c.progress_sum OPERATOR(pg_catalog.+) EXCLUDED.progress_sum, "
    "last_finished_at = GREATEST(c.last_finished_at, EXCLUDED.last_finished_at)";

constexpr const char* kJoinSql =
    "INSERT INTO jobkeeper.batch_jobs (batch_id, job_id) "
    "SELECT b.b, $2 FROM pg_catalog.unnest($1) AS b(b) ON CONFLICT DO NOTHING";

constexpr const char* kLeaveSql =
    "DELETE FROM jobkeeper.batch_jobs WHERE batch_id OPERATOR(pg_catalog.=) ANY ($1) "
    "AND job_id OPERATOR(pg_catalog.=) $2";

struct CountsRelations {
  Relation heap;
  Relation pkey;
  IndexInfo* info;
};

// Opens batch_counts and its primary key; false when the schema has no such table or its
// layout is not the one AddInPlace writes (the statements then do the work).
bool OpenCounts(CountsRelations* r) {
  const Oid schema = get_namespace_oid("jobkeeper", true);
  const Oid heap = OidIsValid(schema) ? get_relname_relid("batch_counts", schema) : InvalidOid;
  const Oid pkey = OidIsValid(schema) ? get_relname_relid("batch_counts_pkey", schema)
                                      : InvalidOid;
  if (!OidIsValid(heap) || !OidIsValid(pkey)) return false;
  r->heap = table_open(heap, RowExclusiveLock);
  r->pkey = index_open(pkey, RowExclusiveLock);
  if (RelationGetDescr(r->heap)->natts != 9 || r->pkey->rd_index->indnatts != 2) {
    index_close(r->pkey, RowExclusiveLock);
    table_close(r->heap, RowExclusiveLock);
    return false;
  }
  r->info = BuildIndexInfo(r->pkey);
  return true;
}

// Adds deltas (pending, processing, completed, failed, cancelled, progress) and a finish
// time to row (batch, stripe) of batch_counts, whose columns are (batch_id, stripe, pending,
// processing, completed, failed, cancelled, progress_sum, last_finished_at); false when there
// is no such row.
bool AddInPlace(const CountsRelations& r, Snapshot snapshot, Datum batch, int32 stripe,
                const int64 deltas[6], Datum finished, bool finished_null) {
  ScanKeyData keys[2];
  ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_UUID_EQ, batch);
  ScanKeyInit(&keys[1], 2, BTEqualStrategyNumber, F_INT4EQ, Int32GetDatum(stripe));
  IndexScanDesc scan = index_beginscan(r.heap, r.pkey, snapshot, 2, 0);
  index_rescan(scan, keys, 2, nullptr, 0);
  TupleTableSlot* slot = table_slot_create(r.heap, nullptr);
  const bool found = index_getnext_slot(scan, ForwardScanDirection, slot);
  if (found) {
    slot_getallattrs(slot);
    Datum values[9];
    bool nulls[9];
    std::memcpy(values, slot->tts_values, sizeof values);
    std::memcpy(nulls, slot->tts_isnull, sizeof nulls);
    for (int c = 0; c < 6; c++) values[2 + c] = Int64GetDatum(DatumGetInt64(values[2 + c]) + deltas[c]);
    if (!finished_null &&
        (nulls[8] || DatumGetTimestampTz(finished) > DatumGetTimestampTz(values[8]))) {
      values[8] = finished;
      nulls[8] = false;
    }
    HeapTuple row = heap_form_tuple(RelationGetDescr(r.heap), values, nulls);
    ItemPointerData old = slot->tts_tid;
    simple_heap_update(r.heap, &old, row);
    if (!HeapTupleIsHeapOnly(row)) {
      Datum key[2] = {values[0], values[1]};
      bool key_nulls[2] = {false, false};
      (void)index_insert(r.pkey, key, key_nulls, &row->t_self, r.heap, UNIQUE_CHECK_YES, false,
                         r.info);
    }
  }
  ExecDropSingleTupleTableSlot(slot);
  index_endscan(scan);
  return found;
}

// Writes the waiting counts, one row per batch (the levels summed), and the reopened
// batches' stamps.
void Flush(bool preparing) {
  if (pending_count == 0) return;
  // A prepared transaction keeps its row locks until COMMIT PREPARED, maybe for long, and
  // its backend id goes to the next backend: it writes a row of its own (a negative stripe
  // from its transaction id) so that it never holds a live backend's.
  const int32 stripe = preparing
      ? -1 - static_cast<int32>(GetTopTransactionId() & 0x7fffffff)
      : static_cast<int32>(MyBackendId);
  const int cap = pending_count;
  auto datums = [&] { return static_cast<Datum*>(palloc(sizeof(Datum) * cap)); };
  Datum* batch = datums();
  Datum* counters[5] = {datums(), datums(), datums(), datums(), datums()};
  Datum* progress = datums();
  Datum* finished = datums();
  bool* finished_nulls = static_cast<bool*>(palloc(sizeof(bool) * cap));
  int n = 0;
  for (int i = 0; i < pending_count; i++) {
    const Pending& e = pending[i];
    int at = -1;
    for (int k = 0; k < n && at < 0; k++) {
      if (std::memcmp(DatumGetUUIDP(batch[k]), &e.batch, sizeof e.batch) == 0) at = k;
    }
    if (at < 0) {
      at = n++;
      batch[at] = UUIDPGetDatum(&pending[i].batch);
      for (auto& c : counters) c[at] = Int64GetDatum(0);
      progress[at] = Int64GetDatum(0);
      finished_nulls[at] = true;
      finished[at] = 0;
    }
    for (int c = 0; c < 5; c++) {
      counters[c][at] = Int64GetDatum(DatumGetInt64(counters[c][at]) + e.counters[c]);
    }
    progress[at] = Int64GetDatum(DatumGetInt64(progress[at]) + e.progress);
    if (e.last_finished != 0 &&
        (finished_nulls[at] || e.last_finished > DatumGetTimestampTz(finished[at]))) {
      finished[at] = TimestampTzGetDatum(e.last_finished);
      finished_nulls[at] = false;
    }
  }
  const Oid owner = pending_owner;
  Forget();  // an error below aborts the transaction; nothing is written twice

  static SPIPlanPtr counts_plan = nullptr;
  // This backend's row of each batch is updated in place once it exists: found by its
  // primary key and rewritten as PostgreSQL's catalogs are (simple_heap_update, a new index
  // entry only when the update is not HOT). An UPDATE statement cost the job lifecycle of a
  // batch's jobs a tenth of its time, most of it the executor's start. Only this backend
  // writes its rows (a prepared transaction writes one of its own), so no update races it
  // but a batch's deletion, which then fails this commit. The rows it lacks are inserted.
  int missing = 0;
  {
    CountsRelations rels;
    const bool open = OpenCounts(&rels);
    Snapshot snapshot = open ? RegisterSnapshot(GetLatestSnapshot()) : nullptr;
    for (int k = 0; k < n; k++) {
      const int64 deltas[6] = {DatumGetInt64(counters[0][k]), DatumGetInt64(counters[1][k]),
                               DatumGetInt64(counters[2][k]), DatumGetInt64(counters[3][k]),
                               DatumGetInt64(counters[4][k]), DatumGetInt64(progress[k])};
      if (open && AddInPlace(rels, snapshot, batch[k], stripe, deltas, finished[k],
                             finished_nulls[k])) {
        continue;
      }
      // Kept for the insert, in place.
      batch[missing] = batch[k];
      for (auto& c : counters) c[missing] = c[k];
      progress[missing] = progress[k];
      finished[missing] = finished[k];
      finished_nulls[missing] = finished_nulls[k];
      missing++;
    }
    if (open) {
      UnregisterSnapshot(snapshot);
      index_close(rels.pkey, NoLock);
      table_close(rels.heap, NoLock);
    }
  }
  if (missing == 0) return;
  // Before the commit no statement is running: the insert takes a snapshot of its own.
  PushActiveSnapshot(GetTransactionSnapshot());
  AsOwner(owner, [&] {
    if (missing > 0) {
      const Oid types[9] = {UUIDARRAYOID, INT4OID,      INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID,
                            INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, TIMESTAMPTZARRAYOID};
      int dims[1] = {missing};
      int lbs[1] = {1};
      Datum args[9] = {
          UuidArray(batch, missing),
          Int32GetDatum(stripe),
          Int8Array(counters[0], missing),
          Int8Array(counters[1], missing),
          Int8Array(counters[2], missing),
          Int8Array(counters[3], missing),
          Int8Array(counters[4], missing),
          Int8Array(progress, missing),
          PointerGetDatum(construct_md_array(finished, finished_nulls, 1, dims, lbs,
                                             TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL,
                                             TYPALIGN_DOUBLE))};
      Execute(jk::pg::SavedPlan(&counts_plan, kCountsSql, 9, types, true), args, nullptr);
    }
  });
  PopActiveSnapshot();
}

void OnTransaction(XactEvent event, void*) {
  switch (event) {
    case XACT_EVENT_PRE_COMMIT:
      Flush(false);
      return;
    case XACT_EVENT_PRE_PREPARE:
      Flush(true);
      return;
    case XACT_EVENT_PARALLEL_PRE_COMMIT:
      return;
    default:
      Forget();
      return;
  }
}

void OnSubtransaction(SubXactEvent event, SubTransactionId, SubTransactionId, void*) {
  if (pending_count == 0) return;
  const int level = GetCurrentTransactionNestLevel();  // the one ending
  if (event == SUBXACT_EVENT_ABORT_SUB) {
    int kept = 0;
    for (int i = 0; i < pending_count; i++) {
      if (pending[i].level < level) pending[kept++] = pending[i];
    }
    pending_count = kept;
    last_hit = -1;
  } else if (event == SUBXACT_EVENT_COMMIT_SUB) {
    // Its counts become its parent's (an entry of the parent's for the same batch may exist:
    // Flush sums them).
    for (int i = 0; i < pending_count; i++) {
      if (pending[i].level == level) pending[i].level = level - 1;
    }
    last_hit = -1;
  }
}

}  // namespace

namespace jk::triggers {

void CountBatchChange(Relation jobs, Datum job_id, const BatchSide& before,
                      const BatchSide& after) {
  const Ids was = ReadIds(before);
  const Ids is = ReadIds(after);
  const int cap = was.n + is.n;
  if (cap == 0) return;

  Datum* joined = static_cast<Datum*>(palloc(sizeof(Datum) * cap));
  Datum* left = static_cast<Datum*>(palloc(sizeof(Datum) * cap));
  int n_joined = 0, n_left = 0;
  const TimestampTz finished_at =
      after.present && jk::core::IsFinished(after.status) && after.finished_at != 0
          ? DatumGetTimestampTz(after.finished_at) : 0;
  auto visit = [&](const pg_uuid_t& id, bool in_before, bool in_after) {
    std::optional<BatchedJob> b, a;
    if (in_before) b = BatchedJob{before.status, before.progress};
    if (in_after) a = BatchedJob{after.status, after.progress};
    BatchDelta d = jk::core::DeltaFor(b, a);
    if (d.IsEmpty()) return;
    Pending& e = EntryFor(id);
    const int deltas[5] = {d.pending, d.processing, d.completed, d.failed, d.cancelled};
    for (int c = 0; c < 5; c++) e.counters[c] += deltas[c];
    e.progress += d.progress;
    if (in_after && finished_at > e.last_finished) e.last_finished = finished_at;
    if (d.may_finish) jk::pg::RecordBatchHint(&id);
    auto* copy = static_cast<pg_uuid_t*>(palloc(sizeof(pg_uuid_t)));
    *copy = id;
    if (!in_before) joined[n_joined++] = UUIDPGetDatum(copy);
    if (!in_after) left[n_left++] = UUIDPGetDatum(copy);
  };
  for (int i = 0; i < was.n; i++) visit(was.ids[i], true, Contains(is, was.ids[i]));
  for (int i = 0; i < is.n; i++) {
    if (!Contains(was, is.ids[i])) visit(is.ids[i], false, true);
  }
  pending_owner = jobs->rd_rel->relowner;
  if (n_joined == 0 && n_left == 0) return;

  // Each batch's list of jobs changes at once: the batch functions act on it in the same
  // transaction.
  static SPIPlanPtr join_plan = nullptr;
  static SPIPlanPtr leave_plan = nullptr;
  AsOwner(pending_owner, [&] {
    const Oid member_types[2] = {UUIDARRAYOID, UUIDOID};
    if (n_joined > 0) {
      Datum args[2] = {UuidArray(joined, n_joined), job_id};
      Execute(jk::pg::SavedPlan(&join_plan, kJoinSql, 2, member_types, true), args, nullptr);
    }
    if (n_left > 0) {
      Datum args[2] = {UuidArray(left, n_left), job_id};
      Execute(jk::pg::SavedPlan(&leave_plan, kLeaveSql, 2, member_types, true), args, nullptr);
    }
  });
}

void ForgetBatchCounts(const pg_uuid_t* batches, int n) {
  int kept = 0;
  for (int i = 0; i < pending_count; i++) {
    bool gone = false;
    for (int k = 0; k < n && !gone; k++) {
      gone = std::memcmp(&pending[i].batch, &batches[k], sizeof batches[k]) == 0;
    }
    if (!gone) pending[kept++] = pending[i];
  }
  pending_count = kept;
  last_hit = -1;
}

void ForgetAllBatchCounts() {
  pending_count = 0;
  last_hit = -1;
}

bool HasWaitingBatchCounts(const pg_uuid_t* batch) {
  for (int i = 0; i < pending_count; i++) {
    if (std::memcmp(&pending[i].batch, batch, sizeof *batch) == 0) return true;
  }
  return false;
}

void RegisterBatchCallbacks() {
  RegisterXactCallback(OnTransaction, nullptr);
  RegisterSubXactCallback(OnSubtransaction, nullptr);
}

}  // namespace jk::triggers
