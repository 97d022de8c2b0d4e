// Shared by the row triggers (see trigger_rows.hpp).
#include "triggers/trigger_rows.hpp"

#include <cstring>

extern "C" {
#include "utils/builtins.h"
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

}  // namespace jk::triggers
