// GroupTable: dense group indexes, lookups that do not insert, and erased groups whose
// indexes are reused.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "batch/column_builder.h"
#include "exec/group_table.h"

namespace sluice::exec {
namespace {

using batch::ColumnBuilder;
using batch::ColumnPtr;
using types::Value;

std::vector<ColumnPtr> Keys(const std::vector<std::string>& names) {
  ColumnBuilder b(types::Utf8());
  for (const auto& n : names) b.AppendValue(Value::String(n));
  return {b.Finish()};
}

TEST(GroupTableTest, FindOrInsertFindAndErase) {
  GroupTable t({types::Utf8()});
  std::vector<uint32_t> ids;
  t.FindOrInsert(Keys({"a", "b", "a", "c"}), nullptr, 4, &ids);
  EXPECT_EQ(ids, (std::vector<uint32_t>{0, 1, 0, 2}));
  EXPECT_EQ(t.size(), 3);

  // Find never inserts; rows selects among the rows.
  std::vector<int32_t> rows = {1, 2};
  t.Find(Keys({"z", "c", "b"}), &rows, 2, &ids);
  EXPECT_EQ(ids, (std::vector<uint32_t>{2, 1}));
  t.Find(Keys({"z"}), nullptr, 1, &ids);
  EXPECT_EQ(ids, (std::vector<uint32_t>{GroupTable::kNoGroup}));
  EXPECT_EQ(t.size(), 3);

  // Erasing b frees index 1: Find no longer sees b, and the next new key takes index 1.
  t.Erase(1);
  EXPECT_FALSE(t.live(1));
  EXPECT_EQ(t.live_count(), 2);
  t.Find(Keys({"b"}), nullptr, 1, &ids);
  EXPECT_EQ(ids[0], GroupTable::kNoGroup);
  t.FindOrInsert(Keys({"d", "a"}), nullptr, 2, &ids);
  EXPECT_EQ(ids, (std::vector<uint32_t>{1, 0}));
  EXPECT_EQ(t.size(), 3);
  EXPECT_EQ(t.KeyValues(1)[0], Value::String("d"));
  // The key columns follow the reuse.
  const auto& keys = t.KeyColumns();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0]->GetValue(1), Value::String("d"));
  t.Erase(2);
  EXPECT_TRUE(t.KeyColumns()[0]->IsNull(2)) << "an erased group's key is NULL";
  t.FindOrInsert(Keys({"b"}), nullptr, 1, &ids);
  EXPECT_EQ(ids[0], 2u);
  EXPECT_EQ(t.KeyColumns()[0]->GetValue(2), Value::String("b"));
}

TEST(GroupTableTest, GlobalGroup) {
  GroupTable t({});
  std::vector<uint32_t> ids;
  t.Find({}, nullptr, 2, &ids);
  EXPECT_EQ(ids, (std::vector<uint32_t>{GroupTable::kNoGroup, GroupTable::kNoGroup}));
  t.FindOrInsert({}, nullptr, 2, &ids);
  EXPECT_EQ(ids, (std::vector<uint32_t>{0, 0}));
  t.Find({}, nullptr, 1, &ids);
  EXPECT_EQ(ids, (std::vector<uint32_t>{0}));
  EXPECT_EQ(t.size(), 1);
}

}  // namespace
}  // namespace sluice::exec
