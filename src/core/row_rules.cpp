// The per-row consequences of a status change, decided without PostgreSQL.
#include "core/row_rules.hpp"

#include "core/error.hpp"

namespace jk::core {

const char* EntityName(Entity entity) noexcept {
  return entity == Entity::kJob ? "job" : "export";
}

namespace {

// Fills the fields every entry into `to` sets, whatever the previous state was.
void PlanEntry(Status to, RowPlan* plan) {
  if (to == Status::kPending) {
    plan->set_progress = true;
    plan->progress = 0;
  } else if (to == Status::kCompleted) {
    plan->set_progress = true;
    plan->progress = 100;
  }
  plan->notify = IsAnnouncedEntry(to);
}

}  // namespace

bool IsAnnouncedEntry(Status to) noexcept { return to == Status::kPending || IsFinished(to); }

RowPlan PlanUpdate(const RowUpdate& u) noexcept {
  RowPlan plan;
  if (u.old_status == u.new_status) {
    // Same status: progress never goes down while work is running, and a finished row keeps
    // its lifecycle (a completed one stays at 100, none loses its finished_at); anything
    // else, metadata for one, may be edited.
    if (u.new_status == Status::kProcessing && u.new_progress < u.old_progress) {
      plan.violation = Violation::kProgressDecrease;
    } else if (u.new_status == Status::kCompleted && u.new_progress != u.old_progress) {
      plan.violation = Violation::kCompletedProgress;
    } else if (IsFinished(u.new_status) && u.finished_at_cleared) {
      plan.violation = Violation::kFinishedAtCleared;
    }
    return plan;
  }
  if (!IsTransitionAllowed(u.old_status, u.new_status)) {
    plan.violation = Violation::kTransition;
    return plan;
  }
  PlanEntry(u.new_status, &plan);
  plan.set_finished_at = IsFinished(u.new_status);
  plan.clear_finished_at = IsFinished(u.old_status) && !IsFinished(u.new_status);
  plan.clear_lease = u.old_status == Status::kProcessing;
  plan.entering_processing = u.new_status == Status::kProcessing;
  plan.set_started_at = plan.entering_processing;
  return plan;
}

RowPlan PlanInsert(Status status, int progress, bool has_lease) noexcept {
  RowPlan plan;
  PlanEntry(status, &plan);
  // A completed row shows 100. A pending one keeps what the inserter gave (it is not coming
  // back to pending), and a value out of range is left for the table's CHECK to refuse.
  plan.set_progress = status == Status::kCompleted && progress != 100 && progress >= 0 &&
                      progress <= 100;
  plan.set_finished_at = IsFinished(status);  // only when the inserter left it null
  plan.entering_processing = status == Status::kProcessing;
  plan.set_started_at = plan.entering_processing;  // only when left null
  plan.set_default_lease = plan.entering_processing && !has_lease;
  return plan;
}

std::string AllowedNextStatesHint(Status from) {
  std::string list;
  for (Status to : kAllStatuses) {
    if (to == from || !IsTransitionAllowed(from, to)) continue;
    if (!list.empty()) list += ", ";
    list += '"';
    list += StatusName(to);
    list += '"';
  }
  if (list.empty()) return std::string("Status \"") + StatusName(from) + "\" is final.";
  return std::string("Allowed next states from \"") + StatusName(from) + "\": " + list + ".";
}

void ThrowViolation(Entity entity, std::string_view id, const RowUpdate& u,
                    Violation violation) {
  const std::string row = std::string(EntityName(entity)) + " " + std::string(id);
  if (violation == Violation::kCompletedProgress) {
    throw Error(SqlState::kInvalidParameterValue,
                "cannot change progress of completed " + row + " from " +
                    std::to_string(u.old_progress) + " to " + std::to_string(u.new_progress),
                "", "A completed row keeps progress 100.");
  }
  if (violation == Violation::kFinishedAtCleared) {
    throw Error(SqlState::kObjectNotInPrerequisiteState,
                "cannot clear finished_at of " + std::string(StatusName(u.new_status)) + " " +
                    row,
                "", "A finished row keeps finished_at, which retention counts from; retry it "
                    "to make it pending again.");
  }
  if (violation == Violation::kProgressDecrease) {
    throw Error(SqlState::kInvalidParameterValue,
                "cannot lower progress of " + row + " from " + std::to_string(u.old_progress) +
                    " to " + std::to_string(u.new_progress),
                "", "Progress never decreases while work is processing.");
  }
  throw Error(SqlState::kObjectNotInPrerequisiteState,
              "cannot change status of " + row + " from \"" + StatusName(u.old_status) +
                  "\" to \"" + StatusName(u.new_status) + "\"",
              "", AllowedNextStatesHint(u.old_status));
}

}  // namespace jk::core
