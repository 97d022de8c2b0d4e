// The transition table of SPEC section 3, every from/to pair.
#include "core/status.hpp"

#include <gtest/gtest.h>

#include <set>
#include <utility>

namespace jk::core {
namespace {

using P = Status;

TEST(StatusTest, ParsesEveryNameAndNothingElse) {
  for (Status s : kAllStatuses) EXPECT_EQ(ParseStatus(StatusName(s)), s);
  EXPECT_EQ(ParseStatus(""), std::nullopt);
  EXPECT_EQ(ParseStatus("Pending"), std::nullopt);
  EXPECT_EQ(ParseStatus("pending "), std::nullopt);
  EXPECT_EQ(ParseStatus("done"), std::nullopt);
}

TEST(StatusTest, FinishedStates) {
  EXPECT_FALSE(IsFinished(P::kPending));
  EXPECT_FALSE(IsFinished(P::kProcessing));
  EXPECT_TRUE(IsFinished(P::kCompleted));
  EXPECT_TRUE(IsFinished(P::kFailed));
  EXPECT_TRUE(IsFinished(P::kCancelled));
}

TEST(StatusTest, EveryPairFollowsTheTable) {
  const std::set<std::pair<P, P>> allowed = {
      {P::kPending, P::kProcessing},    {P::kPending, P::kCancelled},
      {P::kProcessing, P::kCompleted},  {P::kProcessing, P::kFailed},
      {P::kProcessing, P::kPending},    {P::kProcessing, P::kCancelled},
      {P::kFailed, P::kPending},        {P::kCancelled, P::kPending},
  };
  int checked = 0;
  for (Status from : kAllStatuses) {
    for (Status to : kAllStatuses) {
      if (from == to) continue;  // keeping the status is not a transition
      EXPECT_EQ(IsTransitionAllowed(from, to), allowed.count({from, to}) == 1)
          << StatusName(from) << " -> " << StatusName(to);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 20);
}

}  // namespace
}  // namespace jk::core
