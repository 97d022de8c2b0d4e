// What jobkeeper's two row triggers (status_trigger, event_trigger) share: the check that they
// were called the way their CREATE TRIGGER says, reading a row's status, and recording a row's
// event.
#pragma once

#include "core/row_rules.hpp"
#include "pg/postgres.hpp"

extern "C" {
#include "commands/trigger.h"
#include "executor/tuptable.h"
}

namespace jk::triggers {

enum class Timing { kBefore, kAfter };

// Returns the trigger's data after checking that `function` runs as a row trigger on INSERT
// or UPDATE at `timing`, with one argument, 'job' or 'export'; raises 39P01 otherwise.
TriggerData* CheckedTriggerData(FunctionCallInfo fcinfo, const char* function, Timing timing);

// The entity the trigger's argument names.
jk::core::Entity TriggerEntity(const TriggerData* td);

// Reads a text column as a status; false when it is null or not a known status, which the
// table's rules then refuse with their own errors.
bool ReadStatus(TupleTableSlot* slot, int attnum, jk::core::Status* out);

// Attribute numbers (1-based) of the columns an event names.
struct EventColumns {
  int id, kind;   // kind: queue for a job, export_type for an export
  int run_after;  // jobs only; 0 for an export
};

// Records, with the current subtransaction, the event of SPEC section 6 of a row that became
// `status` (an announced entry state): {"id", "status", "queue" or "export_type"}, and
// "run_after" (UTC) for a job that becomes pending but is not claimable yet. `values` and
// `nulls` hold the row as it will be stored, indexed by attribute number - 1.
void RecordRowEvent(bool job, const EventColumns& c, const Datum* values, const bool* nulls,
                    jk::core::Status status);

}  // namespace jk::triggers
