// TTL rule decisions: which targets a rule may have, whose rights it runs with, and what the
// worker does when a target changes.
#include "core/ttl.hpp"

#include <gtest/gtest.h>

namespace {

using jk::core::CheckTtlTarget;
using jk::core::TtlAction;
using jk::core::TtlColumnType;
using jk::core::TtlProblem;
using jk::core::TtlTarget;

TtlTarget Good() {
  TtlTarget t{};
  t.table_exists = true;
  t.is_plain_table = true;
  t.column_exists = true;
  t.column_type = TtlColumnType::kTimestamptz;
  t.has_leading_index = true;
  t.owner_exists = true;
  t.owner_may_own = true;
  return t;
}

TEST(TtlTarget, AGoodTargetOfEachColumnTypeRuns) {
  for (TtlColumnType type :
       {TtlColumnType::kTimestamptz, TtlColumnType::kTimestamp, TtlColumnType::kDate}) {
    TtlTarget t = Good();
    t.column_type = type;
    EXPECT_EQ(CheckTtlTarget(t), TtlProblem::kNone);
  }
}

TEST(TtlTarget, EachProblemIsNamed) {
  struct Case {
    void (*spoil)(TtlTarget*);
    TtlProblem problem;
  };
  const Case cases[] = {
      {[](TtlTarget* t) { t->table_exists = false; }, TtlProblem::kNoTable},
      {[](TtlTarget* t) { t->is_system = true; }, TtlProblem::kSystemCatalog},
      {[](TtlTarget* t) { t->is_jobkeeper = true; }, TtlProblem::kJobkeeperTable},
      {[](TtlTarget* t) { t->is_plain_table = false; t->is_partitioned = true; },
       TtlProblem::kPartitioned},
      {[](TtlTarget* t) { t->is_plain_table = false; }, TtlProblem::kNotATable},
      {[](TtlTarget* t) { t->is_temporary = true; }, TtlProblem::kTemporary},
      {[](TtlTarget* t) { t->column_exists = false; }, TtlProblem::kNoColumn},
      {[](TtlTarget* t) { t->column_type = TtlColumnType::kOther; }, TtlProblem::kColumnType},
      {[](TtlTarget* t) { t->has_leading_index = false; }, TtlProblem::kNoIndex},
      {[](TtlTarget* t) { t->owner_exists = false; }, TtlProblem::kOwnerMissing},
      {[](TtlTarget* t) { t->owner_may_own = false; }, TtlProblem::kNotOwner},
      {[](TtlTarget* t) { t->owner_is_superuser = true; }, TtlProblem::kOwnerSuperuser},
  };
  for (const Case& c : cases) {
    TtlTarget t = Good();
    c.spoil(&t);
    EXPECT_EQ(CheckTtlTarget(t), c.problem) << static_cast<int>(c.problem);
  }
}

TEST(TtlTarget, WhatTheTableIsComesBeforeItsColumnAndIndex) {
  TtlTarget t = Good();
  t.is_system = true;
  t.column_exists = false;
  t.has_leading_index = false;
  EXPECT_EQ(CheckTtlTarget(t), TtlProblem::kSystemCatalog);
  t = Good();
  t.column_type = TtlColumnType::kOther;
  t.has_leading_index = false;  // no index question for a column of the wrong type
  EXPECT_EQ(CheckTtlTarget(t), TtlProblem::kColumnType);
  t = Good();
  t.has_leading_index = false;
  t.owner_may_own = false;
  EXPECT_EQ(CheckTtlTarget(t), TtlProblem::kNoIndex);
}

TEST(TtlTarget, ASuperuserOwnerIsRefusedEvenWhenItMayOwnTheTable) {
  TtlTarget t = Good();
  t.owner_is_superuser = true;
  EXPECT_EQ(CheckTtlTarget(t), TtlProblem::kOwnerSuperuser);
}

TEST(TtlOwner, ASuperusersRuleRunsAsTheTablesOwner) {
  EXPECT_EQ(jk::core::PickTtlOwner(true), jk::core::TtlOwner::kTableOwner);
  EXPECT_EQ(jk::core::PickTtlOwner(false), jk::core::TtlOwner::kCaller);
}

TEST(TtlAction, AGoneTableOrColumnRetiresTheRuleAnythingElseSkipsIt) {
  EXPECT_EQ(jk::core::TtlActionFor(TtlProblem::kNone), TtlAction::kRun);
  EXPECT_EQ(jk::core::TtlActionFor(TtlProblem::kNoTable), TtlAction::kRetire);
  EXPECT_EQ(jk::core::TtlActionFor(TtlProblem::kNoColumn), TtlAction::kRetire);
  for (TtlProblem p : {TtlProblem::kPartitioned, TtlProblem::kNotATable, TtlProblem::kTemporary,
                       TtlProblem::kSystemCatalog, TtlProblem::kJobkeeperTable,
                       TtlProblem::kColumnType, TtlProblem::kNoIndex, TtlProblem::kOwnerMissing,
                       TtlProblem::kNotOwner, TtlProblem::kOwnerSuperuser}) {
    EXPECT_EQ(jk::core::TtlActionFor(p), TtlAction::kSkip) << static_cast<int>(p);
  }
}

TEST(TtlBatchSize, OneToAMillion) {
  EXPECT_FALSE(jk::core::IsValidTtlBatchSize(0));
  EXPECT_FALSE(jk::core::IsValidTtlBatchSize(-1));
  EXPECT_TRUE(jk::core::IsValidTtlBatchSize(1));
  EXPECT_TRUE(jk::core::IsValidTtlBatchSize(jk::core::kMaxTtlBatchSize));
  EXPECT_FALSE(jk::core::IsValidTtlBatchSize(jk::core::kMaxTtlBatchSize + 1));
}

TEST(TtlSweep, ASweepPaysWhenAOneTwentiethOfAKnownTableHasExpired) {
  using jk::core::SweepProbeRows;
  using jk::core::UseSweep;
  EXPECT_EQ(SweepProbeRows(-1), 0);       // never analyzed: by index
  EXPECT_EQ(SweepProbeRows(9999), 0);     // too small to bother
  EXPECT_EQ(SweepProbeRows(1000000), 50001);
  EXPECT_TRUE(UseSweep(1000000, 50001));
  EXPECT_FALSE(UseSweep(1000000, 50000));
  EXPECT_FALSE(UseSweep(5000, 5000));
  EXPECT_FALSE(UseSweep(-1, 1000000));
}

TEST(TtlSweep, ABatchIsAboutBatchSizeRowsOfPagesAndAtLeastOne) {
  using jk::core::SweepPagesPerBatch;
  EXPECT_EQ(SweepPagesPerBatch(5000, 1000000, 5406), 27);  // 185 rows a page
  EXPECT_EQ(SweepPagesPerBatch(10, 1000000, 5406), 1);
  EXPECT_EQ(SweepPagesPerBatch(5000, 0, 0), 1);
  EXPECT_EQ(SweepPagesPerBatch(5000, 100, 1000), 50000);  // a sparse table: many pages
}

TEST(TtlSweep, ABatchGrowsOverPagesWithLittleToDeleteAndShrinksBack) {
  using jk::core::NextSweepPages;
  EXPECT_EQ(NextSweepPages(27, false, 0, 5000, 27), 54);        // nothing there: read more
  EXPECT_EQ(NextSweepPages(400, false, 0, 5000, 27), 432);      // up to 16 times the base
  EXPECT_EQ(NextSweepPages(432, false, 0, 5000, 27), 432);
  EXPECT_EQ(NextSweepPages(27, false, 5000, 5000, 27), 27);     // as planned: the same
  EXPECT_EQ(NextSweepPages(432, false, 60000, 5000, 27), 216);  // much to delete: back down
  EXPECT_EQ(NextSweepPages(40, false, 60000, 5000, 27), 27);    // never below the base
  EXPECT_EQ(NextSweepPages(27, true, 0, 5000, 27), 13);         // a timeout halves it
  EXPECT_EQ(NextSweepPages(1, true, 0, 5000, 27), 1);
}

}  // namespace
