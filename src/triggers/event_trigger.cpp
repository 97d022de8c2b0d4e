// jobkeeper.event_trigger(): AFTER INSERT OR UPDATE OF status on jobs and export_jobs. It runs
// only for rows that were stored (not for the row an ON CONFLICT DO NOTHING skipped, nor one
// a later BEFORE trigger dropped) and records the event of SPEC section 6 with the
// transaction; pg/events.cpp sends it once the transaction commits.
#include <cstring>

#include "core/row_rules.hpp"
#include "pg/entry.hpp"
#include "pg/events.hpp"
#include "pg/settings.hpp"
#include "triggers/trigger_rows.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"
}

namespace {

using jk::core::Status;
using jk::triggers::ReadStatus;

// Attribute numbers of the columns an event names, found once per statement.
struct EventColumns {
  Oid relid;
  int id, status, kind, run_after;  // kind: queue or export_type; run_after: jobs only
};

const EventColumns& ColumnsFor(FunctionCallInfo fcinfo, Relation rel, bool job) {
  auto* c = static_cast<EventColumns*>(fcinfo->flinfo->fn_extra);
  if (c != nullptr && c->relid == RelationGetRelid(rel)) return *c;
  c = static_cast<EventColumns*>(MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof *c));
  c->relid = RelationGetRelid(rel);
  TupleDesc desc = RelationGetDescr(rel);
  for (int i = 0; i < desc->natts; i++) {
    Form_pg_attribute att = TupleDescAttr(desc, i);
    if (att->attisdropped) continue;
    const char* n = NameStr(att->attname);
    if (std::strcmp(n, "id") == 0) c->id = i + 1;
    if (std::strcmp(n, "status") == 0) c->status = i + 1;
    if (std::strcmp(n, job ? "queue" : "export_type") == 0) c->kind = i + 1;
    if (job && std::strcmp(n, "run_after") == 0) c->run_after = i + 1;
  }
  if (c->id == 0 || c->status == 0 || c->kind == 0 || (job && c->run_after == 0)) {
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
  const bool is_update = TRIGGER_FIRED_BY_UPDATE(td->tg_event);
  if (static_cast<jk::pg::NotifyMode>(jk::pg::notify_mode) == jk::pg::NotifyMode::kOff) {
    return PointerGetDatum(nullptr);
  }
  const bool job = jk::triggers::TriggerEntity(td) == jk::core::Entity::kJob;
  const EventColumns& c = ColumnsFor(fcinfo, td->tg_relation, job);
  TupleTableSlot* row = is_update ? td->tg_newslot : td->tg_trigslot;

  Status status;
  if (!ReadStatus(row, c.status, &status)) return PointerGetDatum(nullptr);
  if (is_update) {
    Status old_status;
    if (ReadStatus(td->tg_trigslot, c.status, &old_status) && old_status == status) {
      return PointerGetDatum(nullptr);
    }
  }
  if (!jk::core::IsAnnouncedEntry(status)) return PointerGetDatum(nullptr);

  // {"id": "...", "status": "...", "queue": "..."} (or "export_type"), and "run_after" for a
  // job that becomes pending but is not claimable yet; times in UTC, whatever the session's
  // TimeZone, so that every listener reads them alike.
  bool isnull;
  StringInfoData payload;
  initStringInfo(&payload);
  const Datum id = slot_getattr(row, c.id, &isnull);
  appendStringInfo(&payload, "{\"id\": \"%s\", \"status\": \"%s\", ",
                   isnull ? "" : DatumGetCString(DirectFunctionCall1(uuid_out, id)),
                   jk::core::StatusName(status));
  escape_json(&payload, job ? "queue" : "export_type");
  appendStringInfoString(&payload, ": ");
  const Datum kind = slot_getattr(row, c.kind, &isnull);
  if (isnull) {
    appendStringInfoString(&payload, "null");
  } else {
    escape_json(&payload, TextDatumGetCString(kind));
  }
  if (job && status == Status::kPending) {
    const Datum run_after = slot_getattr(row, c.run_after, &isnull);
    if (!isnull && DatumGetTimestampTz(run_after) > GetCurrentTransactionStartTimestamp()) {
      const int utc = 0;
      char when[MAXDATELEN + 1];
      JsonEncodeDateTime(when, run_after, TIMESTAMPTZOID, &utc);
      appendStringInfo(&payload, ", \"run_after\": \"%s\"", when);
    }
  }
  appendStringInfoChar(&payload, '}');
  jk::pg::RecordEvent(job ? jk::worker::EventChannel::kJobs : jk::worker::EventChannel::kExports,
                      payload.data, static_cast<uint32_t>(payload.len));
  pfree(payload.data);
  return PointerGetDatum(nullptr);
}
