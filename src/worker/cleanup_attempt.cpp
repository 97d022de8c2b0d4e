// One batch of a cleanup step: the lock statement and the change, or the fused statement, or a
// sweep; a failing change redone one row at a time, skipping the rows that fail.
#include "worker/cleanup_attempt.hpp"

#include "pg/text.hpp"
#include "worker/idle_cascade.hpp"
#include "worker/owner_rights.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/resowner.h"
#include "utils/uuid.h"
}

namespace jk::worker {

int caller_subtransactions = 0;

namespace {

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

// Runs the kind's change statement on the locked rows tids; adds its counts to a.
void Change(Attempt* a, Datum tids) {
  Oid types[1] = {TIDARRAYOID};
  Datum values[1] = {tids};
  ExecuteOneRow(a->kind->change_sql, 1, types, values);
  a->first += ReadInt64(1);
  a->second += ReadInt64(2);
  SPI_freetuptable(SPI_tuptable);
}

// Changes each locked row in a subtransaction of its own; a row whose change fails is rolled
// back, logged and added to the skipped rows. A cancel or timeout ends the attempt.
void ChangeOneByOne(Attempt* a, ArrayType* tid_array, ArrayType* id_array) {
  Datum* tids;
  Datum* ids = nullptr;
  int ntids;
  int nids = 0;
  deconstruct_array(tid_array, TIDOID, sizeof(ItemPointerData), false, TYPALIGN_SHORT, &tids,
                    nullptr, &ntids);
  if (id_array != nullptr) {
    deconstruct_array(id_array, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR, &ids, nullptr, &nids);
  }
  MemoryContext caller = CurrentMemoryContext;
  ResourceOwner owner = CurrentResourceOwner;
  for (int i = 0; i < ntids && a->skipped->count < kMaxSkipped; i++) {
    CHECK_FOR_INTERRUPTS();
    Datum one = PointerGetDatum(
        construct_array(&tids[i], 1, TIDOID, sizeof(ItemPointerData), false, TYPALIGN_SHORT));
    caller_subtransactions++;
    BeginInternalSubTransaction(nullptr);
    PG_TRY();
    {
      Change(a, one);
      ReleaseCurrentSubTransaction();
      MemoryContextSwitchTo(caller);
      CurrentResourceOwner = owner;
    }
    PG_CATCH();
    {
      MemoryContextSwitchTo(caller);
      ErrorData* edata = CopyErrorData();
      FlushErrorState();
      RollbackAndReleaseCurrentSubTransaction();
      MemoryContextSwitchTo(caller);
      CurrentResourceOwner = owner;
      if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED ||
          edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE) {
        ReThrowError(edata);
      }
      // Rows with a uuid are named by it, the others (a TTL rule's) by their ctid.
      const char* id = i < nids ? DatumGetCString(DirectFunctionCall1(uuid_out, ids[i]))
                                : DatumGetCString(DirectFunctionCall1(tidout, tids[i]));
      ereport(LOG, (errmsg("jobkeeper cleanup skipped %s %s: %s", a->kind->row_kind, id,
                           edata->message),
                    errdetail("The row is left as it is; the next pass tries it again.")));
      if (a->error[0] == '\0') {
        jk::pg::CopyClipped(a->error, sizeof a->error,
                            psprintf("%s %s skipped: %s", a->kind->row_kind, id, edata->message));
      }
      ItemPointerCopy(reinterpret_cast<ItemPointer>(DatumGetPointer(tids[i])), &a->skipped->tids[a->skipped->count++]);
      a->rows_skipped++;
      FreeErrorData(edata);
    }
    PG_END_TRY();
  }
}

// Changes the rows the attempt's lock statement locked, all at once or one by one.
void ChangeLocked(Attempt* a) {
  if (!a->one_by_one) return Change(a, a->locked_tids);
  ChangeOneByOne(a, DatumGetArrayTypeP(a->locked_tids),
                 a->locked_ids_null ? nullptr : DatumGetArrayTypeP(a->locked_ids));
}

// A sweep batch: deletes the expired rows of its pages that no one holds, in one statement.
void RunSweep(Attempt* a) {
  ItemPointerData from;
  ItemPointerData to;
  ItemPointerSet(&from, a->sweep_from, 0);
  ItemPointerSet(&to, a->sweep_to, 0);
  Oid types[3] = {TIMESTAMPTZOID, TIDOID, TIDOID};
  Datum values[3] = {a->cutoff, PointerGetDatum(&from), PointerGetDatum(&to)};
  if (SPI_execute_with_args(a->kind->sweep_sql, 3, types, values, nullptr, false, 0) !=
      SPI_OK_DELETE) {
    elog(ERROR, "jobkeeper sweep statement did not delete");
  }
  a->first += static_cast<int64>(SPI_processed);
  ExecuteOneRow(a->kind->sweep_left_sql, 3, types, values);
  a->second += ReadInt64(1);
  SPI_freetuptable(SPI_tuptable);
}

// The attempt itself, inside its (sub)transaction with SPI connected.
void RunAttempt(Attempt* a) {
  if (a->guard_restore && RestoreConnected()) {
    a->postponed = true;
    return;
  }
  if (a->sweep) {
    RunSweep(a);
    return;
  }
  Datum* skipped = static_cast<Datum*>(palloc(sizeof(Datum) * (a->skipped->count + 1)));
  for (int i = 0; i < a->skipped->count; i++) {
    skipped[i] = PointerGetDatum(&a->skipped->tids[i]);
  }
  Oid types[4] = {TIMESTAMPTZOID, INT4OID, TIDARRAYOID, TEXTOID};
  Datum values[4] = {a->cutoff, Int32GetDatum(a->limit),
                     PointerGetDatum(construct_array(skipped, a->skipped->count, TIDOID,
                                                     sizeof(ItemPointerData), false,
                                                     TYPALIGN_SHORT)),
                     a->resume[0] != '\0' ? CStringGetTextDatum(a->resume) : (Datum)0};
  const char nulls[4] = {' ', ' ', ' ', a->resume[0] != '\0' ? ' ' : 'n'};
  if (a->fuse && !a->one_by_one) {
    ExecuteOneRow(a->kind->fused_sql, 3, types, values);
    a->taken = ReadInt64(1);
    a->first += ReadInt64(2);
    a->second += ReadInt64(3);
    SPI_freetuptable(SPI_tuptable);
    return;
  }
  const char* lock_sql = a->quick ? a->kind->quick_lock_sql : a->kind->lock_sql;
  if (SPI_execute_with_args(lock_sql, a->kind->keyset ? 4 : 3, types, values, nulls, false, 1) !=
          SPI_OK_SELECT ||
      SPI_processed != 1) {
    elog(ERROR, "jobkeeper cleanup statement returned no row");
  }
  SPITupleTable* locked = SPI_tuptable;
  a->taken = ReadInt64(3);
  if (a->kind->keyset && a->taken > 0) {
    char* last = SPI_getvalue(locked->vals[0], locked->tupdesc, 4);
    if (last != nullptr) strlcpy(a->resume, last, sizeof a->resume);
  }
  if (a->taken > 0) {
    bool isnull;
    a->locked_tids = SPI_getbinval(locked->vals[0], locked->tupdesc, 1, &isnull);
    a->locked_ids = SPI_getbinval(locked->vals[0], locked->tupdesc, 2, &isnull);
    a->locked_ids_null = isnull;
    void (*change)(void*) = [](void* attempt) { ChangeLocked(static_cast<Attempt*>(attempt)); };
    if (CascadeIsIdle(a->kind->cascade)) RunWithoutIdleCascade(change, a);
    else change(a);
  }
  // run_cleanup() keeps one SPI connection for every batch: free each batch's results.
  SPI_freetuptable(locked);
}

}  // namespace

Attempt NewAttempt(const BatchKind& kind, Datum cutoff, int limit, bool one_by_one, bool worker,
                   Skipped* skipped, const char* resume) {
  Attempt a = {};
  strlcpy(a.resume, resume, sizeof a.resume);
  a.kind = &kind;
  a.cutoff = cutoff;
  a.limit = limit;
  a.one_by_one = one_by_one;
  a.guard_restore = worker;
  a.skipped = skipped;
  return a;
}

bool RestoreConnected() {
  Oid types[1] = {OIDOID};
  Datum values[1] = {ObjectIdGetDatum(MyDatabaseId)};
  ExecuteOneRow(kRestoreConnectedSql, 1, types, values);
  bool isnull;
  const bool connected =
      DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
  SPI_freetuptable(SPI_tuptable);
  return connected;
}

// Runs the attempt as the kind's role when it names one (a TTL rule's owner; see RunAsOwner).
void RunAs(Attempt* a) {
  if (a->kind->run_as == InvalidOid) {
    RunAttempt(a);
    return;
  }
  RunAsOwner(a->kind->run_as, [](void* attempt) { RunAttempt(static_cast<Attempt*>(attempt)); },
             a);
}

}  // namespace jk::worker
