// The TTL pass: for each rule, its target is checked (src/core/ttl.cpp decides), its delete
// statements are built for the table and column as they are named now, and the cleanup's
// batches run them with the rule owner's rights.
#include "worker/ttl_pass.hpp"

#include <cstring>

#include "core/ttl.hpp"
#include "pg/postgres.hpp"
#include "pg/settings.hpp"
#include "pg/text.hpp"
#include "pg/ttl_target.hpp"
#include "worker/cleanup_statements.hpp"
#include "worker/owner_rights.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/datetime.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
}

namespace jk::worker {

namespace {

// A rule as read from ttl_rules at the start of the pass.
struct Rule {
  int64 id;
  Oid tbl;
  NameData column;
  Interval ttl;
  int batch_size;  // 0: jobkeeper.cleanup_batch_size
  Oid owner;
  char last_error[kPassErrorLength];  // its error of the run before, "" when none
};

// What the check of a rule found: the action, its error, and for a rule to run its batches.
struct Plan {
  jk::core::TtlAction action;
  char error[kPassErrorLength];
  BatchKind kind;
  Datum cutoff;  // now() - ttl, as timestamptz; the statements cast it to the column's type
  uint32 sweep_pages;     // pages to sweep first (0: by index only)
  int pages_per_batch;
};

// Runs body, with SPI connected, like a batch (RunIsolatedBody): in a transaction of its own
// under the batch's timeouts (worker) or in a subtransaction of the caller's (run_ttl). An
// error is rolled back and copied into error (false returned); for run_ttl a cancel or
// statement timeout is raised instead.
template <typename Body>
bool Isolated(TxMode mode, Body body, char* error) {
  auto run = [](void* arg) {
    SPI_connect();
    (*static_cast<Body*>(arg))();
    SPI_finish();
  };
  const Outcome outcome = RunIsolatedBody(mode, run, &body, error, false);
  if (outcome == Outcome::kTimedOut) {
    strlcpy(error, "timed out (jobkeeper.cleanup_batch_timeout)", kPassErrorLength);
  }
  return outcome == Outcome::kDone;
}

int64 Int64At(HeapTuple row, TupleDesc desc, int col, bool* isnull) {
  const Datum d = SPI_getbinval(row, desc, col, isnull);
  return *isnull ? 0 : DatumGetInt64(d);
}

// Reads every rule, oldest first, into memory of context `into`.
void ReadRules(MemoryContext into, Rule** rules, int* count) {
  if (SPI_execute("SELECT r.id, r.tbl::pg_catalog.oid, r.column_name, r.ttl, r.batch_size,"
                  "       r.owner::pg_catalog.oid, r.last_error"
                  "  FROM jobkeeper.ttl_rules r ORDER BY r.id",
                  true, 0) != SPI_OK_SELECT) {
    elog(ERROR, "could not read jobkeeper.ttl_rules");
  }
  *count = static_cast<int>(SPI_processed);
  *rules = static_cast<Rule*>(MemoryContextAllocZero(into, sizeof(Rule) * (*count + 1)));
  for (int i = 0; i < *count; i++) {
    HeapTuple row = SPI_tuptable->vals[i];
    TupleDesc desc = SPI_tuptable->tupdesc;
    Rule* r = &(*rules)[i];
    bool isnull;
    r->id = Int64At(row, desc, 1, &isnull);
    r->tbl = DatumGetObjectId(SPI_getbinval(row, desc, 2, &isnull));
    namestrcpy(&r->column, NameStr(*DatumGetName(SPI_getbinval(row, desc, 3, &isnull))));
    r->ttl = *DatumGetIntervalP(SPI_getbinval(row, desc, 4, &isnull));
    const Datum size = SPI_getbinval(row, desc, 5, &isnull);
    r->batch_size = isnull ? 0 : DatumGetInt32(size);
    r->owner = DatumGetObjectId(SPI_getbinval(row, desc, 6, &isnull));
    const char* last_error = SPI_getvalue(row, desc, 7);
    if (last_error != nullptr) strlcpy(r->last_error, last_error, sizeof r->last_error);
  }
  SPI_freetuptable(SPI_tuptable);
}

// Decides whether the rule's run sweeps first (src/core/ttl.cpp): counts, through the index,
// up to the share of the table's estimated rows that makes a sweep pay. Runs as the owner:
// the count sees what the deletes would.
void ChooseSweep(const Rule& rule, const jk::pg::TtlTargetInfo& t, Plan* plan) {
#if PG_VERSION_NUM < 140000
  // Without TID range scans (PostgreSQL 14) each sweep batch would read the whole table.
  return;
#endif
  Oid types[2] = {OIDOID, TIMESTAMPTZOID};
  Datum values[2] = {ObjectIdGetDatum(rule.tbl), plan->cutoff};
  // The statistics' rows per page size the batches; the sweep goes to the table's end now.
  if (SPI_execute_with_args("SELECT c.reltuples::float8, c.relpages::float8,"
                            "       (pg_catalog.pg_relation_size(c.oid)"
                            "        / pg_catalog.current_setting('block_size')::int8)::float8"
                            "  FROM pg_catalog.pg_class c WHERE c.oid = $1",
                            1, types, values, nullptr, true, 1) != SPI_OK_SELECT ||
      SPI_processed != 1) {
    return;
  }
  bool isnull;
  const double reltuples =
      DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
  const double relpages =
      DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
  const double pages_now =
      DatumGetFloat8(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
  SPI_freetuptable(SPI_tuptable);
  const long long probe = jk::core::SweepProbeRows(reltuples);
  if (probe == 0) return;
  const char* count_sql = psprintf(
      "SELECT pg_catalog.count(*) FROM (SELECT FROM ONLY %s t WHERE t.%s <= $1::%s LIMIT %lld) s",
      t.table, t.column, t.type_name, probe);
  struct Count {
    const char* sql;
    Datum cutoff;
    long long expired;
  } count = {count_sql, plan->cutoff, 0};
  RunAsOwner(rule.owner, [](void* arg) {
    Count* c = static_cast<Count*>(arg);
    Oid type = TIMESTAMPTZOID;
    if (SPI_execute_with_args(c->sql, 1, &type, &c->cutoff, nullptr, true, 1) == SPI_OK_SELECT &&
        SPI_processed == 1) {
      bool null;
      c->expired =
          DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &null));
      SPI_freetuptable(SPI_tuptable);
    }
  }, &count);
  const long long expired = count.expired;
  if (!jk::core::UseSweep(reltuples, expired)) return;
  const int size = rule.batch_size > 0 ? rule.batch_size : jk::pg::cleanup_batch_size;
  plan->sweep_pages = static_cast<uint32>(pages_now);
  plan->pages_per_batch = jk::core::SweepPagesPerBatch(size, reltuples, relpages);
}

// Checks the rule's target now and, for a rule to run, builds its statements in `into`. The
// rows are taken oldest first through the index that leads with the column; ONLY: a table's
// inheritance children are not its rows.
void CheckRule(const Rule& rule, MemoryContext into, Plan* plan) {
  const jk::pg::TtlTargetInfo t =
      jk::pg::ReadTtlTarget(rule.tbl, NameStr(rule.column), rule.owner);
  const jk::core::TtlProblem problem = jk::core::CheckTtlTarget(t.facts);
  plan->action = jk::core::TtlActionFor(problem);
  if (plan->action != jk::core::TtlAction::kRun) {
    jk::pg::CopyClipped(plan->error, sizeof plan->error,
                        jk::pg::DescribeTtlProblem(problem, t).message);
    return;
  }
  plan->cutoff = DirectFunctionCall2(timestamptz_mi_interval,
                                     TimestampTzGetDatum(GetCurrentTimestamp()),
                                     IntervalPGetDatum(const_cast<Interval*>(&rule.ttl)));
  MemoryContext old = MemoryContextSwitchTo(into);
  plan->kind.activity = psprintf("jobkeeper: TTL rule %lld, deleting from %s",
                                 static_cast<long long>(rule.id), t.table);
  plan->kind.row_kind = psprintf("row of %s", t.table);
  // The key goes to the next batch as text, which round-trips every value of the column's
  // type exactly (a timestamp through timestamptz would not, in a daylight-saving gap).
  plan->kind.lock_sql = psprintf(
      "SELECT pg_catalog.array_agg(v.tid), NULL::pg_catalog.uuid[], pg_catalog.count(*),"
      "       pg_catalog.max(v.k)::pg_catalog.text FROM ("
      "  SELECT t.ctid AS tid, t.%s AS k FROM ONLY %s t"
      "   WHERE t.%s <= $1::%s AND ($4 IS NULL OR t.%s >= $4::%s)"
      "     AND t.ctid OPERATOR(pg_catalog.<>) ALL ($3)"
      "   ORDER BY t.%s LIMIT $2 FOR UPDATE OF t SKIP LOCKED) v",
      t.column, t.table, t.column, t.type_name, t.column, t.type_name, t.column);
  plan->kind.keyset = true;
  plan->kind.change_sql = psprintf(
      "WITH gone AS (DELETE FROM ONLY %s t WHERE t.ctid OPERATOR(pg_catalog.=) ANY ($1)"
      "    RETURNING 1)"
      " SELECT pg_catalog.count(*), 0::pg_catalog.int8 FROM gone",
      t.table);
  // A sweep needs no index order: each batch a range of pages (a TID range scan), deleting
  // what has expired there and has no xmax, that is, no one locks, updates or deletes it
  // (a row locked in the instant between that check and the delete is waited for, within
  // the batch's lock timeout).
  // No RETURNING: it would fetch every deleted row again; the count is the statement's.
  plan->kind.sweep_sql = psprintf(
      "DELETE FROM ONLY %s t"
      " WHERE t.ctid OPERATOR(pg_catalog.>=) $2 AND t.ctid OPERATOR(pg_catalog.<) $3"
      "   AND t.%s <= $1::%s AND t.xmax OPERATOR(pg_catalog.=) '0'::pg_catalog.xid",
      t.table, t.column, t.type_name);
  // Then, in the same transaction, the expired rows of those pages that are left: the ones
  // someone held, for the index step to take (none left: it is not needed).
  plan->kind.sweep_left_sql = psprintf(
      "SELECT pg_catalog.count(*) FROM ONLY %s t"
      " WHERE t.ctid OPERATOR(pg_catalog.>=) $2 AND t.ctid OPERATOR(pg_catalog.<) $3"
      "   AND t.%s <= $1::%s",
      t.table, t.column, t.type_name);
  MemoryContextSwitchTo(old);
  ChooseSweep(rule, t, plan);
  plan->kind.run_as = rule.owner;
  plan->kind.batch_size = rule.batch_size;
}

// Removes a rule whose table or column is gone.
void RetireRule(const Rule& rule, const char* why) {
  Oid types[1] = {INT8OID};
  Datum values[1] = {Int64GetDatum(rule.id)};
  if (SPI_execute_with_args("DELETE FROM jobkeeper.ttl_rules r WHERE r.id OPERATOR(pg_catalog.=) $1", 1, types,
                            values, nullptr, false, 0) != SPI_OK_DELETE) {
    elog(ERROR, "could not retire jobkeeper TTL rule %lld", static_cast<long long>(rule.id));
  }
  ereport(LOG, (errmsg("jobkeeper TTL rule %lld retired: %s", static_cast<long long>(rule.id),
                       why)));
}

// Records what a rule did in this pass in its row.
void RecordRule(const Rule& rule, int64 deleted, const char* error) {
  Oid types[3] = {INT8OID, INT8OID, TEXTOID};
  Datum values[3] = {Int64GetDatum(rule.id), Int64GetDatum(deleted),
                     error[0] != '\0' ? CStringGetTextDatum(error) : (Datum)0};
  const char nulls[3] = {' ', ' ', error[0] != '\0' ? ' ' : 'n'};
  if (SPI_execute_with_args(
          "UPDATE jobkeeper.ttl_rules r SET last_run_at = pg_catalog.now(),"
          "       last_rows_deleted = $2,"
          "       rows_deleted = r.rows_deleted OPERATOR(pg_catalog.+) $2, last_error = $3"
          " WHERE r.id OPERATOR(pg_catalog.=) $1",
          3, types, values, nulls, false, 0) != SPI_OK_UPDATE) {
    elog(ERROR, "could not record jobkeeper TTL rule %lld", static_cast<long long>(rule.id));
  }
}

// Runs one rule: check, batches, record. Its problems and errors go to result->error.
void RunRule(TxMode mode, const Rule& rule, MemoryContext pass, CleanupCounts* counts,
             BetweenBatches between, TtlRuleResult* result) {
  Plan plan = {};
  char error[kPassErrorLength] = "";
  if (!Isolated(mode, [&] { CheckRule(rule, pass, &plan); }, error)) {
    plan.action = jk::core::TtlAction::kSkip;
    strlcpy(plan.error, error, sizeof plan.error);
  }
  MemoryContextSwitchTo(pass);
  if (plan.action == jk::core::TtlAction::kRetire) {
    if (Isolated(mode, [&] { RetireRule(rule, plan.error); }, error)) {
      result->retired = true;
      strlcpy(result->error, plan.error, sizeof result->error);
    } else {
      strlcpy(result->error, error, sizeof result->error);
    }
    MemoryContextSwitchTo(pass);
    return;
  }
  CleanupCounts own = {};
  if (plan.action == jk::core::TtlAction::kRun) {
    if (mode == TxMode::kCallerTransaction) SPI_connect();
    int64 left = 0;
    const bool swept =
        plan.sweep_pages > 0 &&
        RunSweepBatches(mode, plan.kind, plan.cutoff, plan.sweep_pages, plan.pages_per_batch,
                        &own, between, &result->rows_deleted, &left);
    // By index: everything, or what the sweep left (rows someone held), or the rest when a
    // sweep batch failed.
    if (!own.postponed && (!swept || left > 0)) {
      RunBatches(mode, plan.kind, plan.cutoff, &own, between, &result->rows_deleted);
    }
    if (mode == TxMode::kCallerTransaction) SPI_finish();
    MemoryContextSwitchTo(pass);
    strlcpy(result->error, own.error, sizeof result->error);
  } else {
    strlcpy(result->error, plan.error, sizeof result->error);
  }
  counts->ttl_rows_deleted += result->rows_deleted;
  counts->rows_skipped += own.rows_skipped;
  counts->postponed = counts->postponed || own.postponed;
  // An error the rule already had at its last run stays in ttl_rules.last_error only: a rule
  // whose problem persists must not make every run a failed one (a WARNING and a cleanup_runs
  // row a minute). A new or changed error is the run's.
  if (result->error[0] != '\0' && strcmp(result->error, rule.last_error) != 0) {
    char message[kPassErrorLength];
    snprintf(message, sizeof message, "TTL rule %lld: %s", static_cast<long long>(rule.id),
             result->error);
    NoteError(counts, message);
  }
  if (own.postponed) return;  // a restore: nothing more is changed
  if (!Isolated(mode, [&] { RecordRule(rule, result->rows_deleted, result->error); }, error)) {
    NoteError(counts, error);
  }
  MemoryContextSwitchTo(pass);
}

}  // namespace

