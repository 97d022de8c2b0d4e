#include "core/batches.hpp"

#include <gtest/gtest.h>

namespace jk::core {
namespace {

int Total(const BatchDelta& d) {
  return d.pending + d.processing + d.completed + d.failed + d.cancelled;
}

TEST(BatchDelta, JoiningCountsTheJobInItsStatus) {
  for (Status s : kAllStatuses) {
    BatchDelta d = DeltaFor(std::nullopt, BatchedJob{s, 40});
    BatchDelta expected;
    CounterOf(expected, s) = 1;
    EXPECT_EQ(Total(d), 1);
    EXPECT_EQ(CounterOf(d, s), 1) << StatusName(s);
    EXPECT_EQ(d.progress, 40);
    // A finished job joining may finish the batch (for example its first and only job).
    EXPECT_EQ(d.may_finish, IsFinished(s)) << StatusName(s);
  }
}

TEST(BatchDelta, LeavingUncountsTheJob) {
  for (Status s : kAllStatuses) {
    BatchDelta d = DeltaFor(BatchedJob{s, 100}, std::nullopt);
    EXPECT_EQ(Total(d), -1);
    EXPECT_EQ(CounterOf(d, s), -1) << StatusName(s);
    EXPECT_EQ(d.progress, -100);
    // The last unfinished job leaving may finish it; a finished one leaving changes nothing.
    EXPECT_EQ(d.may_finish, !IsFinished(s)) << StatusName(s);
  }
}

TEST(BatchDelta, EveryStatusChangeMovesOneJob) {
  for (Status from : kAllStatuses) {
    for (Status to : kAllStatuses) {
      BatchDelta d = DeltaFor(BatchedJob{from, 10}, BatchedJob{to, 30});
      EXPECT_EQ(Total(d), 0);
      EXPECT_EQ(d.progress, 20);
      if (from != to) {
        EXPECT_EQ(CounterOf(d, from), -1);
        EXPECT_EQ(CounterOf(d, to), 1);
      }
      EXPECT_EQ(d.may_finish, !IsFinished(from) && IsFinished(to))
          << StatusName(from) << " -> " << StatusName(to);
    }
  }
}

TEST(BatchDelta, AnUnchangedJobChangesNothing) {
  for (Status s : kAllStatuses) {
    EXPECT_TRUE(DeltaFor(BatchedJob{s, 7}, BatchedJob{s, 7}).IsEmpty()) << StatusName(s);
  }
  EXPECT_TRUE(DeltaFor(std::nullopt, std::nullopt).IsEmpty());
  BatchDelta progress = DeltaFor(BatchedJob{Status::kProcessing, 10},
                                 BatchedJob{Status::kProcessing, 55});
  EXPECT_FALSE(progress.IsEmpty());
  EXPECT_EQ(progress.progress, 45);
  EXPECT_EQ(Total(progress), 0);
}

}  // namespace
}  // namespace jk::core
