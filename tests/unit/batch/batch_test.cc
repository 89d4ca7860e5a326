#include <gtest/gtest.h>

#include "batch/batch.h"
#include "batch/column_builder.h"

namespace sluice::batch {
namespace {

using types::DataType;
using types::TypeId;
using types::Value;

TEST(ColumnBuilder, FixedWidthWithNullsKeepsArrowLayout) {
  ColumnBuilder b(types::Int64());
  b.AppendFixed<int64_t>(1);
  b.AppendFixed<int64_t>(2);
  b.AppendNull();
  b.AppendFixed<int64_t>(4);
  ColumnPtr c = b.Finish();
  ASSERT_EQ(c->length, 4);
  ASSERT_TRUE(c->validity != nullptr);
  EXPECT_EQ(c->validity->data()[0], 0b1011);  // bit i = row i valid
  EXPECT_EQ(c->raw<int64_t>()[3], 4);
  EXPECT_TRUE(c->IsNull(2));
  EXPECT_EQ(c->CountNulls(), 1);
}

TEST(ColumnBuilder, NoNullsMeansNoValidityBuffer) {
  ColumnBuilder b(types::Int32());
  for (int i = 0; i < 100; ++i) b.AppendFixed<int32_t>(i);
  ColumnPtr c = b.Finish();
  EXPECT_EQ(c->validity, nullptr);
  EXPECT_EQ(c->raw<int32_t>()[99], 99);
}

TEST(ColumnBuilder, NullAfterManyValidRowsBackfillsBitmap) {
  ColumnBuilder b(types::Int32());
  for (int i = 0; i < 13; ++i) b.AppendFixed<int32_t>(i);
  b.AppendNull();
  ColumnPtr c = b.Finish();
  for (int i = 0; i < 13; ++i) EXPECT_TRUE(c->IsValid(i)) << i;
  EXPECT_TRUE(c->IsNull(13));
}

TEST(ColumnBuilder, StringsUseOffsetsAndData) {
  ColumnBuilder b(types::Utf8());
  b.AppendString("ab");
  b.AppendNull();
  b.AppendString("");
  b.AppendString("xyz");
  ColumnPtr c = b.Finish();
  const int32_t* o = c->offsets();
  EXPECT_EQ(o[0], 0);
  EXPECT_EQ(o[1], 2);
  EXPECT_EQ(o[2], 2);
  EXPECT_EQ(o[3], 2);
  EXPECT_EQ(o[4], 5);
  EXPECT_EQ(c->GetString(3), "xyz");
  EXPECT_TRUE(c->IsNull(1));
}

TEST(ColumnBuilder, BooleansAreBitPacked) {
  ColumnBuilder b(types::Bool());
  for (int i = 0; i < 10; ++i) b.AppendBool(i % 3 == 0);
  ColumnPtr c = b.Finish();
  EXPECT_EQ(c->values->size(), 2u);
  EXPECT_TRUE(c->GetBool(0));
  EXPECT_FALSE(c->GetBool(1));
  EXPECT_TRUE(c->GetBool(9));
}

TEST(ColumnBuilder, NestedListAndStruct) {
  DataType list = DataType::List(types::Int32());
  DataType st = DataType::Struct({{"a", types::Int64(), true}, {"b", types::Utf8(), true}});
  ColumnBuilder lb(list);
  lb.AppendValue(
      Value::Nested(list, {Value::Int(types::Int32(), 1), Value::Int(types::Int32(), 2)}));
  lb.AppendNull();
  lb.AppendValue(Value::Nested(list, {}));
  ColumnPtr lc = lb.Finish();
  EXPECT_EQ(lc->GetValue(0).ToString(), "[1, 2]");
  EXPECT_TRUE(lc->GetValue(1).is_null());
  EXPECT_EQ(lc->GetValue(2).ToString(), "[]");

  ColumnBuilder sb(st);
  sb.AppendValue(Value::Nested(st, {Value::Int64(7), Value::String("x")}));
  sb.AppendNull();
  ColumnPtr sc = sb.Finish();
  EXPECT_EQ(sc->GetValue(0).ToString(), "{7, 'x'}");
  EXPECT_TRUE(sc->IsNull(1));
  EXPECT_EQ(sc->children.size(), 2u);
}

TEST(Take, GathersEveryKindOfColumn) {
  ColumnBuilder b(types::Utf8());
  for (const char* s : {"zero", "one", "two", "three"}) b.AppendString(s);
  b.AppendNull();
  ColumnPtr c = b.Finish();
  int32_t idx[] = {4, 2, 0};
  ColumnPtr t = Take(*c, idx, 3);
  EXPECT_TRUE(t->IsNull(0));
  EXPECT_EQ(t->GetString(1), "two");
  EXPECT_EQ(t->GetString(2), "zero");
}

TEST(Batch, SelectKeepsEventTime) {
  auto schema =
      std::make_shared<types::Schema>(std::vector<types::Field>{{"x", types::Int64(), true}});
  ColumnBuilder xb(types::Int64()), tb(types::Timestamp());
  for (int i = 0; i < 5; ++i) {
    xb.AppendFixed<int64_t>(i * 10);
    tb.AppendFixed<int64_t>(i * 1000);
  }
  Batch b;
  b.schema = schema;
  b.columns = {xb.Finish()};
  b.event_time = tb.Finish();
  b.num_rows = 5;
  auto s = b.Select({1, 3});
  ASSERT_EQ(s->num_rows, 2);
  EXPECT_EQ(s->columns[0]->raw<int64_t>()[1], 30);
  EXPECT_EQ(s->event_time->raw<int64_t>()[1], 3000);
}

TEST(Value, FormatsTimestampsLikeTheDialectReference) {
  // 2023-10-09T17:13:40.200 = 1696871620.2 s since the epoch.
  EXPECT_EQ(types::FormatTimestamp(1696871620200000), "2023-10-09T17:13:40.200");
  EXPECT_EQ(types::FormatTimestamp(1695045600000000), "2023-09-18T14:00:00");
  EXPECT_EQ(types::FormatTimestamp(-1), "1969-12-31T23:59:59.999999");
  EXPECT_EQ(types::FormatDecimal(-12345, 2), "-123.45");
  EXPECT_EQ(types::FormatDecimal(5, 3), "0.005");
}

// Concat keeps every value of every part, NULLs included, for each layout: fixed width,
// booleans, strings (also a part taken from the middle of another column), lists, structs.
TEST(ConcatTest, EveryLayoutKeepsItsValues) {
  DataType point = DataType::Struct({{"x", types::Int64(), true}, {"tag", types::Utf8(), true}});
  std::vector<DataType> types = {types::Int64(),
                                 DataType(TypeId::kInt16),
                                 DataType::Decimal(10, 2),
                                 types::Bool(),
                                 types::Utf8(),
                                 DataType::List(types::Utf8()),
                                 point};
  auto value = [&](const DataType& t, int i) -> Value {
    if (i % 4 == 3) return Value::Null(t);
    switch (t.id()) {
      case TypeId::kInt64:
        return Value::Int64(i * 1000003);
      case TypeId::kInt16:
        return Value::Int(t, i - 5);
      case TypeId::kDecimal:
        return Value::Decimal(t, i * 125);
      case TypeId::kBool:
        return Value::Boolean(i % 3 == 0);
      case TypeId::kUtf8:
        return Value::String(std::string(static_cast<size_t>(i % 5), static_cast<char>('a' + i)));
      case TypeId::kList:
        return Value::Nested(t,
                             {Value::String("e" + std::to_string(i)), Value::Null(types::Utf8())});
      default:
        return Value::Nested(t, {Value::Int64(i), Value::String("p" + std::to_string(i))});
    }
  };
  for (const auto& t : types) {
    std::vector<ColumnPtr> parts;
    std::vector<Value> expected;
    int next = 0;
    for (int len : {3, 0, 9, 1}) {
      ColumnBuilder b(t);
      for (int i = 0; i < len; ++i) {
        Value v = value(t, next++);
        b.AppendValue(v);
        expected.push_back(v);
      }
      parts.push_back(b.Finish());
    }
    // A part whose offsets do not start at zero: rows 2..4 of a larger column, via Take.
    ColumnBuilder big(t);
    for (int i = 0; i < 6; ++i) big.AppendValue(value(t, 100 + i));
    std::vector<int32_t> middle = {2, 3, 4};
    parts.push_back(Take(*big.Finish(), middle.data(), 3));
    for (int i : middle) expected.push_back(value(t, 100 + i));
    ColumnPtr all = Concat(parts);
    ASSERT_EQ(all->length, static_cast<int64_t>(expected.size())) << t.ToString();
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ(all->GetValue(static_cast<int64_t>(i)), expected[i])
          << t.ToString() << " row " << i;
    }
  }
}

}  // namespace
}  // namespace sluice::batch
