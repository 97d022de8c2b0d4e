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
  EXPECT_EQ(std::end(jk::core::kServedSqlVersions)[-1], "1.0");
}

}  // namespace
