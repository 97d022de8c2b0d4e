// What jobkeeper's two row triggers (status_trigger, event_trigger) share: the check that they
// were called the way their CREATE TRIGGER says, and reading a row's status.
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

}  // namespace jk::triggers
