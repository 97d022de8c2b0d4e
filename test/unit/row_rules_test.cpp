// The per-row plan of the status triggers: fields set, checks made, messages given.
#include "core/row_rules.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"

namespace jk::core {
namespace {

using P = Status;

RowPlan Update(P from, P to, int old_progress = 0, int new_progress = 0) {
  return PlanUpdate({from, to, old_progress, new_progress});
}

TEST(RowRulesTest, SameStatusIsAlwaysAllowed) {
  for (Status s : kAllStatuses) {
    RowPlan plan = Update(s, s, 40, 40);
    EXPECT_EQ(plan.violation, Violation::kNone) << StatusName(s);
    EXPECT_FALSE(plan.set_finished_at || plan.clear_finished_at || plan.clear_lease ||
                 plan.set_progress || plan.notify || plan.entering_processing);
  }
}

TEST(RowRulesTest, ProgressNeverDecreasesWhileProcessing) {
  EXPECT_EQ(Update(P::kProcessing, P::kProcessing, 50, 49).violation,
            Violation::kProgressDecrease);
  EXPECT_EQ(Update(P::kProcessing, P::kProcessing, 50, 50).violation, Violation::kNone);
  EXPECT_EQ(Update(P::kProcessing, P::kProcessing, 50, 100).violation, Violation::kNone);
  // Outside processing a direct edit may lower it (e.g. fixing a failed row).
  EXPECT_EQ(Update(P::kFailed, P::kFailed, 50, 10).violation, Violation::kNone);
}

TEST(RowRulesTest, AFinishedRowKeepsItsLifecycle) {
  // A completed row stays at 100: raising or lowering it is refused, keeping it is fine.
  EXPECT_EQ(Update(P::kCompleted, P::kCompleted, 100, 50).violation,
            Violation::kCompletedProgress);
  EXPECT_EQ(Update(P::kCompleted, P::kCompleted, 100, 100).violation, Violation::kNone);
  // No row that stays finished loses its finished_at; other states may clear it.
  for (Status s : kAllStatuses) {
    RowUpdate u{s, s, 0, 0, true};
    if (s == P::kCompleted) u = {s, s, 100, 100, true};
    EXPECT_EQ(PlanUpdate(u).violation,
              IsFinished(s) ? Violation::kFinishedAtCleared : Violation::kNone)
        << StatusName(s);
  }
  // Failed and cancelled rows may have their progress edited.
  EXPECT_EQ(Update(P::kCancelled, P::kCancelled, 40, 0).violation, Violation::kNone);
}

TEST(RowRulesTest, LifecycleViolationsNameTheRowAndValue) {
  try {
    ThrowViolation(Entity::kJob, "j1", {P::kCompleted, P::kCompleted, 100, 50},
                   Violation::kCompletedProgress);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.state(), SqlState::kInvalidParameterValue);
    EXPECT_EQ(e.message(), "cannot change progress of completed job j1 from 100 to 50");
    EXPECT_EQ(e.hint(), "A completed row keeps progress 100.");
  }
  try {
    ThrowViolation(Entity::kExport, "e1", {P::kFailed, P::kFailed, 0, 0, true},
                   Violation::kFinishedAtCleared);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.state(), SqlState::kObjectNotInPrerequisiteState);
    EXPECT_EQ(e.message(), "cannot clear finished_at of failed export e1");
  }
}

TEST(RowRulesTest, AnInsertIsPlannedAsAnUpdateIntoItsState) {
  for (Status s : kAllStatuses) {
    const RowPlan insert = PlanInsert(s, 40, false);
    // From a state that may move to s, the UPDATE's entry fields are the INSERT's.
    EXPECT_EQ(insert.set_finished_at, IsFinished(s)) << StatusName(s);
    EXPECT_EQ(insert.entering_processing, s == P::kProcessing) << StatusName(s);
    EXPECT_EQ(insert.set_started_at, s == P::kProcessing) << StatusName(s);
    EXPECT_EQ(insert.set_default_lease, s == P::kProcessing) << StatusName(s);
    EXPECT_EQ(insert.notify, s == P::kPending || IsFinished(s)) << StatusName(s);
    EXPECT_FALSE(insert.clear_lease || insert.clear_finished_at) << StatusName(s);
    EXPECT_EQ(insert.set_progress, s == P::kCompleted) << StatusName(s);
    if (s == P::kCompleted) {
      EXPECT_EQ(insert.progress, 100);
    }
  }
  // A processing row that brings its lease keeps it; rows at their entry progress are left.
  EXPECT_FALSE(PlanInsert(P::kProcessing, 40, true).set_default_lease);
  EXPECT_FALSE(PlanInsert(P::kPending, 0).set_progress);
  EXPECT_FALSE(PlanInsert(P::kCompleted, 100).set_progress);
  // A value out of range is left for the CHECK constraint to refuse, not replaced.
  EXPECT_FALSE(PlanInsert(P::kCompleted, 101).set_progress);
  EXPECT_FALSE(PlanInsert(P::kCompleted, -1).set_progress);
}

