#include <gtest/gtest.h>

#include "batch/column_builder.h"
#include "expr/cast.h"
#include "expr/evaluator.h"

namespace sluice::expr {
namespace {

using batch::Batch;
using batch::ColumnBuilder;
using types::DataType;
using types::TypeId;
using types::Value;

BoundExprPtr Call(const std::string& name, std::vector<BoundExprPtr> args) {
  BindInput in;
  for (const auto& a : args) {
    in.types.push_back(a->type);
    in.constants.push_back(a->IsConstant() ? std::optional<Value>(a->literal) : std::nullopt);
  }
  auto fn = FunctionRegistry::Get().Bind(name, in);
  EXPECT_TRUE(fn.ok()) << fn.status().ToString();
  for (size_t i = 0; i < args.size(); ++i) args[i] = MakeCast(args[i], fn->arg_types[i]);
  return MakeCall(std::make_shared<BoundFunction>(fn.MoveValue()), std::move(args));
}

// x BIGINT: 10, NULL, 0, -3;  s TEXT: 'a', 'b', NULL, 'd';  flag BOOL: true, NULL, false, true
Batch TestBatch() {
  ColumnBuilder x(types::Int64()), s(types::Utf8()), f(types::Bool()), t(types::Timestamp());
  x.AppendFixed<int64_t>(10);
  x.AppendNull();
  x.AppendFixed<int64_t>(0);
  x.AppendFixed<int64_t>(-3);
  s.AppendString("a");
  s.AppendString("b");
  s.AppendNull();
  s.AppendString("d");
  f.AppendBool(true);
  f.AppendNull();
  f.AppendBool(false);
  f.AppendBool(true);
  for (int i = 0; i < 4; ++i) t.AppendFixed<int64_t>(i);
  Batch b;
  b.columns = {x.Finish(), s.Finish(), f.Finish()};
  b.event_time = t.Finish();
  b.num_rows = 4;
  return b;
}

std::vector<std::string> Render(const batch::Column& c) {
  std::vector<std::string> out;
  for (int64_t i = 0; i < c.length; ++i) out.push_back(c.GetValue(i).ToString());
  return out;
}

BoundExprPtr X() {
  return MakeColumn(0, types::Int64());
}
BoundExprPtr S() {
  return MakeColumn(1, types::Utf8());
}
BoundExprPtr F() {
  return MakeColumn(2, types::Bool());
}
BoundExprPtr Int(int64_t v) {
  return MakeLiteral(Value::Int64(v));
}

TEST(Evaluator, ArithmeticPropagatesNulls) {
  auto r = Evaluate(*Call("+", {X(), Int(5)}), TestBatch());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Render(**r), (std::vector<std::string>{"15", "NULL", "5", "2"}));
}

TEST(Evaluator, DivisionByZeroIsAUserError) {
  auto r = Evaluate(*Call("/", {Int(100), X()}), TestBatch());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "division by zero");
}

TEST(Evaluator, IntegerDivisionTruncatesLikePostgres) {
  auto r = Evaluate(*Call("/", {X(), Int(4)}), TestBatch());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Render(**r), (std::vector<std::string>{"2", "NULL", "0", "0"}));
  auto m = Evaluate(*Call("%", {X(), Int(4)}), TestBatch());
  EXPECT_EQ(Render(**m), (std::vector<std::string>{"2", "NULL", "0", "-3"}));
}

TEST(Evaluator, OverflowIsDetected) {
  auto big = MakeLiteral(Value::Int64(INT64_MAX));
  auto r = Evaluate(*Call("+", {X(), big}), TestBatch());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("out of range"), std::string::npos);
}

TEST(Evaluator, AndSkipsRowsTheLeftSideDecides) {
  // x <> 0 AND 100 / x > 1: the row with x = 0 must not be divided.
  auto pred = MakeLogical(BoundKind::kAnd, {Call("<>", {X(), Int(0)}),
                                            Call(">", {Call("/", {Int(100), X()}), Int(1)})});
  auto r = Evaluate(*pred, TestBatch());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Render(**r), (std::vector<std::string>{"true", "NULL", "false", "false"}));
}

TEST(Evaluator, ThreeValuedLogic) {
  // flag: true, NULL, false, true.  NULL AND false = false; NULL OR true = true.
  auto nul = MakeLiteral(Value::Null(types::Bool()));
  auto and_r = Evaluate(*MakeLogical(BoundKind::kAnd, {F(), nul}), TestBatch());
  EXPECT_EQ(Render(**and_r), (std::vector<std::string>{"NULL", "NULL", "false", "NULL"}));
  auto or_r = Evaluate(*MakeLogical(BoundKind::kOr, {F(), nul}), TestBatch());
  EXPECT_EQ(Render(**or_r), (std::vector<std::string>{"true", "NULL", "NULL", "true"}));
  auto not_r = Evaluate(*MakeLogical(BoundKind::kNot, {F()}), TestBatch());
  EXPECT_EQ(Render(**not_r), (std::vector<std::string>{"false", "NULL", "true", "false"}));
}

