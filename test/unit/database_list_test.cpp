// jobkeeper.databases: exact names, blanks, quotes, empty lists.
#include "core/database_list.hpp"

#include <gtest/gtest.h>

namespace jk::core {
namespace {

TEST(DatabaseListTest, EmptyMeansEveryDatabase) {
  EXPECT_TRUE(DatabaseListContains("", "app"));
  EXPECT_TRUE(DatabaseListContains("  ", "app"));
}

TEST(DatabaseListTest, NamesCompareExactlyAsWritten) {
  EXPECT_TRUE(DatabaseListContains("app,reports", "reports"));
  EXPECT_TRUE(DatabaseListContains("MyApp", "MyApp"));
  EXPECT_FALSE(DatabaseListContains("MyApp", "myapp"));
  EXPECT_FALSE(DatabaseListContains("myapp", "MyApp"));
  EXPECT_FALSE(DatabaseListContains("app", "ap"));
  EXPECT_FALSE(DatabaseListContains("app", "apps"));
}

TEST(DatabaseListTest, BlanksAroundNamesAreIgnored) {
  EXPECT_TRUE(DatabaseListContains(" app ,  reports ", "reports"));
  EXPECT_TRUE(DatabaseListContains(" app ,  reports ", "app"));
  EXPECT_FALSE(DatabaseListContains("app, ,", ""));
}

TEST(DatabaseListTest, QuotedNamesMayHoldCommasBlanksAndQuotes) {
  EXPECT_TRUE(DatabaseListContains("\"my, app\",other", "my, app"));
  EXPECT_TRUE(DatabaseListContains("\"My App\"", "My App"));
  EXPECT_TRUE(DatabaseListContains("\"say \"\"hi\"\"\"", "say \"hi\""));
  EXPECT_FALSE(DatabaseListContains("\"my, app\"", "my"));
  EXPECT_TRUE(DatabaseListContains("a, \"b\" ,c", "c"));
  EXPECT_TRUE(DatabaseListContains("\"unterminated", "unterminated"));
}

}  // namespace
}  // namespace jk::core
