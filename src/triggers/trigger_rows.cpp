// Shared by the row triggers (see trigger_rows.hpp).
#include "triggers/trigger_rows.hpp"

#include <cstring>

#include "pg/events.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"
}

namespace jk::triggers {

TriggerData* CheckedTriggerData(FunctionCallInfo fcinfo, const char* function, Timing timing) {
  if (!CALLED_AS_TRIGGER(fcinfo)) {
    ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                    errmsg("jobkeeper.%s() must be called as a trigger", function)));
  }
  TriggerData* td = reinterpret_cast<TriggerData*>(fcinfo->context);
  const bool at_timing = timing == Timing::kBefore ? TRIGGER_FIRED_BEFORE(td->tg_event)
                                                   : TRIGGER_FIRED_AFTER(td->tg_event);
  if (!TRIGGER_FIRED_FOR_ROW(td->tg_event) || !at_timing ||
      !(TRIGGER_FIRED_BY_UPDATE(td->tg_event) || TRIGGER_FIRED_BY_INSERT(td->tg_event)) ||
      td->tg_trigger->tgnargs != 1) {
    ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                    errmsg("jobkeeper.%s() must run %s INSERT OR UPDATE FOR EACH ROW with one "
                           "argument, 'job' or 'export'",
                           function, timing == Timing::kBefore ? "BEFORE" : "AFTER")));
  }
  return td;
}

jk::core::Entity TriggerEntity(const TriggerData* td) {
  return std::strcmp(td->tg_trigger->tgargs[0], "export") == 0 ? jk::core::Entity::kExport
                                                                : jk::core::Entity::kJob;
}

bool ReadStatus(TupleTableSlot* slot, int attnum, jk::core::Status* out) {
  bool isnull;
  Datum d = slot_getattr(slot, attnum, &isnull);
  if (isnull) return false;
  text* t = DatumGetTextPP(d);
  std::optional<jk::core::Status> s =
      jk::core::ParseStatus(std::string_view(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)));
  if (!s) return false;
  *out = *s;
  return true;
}

void RecordRowEvent(bool job, const EventColumns& c, const Datum* values, const bool* nulls,
                    jk::core::Status status) {
  // Times in UTC, whatever the session's TimeZone, so that every listener reads them alike.
  StringInfoData payload;
  initStringInfo(&payload);
  appendStringInfo(&payload, "{\"id\": \"%s\", \"status\": \"%s\", ",
                   nulls[c.id - 1] ? ""
                                   : DatumGetCString(DirectFunctionCall1(uuid_out, values[c.id - 1])),
                   jk::core::StatusName(status));
  escape_json(&payload, job ? "queue" : "export_type");
  appendStringInfoString(&payload, ": ");
  if (nulls[c.kind - 1]) {
    appendStringInfoString(&payload, "null");
  } else {
    escape_json(&payload, TextDatumGetCString(values[c.kind - 1]));
  }
  if (job && status == jk::core::Status::kPending && !nulls[c.run_after - 1]) {
    const TimestampTz run_after = DatumGetTimestampTz(values[c.run_after - 1]);
    if (run_after > GetCurrentTransactionStartTimestamp()) {
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
}

}  // namespace jk::triggers
