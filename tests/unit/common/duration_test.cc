// Durations as options take them: a number with a unit.

#include "common/duration.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(DurationTest, UnitsAndDecimals) {
  EXPECT_EQ(*ParseDuration("250us", "x"), 250);
  EXPECT_EQ(*ParseDuration("500ms", "x"), 500'000);
  EXPECT_EQ(*ParseDuration("10s", "x"), 10'000'000);
  EXPECT_EQ(*ParseDuration("1.5s", "x"), 1'500'000);
  EXPECT_EQ(*ParseDuration("2m", "x"), 120'000'000);
  EXPECT_EQ(*ParseDuration("2min", "x"), 120'000'000);
  EXPECT_EQ(*ParseDuration("1h", "x"), 3'600'000'000);
  EXPECT_EQ(*ParseDuration("0s", "x"), 0);
}

TEST(DurationTest, BadFormsNameTheOption) {
  for (const char* bad : {"10", "s", "", "1..5s", "1.2.3s", "-1s", "5 s", "5sec", "1d"}) {
    auto d = ParseDuration(bad, "--checkpoint-interval");
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_EQ(d.status().kind(), ErrorKind::kUser);
    EXPECT_NE(d.status().message().find("invalid --checkpoint-interval"), std::string::npos)
        << d.status().message();
    EXPECT_NE(d.status().message().find("use a duration with a unit"), std::string::npos);
  }
}

}  // namespace
}  // namespace sluice
