// The guard's conversion: every kind of C++ exception becomes a SQLSTATE and clean text.
#include "core/caught_error.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "core/error.hpp"
#include "core/fault.hpp"

namespace jk::core {
namespace {

// Runs RaiseFault(kind) and returns what the guard would report.
CaughtError Capture(const char* kind) {
  CaughtError caught;
  std::memset(&caught, 0x5A, sizeof caught);
  try {
    RaiseFault(kind);
    ADD_FAILURE() << "fault " << kind << " did not throw";
  } catch (...) {
    CaptureCurrentException(&caught);
  }
  return caught;
}

TEST(CaughtErrorTest, JobkeeperErrorKeepsStateMessageDetailAndHint) {
  CaughtError c = Capture("error");
  EXPECT_EQ(c.state, SqlState::kInvalidParameterValue);
  EXPECT_STREQ(c.message, "fault \"error\" raised on request");
  EXPECT_STREQ(c.detail, "The caller asked for a jobkeeper error.");
  EXPECT_STREQ(c.hint, "Ask for \"none\" to succeed.");
}

TEST(CaughtErrorTest, BadAllocBecomesOutOfMemory) {
  CaughtError c = Capture("bad_alloc");
  EXPECT_EQ(c.state, SqlState::kOutOfMemory);
  EXPECT_STREQ(c.message, "out of memory");
  EXPECT_STREQ(SqlStateCode(c.state), "53200");
}

TEST(CaughtErrorTest, StandardExceptionBecomesInternalErrorWithWhatInDetail) {
  CaughtError c = Capture("std");
  EXPECT_EQ(c.state, SqlState::kInternalError);
  EXPECT_STREQ(c.message, "internal error in jobkeeper");
  EXPECT_STREQ(c.detail, "standard exception raised on request");
  EXPECT_NE(std::string(c.hint).find("bug"), std::string::npos);
}

TEST(CaughtErrorTest, UnknownExceptionBecomesInternalError) {
  CaughtError c = Capture("unknown");
  EXPECT_EQ(c.state, SqlState::kInternalError);
  EXPECT_STREQ(c.message, "internal error in jobkeeper");
  EXPECT_STREQ(c.detail, "An exception of unknown type was raised.");
}

TEST(CaughtErrorTest, UnknownFaultKindIsABadArgument) {
  CaughtError c = Capture("nonsense");
  EXPECT_EQ(c.state, SqlState::kInvalidParameterValue);
  EXPECT_STREQ(c.message, "unknown fault kind \"nonsense\"");
  EXPECT_STREQ(c.detail, "");
}

TEST(CaughtErrorTest, NoneDoesNotThrow) { EXPECT_NO_THROW(RaiseFault("none")); }

TEST(CaughtErrorTest, EmptyDetailAndHintStayEmpty) {
  CaughtError c;
  try {
    throw Error(SqlState::kNoDataFound, "job 1 does not exist");
  } catch (...) {
    CaptureCurrentException(&c);
  }
  EXPECT_STREQ(c.message, "job 1 does not exist");
  EXPECT_STREQ(c.detail, "");
  EXPECT_STREQ(c.hint, "");
}

TEST(CaughtErrorTest, LongMessageIsCutToTheBuffer) {
  CaughtError c;
  try {
    throw Error(SqlState::kInternalError, std::string(5000, 'x'));
  } catch (...) {
    CaptureCurrentException(&c);
  }
  EXPECT_EQ(std::strlen(c.message), kCaughtTextSize - 1);
}

TEST(CopyTruncatedTest, FitsUnchanged) {
  char out[8];
  CopyTruncated(out, sizeof out, "abc");
  EXPECT_STREQ(out, "abc");
}

TEST(CopyTruncatedTest, ExactFitLeavesRoomForTerminator) {
  char out[4];
  CopyTruncated(out, sizeof out, "abcd");
  EXPECT_STREQ(out, "abc");
}

TEST(CopyTruncatedTest, NeverSplitsAMultibyteCharacter) {
  // "aé€" is 1 + 2 + 3 bytes; with room for 5 bytes the euro sign must go whole.
  char out[6];
  CopyTruncated(out, sizeof out, "a\xC3\xA9\xE2\x82\xAC");
  EXPECT_STREQ(out, "a\xC3\xA9");
  char tiny[3];
  CopyTruncated(tiny, sizeof tiny, "\xC3\xA9\xC3\xA9");
  EXPECT_STREQ(tiny, "\xC3\xA9");
}

TEST(SqlStateTest, EveryStateHasItsSpecCode) {
  EXPECT_STREQ(SqlStateCode(SqlState::kObjectNotInPrerequisiteState), "55000");
  EXPECT_STREQ(SqlStateCode(SqlState::kInvalidParameterValue), "22023");
  EXPECT_STREQ(SqlStateCode(SqlState::kInvalidTextRepresentation), "22P02");
  EXPECT_STREQ(SqlStateCode(SqlState::kCheckViolation), "23514");
  EXPECT_STREQ(SqlStateCode(SqlState::kNoDataFound), "P0002");
  EXPECT_STREQ(SqlStateCode(SqlState::kOutOfMemory), "53200");
  EXPECT_STREQ(SqlStateCode(SqlState::kInternalError), "XX000");
}

}  // namespace
}  // namespace jk::core
