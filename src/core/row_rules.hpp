// What the status triggers do to one row: the checks of SPEC section 3 and the fields they set.
#pragma once

#include <string>
#include <string_view>

#include "core/status.hpp"

namespace jk::core {

// Which table a row belongs to; it names the row in messages ("job" or "export").
enum class Entity { kJob, kExport };

// The old and new values an UPDATE trigger sees.
struct RowUpdate {
  Status old_status;
  Status new_status;
  int old_progress;
  int new_progress;
};

// A rule the update broke, if any.
enum class Violation { kNone, kTransition, kProgressDecrease };

// The fields a trigger must set on the new row, and whether the update is refused.
struct RowPlan {
  Violation violation = Violation::kNone;
  bool set_finished_at = false;    // to now(): the row enters a finished state
  bool clear_finished_at = false;  // the row leaves a finished state
  bool clear_lease = false;        // the row leaves processing: nobody holds it any more
  bool set_started_at = false;     // to now() when still null: the row starts processing
  bool entering_processing = false;
  bool set_progress = false;
  int progress = 0;
  bool notify = false;             // the row became pending or reached a finished state
};

// Plans an UPDATE of one row; never throws, so triggers pay nothing for exceptions.
RowPlan PlanUpdate(const RowUpdate& update) noexcept;

// Plans an INSERT of a row in `status`: derived fields only, no transition check, so that
// pg_restore's COPY of finished rows keeps them as they were.
RowPlan PlanInsert(Status status, int progress) noexcept;

// Throws the jk::core::Error for `plan.violation` on the row whose id is `id`.
[[noreturn]] void ThrowViolation(Entity entity, std::string_view id, const RowUpdate& update,
                                 Violation violation);

// Returns the hint that lists the states `from` may move to (or says it is final).
std::string AllowedNextStatesHint(Status from);

// Returns "job" or "export".
const char* EntityName(Entity entity) noexcept;

}  // namespace jk::core