TEST(RowRulesTest, EveryForbiddenPairIsATransitionViolation) {
  for (Status from : kAllStatuses) {
    for (Status to : kAllStatuses) {
      if (from == to) continue;
      RowPlan plan = Update(from, to);
      EXPECT_EQ(plan.violation == Violation::kTransition, !IsTransitionAllowed(from, to))
          << StatusName(from) << " -> " << StatusName(to);
    }
  }
}

TEST(RowRulesTest, EnteringAFinishedStateSetsFinishedAtAndNotifies) {
  for (Status to : {P::kCompleted, P::kFailed, P::kCancelled}) {
    RowPlan plan = Update(P::kProcessing, to, 30, 30);
    EXPECT_TRUE(plan.set_finished_at) << StatusName(to);
    EXPECT_FALSE(plan.clear_finished_at);
    EXPECT_TRUE(plan.clear_lease);
    EXPECT_TRUE(plan.notify);
  }
  RowPlan cancelled = Update(P::kPending, P::kCancelled);
  EXPECT_TRUE(cancelled.set_finished_at);
  EXPECT_FALSE(cancelled.clear_lease);
}

TEST(RowRulesTest, CompletionSetsProgressToHundred) {
  RowPlan plan = Update(P::kProcessing, P::kCompleted, 30, 30);
  EXPECT_TRUE(plan.set_progress);
  EXPECT_EQ(plan.progress, 100);
  EXPECT_FALSE(Update(P::kProcessing, P::kFailed, 30, 30).set_progress);
}

TEST(RowRulesTest, ReturningToPendingResetsProgressAndClearsFinishedAt) {
  for (Status from : {P::kFailed, P::kCancelled}) {
    RowPlan plan = Update(from, P::kPending, 70, 70);
    EXPECT_TRUE(plan.set_progress);
    EXPECT_EQ(plan.progress, 0);
    EXPECT_TRUE(plan.clear_finished_at);
    EXPECT_TRUE(plan.notify);
  }
  RowPlan requeued = Update(P::kProcessing, P::kPending, 70, 70);
  EXPECT_EQ(requeued.progress, 0);
  EXPECT_TRUE(requeued.set_progress);
  EXPECT_TRUE(requeued.clear_lease);
  EXPECT_FALSE(requeued.clear_finished_at);
}

TEST(RowRulesTest, ClaimSetsStartedAtWithoutNotifying) {
  RowPlan plan = Update(P::kPending, P::kProcessing);
  EXPECT_TRUE(plan.entering_processing);
  EXPECT_TRUE(plan.set_started_at);
  EXPECT_FALSE(plan.notify);
  EXPECT_FALSE(plan.clear_lease);
  EXPECT_FALSE(plan.set_progress);
}

TEST(RowRulesTest, InsertKeepsRestoredRowsAsTheyAre) {
  RowPlan pending = PlanInsert(P::kPending, 0);
  EXPECT_FALSE(pending.set_finished_at || pending.set_progress);
  EXPECT_TRUE(pending.notify);
  RowPlan processing = PlanInsert(P::kProcessing, 40);
  EXPECT_FALSE(processing.set_progress || processing.notify);
  RowPlan completed = PlanInsert(P::kCompleted, 100);
  EXPECT_FALSE(completed.set_progress);
  EXPECT_TRUE(completed.set_finished_at);
  RowPlan odd = PlanInsert(P::kCompleted, 20);
  EXPECT_TRUE(odd.set_progress);
  EXPECT_EQ(odd.progress, 100);
  EXPECT_TRUE(PlanInsert(P::kFailed, 5).set_finished_at);
}

TEST(RowRulesTest, HintsListTheAllowedNextStates) {
  EXPECT_EQ(AllowedNextStatesHint(P::kPending),
            "Allowed next states from \"pending\": \"processing\", \"cancelled\".");
  EXPECT_EQ(AllowedNextStatesHint(P::kProcessing),
            "Allowed next states from \"processing\": \"pending\", \"completed\", \"failed\", "
            "\"cancelled\".");
  EXPECT_EQ(AllowedNextStatesHint(P::kFailed), "Allowed next states from \"failed\": \"pending\".");
  EXPECT_EQ(AllowedNextStatesHint(P::kCancelled),
            "Allowed next states from \"cancelled\": \"pending\".");
  EXPECT_EQ(AllowedNextStatesHint(P::kCompleted), "Status \"completed\" is final.");
}

TEST(RowRulesTest, TransitionErrorNamesRowAndBothStates) {
  try {
    ThrowViolation(Entity::kJob, "7f3e", {P::kCompleted, P::kPending, 100, 100},
                   Violation::kTransition);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.state(), SqlState::kObjectNotInPrerequisiteState);
    EXPECT_EQ(e.message(), "cannot change status of job 7f3e from \"completed\" to \"pending\"");
    EXPECT_EQ(e.hint(), "Status \"completed\" is final.");
  }
}

TEST(RowRulesTest, ProgressErrorNamesRowAndBothValues) {
  try {
    ThrowViolation(Entity::kExport, "ab12", {P::kProcessing, P::kProcessing, 50, 40},
                   Violation::kProgressDecrease);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.state(), SqlState::kInvalidParameterValue);
    EXPECT_EQ(e.message(), "cannot lower progress of export ab12 from 50 to 40");
  }
}

}  // namespace
}  // namespace jk::core
