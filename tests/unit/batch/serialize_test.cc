#include <gtest/gtest.h>

#include <random>

#include "batch/column_builder.h"
#include "batch/serialize.h"

namespace sluice::batch {
namespace {

using types::DataType;
using types::Field;
using types::TypeId;
using types::Value;

// One column per type, each with NULLs, including nested types.
BatchPtr EveryTypeBatch(int64_t rows) {
  std::vector<Field> fields = {
      {"b", types::Bool()},
      {"i8", DataType(TypeId::kInt8)},
      {"i16", DataType(TypeId::kInt16)},
      {"i32", types::Int32()},
      {"i64", types::Int64()},
      {"u8", DataType(TypeId::kUInt8)},
      {"u16", DataType(TypeId::kUInt16)},
      {"u32", DataType(TypeId::kUInt32)},
      {"u64", types::UInt64()},
      {"f32", DataType(TypeId::kFloat32)},
      {"f64", types::Float64()},
      {"dec", DataType::Decimal(20, 3)},
      {"s", types::Utf8()},
      {"j", DataType(TypeId::kJson)},
      {"bin", DataType(TypeId::kBinary)},
      {"d", DataType(TypeId::kDate)},
      {"t", DataType(TypeId::kTime)},
      {"ts", types::Timestamp()},
      {"tz", DataType::TimestampTz()},  // the flag survives (a bit in the type id byte)
      {"iv", DataType(TypeId::kInterval)},
      {"l", DataType::List(types::Int64())},
      {"st", DataType::Struct({{"x", types::Utf8()}, {"y", DataType::List(types::Utf8())}})},
      {"nul", DataType(TypeId::kNull)},
  };
  auto schema = std::make_shared<const types::Schema>(fields);
  auto b = std::make_shared<Batch>();
  b->schema = schema;
  b->num_rows = rows;
  for (const auto& f : fields) {
    ColumnBuilder cb(f.type);
    for (int64_t r = 0; r < rows; ++r) {
      if (r % 5 == 3 || f.type.id() == TypeId::kNull) {
        cb.AppendNull();
        continue;
      }
      const DataType& t = f.type;
      switch (t.id()) {
        case TypeId::kBool:
          cb.AppendValue(Value::Boolean(r % 2 == 0));
          break;
        case TypeId::kInt8:
        case TypeId::kInt16:
        case TypeId::kInt32:
        case TypeId::kInt64:
        case TypeId::kDate:
        case TypeId::kTime:
        case TypeId::kTimestamp:
          cb.AppendValue(Value::Int(t, r * 7 - 20));
          break;
        case TypeId::kUInt8:
        case TypeId::kUInt16:
        case TypeId::kUInt32:
        case TypeId::kUInt64:
          cb.AppendValue(Value::UInt(t, static_cast<uint64_t>(r * 3)));
          break;
        case TypeId::kFloat32:
        case TypeId::kFloat64:
          cb.AppendValue(Value::Float(t, static_cast<double>(r) / 4));
          break;
        case TypeId::kDecimal:
          cb.AppendValue(Value::Decimal(t, static_cast<types::int128_t>(r) * 1000000007));
          break;
        case TypeId::kUtf8:
        case TypeId::kJson:
        case TypeId::kBinary:
          cb.AppendValue(Value::Bytes(t, std::string(static_cast<size_t>(r % 7), 'a' + r % 26)));
          break;
        case TypeId::kInterval:
          cb.AppendValue(Value::IntervalValue({static_cast<int32_t>(r), 2, r * 1000}));
          break;
        case TypeId::kList: {
          std::vector<Value> items;
          for (int64_t k = 0; k < r % 4; ++k) {
            items.push_back(k == 1 ? Value::Null(types::Int64()) : Value::Int64(r + k));
          }
          cb.AppendValue(Value::Nested(t, std::move(items)));
          break;
        }
        case TypeId::kStruct: {
          std::vector<Value> inner = {Value::String("e" + std::to_string(r))};
          cb.AppendValue(Value::Nested(
              t, {r % 3 == 0 ? Value::Null(types::Utf8()) : Value::String(std::to_string(r)),
                  Value::Nested(t.fields()[1].type, std::move(inner))}));
          break;
        }
        default:
          ADD_FAILURE() << "type not covered: " << t.ToString();
      }
    }
    b->columns.push_back(cb.Finish());
  }
  ColumnBuilder et(types::Timestamp());
  ColumnBuilder ck(DataType(TypeId::kInt8));
  for (int64_t r = 0; r < rows; ++r) {
    et.AppendFixed<int64_t>(1700000000000000 + r);
    ck.AppendFixed<int8_t>(static_cast<int8_t>(r % 4));
  }
  b->event_time = et.Finish();
  b->change_kind = ck.Finish();
  return b;
}

void ExpectSameBatch(const Batch& a, const Batch& b) {
  ASSERT_EQ(a.num_rows, b.num_rows);
  ASSERT_EQ(a.columns.size(), b.columns.size());
  ASSERT_EQ(a.schema != nullptr, b.schema != nullptr);
  if (a.schema) {
    ASSERT_EQ(a.schema->size(), b.schema->size());
    for (size_t i = 0; i < a.schema->size(); ++i) {
      EXPECT_EQ(a.schema->field(i), b.schema->field(i));
      EXPECT_EQ(a.schema->field(i).nullable, b.schema->field(i).nullable);
    }
  }
  for (size_t c = 0; c < a.columns.size(); ++c) {
    ASSERT_EQ(a.columns[c] != nullptr, b.columns[c] != nullptr) << c;
    if (!a.columns[c]) continue;
    ASSERT_EQ(a.columns[c]->type, b.columns[c]->type) << c;
    for (int64_t r = 0; r < a.num_rows; ++r) {
      EXPECT_EQ(a.columns[c]->GetValue(r), b.columns[c]->GetValue(r))
          << "column " << c << " row " << r;
    }
  }
  for (int64_t r = 0; r < a.num_rows; ++r) {
    EXPECT_EQ(a.event_time->GetValue(r), b.event_time->GetValue(r));
    if (a.change_kind) {
      EXPECT_EQ(a.change_kind->GetValue(r), b.change_kind->GetValue(r));
    }
  }
  EXPECT_EQ(a.change_kind != nullptr, b.change_kind != nullptr);
}

TEST(Serialize, EveryTypeRoundTrips) {
  BatchPtr in = EveryTypeBatch(37);
  std::string bytes;
  SerializeBatch(*in, &bytes);
  auto out = DeserializeBatch(bytes);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ExpectSameBatch(*in, **out);
  // Serializing the copy gives the same bytes: buffers are copied exactly.
  std::string again;
  SerializeBatch(**out, &again);
  EXPECT_EQ(bytes, again);
}

TEST(Serialize, EmptyBatchAndMissingColumnsRoundTrip) {
  auto b = std::make_shared<Batch>();
  b->num_rows = 0;
  b->columns = {nullptr};
  b->event_time = ColumnBuilder(types::Timestamp()).Finish();
  std::string bytes;
  SerializeBatch(*b, &bytes);
  auto out = DeserializeBatch(bytes);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)->num_rows, 0);
  ASSERT_EQ((*out)->columns.size(), 1u);
  EXPECT_EQ((*out)->columns[0], nullptr);
  EXPECT_EQ((*out)->schema, nullptr);
  EXPECT_EQ((*out)->change_kind, nullptr);
}

