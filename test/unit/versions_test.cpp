// The SQL versions the library serves.
#include "core/versions.hpp"

#include <gtest/gtest.h>

#include <iterator>

namespace {

using jk::core::IsServedSqlVersion;

TEST(Versions, ServesEveryListedVersion) {
  for (std::string_view v : jk::core::kServedSqlVersions) EXPECT_TRUE(IsServedSqlVersion(v)) << v;
}

TEST(Versions, RefusesUnknownAndPreReleaseVersions) {
  EXPECT_FALSE(IsServedSqlVersion("0.1"));  // the pre-release never had an update path
  EXPECT_FALSE(IsServedSqlVersion("9.9"));
  EXPECT_FALSE(IsServedSqlVersion(""));
  EXPECT_FALSE(IsServedSqlVersion("1.0 "));
}

TEST(Versions, NewestIsTheLastListed) {
  EXPECT_EQ(std::end(jk::core::kServedSqlVersions)[-1], "1.1");
}

TEST(Versions, ComparesMajorThenMinorAsNumbers) {
  using jk::core::SqlVersionAtLeast;
  EXPECT_TRUE(SqlVersionAtLeast("1.1", "1.1"));
  EXPECT_TRUE(SqlVersionAtLeast("1.10", "1.9"));  // numbers, not text
  EXPECT_TRUE(SqlVersionAtLeast("2.0", "1.1"));
  EXPECT_FALSE(SqlVersionAtLeast("1.0", "1.1"));
  EXPECT_FALSE(SqlVersionAtLeast("0.9", "1.1"));
}

TEST(Versions, AnUnparsableVersionIsNeverNewEnough) {
  using jk::core::SqlVersionAtLeast;
  for (std::string_view v : {"", "1", "1.", ".1", "1.1.0", "1.x", "v1.1", "1.1 "}) {
    EXPECT_FALSE(SqlVersionAtLeast(v, "1.0")) << v;
  }
}

TEST(Versions, TtlRulesComeWithTheNewestServedVersion) {
  EXPECT_FALSE(jk::core::SqlVersionAtLeast("1.0", jk::core::kTtlRulesSince));
  EXPECT_TRUE(jk::core::SqlVersionAtLeast(std::end(jk::core::kServedSqlVersions)[-1],
                                          jk::core::kTtlRulesSince));
}

}  // namespace