TEST(Evaluator, SelectRowsKeepsOnlyTrue) {
  auto rows = SelectRows(*F(), TestBatch());
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(*rows, (std::vector<int32_t>{0, 3}));
}

TEST(Evaluator, CaseEvaluatesBranchesOnlyWhereTaken) {
  auto c = std::make_shared<BoundExpr>();
  c->kind = BoundKind::kCase;
  c->type = types::Int64();
  c->has_else = true;
  // CASE WHEN x = 0 THEN -1 WHEN x IS NULL THEN -2 ELSE 100 / x END
  auto isnull = std::make_shared<BoundExpr>();
  isnull->kind = BoundKind::kIsNull;
  isnull->type = types::Bool();
  isnull->args = {X()};
  c->args = {Call("=", {X(), Int(0)}), Int(-1), isnull, Int(-2), Call("/", {Int(100), X()})};
  auto r = Evaluate(*c, TestBatch());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Render(**r), (std::vector<std::string>{"10", "-2", "-1", "-33"}));
}

TEST(Evaluator, ComparisonOnStringsAndLike) {
  auto r = Evaluate(*Call("<", {S(), MakeLiteral(Value::String("c"))}), TestBatch());
  EXPECT_EQ(Render(**r), (std::vector<std::string>{"true", "true", "NULL", "false"}));
  auto l = Evaluate(*Call("like", {S(), MakeLiteral(Value::String("_"))}), TestBatch());
  EXPECT_EQ(Render(**l), (std::vector<std::string>{"true", "true", "NULL", "true"}));
}

TEST(Evaluator, IsDistinctFromTreatsNullsAsEqual) {
  auto r = Evaluate(*Call("is_distinct_from", {X(), MakeLiteral(Value::Null(types::Int64()))}),
                    TestBatch());
  EXPECT_EQ(Render(**r), (std::vector<std::string>{"true", "false", "true", "true"}));
}

TEST(Cast, TextToNumbersAndBack) {
  auto v = CastValue(Value::String(" 42 "), types::Int32());
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->int_value(), 42);
  auto bad = CastValue(Value::String("4x2"), types::Int32());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "invalid input syntax for type INT: \"4x2\"");
  auto tried = CastValue(Value::String("4x2"), types::Int32(), true);
  EXPECT_TRUE(tried->is_null());
  auto range = CastValue(Value::Int64(300), DataType(TypeId::kInt8));
  EXPECT_FALSE(range.ok());
  auto text = CastValue(Value::Timestamp(1696871620200000), types::Utf8());
  EXPECT_EQ(text->string_value(), "2023-10-09 17:13:40.200");
}

TEST(Cast, FloatToIntRoundsHalfToEven) {
  EXPECT_EQ(CastValue(Value::Double(2.5), types::Int64())->int_value(), 2);
  EXPECT_EQ(CastValue(Value::Double(3.5), types::Int64())->int_value(), 4);
  EXPECT_EQ(CastValue(Value::Double(-1.2), types::Int64())->int_value(), -1);
}

TEST(Cast, DecimalsKeepTheirScale) {
  auto d = CastValue(Value::String("12.345"), DataType::Decimal(10, 2));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->ToString(), "12.35");
  auto i = CastValue(*d, types::Int64());
  EXPECT_EQ(i->int_value(), 12);
}

TEST(Cast, TimestampsParseRfc3339WithZones) {
  EXPECT_EQ(*ParseTimestamp("2023-10-09T17:13:40.200Z"), 1696871620200000);
  EXPECT_EQ(*ParseTimestamp("2023-10-09 19:13:40.2+02:00"), 1696871620200000);
  EXPECT_EQ(*ParseTimestamp("2023-10-09"), 1696809600000000);
  EXPECT_FALSE(ParseTimestamp("2023-13-09").ok());
}

TEST(Cast, IntervalsParseUnits) {
  auto iv = ParseInterval("1 day 2 hours 30 minutes");
  ASSERT_TRUE(iv.ok());
  EXPECT_EQ(iv->days, 1);
  EXPECT_EQ(iv->micros, (2 * 3600 + 30 * 60) * 1000000LL);
  EXPECT_EQ(ParseInterval("2 months")->months, 2);
  EXPECT_EQ(ParseInterval("500 ms")->micros, 500000);
  EXPECT_FALSE(ParseInterval("3 fortnights").ok());
}

TEST(Cast, CommonSuperTypesFollowPostgres) {
  EXPECT_EQ(*CommonSuperType(types::Int32(), types::Int64()), types::Int64());
  EXPECT_EQ(*CommonSuperType(types::Int64(), types::Float64()), types::Float64());
  EXPECT_EQ(*CommonSuperType(DataType(TypeId::kUInt32), types::Int32()), types::Int64());
  EXPECT_FALSE(CommonSuperType(types::Utf8(), types::Int64()).ok());
}

}  // namespace
}  // namespace sluice::expr
