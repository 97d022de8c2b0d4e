// jobkeeper.event_trigger(): AFTER INSERT on jobs and export_jobs. It runs only for rows that
// were stored (not for the row an ON CONFLICT DO NOTHING skipped, nor one a later BEFORE
// trigger dropped) and records the event of SPEC section 6 with the transaction;
// pg/events.cpp sends it once the transaction commits. An UPDATE's event is recorded by the
// status trigger, which has the old and new status at hand: an AFTER ROW UPDATE trigger would
// make PostgreSQL fetch the old row again for every row updated, a third more on a bulk UPDATE.
#include <cstring>

#include "core/row_rules.hpp"
#include "pg/entry.hpp"
#include "pg/events.hpp"
#include "pg/settings.hpp"
#include "triggers/trigger_rows.hpp"

extern "C" {
#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "utils/rel.h"
}

namespace {

using jk::core::Status;
using jk::triggers::EventColumns;
using jk::triggers::ReadStatus;

// The event's columns and the status column, found once per statement.
struct Columns {
  Oid relid;
  int status;
  EventColumns event;
};

const Columns& ColumnsFor(FunctionCallInfo fcinfo, Relation rel, bool job) {
  auto* c = static_cast<Columns*>(fcinfo->flinfo->fn_extra);
  if (c != nullptr && c->relid == RelationGetRelid(rel)) return *c;
  c = static_cast<Columns*>(MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof *c));
  c->relid = RelationGetRelid(rel);
  TupleDesc desc = RelationGetDescr(rel);
  for (int i = 0; i < desc->natts; i++) {
    Form_pg_attribute att = TupleDescAttr(desc, i);
    if (att->attisdropped) continue;
    const char* n = NameStr(att->attname);
    if (std::strcmp(n, "id") == 0) c->event.id = i + 1;
    if (std::strcmp(n, "status") == 0) c->status = i + 1;
    if (std::strcmp(n, job ? "queue" : "export_type") == 0) c->event.kind = i + 1;
    if (job && std::strcmp(n, "run_after") == 0) c->event.run_after = i + 1;
  }
  if (c->event.id == 0 || c->status == 0 || c->event.kind == 0 ||
      (job && c->event.run_after == 0)) {
    ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                    errmsg("jobkeeper.event_trigger() cannot run on table \"%s\"",
                           RelationGetRelationName(rel)),
                    errdetail("It runs only on jobkeeper.jobs and jobkeeper.export_jobs.")));
  }
  fcinfo->flinfo->fn_extra = c;
  return *c;
}

}  // namespace

JK_FUNCTION(jobkeeper_event_trigger) {
  TriggerData* td = jk::triggers::CheckedTriggerData(fcinfo, "event_trigger",
                                                     jk::triggers::Timing::kAfter);
  if (static_cast<jk::pg::NotifyMode>(jk::pg::notify_mode) == jk::pg::NotifyMode::kOff) {
    return PointerGetDatum(nullptr);
  }
  // An UPDATE's event is the status trigger's; a copy of this trigger on UPDATE adds none.
  if (TRIGGER_FIRED_BY_UPDATE(td->tg_event)) return PointerGetDatum(nullptr);
  const bool job = jk::triggers::TriggerEntity(td) == jk::core::Entity::kJob;
  const Columns& c = ColumnsFor(fcinfo, td->tg_relation, job);
  TupleTableSlot* row = td->tg_trigslot;
  Status status;
  if (!ReadStatus(row, c.status, &status)) return PointerGetDatum(nullptr);
  if (!jk::core::IsAnnouncedEntry(status)) return PointerGetDatum(nullptr);
  slot_getallattrs(row);
  jk::triggers::RecordRowEvent(job, c.event, row->tts_values, row->tts_isnull, status);
  return PointerGetDatum(nullptr);
}
