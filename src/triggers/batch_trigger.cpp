// jobkeeper.batch_trigger(): AFTER INSERT and AFTER DELETE on jobs, for jobs in a batch only
// (the triggers' WHEN clauses test batch_ids). An inserted job (a direct INSERT, or a
// restore's COPY, which rebuilds the batches' counts and job lists this way) is counted into
// its batches, a deleted one out of them; a TRUNCATE empties every batch. An UPDATE is the
// status trigger's.
#include <cstring>

#include "pg/entry.hpp"
#include "pg/saved_plans.hpp"
#include "triggers/batch_counts.hpp"
#include "triggers/trigger_rows.hpp"

extern "C" {
#include "commands/trigger.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/rel.h"
}

namespace {

struct Columns {
  Oid relid;
  int id, status, progress, finished_at, batch_ids;
};

const Columns& ColumnsFor(FunctionCallInfo fcinfo, Relation rel) {
  auto* c = static_cast<Columns*>(fcinfo->flinfo->fn_extra);
  if (c != nullptr && c->relid == RelationGetRelid(rel)) return *c;
  c = static_cast<Columns*>(MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof *c));
  c->relid = RelationGetRelid(rel);
  TupleDesc desc = RelationGetDescr(rel);
  for (int i = 0; i < desc->natts; i++) {
    Form_pg_attribute att = TupleDescAttr(desc, i);
    if (att->attisdropped) continue;
    const char* n = NameStr(att->attname);
    if (std::strcmp(n, "id") == 0) c->id = i + 1;
    if (std::strcmp(n, "status") == 0) c->status = i + 1;
    if (std::strcmp(n, "progress") == 0) c->progress = i + 1;
    if (std::strcmp(n, "finished_at") == 0) c->finished_at = i + 1;
    if (std::strcmp(n, "batch_ids") == 0) c->batch_ids = i + 1;
  }
  if (c->id == 0 || c->status == 0 || c->progress == 0 || c->finished_at == 0 ||
      c->batch_ids == 0) {
    ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                    errmsg("jobkeeper.batch_trigger() cannot run on table \"%s\"",
                           RelationGetRelationName(rel)),
                    errdetail("It runs only on jobkeeper.jobs.")));
  }
  fcinfo->flinfo->fn_extra = c;
  return *c;
}

// A TRUNCATE of jobs: every batch is left without jobs, and the counts this transaction's
// earlier changes left waiting are for rows that are gone.
void ForgetEveryBatchJob(Relation jobs) {
  jk::triggers::ForgetAllBatchCounts();
  Oid saved_user;
  int saved_context;
  GetUserIdAndSecContext(&saved_user, &saved_context);
  SetUserIdAndSecContext(jobs->rd_rel->relowner, saved_context | SECURITY_LOCAL_USERID_CHANGE);
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
  jk::pg::PinSearchPath();
  if (SPI_execute("DELETE FROM jobkeeper.batch_jobs", false, 0) < 0 ||
      SPI_execute("DELETE FROM jobkeeper.batch_counts", false, 0) < 0) {
    elog(ERROR, "jobkeeper: emptying the batches' job lists and counts failed");
  }
  jk::pg::UnpinSearchPath();
  SPI_finish();
  SetUserIdAndSecContext(saved_user, saved_context);
}

}  // namespace

JK_FUNCTION(jobkeeper_batch_trigger) {
  if (!CALLED_AS_TRIGGER(fcinfo)) {
    ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                    errmsg("jobkeeper.batch_trigger() must be called as a trigger")));
  }
  TriggerData* td = reinterpret_cast<TriggerData*>(fcinfo->context);
  if (TRIGGER_FIRED_BY_TRUNCATE(td->tg_event) && TRIGGER_FIRED_AFTER(td->tg_event)) {
    ForgetEveryBatchJob(td->tg_relation);
    return PointerGetDatum(nullptr);
  }
  const bool insert = TRIGGER_FIRED_BY_INSERT(td->tg_event);
  if (!TRIGGER_FIRED_FOR_ROW(td->tg_event) || !TRIGGER_FIRED_AFTER(td->tg_event) ||
      !(insert || TRIGGER_FIRED_BY_DELETE(td->tg_event))) {
    ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                    errmsg("jobkeeper.batch_trigger() must run AFTER INSERT OR DELETE FOR EACH "
                           "ROW, or AFTER TRUNCATE")));
  }
  const Columns& c = ColumnsFor(fcinfo, td->tg_relation);
  TupleTableSlot* row = td->tg_trigslot;
  jk::triggers::BatchSide side;
  bool isnull;
  side.present = true;
  side.batch_ids = slot_getattr(row, c.batch_ids, &isnull);
  if (isnull) return PointerGetDatum(nullptr);
  if (!jk::triggers::ReadStatus(row, c.status, &side.status)) return PointerGetDatum(nullptr);
  const Datum progress = slot_getattr(row, c.progress, &isnull);
  side.progress = isnull ? 0 : DatumGetInt16(progress);
  const Datum finished_at = slot_getattr(row, c.finished_at, &isnull);
  side.finished_at = isnull ? (Datum)0 : finished_at;
  const Datum id = slot_getattr(row, c.id, &isnull);
  const jk::triggers::BatchSide none;
  if (insert) {
    jk::triggers::CountBatchChange(td->tg_relation, id, none, side);
  } else {
    jk::triggers::CountBatchChange(td->tg_relation, id, side, none);
  }
  return PointerGetDatum(nullptr);
}
