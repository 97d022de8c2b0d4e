// What the status triggers do to one row: the checks of SPEC section 3 and the fields they set.
#pragma once

#include <cstdint>
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
  bool finished_at_cleared = false;  // the old row had a finished_at, the new one has none
};

// A rule the update broke, if any.
enum class Violation {
  kNone,
  kTransition,          // a status change the rules do not allow
  kProgressDecrease,    // progress lowered while processing
  kCompletedProgress,   // progress of a completed row changed (it stays 100)
  kFinishedAtCleared,   // finished_at of a row that stays finished cleared
};

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
  bool set_default_lease = false;  // an INSERT as processing without a lease: give it one
  bool notify = false;             // the row became pending or reached a finished state
};

// Whether a row that enters `to` (by an INSERT, or an UPDATE that changes its status) is
// announced by NOTIFY (SPEC section 6): it became pending or reached a finished state.
bool IsAnnouncedEntry(Status to) noexcept;

// Plans an UPDATE of one row; never throws, so triggers pay nothing for exceptions.
RowPlan PlanUpdate(const RowUpdate& update) noexcept;

// Plans an INSERT of a row in `status` as an UPDATE into that state would: a completed row
// shows progress 100 (a pending one keeps its own), a finished one gets finished_at and a
// processing one started_at (each only when the inserter left it null, so that pg_restore's
// COPY keeps rows as they were), a processing row without a lease gets one so that it can
// expire (has_lease: lease_expires_at is set), and a processing export needs a completed job
// (entering_processing). No transition is checked: there is no old state.
RowPlan PlanInsert(Status status, int progress, bool has_lease = true) noexcept;

// The lease a row inserted as processing without one gets, in microseconds: claim_jobs'
// default lease.
inline constexpr std::int64_t kDefaultLeaseMicros = std::int64_t{5} * 60 * 1000 * 1000;

// Throws the jk::core::Error for `plan.violation` on the row whose id is `id`.
[[noreturn]] void ThrowViolation(Entity entity, std::string_view id, const RowUpdate& update,
                                 Violation violation);

// Returns the hint that lists the states `from` may move to (or says it is final).
std::string AllowedNextStatesHint(Status from);

// Returns "job" or "export".
const char* EntityName(Entity entity) noexcept;

}  // namespace jk::core
