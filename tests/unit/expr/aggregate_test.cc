// Aggregate function library: every aggregate bound through the registry and run over several
// groups, with NULLs and empty groups. Expected values are worked out by hand from PostgreSQL's
// definitions. Each case also checks the state algebra the window operators rely on: feeding
// the rows in two states and merging them equals one state fed everything, and for invertible
// aggregates Subtract undoes Merge.

#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "batch/column_builder.h"
#include "expr/aggregate.h"
#include "expr/cast.h"

namespace sluice::expr {
namespace {

using batch::ColumnBuilder;
using types::DataType;
using types::Interval;
using types::TypeId;
using types::Value;

// ---------------------------------------------------------------------------------------------
// Harness

const DataType kInt = types::Int32();
const DataType kBigint = types::Int64();
const DataType kDouble = types::Float64();
const DataType kText = types::Utf8();

Value I(int64_t v) {
  return Value::Int(kInt, v);
}
Value L(int64_t v) {
  return Value::Int64(v);
}
Value D(double v) {
  return Value::Double(v);
}
Value S(std::string v) {
  return Value::String(std::move(v));
}
Value B(bool v) {
  return Value::Boolean(v);
}
Value Null(const DataType& t) {
  return Value::Null(t);
}

ColumnPtr Col(const DataType& t, const std::vector<Value>& values) {
  ColumnBuilder b(t);
  for (const auto& v : values) b.AppendValue(v);
  return b.Finish();
}

// One call: its argument columns (one per argument, as written), the group of every row and
// the number of groups (groups without rows must come out empty).
struct Call {
  std::string name;
  std::vector<ColumnPtr> args;
  std::vector<uint32_t> groups;
  int64_t num_groups = 1;
  std::vector<bool> constant;  // argument i is shown to the binder as a constant
  bool distinct = false;
  bool star = false;
  int64_t rows() const { return static_cast<int64_t>(groups.size()); }
};

Result<BoundAggregate> BindCall(const Call& c) {
  AggregateBindInput in;
  in.distinct = c.distinct;
  in.star = c.star;
  for (size_t i = 0; i < c.args.size(); ++i) {
    in.types.push_back(c.args[i]->type);
    bool is_constant = i < c.constant.size() && c.constant[i];
    in.constants.push_back(is_constant ? std::optional<Value>(c.args[i]->GetValue(0))
                                       : std::nullopt);
  }
  return AggregateRegistry::Get().Bind(c.name, in);
}

// The rows [begin, end) of the call's arguments, cast to the bound argument types.
std::vector<ColumnPtr> Slice(const Call& c, const BoundAggregate& b, int64_t begin, int64_t end) {
  std::vector<int32_t> rows;
  for (int64_t i = begin; i < end; ++i) rows.push_back(static_cast<int32_t>(i));
  std::vector<ColumnPtr> out;
  for (size_t i = 0; i < c.args.size(); ++i) {
    auto cast = CastColumn(c.args[i], b.arg_types[i]);
    EXPECT_TRUE(cast.ok()) << cast.status().ToString();
    out.push_back(batch::FilterColumn(**cast, rows));
  }
  return out;
}

Status Feed(const Call& c, const BoundAggregate& b, AggregateState* s, int64_t begin, int64_t end) {
  std::vector<ColumnPtr> args = Slice(c, b, begin, end);
  return s->Update(args, c.groups.data() + begin, end - begin);
}

std::vector<Value> Values(const ColumnPtr& col) {
  std::vector<Value> out;
  for (int64_t i = 0; i < col->length; ++i) out.push_back(col->GetValue(i));
  return out;
}

Result<std::vector<Value>> FinalizeAll(const AggregateState& s, int64_t groups,
                                       const DataType& type) {
  std::vector<uint32_t> ids;
  for (uint32_t g = 0; g < groups; ++g) ids.push_back(g);
  auto col = s.Finalize(ids.data(), groups);
  if (!col.ok()) return col.status();
  EXPECT_EQ((*col)->type, type);
  EXPECT_EQ((*col)->length, groups);
  return Values(*col);
}

// Equal, with doubles (also inside lists) compared to a relative 1e-9.
bool Same(const Value& a, const Value& b) {
  if (a.is_null() || b.is_null()) return a.is_null() && b.is_null() && a.type() == b.type();
  if (a.type() != b.type()) return false;
  if (a.type().id() == TypeId::kFloat64 || a.type().id() == TypeId::kFloat32) {
    double x = a.double_value(), y = b.double_value();
    if (x == y) return true;  // also infinities
    if (std::isnan(x) || std::isnan(y)) return std::isnan(x) && std::isnan(y);
    return std::fabs(x - y) <= 1e-9 * std::max(1.0, std::max(std::fabs(x), std::fabs(y)));
  }
  if (a.type().is_nested()) {
    if (a.children().size() != b.children().size()) return false;
    for (size_t i = 0; i < a.children().size(); ++i) {
      if (!Same(a.children()[i], b.children()[i])) return false;
    }
    return true;
  }
  return a == b;
}

void ExpectSame(const std::vector<Value>& got, const std::vector<Value>& want,
                const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_TRUE(Same(got[i], want[i])) << what << ", group " << i << ": got " << got[i].ToString()
                                       << " : " << got[i].type().ToString() << ", want "
                                       << want[i].ToString() << " : " << want[i].type().ToString();
  }
}

// Runs the call in one state, fed in two batches; also checks Merge and Subtract against it.
Result<std::vector<Value>> RunCall(const Call& c, BoundAggregate* bound_out = nullptr) {
  auto bound = BindCall(c);
  if (!bound.ok()) return bound.status();
  const BoundAggregate& b = *bound;
  if (bound_out) *bound_out = b;
  int64_t n = c.rows(), half = n / 2;

  auto whole = b.function->NewState();
  whole->Resize(c.num_groups);
  EXPECT_EQ(whole->num_groups(), c.num_groups);
  SLUICE_RETURN_NOT_OK(Feed(c, b, whole.get(), 0, half));
  SLUICE_RETURN_NOT_OK(Feed(c, b, whole.get(), half, n));
  auto result = FinalizeAll(*whole, c.num_groups, b.return_type);
  if (!result.ok()) return result;
  EXPECT_GT(whole->MemoryBytes(), 0) << c.name;

  // Merge: the first half in `a`, the second in `b2` whose groups are numbered in reverse;
  // merged into a fresh state.
  auto first = b.function->NewState();
  auto second = b.function->NewState();
  first->Resize(c.num_groups);
  second->Resize(c.num_groups);
  Call reversed = c;
  for (auto& g : reversed.groups) g = static_cast<uint32_t>(c.num_groups - 1 - g);
  SLUICE_RETURN_NOT_OK(Feed(c, b, first.get(), 0, half));
  SLUICE_RETURN_NOT_OK(Feed(reversed, b, second.get(), half, n));
  auto merged = b.function->NewState();
  merged->Resize(c.num_groups);
  for (uint32_t g = 0; g < c.num_groups; ++g) {
    merged->Merge(*first, g, g);
    merged->Merge(*second, static_cast<uint32_t>(c.num_groups - 1 - g), g);
  }
  auto merged_result = FinalizeAll(*merged, c.num_groups, b.return_type);
  EXPECT_TRUE(merged_result.ok()) << merged_result.status().ToString();
  if (merged_result.ok()) ExpectSame(*merged_result, *result, c.name + " merged");

  if (merged->invertible()) {
    for (uint32_t g = 0; g < c.num_groups; ++g) {
      merged->Subtract(*second, static_cast<uint32_t>(c.num_groups - 1 - g), g);
    }
    auto expect_first = FinalizeAll(*first, c.num_groups, b.return_type);
    auto after = FinalizeAll(*merged, c.num_groups, b.return_type);
    EXPECT_TRUE(after.ok() && expect_first.ok());
    if (after.ok() && expect_first.ok()) ExpectSame(*after, *expect_first, c.name + " subtract");
    // Removing the first half too leaves every group empty.
    for (uint32_t g = 0; g < c.num_groups; ++g) merged->Subtract(*first, g, g);
    auto empty = b.function->NewState();
    empty->Resize(c.num_groups);
    auto emptied = FinalizeAll(*merged, c.num_groups, b.return_type);
    auto want_empty = FinalizeAll(*empty, c.num_groups, b.return_type);
    if (emptied.ok() && want_empty.ok()) {
      ExpectSame(*emptied, *want_empty, c.name + " emptied");
    }
  }

  // Clear empties a group.
  for (uint32_t g = 0; g < c.num_groups; ++g) whole->Clear(g);
  auto cleared = FinalizeAll(*whole, c.num_groups, b.return_type);
  auto fresh = b.function->NewState();
  fresh->Resize(c.num_groups);
  auto want_cleared = FinalizeAll(*fresh, c.num_groups, b.return_type);
  if (cleared.ok() && want_cleared.ok()) ExpectSame(*cleared, *want_cleared, c.name + " cleared");
  return result;
}

// One-argument call over `values` in groups `groups`.
Call Unary(std::string name, const DataType& t, std::vector<Value> values,
           std::vector<uint32_t> groups, int64_t num_groups) {
  Call c;
  c.name = std::move(name);
  c.args = {Col(t, values)};
  c.groups = std::move(groups);
  c.num_groups = num_groups;
  return c;
}

std::vector<Value> Expect(const Call& c) {
  auto r = RunCall(c);
  EXPECT_TRUE(r.ok()) << c.name << ": " << r.status().ToString();
  return r.ok() ? *r : std::vector<Value>{};
}

// Groups: 0 gets {1, 2, 3, 4}, 1 gets {10, NULL, 20}, 2 only NULLs, 3 nothing.
const std::vector<uint32_t> kGroups = {0, 1, 0, 2, 1, 0, 2, 1, 0};
std::vector<Value> IntInputs(const DataType& t = kInt) {
  auto v = [&](int64_t x) {
    return t.is_unsigned_integer() ? Value::UInt(t, static_cast<uint64_t>(x)) : Value::Int(t, x);
  };
  return {v(1), v(10), v(2), Null(t), Null(t), v(3), Null(t), v(20), v(4)};
}

// ---------------------------------------------------------------------------------------------
// count

TEST(AggregateTest, CountStar) {
  Call c;
  c.name = "count";
  c.star = true;
  c.groups = kGroups;
  c.num_groups = 4;
  BoundAggregate b;
  auto r = RunCall(c, &b);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(b.return_type, kBigint);
  EXPECT_TRUE(b.arg_types.empty());
  ExpectSame(*r, {L(4), L(3), L(2), L(0)}, "count(*)");
}

TEST(AggregateTest, CountValue) {
  ExpectSame(Expect(Unary("count", kInt, IntInputs(), kGroups, 4)), {L(4), L(2), L(0), L(0)},
             "count(x)");
  // count(NULL) counts nothing.
  ExpectSame(Expect(Unary("count", DataType(), {Value(), Value()}, {0, 0}, 1)), {L(0)},
             "count(NULL)");
  ExpectSame(Expect(Unary("count", kText, {S("a"), Null(kText), S("")}, {0, 0, 0}, 1)), {L(2)},
             "count(text)");
}

TEST(AggregateTest, CountDistinct) {
  Call c = Unary("count", kInt, {I(1), I(1), I(2), Null(kInt), I(0), I(0), I(-1), I(5)},
                 {0, 0, 0, 0, 0, 1, 1, 2}, 4);
  c.distinct = true;
  BoundAggregate b;
  auto r = RunCall(c, &b);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(b.distinct);
  ExpectSame(*r, {L(3), L(2), L(1), L(0)}, "count(DISTINCT int)");

  Call text =
      Unary("count", kText, {S("a"), S("b"), S("a"), Null(kText), S("")}, {0, 0, 0, 0, 0}, 1);
  text.distinct = true;
  ExpectSame(Expect(text), {L(3)}, "count(DISTINCT text)");

  // -0 and 0 are one value, all NaNs are one value.
  double nan = std::nan("");
  Call dbl =
      Unary("count", kDouble, {D(0.0), D(-0.0), D(nan), D(-nan), D(1.5)}, {0, 0, 0, 0, 0}, 1);
  dbl.distinct = true;
  ExpectSame(Expect(dbl), {L(3)}, "count(DISTINCT double)");

  // Many values: the word set grows.
  std::vector<Value> vals;
  std::vector<uint32_t> groups;
  for (int i = 0; i < 5000; ++i) {
    vals.push_back(L(i % 1234));
    groups.push_back(static_cast<uint32_t>(i % 2));
  }
  Call many = Unary("count", kBigint, vals, groups, 2);
  many.distinct = true;
  ExpectSame(Expect(many), {L(617), L(617)}, "count(DISTINCT many)");

  Call dec = Unary(
      "count", DataType::Decimal(10, 2),
      {Value::Decimal(DataType::Decimal(10, 2), 150), Value::Decimal(DataType::Decimal(10, 2), 150),
       Value::Decimal(DataType::Decimal(10, 2), 151)},
      {0, 0, 0}, 1);
  dec.distinct = true;
  ExpectSame(Expect(dec), {L(2)}, "count(DISTINCT decimal)");
}

// ---------------------------------------------------------------------------------------------
// sum and avg

TEST(AggregateTest, SumIntegers) {
  BoundAggregate b;
  auto r = RunCall(Unary("sum", kInt, IntInputs(), kGroups, 4), &b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(b.return_type, kBigint);
  ExpectSame(*r, {L(10), L(30), Null(kBigint), Null(kBigint)}, "sum(int)");

  // Sums beyond INT range are fine in BIGINT.
  ExpectSame(Expect(Unary("sum", kInt, {I(2147483647), I(2147483647)}, {0, 0}, 1)), {L(4294967294)},
             "sum(int) wide");
  // Intermediate overflow that comes back in range is not an error (128-bit accumulator).
  int64_t max = std::numeric_limits<int64_t>::max();
  ExpectSame(Expect(Unary("sum", kBigint, {L(max), L(max), L(-max)}, {0, 0, 0}, 1)), {L(max)},
             "sum(bigint) transient");
  auto overflow = RunCall(Unary("sum", kBigint, {L(max), L(1)}, {0, 0}, 1));
  ASSERT_FALSE(overflow.ok());
  EXPECT_EQ(overflow.status().kind(), ErrorKind::kUser);
  EXPECT_EQ(overflow.status().message(), "bigint out of range in sum()");
}

TEST(AggregateTest, SumUnsigned) {
  DataType u32(TypeId::kUInt32);
  BoundAggregate b;
  auto r = RunCall(Unary("sum", u32, IntInputs(u32), kGroups, 4), &b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(b.return_type, types::UInt64());
  ExpectSame(*r,
             {Value::UInt(types::UInt64(), 10), Value::UInt(types::UInt64(), 30),
              Null(types::UInt64()), Null(types::UInt64())},
             "sum(uint)");
  uint64_t max = std::numeric_limits<uint64_t>::max();
  auto overflow = RunCall(
      Unary("sum", types::UInt64(),
            {Value::UInt(types::UInt64(), max), Value::UInt(types::UInt64(), 1)}, {0, 0}, 1));
  ASSERT_FALSE(overflow.ok());
  EXPECT_EQ(overflow.status().message(), "bigint unsigned out of range in sum()");
}

TEST(AggregateTest, SumFloatsAndDecimals) {
  BoundAggregate b;
  auto r =
      RunCall(Unary("sum", kDouble, {D(0.5), D(1.25), Null(kDouble), D(-2)}, {0, 0, 1, 0}, 2), &b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(b.return_type, kDouble);
  ExpectSame(*r, {D(-0.25), Null(kDouble)}, "sum(double)");

  DataType real(TypeId::kFloat32);
  ExpectSame(
      Expect(Unary("sum", real, {Value::Float(real, 1.5), Value::Float(real, 2)}, {0, 0}, 1)),
      {D(3.5)}, "sum(real)");

  DataType dec = DataType::Decimal(10, 2);
  DataType dec38 = DataType::Decimal(38, 2);
  auto dv = [&](int64_t x) { return Value::Decimal(dec, x); };
  auto rd = RunCall(Unary("sum", dec, {dv(150), dv(-25), Null(dec), dv(1)}, {0, 0, 1, 0}, 2), &b);
  ASSERT_TRUE(rd.ok());
  EXPECT_EQ(b.return_type, dec38);
  ExpectSame(*rd, {Value::Decimal(dec38, 126), Null(dec38)}, "sum(decimal)");
}

TEST(AggregateTest, SumNullLiteral) {
  BoundAggregate b;
  auto r = RunCall(Unary("sum", DataType(), {Value(), Value()}, {0, 0}, 1), &b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(b.return_type, kBigint);
  ExpectSame(*r, {Null(kBigint)}, "sum(NULL)");
}

TEST(AggregateTest, Avg) {
  BoundAggregate b;
  auto r = RunCall(Unary("avg", kInt, IntInputs(), kGroups, 4), &b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(b.return_type, kDouble);
  ExpectSame(*r, {D(2.5), D(15), Null(kDouble), Null(kDouble)}, "avg(int)");

  ExpectSame(Expect(Unary("avg", kBigint, {L(-7), L(2)}, {0, 0}, 1)), {D(-2.5)}, "avg(bigint)");
  ExpectSame(Expect(Unary("avg", kDouble, {D(1), D(2), D(4)}, {0, 0, 0}, 1)), {D(7.0 / 3)},
             "avg(double)");
  DataType dec = DataType::Decimal(10, 2);
  ExpectSame(
      Expect(Unary("avg", dec, {Value::Decimal(dec, 100), Value::Decimal(dec, 251)}, {0, 0}, 1)),
      {D(1.755)}, "avg(decimal)");
  ExpectSame(Expect(Unary("mean", kInt, {I(1), I(2)}, {0, 0}, 1)), {D(1.5)}, "mean");
}

// ---------------------------------------------------------------------------------------------
// min and max

TEST(AggregateTest, MinMaxIntegers) {
  BoundAggregate b;
  auto mn = RunCall(Unary("min", kInt, IntInputs(), kGroups, 4), &b);
  ASSERT_TRUE(mn.ok());
  EXPECT_EQ(b.return_type, kInt);
  ExpectSame(*mn, {I(1), I(10), Null(kInt), Null(kInt)}, "min(int)");
  ExpectSame(Expect(Unary("max", kInt, IntInputs(), kGroups, 4)),
             {I(4), I(20), Null(kInt), Null(kInt)}, "max(int)");
  // Extremes of the type are values, not sentinels.
  int64_t lo = std::numeric_limits<int64_t>::min(), hi = std::numeric_limits<int64_t>::max();
  ExpectSame(Expect(Unary("min", kBigint, {L(hi)}, {0}, 1)), {L(hi)}, "min(max)");
  ExpectSame(Expect(Unary("max", kBigint, {L(lo)}, {0}, 1)), {L(lo)}, "max(min)");
  DataType u8(TypeId::kUInt8);
  ExpectSame(Expect(Unary("max", u8, {Value::UInt(u8, 200), Value::UInt(u8, 7)}, {0, 0}, 1)),
             {Value::UInt(u8, 200)}, "max(tinyint unsigned)");
}

TEST(AggregateTest, MinMaxFloats) {
  double nan = std::nan("");
  double inf = std::numeric_limits<double>::infinity();
  // PostgreSQL: NaN is greater than every number.
  std::vector<Value> v = {D(1.5), D(nan), D(-inf), D(nan), D(-2), D(inf)};
  std::vector<uint32_t> g = {0, 0, 0, 1, 2, 2};
  ExpectSame(Expect(Unary("min", kDouble, v, g, 3)), {D(-inf), D(nan), D(-2)}, "min(double)");
  ExpectSame(Expect(Unary("max", kDouble, v, g, 3)), {D(nan), D(nan), D(inf)}, "max(double)");
  ExpectSame(Expect(Unary("max", kDouble, {D(-inf)}, {0}, 1)), {D(-inf)}, "max(-inf)");
}

TEST(AggregateTest, MinMaxOtherTypes) {
  std::vector<Value> text = {S("pear"), S("apple"), Null(kText), S("Zebra"), S("")};
  std::vector<uint32_t> g = {0, 0, 0, 1, 1};
  ExpectSame(Expect(Unary("min", kText, text, g, 3)), {S("apple"), S(""), Null(kText)},
             "min(text)");
  ExpectSame(Expect(Unary("max", kText, text, g, 3)), {S("pear"), S("Zebra"), Null(kText)},
             "max(text)");

  DataType ts = types::Timestamp();
  ExpectSame(Expect(Unary("max", ts, {Value::Timestamp(5), Value::Timestamp(-3)}, {0, 0}, 1)),
             {Value::Timestamp(5)}, "max(timestamp)");
  DataType date(TypeId::kDate);
  ExpectSame(Expect(Unary("min", date, {Value::Date(19000), Value::Date(18000)}, {0, 0}, 1)),
             {Value::Date(18000)}, "min(date)");
  DataType dec = DataType::Decimal(12, 3);
  ExpectSame(
      Expect(Unary("max", dec, {Value::Decimal(dec, -5), Value::Decimal(dec, 2)}, {0, 0}, 1)),
      {Value::Decimal(dec, 2)}, "max(decimal)");
  ExpectSame(Expect(Unary("min", types::Bool(), {B(true), B(false), B(true)}, {0, 0, 1}, 2)),
             {B(false), B(true)}, "min(bool)");
  ExpectSame(Expect(Unary("max", types::Bool(), {B(false), B(true), B(false)}, {0, 0, 1}, 2)),
             {B(true), B(false)}, "max(bool)");
  // Intervals by length: 1 month (30 days) < 31 days.
  auto iv = [](int32_t months, int32_t days) {
    return Value::IntervalValue(Interval{months, days, 0});
  };
  DataType interval(TypeId::kInterval);
  ExpectSame(Expect(Unary("max", interval, {iv(1, 0), iv(0, 31), iv(0, 2)}, {0, 0, 0}, 1)),
             {iv(0, 31)}, "max(interval)");
  ExpectSame(Expect(Unary("min", interval, {iv(1, 0), iv(0, 31), iv(0, 2)}, {0, 0, 0}, 1)),
             {iv(0, 2)}, "min(interval)");
  DataType list = DataType::List(kInt);
  auto lv = [&](std::vector<Value> items) { return Value::Nested(list, std::move(items)); };
  ExpectSame(
      Expect(Unary("max", list, {lv({I(1), I(2)}), lv({I(1), I(3)}), lv({I(0)})}, {0, 0, 0}, 1)),
      {lv({I(1), I(3)})}, "max(int[])");
}

// ---------------------------------------------------------------------------------------------
// bool_and, bool_or, bit_*

TEST(AggregateTest, BoolAndOr) {
  DataType t = types::Bool();
  std::vector<Value> v = {B(true), B(true), Null(t), B(false), B(true), B(false), Null(t)};
  std::vector<uint32_t> g = {0, 0, 0, 1, 1, 2, 3};
  ExpectSame(Expect(Unary("bool_and", t, v, g, 5)), {B(true), B(false), B(false), Null(t), Null(t)},
             "bool_and");
  ExpectSame(Expect(Unary("every", t, v, g, 5)), {B(true), B(false), B(false), Null(t), Null(t)},
             "every");
  ExpectSame(Expect(Unary("bool_or", t, v, g, 5)), {B(true), B(true), B(false), Null(t), Null(t)},
             "bool_or");
}

TEST(AggregateTest, BitAggregates) {
  std::vector<Value> v = {I(12), I(10), Null(kInt), I(7), I(7)};
  std::vector<uint32_t> g = {0, 0, 0, 1, 1};
  ExpectSame(Expect(Unary("bit_and", kInt, v, g, 3)), {I(8), I(7), Null(kInt)}, "bit_and");
  ExpectSame(Expect(Unary("bit_or", kInt, v, g, 3)), {I(14), I(7), Null(kInt)}, "bit_or");
  ExpectSame(Expect(Unary("bit_xor", kInt, v, g, 3)), {I(6), I(0), Null(kInt)}, "bit_xor");
  ExpectSame(Expect(Unary("bit_and", kBigint, {L(-1), L(-4)}, {0, 0}, 1)), {L(-4)},
             "bit_and(bigint)");
}

// ---------------------------------------------------------------------------------------------
// first_value, last_value, array_agg, string_agg

TEST(AggregateTest, FirstLastValue) {
  std::vector<Value> v = {Null(kInt), I(1), I(2), I(3), Null(kInt), I(9)};
  std::vector<uint32_t> g = {0, 0, 1, 1, 1, 2};
  ExpectSame(Expect(Unary("first_value", kInt, v, g, 4)), {Null(kInt), I(2), I(9), Null(kInt)},
             "first_value");
  ExpectSame(Expect(Unary("last_value", kInt, v, g, 4)), {I(1), Null(kInt), I(9), Null(kInt)},
             "last_value");
  ExpectSame(Expect(Unary("first_value", kText, {S("x"), S("y")}, {0, 0}, 1)), {S("x")},
             "first_value(text)");
  ExpectSame(Expect(Unary("last_value", kText, {S("x"), S("y")}, {0, 0}, 1)), {S("y")},
             "last_value(text)");
  DataType st = DataType::Struct({{"a", kInt, true}, {"b", kText, true}});
  Value s1 = Value::Nested(st, {I(1), S("one")});
  Value s2 = Value::Nested(st, {Null(kInt), S("two")});
  ExpectSame(Expect(Unary("last_value", st, {s1, s2}, {0, 0}, 1)), {s2}, "last_value(struct)");
}

TEST(AggregateTest, ArrayAgg) {
  DataType list = DataType::List(kInt);
  auto lv = [&](std::vector<Value> items) { return Value::Nested(list, std::move(items)); };
  BoundAggregate b;
  auto r = RunCall(Unary("array_agg", kInt, IntInputs(), kGroups, 4), &b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(b.return_type, list);
  ExpectSame(*r,
             {lv({I(1), I(2), I(3), I(4)}), lv({I(10), Null(kInt), I(20)}),
              lv({Null(kInt), Null(kInt)}), Null(list)},
             "array_agg");
  DataType tl = DataType::List(kText);
  ExpectSame(Expect(Unary("array_agg", kText, {S("b"), S("a")}, {0, 0}, 1)),
             {Value::Nested(tl, {S("b"), S("a")})}, "array_agg(text)");
}

TEST(AggregateTest, StringAgg) {
  Call c;
  c.name = "string_agg";
  c.args = {Col(kText, {S("a"), S("b"), Null(kText), S("c"), Null(kText)}),
            Col(kText, {S(", "), S(", "), S(", "), S(", "), S(", ")})};
  c.constant = {false, true};
  c.groups = {0, 0, 0, 1, 2};
  c.num_groups = 4;
  ExpectSame(Expect(c), {S("a, b"), S("c"), Null(kText), Null(kText)}, "string_agg");

  // A NULL delimiter joins with nothing in between.
  c.args[1] = Col(kText, std::vector<Value>(5, Null(kText)));
  ExpectSame(Expect(c), {S("ab"), S("c"), Null(kText), Null(kText)}, "string_agg NULL delimiter");

  DataType bytea(TypeId::kBinary);
  Call bc;
  bc.name = "string_agg";
  bc.args = {Col(bytea, {Value::Bytes(bytea, "x"), Value::Bytes(bytea, "y")}),
             Col(bytea, {Value::Bytes(bytea, "-"), Value::Bytes(bytea, "-")})};
  bc.constant = {false, true};
  bc.groups = {0, 0};
  ExpectSame(Expect(bc), {Value::Bytes(bytea, "x-y")}, "string_agg(bytea)");

  c.constant = {false, false};
  auto r = BindCall(c);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("delimiter must be a constant"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// median, percentile_cont

TEST(AggregateTest, Median) {
  BoundAggregate b;
  auto r = RunCall(Unary("median", kInt, IntInputs(), kGroups, 4), &b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(b.return_type, kDouble);
  ExpectSame(*r, {D(2.5), D(15), Null(kDouble), Null(kDouble)}, "median");
  ExpectSame(Expect(Unary("median", kDouble, {D(5), D(-1), D(3)}, {0, 0, 0}, 1)), {D(3)},
             "median odd");
}

Call Percentile(std::string name, std::vector<Value> values, double fraction) {
  Call c;
  c.name = std::move(name);
  c.args = {Col(kDouble, values), Col(kDouble, std::vector<Value>(values.size(), D(fraction)))};
  c.constant = {false, true};
  c.groups.assign(values.size(), 0);
  return c;
}

TEST(AggregateTest, PercentileCont) {
  // PostgreSQL: percentile_cont(0.25) over {1, 2, 3, 4, 10}: position 1 → 2;
  // percentile_cont(0.9): position 3.6 → 4 + 0.6 * 6 = 7.6.
  std::vector<Value> v = {D(10), D(1), D(3), D(2), D(4)};
  ExpectSame(Expect(Percentile("percentile_cont", v, 0.25)), {D(2)}, "p25");
  ExpectSame(Expect(Percentile("percentile_cont", v, 0.9)), {D(7.6)}, "p90");
  ExpectSame(Expect(Percentile("percentile_cont", v, 0)), {D(1)}, "p0");
  ExpectSame(Expect(Percentile("percentile_cont", v, 1)), {D(10)}, "p100");
  auto bad = BindCall(Percentile("percentile_cont", v, 1.5));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().kind(), ErrorKind::kUser);
}

// ---------------------------------------------------------------------------------------------
// approx_distinct, approx_percentile_cont

TEST(AggregateTest, ApproxDistinctSmallIsExact) {
  std::vector<Value> v;
  std::vector<uint32_t> g;
  for (int i = 0; i < 600; ++i) {
    v.push_back(L(i % 150));  // group 0: 150 distinct values, each 4 times
    g.push_back(0);
    v.push_back(L(i % 7));  // group 1: 7
    g.push_back(1);
  }
  v.push_back(Null(kBigint));
  g.push_back(2);
  BoundAggregate b;
  auto r = RunCall(Unary("approx_distinct", kBigint, v, g, 4), &b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(b.return_type, kBigint);
  ExpectSame(*r, {L(150), L(7), L(0), L(0)}, "approx_distinct small");
  ExpectSame(Expect(Unary("approx_distinct", kText, {S("a"), S("b"), S("a")}, {0, 0, 0}, 1)),
             {L(2)}, "approx_distinct(text)");
}

TEST(AggregateTest, ApproxDistinctLarge) {
  for (int64_t n : {300, 1000, 5000, 20000, 200000}) {
    std::vector<Value> v;
    std::vector<uint32_t> g;
    for (int64_t i = 0; i < n; ++i) {
      v.push_back(L(i * 7919));
      g.push_back(0);
      if (i % 3 == 0) {  // duplicates do not count
        v.push_back(L(i * 7919));
        g.push_back(0);
      }
    }
    auto r = Expect(Unary("approx_distinct", kBigint, v, g, 1));
    ASSERT_EQ(r.size(), 1u);
    double err = std::fabs(static_cast<double>(r[0].int_value()) - static_cast<double>(n)) / n;
    EXPECT_LT(err, 0.04) << "n=" << n << " estimate=" << r[0].int_value();
  }
}

TEST(AggregateTest, ApproxPercentileCont) {
  // Small inputs are exact and agree with percentile_cont.
  std::vector<Value> v = {D(10), D(1), D(3), D(2), D(4)};
  BoundAggregate b;
  auto r = RunCall(Percentile("approx_percentile_cont", v, 0.9), &b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(b.return_type, kDouble);
  ExpectSame(*r, {D(7.6)}, "approx p90 small");
  ExpectSame(Expect(Percentile("approx_percentile_cont", v, 0.25)), {D(2)}, "approx p25 small");
  ExpectSame(Expect(Unary("approx_median", kInt, IntInputs(), kGroups, 4)),
             {D(2.5), D(15), Null(kDouble), Null(kDouble)}, "approx_median");

  // Large inputs go through the digest: a shuffled 0..99999 has quantile q at ~q * 99999.
  std::vector<Value> big;
  for (int i = 0; i < 100000; ++i) big.push_back(D((i * 7919) % 100000));
  for (double q : {0.01, 0.25, 0.5, 0.9, 0.99}) {
    auto c = Percentile("approx_percentile_cont", big, q);
    auto bound = BindCall(c);
    ASSERT_TRUE(bound.ok());
    auto s = bound->function->NewState();
    s->Resize(1);
    auto args = Slice(c, *bound, 0, c.rows());
    ASSERT_TRUE(s->Update(args, c.groups.data(), c.rows()).ok());
    auto out = FinalizeAll(*s, 1, kDouble);
    ASSERT_TRUE(out.ok());
    double want = q * 99999;
    EXPECT_NEAR((*out)[0].double_value(), want, 0.002 * 100000) << "q=" << q;
    EXPECT_LT(s->MemoryBytes(), 64 * 1024);  // bounded, unlike the 800 KB of raw values
  }
}

// ---------------------------------------------------------------------------------------------
// Variance family

TEST(AggregateTest, Variance) {
  // Group 0: {1, 2, 3, 4}: mean 2.5, squared deviations 5; group 1: {10, 20}; group 2: {7}.
  std::vector<Value> v = {I(1), I(10), I(2), Null(kInt), I(7), I(3), I(20), I(4)};
  std::vector<uint32_t> g = {0, 1, 0, 1, 2, 0, 1, 0};
  BoundAggregate b;
  auto r = RunCall(Unary("var_samp", kInt, v, g, 4), &b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(b.return_type, kDouble);
  ExpectSame(*r, {D(5.0 / 3), D(50), Null(kDouble), Null(kDouble)}, "var_samp");
  ExpectSame(Expect(Unary("variance", kInt, v, g, 4)),
             {D(5.0 / 3), D(50), Null(kDouble), Null(kDouble)}, "variance");
  ExpectSame(Expect(Unary("var_pop", kInt, v, g, 4)), {D(1.25), D(25), D(0), Null(kDouble)},
             "var_pop");
  ExpectSame(Expect(Unary("stddev_samp", kInt, v, g, 4)),
             {D(std::sqrt(5.0 / 3)), D(std::sqrt(50.0)), Null(kDouble), Null(kDouble)},
             "stddev_samp");
  ExpectSame(Expect(Unary("stddev", kInt, v, g, 4)),
             {D(std::sqrt(5.0 / 3)), D(std::sqrt(50.0)), Null(kDouble), Null(kDouble)}, "stddev");
  ExpectSame(Expect(Unary("stddev_pop", kInt, v, g, 4)),
             {D(std::sqrt(1.25)), D(5), D(0), Null(kDouble)}, "stddev_pop");
}

TEST(AggregateTest, VarianceLargeMean) {
  // Naive sum-of-squares loses everything here; the Youngs-Cramer recurrence does not.
  std::vector<Value> v = {D(1e9 + 1), D(1e9 + 2), D(1e9 + 3), D(1e9 + 4)};
  ExpectSame(Expect(Unary("var_samp", kDouble, v, {0, 0, 0, 0}, 1)), {D(5.0 / 3)},
             "var_samp large mean");
  // An infinite input makes the variance NaN, as in PostgreSQL.
  double inf = std::numeric_limits<double>::infinity();
  auto r = RunCall(Unary("var_pop", kDouble, {D(inf)}, {0}, 1));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(std::isnan((*r)[0].double_value()));
}

// ---------------------------------------------------------------------------------------------
// Two-variable statistics

Call Pair(std::string name, std::vector<Value> y, std::vector<Value> x,
          std::vector<uint32_t> groups, int64_t num_groups) {
  Call c;
  c.name = std::move(name);
  c.args = {Col(kDouble, y), Col(kDouble, x)};
  c.groups = std::move(groups);
  c.num_groups = num_groups;
  return c;
}

TEST(AggregateTest, Regression) {
  // Group 0: y = 2x + 1 over x = 1..4, plus rows with a NULL on either side (ignored).
  // Sxx = 5, Syy = 20, Sxy = 10, avg x = 2.5, avg y = 6.
  // Group 1: one point; group 2: x constant (vertical line); group 3: empty.
  std::vector<Value> y = {D(3), D(5), D(7), D(9), Null(kDouble), D(4), D(5), D(1), D(2)};
  std::vector<Value> x = {D(1), D(2), D(3), D(4), D(8), Null(kDouble), D(6), D(3), D(3)};
  std::vector<uint32_t> g = {0, 0, 0, 0, 0, 0, 1, 2, 2};
  auto run = [&](const std::string& name) { return Expect(Pair(name, y, x, g, 4)); };
  DataType d = kDouble;
  ExpectSame(run("regr_count"), {L(4), L(1), L(2), L(0)}, "regr_count");
  ExpectSame(run("regr_sxx"), {D(5), D(0), D(0), Null(d)}, "regr_sxx");
  ExpectSame(run("regr_syy"), {D(20), D(0), D(0.5), Null(d)}, "regr_syy");
  ExpectSame(run("regr_sxy"), {D(10), D(0), D(0), Null(d)}, "regr_sxy");
  ExpectSame(run("regr_avgx"), {D(2.5), D(6), D(3), Null(d)}, "regr_avgx");
  ExpectSame(run("regr_avgy"), {D(6), D(5), D(1.5), Null(d)}, "regr_avgy");
  ExpectSame(run("regr_slope"), {D(2), Null(d), Null(d), Null(d)}, "regr_slope");
  ExpectSame(run("regr_intercept"), {D(1), Null(d), Null(d), Null(d)}, "regr_intercept");
  ExpectSame(run("regr_r2"), {D(1), Null(d), Null(d), Null(d)}, "regr_r2");
  ExpectSame(run("corr"), {D(1), Null(d), Null(d), Null(d)}, "corr");
  ExpectSame(run("covar_pop"), {D(2.5), D(0), D(0), Null(d)}, "covar_pop");
  ExpectSame(run("covar_samp"), {D(10.0 / 3), Null(d), D(0), Null(d)}, "covar_samp");
}

TEST(AggregateTest, RegressionImperfect) {
  // y = {1, 3, 2}, x = {1, 2, 3}: Sxx = 2, Syy = 2, Sxy = 1; corr = 0.5, r2 = 0.25,
  // slope 0.5, intercept (6 - 6 * 0.5) / 3 = 1. Horizontal line: r2 = 1 by definition.
  std::vector<Value> y = {D(1), D(3), D(2), D(5), D(5)};
  std::vector<Value> x = {D(1), D(2), D(3), D(1), D(2)};
  std::vector<uint32_t> g = {0, 0, 0, 1, 1};
  ExpectSame(Expect(Pair("corr", y, x, g, 2)), {D(0.5), Null(kDouble)}, "corr");
  ExpectSame(Expect(Pair("regr_r2", y, x, g, 2)), {D(0.25), D(1)}, "regr_r2");
  ExpectSame(Expect(Pair("regr_slope", y, x, g, 2)), {D(0.5), D(0)}, "regr_slope");
  ExpectSame(Expect(Pair("regr_intercept", y, x, g, 2)), {D(1), D(5)}, "regr_intercept");
  // Integer arguments are accepted and cast to DOUBLE.
  Call ints;
  ints.name = "covar_samp";
  ints.args = {Col(kInt, {I(1), I(3), I(2)}), Col(kBigint, {L(1), L(2), L(3)})};
  ints.groups = {0, 0, 0};
  ExpectSame(Expect(ints), {D(0.5)}, "covar_samp(int, bigint)");
}

// ---------------------------------------------------------------------------------------------
// DISTINCT

TEST(AggregateTest, DistinctWrapper) {
  std::vector<Value> v = {I(3), I(1), I(3), Null(kInt), I(2), I(1), I(5), I(5)};
  std::vector<uint32_t> g = {0, 0, 0, 0, 0, 0, 1, 1};
  auto distinct = [&](const std::string& name) {
    Call c = Unary(name, kInt, v, g, 3);
    c.distinct = true;
    return c;
  };
  BoundAggregate b;
  auto sum = RunCall(distinct("sum"), &b);
  ASSERT_TRUE(sum.ok());
  EXPECT_TRUE(b.distinct);
  ExpectSame(*sum, {L(6), L(5), Null(kBigint)}, "sum(DISTINCT)");
  ExpectSame(Expect(distinct("avg")), {D(2), D(5), Null(kDouble)}, "avg(DISTINCT)");
  // array_agg(DISTINCT x): sorted, one NULL kept (last), as PostgreSQL.
  DataType list = DataType::List(kInt);
  ExpectSame(Expect(distinct("array_agg")),
             {Value::Nested(list, {I(1), I(2), I(3), Null(kInt)}), Value::Nested(list, {I(5)}),
              Null(list)},
             "array_agg(DISTINCT)");
  ExpectSame(Expect(distinct("var_pop")), {D(2.0 / 3), D(0), Null(kDouble)}, "var_pop(DISTINCT)");
  ExpectSame(Expect(distinct("max")), {I(3), I(5), Null(kInt)}, "max(DISTINCT)");
  ExpectSame(Expect(distinct("bit_xor")), {I(0), I(5), Null(kInt)}, "bit_xor(DISTINCT)");

  Call sa;
  sa.name = "string_agg";
  sa.args = {Col(kText, {S("b"), S("a"), S("b"), S("c")}), Col(kText, std::vector(4, S("|")))};
  sa.constant = {false, true};
  sa.groups = {0, 0, 0, 0};
  sa.distinct = true;
  ExpectSame(Expect(sa), {S("a|b|c")}, "string_agg(DISTINCT)");

  // Distinct states are not invertible.
  auto bound = BindCall(distinct("sum"));
  ASSERT_TRUE(bound.ok());
  EXPECT_FALSE(bound->function->NewState()->invertible());
}

TEST(AggregateTest, DistinctConstantArgumentNotPassed) {
  // The window operator may omit constant argument columns; string_agg reads the bound one.
  Call sa;
  sa.name = "string_agg";
  sa.args = {Col(kText, {S("b"), S("a"), S("b")}), Col(kText, std::vector(3, S("+")))};
  sa.constant = {false, true};
  sa.groups = {0, 0, 0};
  sa.distinct = true;
  auto b = BindCall(sa);
  ASSERT_TRUE(b.ok());
  auto s = b->function->NewState();
  s->Resize(1);
  std::vector<ColumnPtr> only_value = {sa.args[0]};
  ASSERT_TRUE(s->Update(only_value, sa.groups.data(), 3).ok());
  auto out = FinalizeAll(*s, 1, kText);
  ASSERT_TRUE(out.ok());
  ExpectSame(*out, {S("a+b")}, "string_agg(DISTINCT) without delimiter column");
}

// ---------------------------------------------------------------------------------------------
// Registry and binding

TEST(AggregateTest, Invertibility) {
  struct Case {
    std::string name;
    DataType type;
    bool invertible;
  };
  std::vector<Case> cases = {
      {"count", kInt, true},
      {"sum", kInt, true},
      {"sum", kDouble, true},
      {"sum", DataType::Decimal(10, 2), true},
      {"avg", kInt, true},
      {"var_samp", kDouble, true},
      {"stddev_pop", kInt, true},
      {"bool_and", types::Bool(), true},
      {"bit_xor", kInt, true},
      {"bit_and", kInt, false},
      {"min", kInt, false},
      {"max", kText, false},
      {"first_value", kInt, false},
      {"last_value", kInt, false},
      {"array_agg", kInt, false},
      {"median", kInt, false},
      {"approx_distinct", kInt, false},
  };
  for (const auto& c : cases) {
    AggregateBindInput in;
    in.types = {c.type};
    in.constants = {std::nullopt};
    auto b = AggregateRegistry::Get().Bind(c.name, in);
    ASSERT_TRUE(b.ok()) << c.name;
    EXPECT_EQ(b->function->NewState()->invertible(), c.invertible) << c.name;
  }
  AggregateBindInput pair;
  pair.types = {kDouble, kDouble};
  pair.constants = {std::nullopt, std::nullopt};
  for (const char* name : {"covar_pop", "corr", "regr_slope", "regr_count"}) {
    auto b = AggregateRegistry::Get().Bind(name, pair);
    ASSERT_TRUE(b.ok()) << name;
    EXPECT_TRUE(b->function->NewState()->invertible()) << name;
  }
}

TEST(AggregateTest, Names) {
  const auto& r = AggregateRegistry::Get();
  for (const char* name : {"count",
                           "sum",
                           "avg",
                           "min",
                           "max",
                           "bool_and",
                           "bool_or",
                           "every",
                           "bit_and",
                           "bit_or",
                           "bit_xor",
                           "first_value",
                           "last_value",
                           "array_agg",
                           "string_agg",
                           "median",
                           "approx_distinct",
                           "approx_percentile_cont",
                           "stddev",
                           "stddev_samp",
                           "stddev_pop",
                           "variance",
                           "var_samp",
                           "var_pop",
                           "covar_samp",
                           "covar_pop",
                           "corr",
                           "regr_slope",
                           "regr_intercept",
                           "regr_count",
                           "regr_r2",
                           "regr_avgx",
                           "regr_avgy",
                           "regr_sxx",
                           "regr_syy",
                           "regr_sxy"}) {
    EXPECT_TRUE(r.Contains(name)) << name;
  }
  EXPECT_FALSE(r.Contains("upper"));
  auto names = r.Names();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
}

Status BindError(const std::string& name, std::vector<DataType> types, bool star = false,
                 bool distinct = false) {
  AggregateBindInput in;
  in.types = std::move(types);
  in.constants.resize(in.types.size());
  in.star = star;
  in.distinct = distinct;
  auto b = AggregateRegistry::Get().Bind(name, in);
  return b.ok() ? Status::Ok() : b.status();
}

TEST(AggregateTest, BindErrors) {
  Status st = BindError("sum", {kText});
  EXPECT_EQ(st.kind(), ErrorKind::kUser);
  EXPECT_EQ(st.message(), "function sum(TEXT) does not exist; sum accepts numbers");
  EXPECT_EQ(BindError("avg", {kInt, kInt}).message(),
            "function avg(INT, INT) does not exist; avg accepts numbers");
  EXPECT_EQ(BindError("nosuch", {kInt}).message(), "aggregate function nosuch() does not exist");
  EXPECT_NE(BindError("sum", {}, true).message().find("only count(*)"), std::string::npos);
  EXPECT_FALSE(BindError("count", {}, true, true).ok());
  EXPECT_FALSE(BindError("count", {kInt, kInt}).ok());
  EXPECT_FALSE(BindError("min", {DataType(TypeId::kJson)}).ok());
  EXPECT_FALSE(BindError("bool_and", {kInt}).ok());
  EXPECT_FALSE(BindError("bit_or", {kDouble}).ok());
  EXPECT_FALSE(BindError("var_samp", {kText}).ok());
  EXPECT_FALSE(BindError("corr", {kDouble}).ok());
  EXPECT_FALSE(BindError("corr", {kDouble, kText}).ok());
  EXPECT_FALSE(BindError("median", {types::Timestamp()}).ok());
  EXPECT_FALSE(BindError("string_agg", {kInt, kText}).ok());
  // approx_percentile_cont needs a constant fraction.
  EXPECT_FALSE(BindError("approx_percentile_cont", {kDouble, kDouble}).ok());
  EXPECT_TRUE(BindError("count", {kText}, false, true).ok());
}

// ---------------------------------------------------------------------------------------------
// Larger randomized check against a direct computation, in many batches.

TEST(AggregateTest, RandomizedAgainstReference) {
  std::mt19937_64 rng(42);
  const int64_t groups = 37, rows = 20000;
  std::vector<Value> v;
  std::vector<uint32_t> g;
  std::vector<int64_t> count(groups), sum(groups), mn(groups, INT64_MAX), mx(groups, INT64_MIN);
  for (int64_t i = 0; i < rows; ++i) {
    uint32_t grp = static_cast<uint32_t>(rng() % (groups - 2));  // the last two stay empty
    g.push_back(grp);
    if (rng() % 5 == 0) {
      v.push_back(Null(kBigint));
      continue;
    }
    int64_t x = static_cast<int64_t>(rng() % 2000001) - 1000000;
    v.push_back(L(x));
    ++count[grp];
    sum[grp] += x;
    mn[grp] = std::min(mn[grp], x);
    mx[grp] = std::max(mx[grp], x);
  }
  std::vector<Value> want_count, want_sum, want_min, want_max;
  for (int64_t k = 0; k < groups; ++k) {
    want_count.push_back(L(count[k]));
    want_sum.push_back(count[k] ? L(sum[k]) : Null(kBigint));
    want_min.push_back(count[k] ? L(mn[k]) : Null(kBigint));
    want_max.push_back(count[k] ? L(mx[k]) : Null(kBigint));
  }
  ExpectSame(Expect(Unary("count", kBigint, v, g, groups)), want_count, "count");
  ExpectSame(Expect(Unary("sum", kBigint, v, g, groups)), want_sum, "sum");
  ExpectSame(Expect(Unary("min", kBigint, v, g, groups)), want_min, "min");
  ExpectSame(Expect(Unary("max", kBigint, v, g, groups)), want_max, "max");
}

TEST(AggregateTest, FinalizeSubsetOfGroups) {
  auto b = BindCall(Unary("sum", kInt, IntInputs(), kGroups, 4));
  ASSERT_TRUE(b.ok());
  auto s = b->function->NewState();
  s->Resize(4);
  Call c = Unary("sum", kInt, IntInputs(), kGroups, 4);
  ASSERT_TRUE(Feed(c, *b, s.get(), 0, c.rows()).ok());
  uint32_t pick[] = {1, 1, 0};
  auto col = s->Finalize(pick, 3);
  ASSERT_TRUE(col.ok());
  ExpectSame(Values(*col), {L(30), L(30), L(10)}, "subset");
}

TEST(AggregateTest, GrowsBetweenBatchesAndAcceptsEmptyBatches) {
  // The operator resizes as new groups appear; earlier groups keep their values.
  for (const char* name : {"count", "sum", "max", "first_value", "array_agg", "approx_distinct",
                           "var_pop", "median"}) {
    AggregateBindInput in;
    in.types = {kBigint};
    in.constants = {std::nullopt};
    auto b = AggregateRegistry::Get().Bind(name, in);
    ASSERT_TRUE(b.ok()) << name;
    auto s = b->function->NewState();
    s->Resize(1);
    ColumnPtr one = Col(kBigint, {L(5)});
    uint32_t g0 = 0, g1 = 1;
    ASSERT_TRUE(s->Update(std::vector<ColumnPtr>{one}, &g0, 1).ok()) << name;
    ASSERT_TRUE(s->Update(std::vector<ColumnPtr>{Col(kBigint, {})}, nullptr, 0).ok()) << name;
    s->Resize(2);
    ASSERT_TRUE(s->Update(std::vector<ColumnPtr>{one}, &g1, 1).ok()) << name;
    auto out = FinalizeAll(*s, 2, b->return_type);
    ASSERT_TRUE(out.ok()) << name;
    ExpectSame({(*out)[0]}, {(*out)[1]}, name);  // both groups saw exactly one 5
    EXPECT_FALSE((*out)[0].is_null()) << name;
  }
}

TEST(AggregateTest, ApproxDistinctMergesSparseAndDense) {
  AggregateBindInput in;
  in.types = {kBigint};
  in.constants = {std::nullopt};
  auto b = AggregateRegistry::Get().Bind("approx_distinct", in);
  ASSERT_TRUE(b.ok());
  auto fill = [&](int64_t from, int64_t to) {
    std::vector<Value> v;
    for (int64_t i = from; i < to; ++i) v.push_back(L(i));
    std::vector<uint32_t> g(v.size(), 0);
    auto s = b->function->NewState();
    s->Resize(1);
    EXPECT_TRUE(
        s->Update(std::vector<ColumnPtr>{Col(kBigint, v)}, g.data(), static_cast<int64_t>(v.size()))
            .ok());
    return s;
  };
  auto small = fill(0, 100);    // sparse: exact
  auto large = fill(50, 3050);  // dense, overlapping 50 values
  auto all = fill(0, 3050);
  auto want = FinalizeAll(*all, 1, kBigint);
  ASSERT_TRUE(want.ok());
  for (bool small_first : {true, false}) {
    auto merged = b->function->NewState();
    merged->Resize(1);
    merged->Merge(small_first ? *small : *large, 0, 0);
    merged->Merge(small_first ? *large : *small, 0, 0);
    auto got = FinalizeAll(*merged, 1, kBigint);
    ASSERT_TRUE(got.ok());
    // Registers are a max, so the union is exactly the sketch of all values.
    ExpectSame(*got, *want, "approx_distinct union");
    EXPECT_NEAR(static_cast<double>((*got)[0].int_value()), 3050, 3050 * 0.04);
  }
  ExpectSame(*FinalizeAll(*small, 1, kBigint), {L(100)}, "sparse exact");
}

TEST(AggregateTest, DistinctOfNestedValues) {
  DataType list = DataType::List(kInt);
  auto lv = [&](std::vector<Value> items) { return Value::Nested(list, std::move(items)); };
  Call c =
      Unary("count", list, {lv({I(1)}), lv({I(1)}), lv({I(1), Null(kInt)}), lv({}), Null(list)},
            {0, 0, 0, 0, 0}, 1);
  c.distinct = true;
  ExpectSame(Expect(c), {L(3)}, "count(DISTINCT int[])");
  DataType nested = DataType::List(list);
  Call agg = Unary("array_agg", list, {lv({I(2)}), lv({I(1)}), lv({I(2)})}, {0, 0, 0}, 1);
  agg.distinct = true;
  ExpectSame(Expect(agg), {Value::Nested(nested, {lv({I(1)}), lv({I(2)})})},
             "array_agg(DISTINCT int[])");
}

// ---------------------------------------------------------------------------------------------
// Retraction (aggregates over an updating input)

// One aggregate bound for an updating input, over `groups` groups, fed value by value.
class Retracting {
 public:
  Retracting(const std::string& name, std::vector<DataType> types, int64_t groups = 1,
             bool distinct = false, bool star = false,
             std::vector<std::optional<Value>> constants = {}) {
    AggregateBindInput in;
    in.types = std::move(types);
    in.constants = std::move(constants);
    in.constants.resize(in.types.size());
    in.distinct = distinct;
    in.star = star;
    in.retracting = true;
    auto b = AggregateRegistry::Get().Bind(name, in);
    EXPECT_TRUE(b.ok()) << name << ": " << b.status().ToString();
    if (!b.ok()) return;
    bound_ = *b;
    in_types_ = in.types;
    state_ = bound_.function->NewState();
    state_->Resize(groups);
    EXPECT_TRUE(state_->retractable()) << name;
  }
  bool ok() const { return state_ != nullptr; }
  // Adds (or retracts) one row per element of `columns[0]` (one vector per argument) to the
  // given groups.
  void Add(const std::vector<std::vector<Value>>& columns, const std::vector<uint32_t>& groups) {
    Feed(columns, groups, false);
  }
  void Remove(const std::vector<std::vector<Value>>& columns, const std::vector<uint32_t>& groups) {
    Feed(columns, groups, true);
  }
  // count(*): n rows in group g.
  void AddRows(uint32_t g, int n, bool retract = false) {
    std::vector<uint32_t> groups(static_cast<size_t>(n), g);
    Status st =
        retract ? state_->Retract({}, groups.data(), n) : state_->Update({}, groups.data(), n);
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
  std::vector<Value> Final() const {
    auto r = FinalizeAll(*state_, state_->num_groups(), bound_.return_type);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::vector<Value>{};
  }
  AggregateState& state() { return *state_; }
  const BoundAggregate& bound() const { return bound_; }

 private:
  void Feed(const std::vector<std::vector<Value>>& columns, const std::vector<uint32_t>& groups,
            bool retract) {
    std::vector<ColumnPtr> args;
    for (size_t a = 0; a < columns.size(); ++a) {
      auto cast = CastColumn(Col(in_types_[a], columns[a]), bound_.arg_types[a]);
      ASSERT_TRUE(cast.ok()) << cast.status().ToString();
      args.push_back(*cast);
    }
    int64_t n = static_cast<int64_t>(groups.size());
    Status st =
        retract ? state_->Retract(args, groups.data(), n) : state_->Update(args, groups.data(), n);
    EXPECT_TRUE(st.ok()) << st.ToString();
  }

  BoundAggregate bound_;
  std::vector<DataType> in_types_;
  std::unique_ptr<AggregateState> state_;
};

TEST(AggregateRetractTest, CountBackToZero) {
  Retracting star("count", {}, 2, false, true);
  ASSERT_TRUE(star.ok());
  star.AddRows(0, 3);
  star.AddRows(1, 1);
  star.AddRows(0, 2, true);
  ExpectSame(star.Final(), {L(1), L(1)}, "count(*) 3 - 2");
  star.AddRows(0, 1, true);
  star.AddRows(1, 1, true);
  ExpectSame(star.Final(), {L(0), L(0)}, "count(*) back to 0");

  // count(x) ignores NULLs both ways.
  Retracting count("count", {kInt});
  ASSERT_TRUE(count.ok());
  count.Add({{I(1), Null(kInt), I(2)}}, {0, 0, 0});
  count.Remove({{Null(kInt)}}, {0});
  ExpectSame(count.Final(), {L(2)}, "count(x) after retracting a NULL");
  count.Remove({{I(2), I(1)}}, {0, 0});
  ExpectSame(count.Final(), {L(0)}, "count(x) emptied");
}

TEST(AggregateRetractTest, SumAndAvgWithNulls) {
  // Group 0 gets 1, NULL, 5, 10; group 1 gets NULL only.
  Retracting sum("sum", {kInt}, 2);
  Retracting avg("avg", {kInt}, 2);
  ASSERT_TRUE(sum.ok() && avg.ok());
  std::vector<std::vector<Value>> rows = {{I(1), Null(kInt), I(5), I(10), Null(kInt)}};
  std::vector<uint32_t> groups = {0, 0, 0, 0, 1};
  sum.Add(rows, groups);
  avg.Add(rows, groups);
  ExpectSame(sum.Final(), {L(16), Null(kBigint)}, "sum");
  ExpectSame(avg.Final(), {D(16.0 / 3), Null(kDouble)}, "avg");
  // Retracting the NULLs changes nothing; retracting 10 leaves 1 + 5.
  std::vector<std::vector<Value>> gone = {{Null(kInt), I(10), Null(kInt)}};
  sum.Remove(gone, {0, 0, 1});
  avg.Remove(gone, {0, 0, 1});
  ExpectSame(sum.Final(), {L(6), Null(kBigint)}, "sum after retraction");
  ExpectSame(avg.Final(), {D(3), Null(kDouble)}, "avg after retraction");
  // Retracting the last values: NULL again (not 0).
  sum.Remove({{I(1), I(5)}}, {0, 0});
  avg.Remove({{I(1), I(5)}}, {0, 0});
  ExpectSame(sum.Final(), {Null(kBigint), Null(kBigint)}, "sum emptied");
  ExpectSame(avg.Final(), {Null(kDouble), Null(kDouble)}, "avg emptied");

  // Float sums restart from an exact 0, and an infinity can be retracted.
  double inf = std::numeric_limits<double>::infinity();
  Retracting fsum("sum", {kDouble});
  ASSERT_TRUE(fsum.ok());
  fsum.Add({{D(0.1), D(0.2), D(inf)}}, {0, 0, 0});
  ExpectSame(fsum.Final(), {D(inf)}, "sum with Inf");
  fsum.Add({{D(-inf)}}, {0});
  ExpectSame(fsum.Final(), {D(std::nan(""))}, "Inf + -Inf");
  fsum.Remove({{D(inf), D(-inf)}}, {0, 0});
  ExpectSame(fsum.Final(), {D(0.1 + 0.2)}, "infinities retracted");
  fsum.Remove({{D(0.1), D(0.2)}}, {0, 0});
  fsum.Add({{D(7)}}, {0});
  EXPECT_EQ(fsum.Final()[0].double_value(), 7.0) << "no rounding residue";

  // Decimals stay exact.
  DataType dec = DataType::Decimal(10, 2);
  Retracting dsum("sum", {dec});
  ASSERT_TRUE(dsum.ok());
  dsum.Add({{Value::Decimal(dec, 150), Value::Decimal(dec, 275)}}, {0, 0});
  dsum.Remove({{Value::Decimal(dec, 150)}}, {0});
  ExpectSame(dsum.Final(), {Value::Decimal(DataType::Decimal(38, 2), 275)}, "sum(decimal)");
}

TEST(AggregateRetractTest, MaxAfterDeletingTheExtreme) {
  Retracting max("max", {kInt}, 2);
  Retracting min("min", {kInt}, 2);
  ASSERT_TRUE(max.ok() && min.ok());
  // Group 0: 5, 9, 9, 3, NULL; group 1: 4.
  std::vector<std::vector<Value>> rows = {{I(5), I(9), I(9), I(3), Null(kInt), I(4)}};
  std::vector<uint32_t> groups = {0, 0, 0, 0, 0, 1};
  max.Add(rows, groups);
  min.Add(rows, groups);
  ExpectSame(max.Final(), {I(9), I(4)}, "max");
  ExpectSame(min.Final(), {I(3), I(4)}, "min");
  // One of two 9s goes: still 9. The other: 5.
  max.Remove({{I(9)}}, {0});
  ExpectSame(max.Final(), {I(9), I(4)}, "max with one 9 left");
  max.Remove({{I(9)}}, {0});
  ExpectSame(max.Final(), {I(5), I(4)}, "max after both 9s");
  // The minimum 3 goes: 5 (the 9s are gone from min's input too).
  min.Remove({{I(3), I(9), I(9)}}, {0, 0, 0});
  ExpectSame(min.Final(), {I(5), I(4)}, "min after 3");
  // Everything goes: NULL; a new value afterwards is the only one.
  max.Remove({{I(5), I(3), I(4)}}, {0, 0, 1});
  ExpectSame(max.Final(), {Null(kInt), Null(kInt)}, "max emptied");
  max.Add({{I(-7)}}, {0});
  ExpectSame(max.Final(), {I(-7), Null(kInt)}, "max refilled");
}

TEST(AggregateRetractTest, MinMaxOtherTypes) {
  Retracting max("max", {kText});
  ASSERT_TRUE(max.ok());
  max.Add({{S("pear"), S("apple"), S("zebra"), S("zebra"), Null(kText)}}, {0, 0, 0, 0, 0});
  max.Remove({{S("zebra"), S("zebra")}}, {0, 0});
  ExpectSame(max.Final(), {S("pear")}, "max(text)");

  double nan = std::nan("");
  Retracting dmax("max", {kDouble});
  ASSERT_TRUE(dmax.ok());
  dmax.Add({{D(1), D(nan), D(2)}}, {0, 0, 0});
  ExpectSame(dmax.Final(), {D(nan)}, "NaN is the largest");
  dmax.Remove({{D(nan)}}, {0});
  ExpectSame(dmax.Final(), {D(2)}, "after NaN");

  Retracting bmin("min", {types::Bool()});
  ASSERT_TRUE(bmin.ok());
  bmin.Add({{B(true), B(false)}}, {0, 0});
  bmin.Remove({{B(false)}}, {0});
  ExpectSame(bmin.Final(), {B(true)}, "min(bool)");

  DataType list = DataType::List(kInt);
  auto lv = [&](std::vector<Value> items) { return Value::Nested(list, std::move(items)); };
  Retracting lmin("min", {list});
  ASSERT_TRUE(lmin.ok());
  lmin.Add({{lv({I(1), I(2)}), lv({I(0)}), lv({I(3)})}}, {0, 0, 0});
  lmin.Remove({{lv({I(0)})}}, {0});
  ExpectSame(lmin.Final(), {lv({I(1), I(2)})}, "min(int[])");
}

TEST(AggregateRetractTest, MinMaxMatchesAMultiset) {
  std::mt19937_64 rng(7);
  const uint32_t groups = 5;
  Retracting max("max", {kBigint}, groups);
  Retracting min("min", {kBigint}, groups);
  ASSERT_TRUE(max.ok() && min.ok());
  std::vector<std::multiset<int64_t>> want(groups);
  for (int round = 0; round < 200; ++round) {
    std::vector<Value> add, remove;
    std::vector<uint32_t> add_g, remove_g;
    for (int i = 0; i < 20; ++i) {
      uint32_t g = static_cast<uint32_t>(rng() % groups);
      if (rng() % 3 == 0 && !want[g].empty()) {
        // Retract an existing value, often the current extreme.
        auto it = rng() % 2 ? std::prev(want[g].end()) : want[g].begin();
        if (rng() % 4 == 0) it = want[g].lower_bound(static_cast<int64_t>(rng() % 50));
        if (it == want[g].end()) continue;
        remove.push_back(L(*it));
        remove_g.push_back(g);
        want[g].erase(it);
      } else {
        int64_t v = static_cast<int64_t>(rng() % 50);
        add.push_back(L(v));
        add_g.push_back(g);
        want[g].insert(v);
      }
    }
    // Additions of a batch first, then its retractions, as the operator applies them.
    max.Add({add}, add_g);
    min.Add({add}, add_g);
    max.Remove({remove}, remove_g);
    min.Remove({remove}, remove_g);
    std::vector<Value> want_max, want_min;
    for (const auto& m : want) {
      want_max.push_back(m.empty() ? Null(kBigint) : L(*m.rbegin()));
      want_min.push_back(m.empty() ? Null(kBigint) : L(*m.begin()));
    }
    ExpectSame(max.Final(), want_max, "max round " + std::to_string(round));
    ExpectSame(min.Final(), want_min, "min round " + std::to_string(round));
  }
}

TEST(AggregateRetractTest, MinMaxCompactsAndKeepsEarlyRetractions) {
  Retracting max("max", {kBigint});
  ASSERT_TRUE(max.ok());
  std::vector<Value> all, middle;
  for (int i = 1; i <= 100; ++i) {
    all.push_back(L(i));
    if (i > 1 && i < 100) middle.push_back(L(i));
  }
  max.Add({all}, std::vector<uint32_t>(all.size(), 0));
  // Retractions below the maximum pile up (and get compacted) without changing it.
  max.Remove({middle}, std::vector<uint32_t>(middle.size(), 0));
  ExpectSame(max.Final(), {L(100)}, "max with the middle retracted");
  max.Remove({{L(100)}}, {0});
  ExpectSame(max.Final(), {L(1)}, "only 1 left");
  // A retraction of a value never added is held until its row comes, and cancels it.
  max.Remove({{L(500), L(500), L(50)}}, {0, 0, 0});
  ExpectSame(max.Final(), {L(1)}, "early retractions");
  max.Add({{L(500), L(50)}}, {0, 0});
  ExpectSame(max.Final(), {L(1)}, "one 500 and the 50 cancelled");
  max.Add({{L(500), L(500)}}, {0, 0});
  ExpectSame(max.Final(), {L(500)}, "the second 500 cancelled, the third counts");
  max.Remove({{L(1), L(500)}}, {0, 0});
  ExpectSame(max.Final(), {Null(kBigint)}, "emptied");

  // Merge adds another state's multiset; Subtract removes it.
  Retracting a("min", {kBigint}), b("min", {kBigint});
  ASSERT_TRUE(a.ok() && b.ok());
  a.Add({{L(5), L(3), L(9)}}, {0, 0, 0});
  b.Add({{L(3), L(2), L(7)}}, {0, 0, 0});
  b.Remove({{L(2)}}, {0});
  a.state().Merge(b.state(), 0, 0);
  ExpectSame(a.Final(), {L(3)}, "merged min");
  a.Remove({{L(3)}}, {0});
  ExpectSame(a.Final(), {L(3)}, "the other 3");
  a.state().Subtract(b.state(), 0, 0);  // removes 3 and 7
  ExpectSame(a.Final(), {L(5)}, "subtracted");
  a.state().Merge(a.state(), 0, 0);  // into itself: every value twice
  a.Remove({{L(5)}}, {0});
  ExpectSame(a.Final(), {L(5)}, "the copy of 5");
}

TEST(AggregateRetractTest, CountDistinctWithDuplicates) {
  Retracting words("count", {kInt}, 2, true);
  Retracting text("count", {kText}, 1, true);
  ASSERT_TRUE(words.ok() && text.ok());
  words.Add({{I(1), I(1), I(2), Null(kInt), I(0), I(0), I(7)}}, {0, 0, 0, 0, 0, 0, 1});
  ExpectSame(words.Final(), {L(3), L(1)}, "count(DISTINCT int)");
  words.Remove({{I(1)}}, {0});
  ExpectSame(words.Final(), {L(3), L(1)}, "one of two 1s retracted");
  words.Remove({{I(1), Null(kInt), I(0)}}, {0, 0, 0});
  ExpectSame(words.Final(), {L(2), L(1)}, "both 1s retracted");  // {2, 0}
  words.Remove({{I(0), I(2), I(7)}}, {0, 0, 1});
  ExpectSame(words.Final(), {L(0), L(0)}, "emptied");
  words.Add({{I(2)}}, {0});
  ExpectSame(words.Final(), {L(1), L(0)}, "refilled");

  text.Add({{S("a"), S("b"), S("a")}}, {0, 0, 0});
  text.Remove({{S("a")}}, {0});
  ExpectSame(text.Final(), {L(2)}, "count(DISTINCT text)");
  text.Remove({{S("a")}}, {0});
  ExpectSame(text.Final(), {L(1)}, "count(DISTINCT text), no a left");
}

TEST(AggregateRetractTest, CountDistinctManyWords) {
  // Enough words to grow the table and exercise deletion in long probe chains.
  Retracting words("count", {kBigint}, 1, true);
  ASSERT_TRUE(words.ok());
  std::vector<Value> all;
  for (int i = 0; i < 3000; ++i) all.push_back(L(i * 7919));
  words.Add({all}, std::vector<uint32_t>(all.size(), 0));
  std::vector<Value> odd;
  for (size_t i = 1; i < all.size(); i += 2) odd.push_back(all[i]);
  words.Remove({odd}, std::vector<uint32_t>(odd.size(), 0));
  ExpectSame(words.Final(), {L(1500)}, "half retracted");
  words.Add({all}, std::vector<uint32_t>(all.size(), 0));  // the even ones now twice
  ExpectSame(words.Final(), {L(3000)}, "all back");
  // Evens 2, odds 1; then evens 1, odds -2 (retractions that came first).
  words.Remove({all}, std::vector<uint32_t>(all.size(), 0));
  words.Remove({odd}, std::vector<uint32_t>(odd.size(), 0));
  words.Remove({odd}, std::vector<uint32_t>(odd.size(), 0));
  ExpectSame(words.Final(), {L(1500)}, "odd ones negative do not count");
  words.Add({odd}, std::vector<uint32_t>(odd.size(), 0));
  words.Add({odd}, std::vector<uint32_t>(odd.size(), 0));
  ExpectSame(words.Final(), {L(1500)}, "odd ones back to 0");
  words.Add({odd}, std::vector<uint32_t>(odd.size(), 0));
  ExpectSame(words.Final(), {L(3000)}, "odd ones at 1");
  words.Remove({all}, std::vector<uint32_t>(all.size(), 0));
  ExpectSame(words.Final(), {L(0)}, "all at 0");
}

TEST(AggregateRetractTest, OtherDistinctAggregates) {
  Retracting sum("sum", {kInt}, 1, true);
  ASSERT_TRUE(sum.ok());
  sum.Add({{I(5), I(5), I(3)}}, {0, 0, 0});
  ExpectSame(sum.Final(), {L(8)}, "sum(DISTINCT)");
  sum.Remove({{I(5)}}, {0});
  ExpectSame(sum.Final(), {L(8)}, "one 5 left");
  sum.Remove({{I(5)}}, {0});
  ExpectSame(sum.Final(), {L(3)}, "no 5 left");

  // Order-dependent aggregates work with DISTINCT: the tuples are sorted.
  DataType list = DataType::List(kInt);
  Retracting agg("array_agg", {kInt}, 1, true);
  ASSERT_TRUE(agg.ok());
  agg.Add({{I(3), I(1), I(3)}}, {0, 0, 0});
  agg.Remove({{I(1)}}, {0});
  ExpectSame(agg.Final(), {Value::Nested(list, {I(3)})}, "array_agg(DISTINCT)");
  Retracting joined("string_agg", {kText, kText}, 1, true, false,
                    {std::nullopt, std::optional<Value>(S(","))});
  ASSERT_TRUE(joined.ok());
  joined.Add({{S("b"), S("a"), S("c")}, {S(","), S(","), S(",")}}, {0, 0, 0});
  joined.Remove({{S("a")}, {S(",")}}, {0});
  ExpectSame(joined.Final(), {S("b,c")}, "string_agg(DISTINCT)");
}

TEST(AggregateRetractTest, BoolsBitsVarianceMedian) {
  DataType t = types::Bool();
  Retracting all("bool_and", {t});
  Retracting any("bool_or", {t});
  ASSERT_TRUE(all.ok() && any.ok());
  all.Add({{B(true), B(false), B(true)}}, {0, 0, 0});
  any.Add({{B(false), B(true), B(false)}}, {0, 0, 0});
  all.Remove({{B(false)}}, {0});
  any.Remove({{B(true)}}, {0});
  ExpectSame(all.Final(), {B(true)}, "bool_and without its false");
  ExpectSame(any.Final(), {B(false)}, "bool_or without its true");

  Retracting band("bit_and", {kInt});
  Retracting bor("bit_or", {kInt});
  Retracting bxor("bit_xor", {kInt});
  ASSERT_TRUE(band.ok() && bor.ok() && bxor.ok());
  for (Retracting* r : {&band, &bor, &bxor}) r->Add({{I(12), I(10), I(-1)}}, {0, 0, 0});
  ExpectSame(band.Final(), {I(8)}, "bit_and");
  ExpectSame(bor.Final(), {I(-1)}, "bit_or");
  for (Retracting* r : {&band, &bor, &bxor}) r->Remove({{I(-1), I(10)}}, {0, 0});
  ExpectSame(band.Final(), {I(12)}, "bit_and retracted");
  ExpectSame(bor.Final(), {I(12)}, "bit_or retracted");
  ExpectSame(bxor.Final(), {I(12)}, "bit_xor retracted");

  // var_samp of {1, 2, 3, 10} without 10 is var_samp{1, 2, 3} = 1.
  double inf = std::numeric_limits<double>::infinity();
  Retracting var("var_samp", {kDouble});
  ASSERT_TRUE(var.ok());
  var.Add({{D(1), D(2), D(3), D(10), D(inf)}}, {0, 0, 0, 0, 0});
  ExpectSame(var.Final(), {D(std::nan(""))}, "var_samp with Inf");
  var.Remove({{D(10), D(inf)}}, {0, 0});
  ExpectSame(var.Final(), {D(1)}, "var_samp retracted");
  var.Remove({{D(1), D(2)}}, {0, 0});
  ExpectSame(var.Final(), {Null(kDouble)}, "var_samp of one value");

  Retracting covar("covar_pop", {kDouble, kDouble});
  ASSERT_TRUE(covar.ok());
  covar.Add({{D(1), D(2), D(9)}, {D(1), D(2), D(0)}}, {0, 0, 0});
  covar.Remove({{D(9)}, {D(0)}}, {0});
  ExpectSame(covar.Final(), {D(0.25)}, "covar_pop of (1,1), (2,2)");

  Retracting median("median", {kInt});
  ASSERT_TRUE(median.ok());
  median.Add({{I(1), I(5), I(7), I(100)}}, {0, 0, 0, 0});
  median.Remove({{I(100)}}, {0});
  ExpectSame(median.Final(), {D(5)}, "median");
}

TEST(AggregateRetractTest, BindOnlyRetractableStates) {
  // Without `retracting`, min and max keep one value per group: not retractable.
  AggregateBindInput plain;
  plain.types = {kInt};
  plain.constants = {std::nullopt};
  auto b = AggregateRegistry::Get().Bind("max", plain);
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->function->NewState()->retractable());
  EXPECT_FALSE(b->function->NewState()->Retract({}, nullptr, 0).ok());

  auto error = [](const std::string& name, std::vector<DataType> types,
                  std::vector<std::optional<Value>> constants = {}) {
    AggregateBindInput in;
    in.types = std::move(types);
    in.constants = std::move(constants);
    in.constants.resize(in.types.size());
    in.retracting = true;
    auto r = AggregateRegistry::Get().Bind(name, in);
    return r.ok() ? Status::Ok() : r.status();
  };
  Status st = error("array_agg", {kInt});
  EXPECT_EQ(st.kind(), ErrorKind::kUser);
  EXPECT_EQ(st.message().rfind("array_agg() cannot be computed over an updating input (its rows "
                               "can be retracted); ",
                               0),
            0u)
      << st.message();
  EXPECT_FALSE(error("string_agg", {kText, kText}, {std::nullopt, S(",")}).ok());
  EXPECT_FALSE(error("first_value", {kInt}).ok());
  EXPECT_FALSE(error("last_value", {kInt}).ok());
  EXPECT_NE(error("approx_distinct", {kInt}).message().find("count(DISTINCT"), std::string::npos);
  EXPECT_FALSE(error("approx_percentile_cont", {kDouble, kDouble}, {std::nullopt, D(0.5)}).ok());
  // Everything else binds a retractable state.
  for (const char* name :
       {"count", "sum", "avg", "min", "max", "bool_and", "bool_or", "every", "bit_and", "bit_or",
        "bit_xor", "var_pop", "var_samp", "stddev", "stddev_pop", "median"}) {
    DataType t = std::string(name).rfind("bool", 0) == 0 || std::string(name) == "every"
                     ? types::Bool()
                     : kBigint;
    EXPECT_TRUE(error(name, {t}).ok()) << name;
  }
  for (const char* name : {"covar_pop", "corr", "regr_slope", "regr_count"}) {
    EXPECT_TRUE(error(name, {kDouble, kDouble}).ok()) << name;
  }
  EXPECT_TRUE(error("percentile_cont", {kDouble, kDouble}, {std::nullopt, D(0.25)}).ok());
  for (DataType t : {kText, types::Timestamp(), DataType(TypeId::kInterval),
                     DataType::Decimal(10, 2), DataType::List(kInt), DataType(TypeId::kFloat32)}) {
    EXPECT_TRUE(error("min", {t}).ok()) << t.ToString();
    EXPECT_TRUE(error("sum", {t}).ok() || !t.is_numeric()) << t.ToString();
  }
}

// Every retractable state: adding rows A and B, then retracting B, equals adding A alone.
TEST(AggregateRetractTest, RetractUndoesUpdate) {
  std::mt19937_64 rng(11);
  const int64_t groups = 6;
  std::vector<Value> ints, doubles, texts;
  std::vector<uint32_t> g;
  for (int i = 0; i < 400; ++i) {
    g.push_back(static_cast<uint32_t>(rng() % (groups - 1)));  // the last group stays empty
    bool null = rng() % 7 == 0;
    int64_t x = static_cast<int64_t>(rng() % 41) - 20;
    ints.push_back(null ? Null(kBigint) : L(x));
    doubles.push_back(null ? Null(kDouble) : D(static_cast<double>(x) / 4));
    texts.push_back(null ? Null(kText) : S(std::string(static_cast<size_t>(x + 20), 'x')));
  }
  auto half = [](const std::vector<Value>& v, bool first) {
    size_t mid = v.size() / 2;
    return first ? std::vector<Value>(v.begin(), v.begin() + mid)
                 : std::vector<Value>(v.begin() + mid, v.end());
  };
  std::vector<uint32_t> g1(g.begin(), g.begin() + g.size() / 2),
      g2(g.begin() + g.size() / 2, g.end());
  struct Case {
    std::string name;
    DataType type;
    const std::vector<Value>* values;
    bool distinct;
  };
  std::vector<Case> cases = {
      {"count", kBigint, &ints, false},      {"count", kText, &texts, true},
      {"sum", kBigint, &ints, false},        {"sum", kDouble, &doubles, false},
      {"avg", kDouble, &doubles, false},     {"min", kBigint, &ints, false},
      {"max", kText, &texts, false},         {"max", kDouble, &doubles, false},
      {"bit_and", kBigint, &ints, false},    {"bit_or", kBigint, &ints, false},
      {"var_pop", kDouble, &doubles, false}, {"stddev_samp", kBigint, &ints, false},
      {"median", kDouble, &doubles, false},  {"sum", kBigint, &ints, true},
      {"avg", kDouble, &doubles, true},      {"count", kBigint, &ints, true},
  };
  for (const auto& c : cases) {
    std::string what = c.name + (c.distinct ? "(DISTINCT " : "(") + c.type.ToString() + ")";
    Retracting both(c.name, {c.type}, groups, c.distinct);
    Retracting first(c.name, {c.type}, groups, c.distinct);
    ASSERT_TRUE(both.ok() && first.ok()) << what;
    both.Add({half(*c.values, true)}, g1);
    both.Add({half(*c.values, false)}, g2);
    both.Remove({half(*c.values, false)}, g2);
    first.Add({half(*c.values, true)}, g1);
    ExpectSame(both.Final(), first.Final(), what);
    // And retracting the first half too leaves every group empty.
    both.Remove({half(*c.values, true)}, g1);
    Retracting empty(c.name, {c.type}, groups, c.distinct);
    ExpectSame(both.Final(), empty.Final(), what + " emptied");
  }
}

}  // namespace
}  // namespace sluice::expr
