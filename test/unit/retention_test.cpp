// Retention rules at every boundary of SPEC section 5, with time passed in.
#include "core/retention.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace jk::core {
namespace {

using P = Status;
constexpr Micros kHour = 3600LL * 1000 * 1000;
constexpr Micros kNow = 1000 * kHour;
const RetentionSettings kDefaults{12 * kHour, 24 * kHour};

TEST(RetentionTest, CutoffsAreNowMinusRetention) {
  RetentionCutoffs c = ComputeCutoffs(kNow, kDefaults);
  EXPECT_TRUE(c.jobs_enabled);
  EXPECT_TRUE(c.exports_enabled);
  EXPECT_EQ(c.job_cutoff, kNow - 12 * kHour);
  EXPECT_EQ(c.export_cutoff, kNow - 24 * kHour);
}

TEST(RetentionTest, KeepForeverDisablesDeletion) {
  RetentionCutoffs c = ComputeCutoffs(kNow, {kKeepForever, kKeepForever});
  EXPECT_FALSE(c.jobs_enabled);
  EXPECT_FALSE(c.exports_enabled);
  EXPECT_FALSE(IsJobExpired(P::kCompleted, 0, c));
  EXPECT_FALSE(IsExportExpired(P::kCompleted, 0, c));
  EXPECT_TRUE(ExportKeepsJob(P::kCompleted, 0, c));
}

TEST(RetentionTest, ZeroRetentionDeletesAsSoonAsFinished) {
  RetentionCutoffs c = ComputeCutoffs(kNow, {0, 0});
  EXPECT_TRUE(IsJobExpired(P::kCompleted, kNow, c));
  EXPECT_FALSE(IsJobExpired(P::kCompleted, kNow + 1, c));
}

TEST(RetentionTest, JobExpiresExactlyAtItsRetention) {
  RetentionCutoffs c = ComputeCutoffs(kNow, kDefaults);
  const Micros at_cutoff = kNow - 12 * kHour;
  EXPECT_TRUE(IsJobExpired(P::kCompleted, at_cutoff, c));
  EXPECT_TRUE(IsJobExpired(P::kCompleted, at_cutoff - 1, c));
  EXPECT_FALSE(IsJobExpired(P::kCompleted, at_cutoff + 1, c));
}

TEST(RetentionTest, OnlyFinishedJobsEverExpire) {
  RetentionCutoffs c = ComputeCutoffs(kNow, kDefaults);
  const Micros long_ago = kNow - 100 * kHour;
  EXPECT_TRUE(IsJobExpired(P::kCompleted, long_ago, c));
  EXPECT_TRUE(IsJobExpired(P::kFailed, long_ago, c));
  EXPECT_TRUE(IsJobExpired(P::kCancelled, long_ago, c));
  EXPECT_FALSE(IsJobExpired(P::kPending, long_ago, c));
  EXPECT_FALSE(IsJobExpired(P::kProcessing, long_ago, c));
  EXPECT_FALSE(IsJobExpired(P::kCompleted, std::nullopt, c));
}

TEST(RetentionTest, ActiveExportsAlwaysKeepTheirJob) {
  RetentionCutoffs c = ComputeCutoffs(kNow, kDefaults);
  const Micros long_ago = kNow - 100 * kHour;
  EXPECT_TRUE(ExportKeepsJob(P::kPending, std::nullopt, c));
  EXPECT_TRUE(ExportKeepsJob(P::kProcessing, std::nullopt, c));
  EXPECT_TRUE(ExportKeepsJob(P::kPending, long_ago, c));  // odd data: still active
  EXPECT_FALSE(IsExportExpired(P::kProcessing, long_ago, c));
}

TEST(RetentionTest, YoungFinishedExportsKeepTheirJobUntilExportRetention) {
  RetentionCutoffs c = ComputeCutoffs(kNow, kDefaults);
  const Micros export_cutoff = kNow - 24 * kHour;
  for (Status s : {P::kCompleted, P::kFailed, P::kCancelled}) {
    EXPECT_TRUE(ExportKeepsJob(s, export_cutoff + 1, c)) << StatusName(s);
    EXPECT_FALSE(ExportKeepsJob(s, export_cutoff, c)) << StatusName(s);
    EXPECT_TRUE(IsExportExpired(s, export_cutoff, c));
    EXPECT_FALSE(IsExportExpired(s, export_cutoff + 1, c));
  }
  // A job finished 13 h ago whose export finished 20 h ago is kept (the export is young).
  EXPECT_TRUE(IsJobExpired(P::kCompleted, kNow - 13 * kHour, c));
  EXPECT_TRUE(ExportKeepsJob(P::kCompleted, kNow - 20 * kHour, c));
}

TEST(RetentionTest, CutoffsSaturateInsteadOfOverflowing) {
  const Micros lowest = std::numeric_limits<Micros>::min();
  RetentionCutoffs c = ComputeCutoffs(lowest + 5, {100, 100});
  EXPECT_EQ(c.job_cutoff, lowest);
  EXPECT_EQ(c.export_cutoff, lowest);
}

TEST(RetentionTest, BatchHalvesOnTimeoutAndRecovers) {
  EXPECT_EQ(NextBatchSize(5000, true, 5000), 2500);
  EXPECT_EQ(NextBatchSize(2500, true, 5000), 1250);
  EXPECT_EQ(NextBatchSize(15, true, 5000), kMinBatchSize);
  EXPECT_EQ(NextBatchSize(kMinBatchSize, true, 5000), kMinBatchSize);
  EXPECT_EQ(NextBatchSize(1250, false, 5000), 2500);
  EXPECT_EQ(NextBatchSize(2600, false, 5000), 5000);
  EXPECT_EQ(NextBatchSize(5000, false, 5000), 5000);
}

TEST(RetentionTest, BatchStaysWithinASmallConfiguredSize) {
  // Below kMinBatchSize the configured size is also the floor: it never shrinks further.
  EXPECT_EQ(NextBatchSize(3, true, 3), 3);
  EXPECT_EQ(NextBatchSize(1, false, 3), 3);
  EXPECT_EQ(NextBatchSize(5000, false, 100), 100);  // configured size was lowered
  EXPECT_EQ(NextBatchSize(5000, true, 100), 100);
  EXPECT_EQ(NextBatchSize(0, false, 0), 1);
}

TEST(RetentionTest, JobsAreLockedWithoutALookAtTheirExportsUntilTheyKeepManyJobs) {
  ExportLookAhead look(false);
  EXPECT_FALSE(look.LooksFirst());
  look.AfterBatch(5000, 5000, 0);  // nothing kept
  EXPECT_FALSE(look.LooksFirst());
  look.AfterBatch(5000, 4500, 0);  // a tenth kept: still cheaper to lock them again
  EXPECT_FALSE(look.LooksFirst());
  look.AfterBatch(5000, 4000, 900);  // the failed rows are skipped, not kept by exports
  EXPECT_FALSE(look.LooksFirst());
  look.AfterBatch(0, 0, 0);
  EXPECT_FALSE(look.LooksFirst());
  look.AfterBatch(5000, 4499, 0);  // more than a tenth
  EXPECT_TRUE(look.LooksFirst());
  look.AfterBatch(5000, 5000, 0);  // and for the rest of the step
  EXPECT_TRUE(look.LooksFirst());
  ExportLookAhead small(false);
  small.AfterBatch(3, 2, 0);  // one of three
  EXPECT_TRUE(small.LooksFirst());
  ExportLookAhead caller(true);  // run_cleanup(): from the start
  EXPECT_TRUE(caller.LooksFirst());
  caller.AfterBatch(5000, 5000, 0);
  EXPECT_TRUE(caller.LooksFirst());
}

TEST(RetentionTest, NextRunIsAnIntervalAfterTheLastStartButNeverPast) {
  EXPECT_EQ(NextRunAt(kNow, kHour, kNow), kNow + kHour);
  EXPECT_EQ(NextRunAt(kNow - 3 * kHour, kHour, kNow), kNow);  // overdue: now
  EXPECT_EQ(NextRunAt(std::numeric_limits<Micros>::max() - 1, kHour, kNow),
            std::numeric_limits<Micros>::max());
}

}  // namespace
}  // namespace jk::core
