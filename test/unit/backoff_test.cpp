// Retry backoff: doubling from 15 s, capped at one hour.
#include "core/backoff.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace jk::core {
namespace {

TEST(BackoffTest, DoublesFromFifteenSeconds) {
  EXPECT_EQ(RetryDelaySeconds(1), 15);
  EXPECT_EQ(RetryDelaySeconds(2), 30);
  EXPECT_EQ(RetryDelaySeconds(3), 60);
  EXPECT_EQ(RetryDelaySeconds(8), 1920);
}

TEST(BackoffTest, CapsAtOneHour) {
  EXPECT_EQ(RetryDelaySeconds(9), 3600);  // 3840 capped
  EXPECT_EQ(RetryDelaySeconds(100), 3600);
  EXPECT_EQ(RetryDelaySeconds(std::numeric_limits<std::int64_t>::max()), 3600);
}

TEST(BackoffTest, NonPositiveAttemptsCountAsOne) {
  EXPECT_EQ(RetryDelaySeconds(0), 15);
  EXPECT_EQ(RetryDelaySeconds(-5), 15);
}

}  // namespace
}  // namespace jk::core
