// The filesystem sink's partitioner: directories from event time and from column values.

#include <gtest/gtest.h>

#include "batch/column_builder.h"
#include "connectors/filesystem/filesystem_options.h"
#include "connectors/filesystem/partitioner.h"

namespace sluice::connectors::filesystem {
namespace {

constexpr int64_t kSecond = 1'000'000;
// 2023-10-09T17:13:40Z
constexpr int64_t kT = 1696871620 * kSecond;

batch::Batch MakeBatch(const std::vector<int64_t>& times,
                       const std::vector<std::optional<std::string>>& names) {
  batch::ColumnBuilder t(types::Timestamp()), n(types::Utf8());
  for (int64_t v : times) t.AppendFixed<int64_t>(v);
  for (const auto& v : names) {
    if (v) {
      n.AppendString(*v);
    } else {
      n.AppendNull();
    }
  }
  batch::Batch b;
  b.schema = std::make_shared<const types::Schema>(types::Schema({{"name", types::Utf8(), true}}));
  b.columns = {n.Finish()};
  b.event_time = t.Finish();
  b.num_rows = static_cast<int64_t>(times.size());
  return b;
}

// Durations as Arroyo's options are written ('30 seconds'), as ParseDuration takes them ('10s'),
// and abbreviations after a space ('200 ms').
TEST(FilesystemOptionsTest, DurationsInWordsAndAbbreviations) {
  const std::pair<const char*, int64_t> cases[] = {
      {"30 seconds", 30'000'000}, {"10s", 10'000'000},    {"200 ms", 200'000},
      {"200ms", 200'000},         {"2 min", 120'000'000}, {"1 hour", 3'600'000'000},
      {"1.5 s", 1'500'000},       {"5 m", 300'000'000}};
  for (const auto& [text, micros] : cases) {
    TableSpec spec;
    spec.table_name = "t";
    spec.type = TableType::kSink;
    spec.format.format = "json";
    spec.options = {{"path", "/tmp/x"}, {"rolling_policy.interval", text}};
    auto o = ParseFilesystemOptions(spec);
    ASSERT_TRUE(o.ok()) << text << ": " << o.status().ToString();
    EXPECT_EQ(o->roll_interval_micros, micros) << text;
  }
  for (const char* bad : {"200", "ms", "5 fortnights", "-1 s"}) {
    TableSpec spec;
    spec.table_name = "t";
    spec.type = TableType::kSink;
    spec.format.format = "json";
    spec.options = {{"path", "/tmp/x"}, {"rolling_policy.interval", bad}};
    auto o = ParseFilesystemOptions(spec);
    ASSERT_FALSE(o.ok()) << bad;
    EXPECT_NE(o.status().message().find("rolling_policy.interval"), std::string::npos);
  }
}

TEST(FilesystemPartitionerTest, TimePatternAndFields) {
  types::Schema schema({{"name", types::Utf8(), true}});
  auto p = Partitioner::Make({"name"}, "%Y/%m/%d/%H", schema, "table 't'").MoveValue();
  ASSERT_TRUE(p.enabled());
  auto b =
      MakeBatch({kT, kT + 1, kT + 3600 * kSecond, kT + 2}, {"ann", "bob/x=1", "ann", std::nullopt});
  std::vector<PartitionGroup> groups;
  p.Group(b, &groups);
  ASSERT_EQ(groups.size(), 4u);
  EXPECT_EQ(groups[0].dir, "2023/10/09/17/name=ann");
  EXPECT_EQ(groups[0].rows, std::vector<int32_t>({0}));
  // '/' and '=' escaped as Hive does.
  EXPECT_EQ(groups[1].dir, "2023/10/09/17/name=bob%2Fx%3D1");
  EXPECT_EQ(groups[2].dir, "2023/10/09/18/name=ann");
  EXPECT_EQ(groups[3].dir, "2023/10/09/17/name=__HIVE_DEFAULT_PARTITION__");
  // The partition ends at the next hour: 2023-10-09T18:00:00Z, then 19:00.
  EXPECT_EQ(groups[0].time_end, 1696874400 * kSecond);
  EXPECT_EQ(groups[2].time_end, 1696878000 * kSecond);
}

TEST(FilesystemPartitionerTest, RowsOfOnePartitionGroupTogether) {
  types::Schema schema({{"name", types::Utf8(), true}});
  auto p = Partitioner::Make({"name"}, "", schema, "table 't'").MoveValue();
  auto b = MakeBatch({0, 0, 0, 0, 0}, {"a", "b", "a", "a", "b"});
  std::vector<PartitionGroup> groups;
  p.Group(b, &groups);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].dir, "name=a");
  EXPECT_EQ(groups[0].rows, std::vector<int32_t>({0, 2, 3}));
  EXPECT_EQ(groups[1].rows, std::vector<int32_t>({1, 4}));
  EXPECT_EQ(groups[0].time_end, INT64_MAX);
}

TEST(FilesystemPartitionerTest, MonthsYearsDaysOfYearAndTimesBeforeTheEpoch) {
  types::Schema schema({{"name", types::Utf8(), true}});
  auto month = Partitioner::Make({}, "year=%Y/month=%m", schema, "t").MoveValue();
  // 2024-02-29T23:59:59Z: the month ends on 2024-03-01.
  auto b = MakeBatch({1709251199 * kSecond}, {"x"});
  std::vector<PartitionGroup> groups;
  month.Group(b, &groups);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].dir, "year=2024/month=02");
  EXPECT_EQ(groups[0].time_end, 1709251200 * kSecond);

  auto day = Partitioner::Make({}, "%Y-%j %%", schema, "t").MoveValue();
  day.Group(b, &groups);
  EXPECT_EQ(groups[0].dir, "2024-060 %");

  // 1969-12-31T23:59:59.5Z is in 1969's last second, hour and day.
  auto second = Partitioner::Make({}, "%Y%m%d%H%M%S", schema, "t").MoveValue();
  auto before = MakeBatch({-500000}, {"x"});
  second.Group(before, &groups);
  EXPECT_EQ(groups[0].dir, "19691231235959");
  EXPECT_EQ(groups[0].time_end, 0);
}

TEST(FilesystemPartitionerTest, UnknownOrNestedFieldsAreRefused) {
  types::Schema schema(
      {{"name", types::Utf8(), true}, {"tags", types::DataType::List(types::Utf8()), true}});
  auto missing = Partitioner::Make({"nope"}, "", schema, "table 't'");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("'nope'"), std::string::npos);
  auto nested = Partitioner::Make({"tags"}, "", schema, "table 't'");
  ASSERT_FALSE(nested.ok());
  EXPECT_NE(nested.status().message().find("scalar"), std::string::npos);
}

}  // namespace
}  // namespace sluice::connectors::filesystem
