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

// BIGINT keys are looked up by value; erasing many keys (backward-shift deletion) keeps every
// other key findable, NULL is a key of its own, and keys move between tables.
TEST(GroupTableTest, FixedWidthKeysEraseAndReinsert) {
  GroupTable t({types::Int64()});
  ColumnBuilder b(types::Int64());
  const int64_t n = 5000;
  for (int64_t i = 0; i < n; ++i) b.AppendFixed<int64_t>(i * 7919);
  b.AppendNull();
  std::vector<ColumnPtr> keys = {b.Finish()};
  std::vector<uint32_t> ids;
  t.FindOrInsert(keys, nullptr, n + 1, &ids);
  for (int64_t i = 0; i <= n; ++i) ASSERT_EQ(ids[static_cast<size_t>(i)], static_cast<uint32_t>(i));
  EXPECT_TRUE(t.KeyColumns()[0]->IsNull(n)) << "NULL is a key";
  EXPECT_EQ(t.KeyColumns()[0]->GetValue(3), Value::Int64(3 * 7919));
  for (uint32_t g = 0; g < n; g += 2) t.Erase(g);
  t.Erase(static_cast<uint32_t>(n));
  std::vector<uint32_t> found;
  t.Find(keys, nullptr, n + 1, &found);
  for (int64_t i = 0; i <= n; ++i) {
    bool erased = i == n || i % 2 == 0;
    ASSERT_EQ(found[static_cast<size_t>(i)],
              erased ? GroupTable::kNoGroup : static_cast<uint32_t>(i))
        << "key " << i;
  }
  // Reinserting reuses the erased indexes; every key is found again.
  t.FindOrInsert(keys, nullptr, n + 1, &ids);
  EXPECT_EQ(t.size(), n + 1);
  t.Find(keys, nullptr, n + 1, &found);
  EXPECT_EQ(found, ids);
  GroupTable other({types::Int64()});
  EXPECT_EQ(other.FindOrInsertFrom(t, ids[5]), 0u);
  EXPECT_EQ(other.FindOrInsertFrom(t, ids[static_cast<size_t>(n)]), 1u);
  EXPECT_EQ(other.FindOrInsertFrom(t, ids[5]), 0u);
  EXPECT_EQ(other.KeyColumns()[0]->GetValue(0), Value::Int64(5 * 7919));
  EXPECT_TRUE(other.KeyColumns()[0]->IsNull(1));
}

}  // namespace
}  // namespace sluice::exec