TEST(Serialize, SeveralBatchesReadInSequence) {
  std::string bytes;
  SerializeBatch(*EveryTypeBatch(3), &bytes);
  SerializeBatch(*EveryTypeBatch(10), &bytes);
  std::string_view view = bytes;
  auto first = DeserializeBatch(&view);
  ASSERT_TRUE(first.ok());
  auto second = DeserializeBatch(&view);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ((*first)->num_rows, 3);
  EXPECT_EQ((*second)->num_rows, 10);
  EXPECT_TRUE(view.empty());
}

TEST(Serialize, TruncatedInputIsAnErrorAtEveryLength) {
  std::string bytes;
  SerializeBatch(*EveryTypeBatch(9), &bytes);
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto out = DeserializeBatch(std::string_view(bytes.data(), n));
    EXPECT_FALSE(out.ok()) << n;
  }
}

TEST(Serialize, NewerFormatIsRefusedWithItsVersion) {
  std::string bytes;
  SerializeBatch(*EveryTypeBatch(2), &bytes);
  bytes[6] = 9;  // minimum readable version
  auto out = DeserializeBatch(bytes);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("version"), std::string::npos);
}

TEST(Serialize, CorruptBytesNeverCrash) {
  std::string bytes;
  SerializeBatch(*EveryTypeBatch(12), &bytes);
  std::mt19937 rng(42);
  for (int trial = 0; trial < 3000; ++trial) {
    std::string copy = bytes;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) {
      copy[rng() % copy.size()] = static_cast<char>(rng());
    }
    auto out = DeserializeBatch(copy);
    if (out.ok()) {
      // Whatever was accepted must be readable end to end.
      for (const auto& c : (*out)->columns) {
        if (!c) continue;
        for (int64_t r = 0; r < c->length; ++r) (void)c->GetValue(r);
      }
    }
  }
}

}  // namespace
}  // namespace sluice::batch