void RunTtlPass(TxMode mode, CleanupCounts* counts, BetweenBatches between,
                TtlRuleResult** results, int* count) {
  MemoryContext pass = CurrentMemoryContext;
  if (mode == TxMode::kCallerTransaction) BeginCallerRun();
  Rule* rules = nullptr;
  int nrules = 0;
  char error[kPassErrorLength] = "";
  if (!Isolated(mode, [&] { ReadRules(pass, &rules, &nrules); }, error)) {
    MemoryContextSwitchTo(pass);
    NoteError(counts, error);
    nrules = 0;
  }
  MemoryContextSwitchTo(pass);
  TtlRuleResult* out =
      static_cast<TtlRuleResult*>(palloc0(sizeof(TtlRuleResult) * (nrules + 1)));
  int done = 0;
  for (int i = 0; i < nrules && !counts->postponed; i++) {
    CHECK_FOR_INTERRUPTS();
    TtlRuleResult* r = &out[done++];
    r->rule_id = rules[i].id;
    r->tbl = rules[i].tbl;
    strlcpy(r->column, NameStr(rules[i].column), sizeof r->column);
    RunRule(mode, rules[i], pass, counts, between, r);
  }
  if (results != nullptr) {
    *results = out;
    *count = done;
  }
}

}  // namespace jk::worker
