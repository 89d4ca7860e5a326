// Scalar function library: every function bound through the registry and run through its
// kernel, with expected values worked out from PostgreSQL's documented semantics.

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "batch/column_builder.h"
#include "common/time.h"
#include "expr/cast.h"
#include "expr/function.h"
#include "expr/functions/datetime.h"

namespace sluice::types {
// Readable gtest failure messages (internal linkage: other test files may define their own).
static void PrintTo(const Value& v, std::ostream* os) {
  *os << v.ToString() << " : " << v.type().ToString();
}
}  // namespace sluice::types

namespace sluice::expr {
namespace {

using batch::ColumnBuilder;
using types::DataType;
using types::Interval;
using types::TypeId;
using types::Value;

// ---------------------------------------------------------------------------------------------
// Harness

// Binds `name` for columns `args` (the first row of those flagged in `constant` is shown to
// the binder as a constant), casts the arguments as the binder would, and runs the kernel.
Result<ColumnPtr> RunKernel(const std::string& name, std::vector<ColumnPtr> args,
                            const std::vector<bool>& constant = {},
                            BoundFunction* bound = nullptr) {
  BindInput in;
  for (size_t i = 0; i < args.size(); ++i) {
    in.types.push_back(args[i]->type);
    bool is_constant = i < constant.size() && constant[i];
    in.constants.push_back(is_constant ? std::optional<Value>(args[i]->GetValue(0)) : std::nullopt);
  }
  auto fn = FunctionRegistry::Get().Bind(name, in);
  if (!fn.ok()) return fn.status();
  EXPECT_EQ(fn->arg_types.size(), args.size()) << name;
  int64_t rows = args.empty() ? 1 : args[0]->length;
  for (size_t i = 0; i < args.size(); ++i) {
    auto cast = CastColumn(args[i], fn->arg_types[i]);
    if (!cast.ok()) return cast.status();
    args[i] = *cast;
  }
  ColumnPtr out;
  Status st = fn->kernel(*fn, args, rows, &out);
  if (!st.ok()) return st;
  EXPECT_EQ(out->length, rows) << name;
  EXPECT_EQ(out->type, fn->return_type) << name;
  if (bound != nullptr) *bound = *fn;
  return out;
}

// Evaluates one row of literal arguments twice: with the constants visible to the binder
// (bind-time preparation of patterns, units, formats) and without (the per-row path). Both
// must agree; the result of the first is returned.
Result<Value> Eval(const std::string& name, const std::vector<Value>& values) {
  std::vector<ColumnPtr> args;
  for (const auto& v : values) args.push_back(batch::Column::MakeConstant(v, 1));
  auto with_constants = RunKernel(name, args, std::vector<bool>(args.size(), true));
  auto per_row = RunKernel(name, args);
  EXPECT_EQ(with_constants.ok(), per_row.ok())
      << name << ": "
      << (with_constants.ok() ? per_row.status() : with_constants.status()).ToString();
  if (!with_constants.ok()) return with_constants.status();
  Value v = (*with_constants)->GetValue(0);
  if (per_row.ok()) {
    Value w = (*per_row)->GetValue(0);
    // Decimal results may differ in scale (a constant digits argument fixes it), NaN in
    // identity: compare what they print and their value.
    bool same = v.type().id() == TypeId::kDecimal
                    ? w.type().id() == TypeId::kDecimal &&
                          *CastValue(v, types::Float64()) == *CastValue(w, types::Float64())
                    : v.type() == w.type() && v.ToString() == w.ToString();
    EXPECT_TRUE(same) << name << " differs between constant and per-row: " << v.ToString() << " vs "
                      << w.ToString();
  }
  return v;
}

// The error message of a call that must fail.
std::string Error(const std::string& name, const std::vector<Value>& values) {
  auto r = Eval(name, values);
  EXPECT_FALSE(r.ok()) << name << " unexpectedly returned " << (r.ok() ? r->ToString() : "");
  return r.ok() ? std::string() : r.status().message();
}

double Dbl(const std::string& name, const std::vector<Value>& values) {
  auto r = Eval(name, values);
  EXPECT_TRUE(r.ok()) << name << ": " << r.status().ToString();
  if (!r.ok() || r->is_null()) return std::nan("");
  EXPECT_EQ(r->type().id(), TypeId::kFloat64) << name;
  return r->double_value();
}

std::string Str(const std::string& name, const std::vector<Value>& values) {
  auto r = Eval(name, values);
  EXPECT_TRUE(r.ok()) << name << ": " << r.status().ToString();
  if (!r.ok()) return "<error>";
  if (r->is_null()) return "<null>";
  return r->string_value();
}

Value V(const std::string& name, const std::vector<Value>& values) {
  auto r = Eval(name, values);
  EXPECT_TRUE(r.ok()) << name << ": " << r.status().ToString();
  return r.ok() ? *r : Value();
}

Value S(std::string s) {
  return Value::String(std::move(s));
}
Value I(int64_t v) {
  return Value::Int64(v);
}
Value I32(int64_t v) {
  return Value::Int(types::Int32(), v);
}
Value D(double v) {
  return Value::Double(v);
}
Value B(bool v) {
  return Value::Boolean(v);
}
Value J(std::string s) {
  return Value::Bytes(DataType(TypeId::kJson), std::move(s));
}
Value Null(DataType t) {
  return Value::Null(std::move(t));
}
Value Dec(types::int128_t v, int p, int s) {
  return Value::Decimal(DataType::Decimal(p, s), v);
}
Value Iv(int32_t months, int32_t days, int64_t micros) {
  return Value::IntervalValue(Interval{months, days, micros});
}
Value List(DataType element, std::vector<Value> items) {
  return Value::Nested(DataType::List(std::move(element)), std::move(items));
}
Value Texts(std::vector<std::optional<std::string>> items) {
  std::vector<Value> v;
  for (auto& s : items) v.push_back(s ? S(*s) : Null(types::Utf8()));
  return List(types::Utf8(), std::move(v));
}

int64_t Micros(int64_t y, unsigned mo, unsigned d, int64_t h = 0, int64_t mi = 0, int64_t s = 0,
               int64_t us = 0) {
  return ((types::DaysFromCivil(y, mo, d) * 24 + h) * 60 + mi) * 60000000 + s * 1000000 + us;
}
Value Ts(int64_t y, unsigned mo, unsigned d, int64_t h = 0, int64_t mi = 0, int64_t s = 0,
         int64_t us = 0) {
  return Value::Timestamp(Micros(y, mo, d, h, mi, s, us));
}
Value Date(int64_t y, unsigned mo, unsigned d) {
  return Value::Date(types::DaysFromCivil(y, mo, d));
}

ColumnPtr TextColumn(std::vector<std::optional<std::string>> items) {
  ColumnBuilder b(types::Utf8());
  for (auto& s : items) s ? b.AppendString(*s) : b.AppendNull();
  return b.Finish();
}

ColumnPtr IntColumn(std::vector<std::optional<int64_t>> items) {
  ColumnBuilder b(types::Int64());
  for (auto& v : items) v ? b.AppendFixed<int64_t>(*v) : b.AppendNull();
  return b.Finish();
}

std::vector<std::string> Render(const ColumnPtr& c) {
  std::vector<std::string> out;
  for (int64_t i = 0; i < c->length; ++i) out.push_back(c->GetValue(i).ToString());
  return out;
}

// A column whose NULL rows hide a value that would be an error if it were looked at.
ColumnPtr IntColumnWithHiddenZero() {
  ColumnBuilder b(types::Int64());
  b.AppendFixed<int64_t>(3);
  b.AppendFixed<int64_t>(0);  // made NULL below
  b.AppendFixed<int64_t>(4);
  ColumnPtr c = b.Finish();
  auto copy = std::make_shared<batch::Column>(*c);
  copy->validity = batch::Column::MakeAllValidBitmap(3);
  batch::ClearBit(copy->validity->data(), 1);
  return copy;
}

// ---------------------------------------------------------------------------------------------
// Registry

TEST(FunctionRegistryTest, EveryFamilyIsRegistered) {
  const auto& r = FunctionRegistry::Get();
  for (const char* name : {"abs",
                           "ceil",
                           "ceiling",
                           "floor",
                           "round",
                           "trunc",
                           "sqrt",
                           "cbrt",
                           "exp",
                           "ln",
                           "log",
                           "log10",
                           "log2",
                           "power",
                           "pow",
                           "sign",
                           "mod",
                           "pi",
                           "degrees",
                           "radians",
                           "sin",
                           "cos",
                           "tan",
                           "asin",
                           "acos",
                           "atan",
                           "atan2",
                           "random",
                           "lower",
                           "upper",
                           "length",
                           "char_length",
                           "character_length",
                           "octet_length",
                           "substr",
                           "substring",
                           "concat",
                           "concat_ws",
                           "btrim",
                           "trim",
                           "ltrim",
                           "rtrim",
                           "replace",
                           "split_part",
                           "starts_with",
                           "ends_with",
                           "strpos",
                           "position",
                           "lpad",
                           "rpad",
                           "initcap",
                           "reverse",
                           "repeat",
                           "left",
                           "right",
                           "ascii",
                           "chr",
                           "translate",
                           "to_hex",
                           "regexp_like",
                           "regexp_match",
                           "regexp_replace",
                           "regexp_count",
                           "date_trunc",
                           "date_part",
                           "to_timestamp",
                           "to_char",
                           "now",
                           "current_date",
                           "json_get_str",
                           "json_get_int",
                           "json_get_float",
                           "json_get_bool",
                           "json_get_json",
                           "->",
                           "->>",
                           "extract_json",
                           "extract_json_string",
                           "md5",
                           "sha224",
                           "sha256",
                           "sha384",
                           "sha512",
                           "array_length",
                           "cardinality",
                           "array_position",
                           "array_to_string",
                           "array_contains",
                           "array_has",
                           "make_array",
                           "coalesce",
                           "nullif",
                           "greatest",
                           "least"}) {
    EXPECT_TRUE(r.Contains(name)) << name;
  }
}

TEST(FunctionRegistryTest, WrongArgumentTypesNameTheAcceptedSignatures) {
  auto r = Eval("split_part", {S("a"), S("b")});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("split_part"), std::string::npos);
  EXPECT_NE(r.status().message().find("(TEXT, TEXT, BIGINT)"), std::string::npos);
  EXPECT_FALSE(Eval("sqrt", {S("x")}).ok());
  EXPECT_FALSE(Eval("md5", {}).ok());
}

// ---------------------------------------------------------------------------------------------
// Math

TEST(MathFunctionsTest, AbsKeepsIntegerTypes) {
  Value r = V("abs", {I32(-5)});
  EXPECT_EQ(r, I32(5));
  EXPECT_EQ(V("abs", {I(-7)}), I(7));
  EXPECT_EQ(Dbl("abs", {D(-2.5)}), 2.5);
  EXPECT_EQ(V("abs", {Dec(-150, 10, 2)}), Dec(150, 10, 2));
  EXPECT_TRUE(V("abs", {Null(types::Int64())}).is_null());
  EXPECT_NE(Error("abs", {I(INT64_MIN)}).find("out of range"), std::string::npos);
}

TEST(MathFunctionsTest, CeilFloor) {
  EXPECT_EQ(Dbl("ceil", {D(1.2)}), 2);
  EXPECT_EQ(Dbl("ceiling", {D(-1.2)}), -1);
  EXPECT_EQ(Dbl("floor", {D(-1.2)}), -2);
  EXPECT_EQ(Dbl("floor", {I(7)}), 7);  // integers compute in DOUBLE, as in Postgres
  EXPECT_EQ(V("ceil", {Dec(101, 5, 2)}), Dec(2, 4, 0));     // ceil(1.01) = 2
  EXPECT_EQ(V("floor", {Dec(-101, 5, 2)}), Dec(-2, 4, 0));  // floor(-1.01) = -2
}

TEST(MathFunctionsTest, RoundAndTrunc) {
  // round(float8) is rint(): halves go to even.
  EXPECT_EQ(Dbl("round", {D(2.5)}), 2);
  EXPECT_EQ(Dbl("round", {D(3.5)}), 4);
  EXPECT_EQ(Dbl("round", {D(-2.5)}), -2);
  // With digits, decimal rounding of the value as written: half away from zero.
  EXPECT_DOUBLE_EQ(Dbl("round", {D(2.675), I(2)}), 2.68);
  EXPECT_DOUBLE_EQ(Dbl("round", {D(1.005), I(2)}), 1.01);
  EXPECT_DOUBLE_EQ(Dbl("round", {D(1234.5), I(-2)}), 1200);
  EXPECT_DOUBLE_EQ(Dbl("round", {D(-0.125), I(2)}), -0.13);
  EXPECT_DOUBLE_EQ(Dbl("trunc", {D(2.3), I(2)}), 2.3);
  EXPECT_DOUBLE_EQ(Dbl("trunc", {D(-1.789), I(1)}), -1.7);
  EXPECT_EQ(Dbl("trunc", {D(-1.7)}), -1);
  // numeric rounds half away from zero.
  EXPECT_EQ(V("round", {Dec(250, 5, 2)}), Dec(3, 4, 0));
  EXPECT_EQ(V("round", {Dec(-250, 5, 2)}), Dec(-3, 4, 0));
  EXPECT_EQ(V("round", {Dec(12345, 6, 4), I(2)}), Dec(123, 5, 2));    // 1.2345 → 1.23
  EXPECT_EQ(V("trunc", {Dec(-12399, 6, 4), I(2)}), Dec(-123, 5, 2));  // -1.2399 → -1.23
}

TEST(MathFunctionsTest, RootsExponentsLogarithms) {
  EXPECT_EQ(Dbl("sqrt", {D(16)}), 4);
  EXPECT_EQ(Dbl("sqrt", {I(2)}), std::sqrt(2.0));
  EXPECT_NE(Error("sqrt", {D(-1)}).find("cannot take square root of a negative number"),
            std::string::npos);
  EXPECT_DOUBLE_EQ(Dbl("cbrt", {D(-27)}), -3);
  EXPECT_EQ(Dbl("exp", {D(0)}), 1);
  EXPECT_NE(Error("exp", {D(1000)}).find("overflow"), std::string::npos);
  EXPECT_DOUBLE_EQ(Dbl("ln", {D(std::numbers::e)}), 1);
  EXPECT_NE(Error("ln", {D(0)}).find("cannot take logarithm of zero"), std::string::npos);
  EXPECT_NE(Error("ln", {D(-1)}).find("cannot take logarithm of a negative number"),
            std::string::npos);
  EXPECT_DOUBLE_EQ(Dbl("log", {D(100)}), 2);
  EXPECT_DOUBLE_EQ(Dbl("log", {D(2), D(8)}), 3);
  EXPECT_NE(Error("log", {D(1), D(8)}).find("division by zero"), std::string::npos);
  EXPECT_DOUBLE_EQ(Dbl("log10", {D(1000)}), 3);
  EXPECT_DOUBLE_EQ(Dbl("log2", {I(8)}), 3);
  EXPECT_NE(Error("log10", {D(-5)}).find("log10(): cannot take logarithm"), std::string::npos);
}

TEST(MathFunctionsTest, Power) {
  EXPECT_EQ(Dbl("power", {D(2), D(10)}), 1024);
  EXPECT_EQ(Dbl("pow", {I(3), I(2)}), 9);
  EXPECT_EQ(Dbl("power", {D(-8), D(3)}), -512);
  EXPECT_NE(Error("power", {D(0), D(-1)}).find("zero raised to a negative power"),
            std::string::npos);
  EXPECT_NE(Error("power", {D(-8), D(1.0 / 3)}).find("complex"), std::string::npos);
  EXPECT_NE(Error("power", {D(10), D(400)}).find("overflow"), std::string::npos);
}

TEST(MathFunctionsTest, SignAndMod) {
  EXPECT_EQ(Dbl("sign", {D(-3.5)}), -1);
  EXPECT_EQ(Dbl("sign", {I(0)}), 0);
  EXPECT_EQ(V("sign", {Dec(-5, 3, 1)}), Dec(-1, 1, 0));
  EXPECT_EQ(V("mod", {I(10), I(3)}), I(1));
  EXPECT_EQ(V("mod", {I(-10), I(3)}), I(-1));  // sign of the dividend
  EXPECT_EQ(V("mod", {I32(10), I32(4)}), I32(2));
  EXPECT_EQ(V("mod", {I(INT64_MIN), I(-1)}), I(0));
  EXPECT_EQ(V("mod", {Dec(1050, 5, 2), Dec(300, 5, 2)}), Dec(150, 5, 2));  // 10.50 % 3.00
  EXPECT_NE(Error("mod", {I(10), I(0)}).find("division by zero"), std::string::npos);
  EXPECT_TRUE(V("mod", {I(10), Null(types::Int64())}).is_null());
}

TEST(MathFunctionsTest, NullRowsNeverRaiseErrors) {
  // mod(10, x) over x = 3, NULL (hiding a 0), 4: the NULL row is skipped, not divided by.
  auto out = RunKernel("mod", {IntColumn({10, 10, 10}), IntColumnWithHiddenZero()});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Render(*out), (std::vector<std::string>{"1", "NULL", "2"}));
  auto roots = RunKernel("sqrt", {IntColumn({4, std::nullopt, 9})});
  ASSERT_TRUE(roots.ok());
  EXPECT_EQ(Render(*roots), (std::vector<std::string>{"2", "NULL", "3"}));
}

TEST(MathFunctionsTest, Trigonometry) {
  EXPECT_DOUBLE_EQ(Dbl("pi", {}), std::numbers::pi);
  EXPECT_DOUBLE_EQ(Dbl("degrees", {D(std::numbers::pi)}), 180);
  EXPECT_DOUBLE_EQ(Dbl("radians", {D(180)}), std::numbers::pi);
  EXPECT_EQ(Dbl("sin", {D(0)}), 0);
  EXPECT_EQ(Dbl("cos", {D(0)}), 1);
  EXPECT_EQ(Dbl("tan", {D(0)}), 0);
  EXPECT_DOUBLE_EQ(Dbl("asin", {D(1)}), std::numbers::pi / 2);
  EXPECT_DOUBLE_EQ(Dbl("acos", {D(1)}), 0);
  EXPECT_NE(Error("acos", {D(2)}).find("input is out of range"), std::string::npos);
  EXPECT_DOUBLE_EQ(Dbl("atan", {D(1)}), std::numbers::pi / 4);
  EXPECT_DOUBLE_EQ(Dbl("atan2", {D(1), D(1)}), std::numbers::pi / 4);
  EXPECT_DOUBLE_EQ(Dbl("atan2", {D(1), D(-1)}), 3 * std::numbers::pi / 4);
  EXPECT_EQ(V("gcd", {I(12), I(18)}), I(6));
  EXPECT_EQ(V("lcm", {I(4), I(6)}), I(12));
}

TEST(MathFunctionsTest, RandomIsNonDeterministicAndInRange) {
  BoundFunction fn;
  auto out = RunKernel("random", {}, {}, &fn);
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE(fn.deterministic);
  ColumnPtr col;
  ASSERT_TRUE(fn.kernel(fn, {}, 100, &col).ok());
  double first = col->raw<double>()[0];
  bool differ = false;
  for (int i = 0; i < 100; ++i) {
    double v = col->raw<double>()[i];
    EXPECT_GE(v, 0.0);
    EXPECT_LT(v, 1.0);
    differ |= v != first;
  }
  EXPECT_TRUE(differ);
}

// ---------------------------------------------------------------------------------------------
// Strings

TEST(StringFunctionsTest, CaseMapping) {
  EXPECT_EQ(Str("lower", {S("HeLLo")}), "hello");
  EXPECT_EQ(Str("upper", {S("héllo wörld")}), "HÉLLO WÖRLD");
  EXPECT_EQ(Str("lower", {S("ÀÉÎ ΣΑΣ Привет")}), "àéî σασ привет");
  EXPECT_EQ(Str("initcap", {S("hi THOMAS o'neil")}), "Hi Thomas O'Neil");
  EXPECT_EQ(Str("initcap", {S("élan vital")}), "Élan Vital");
  auto out = RunKernel("lower", {TextColumn({"ABC", std::nullopt, "", "MiXeD"})});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(Render(*out), (std::vector<std::string>{"'abc'", "NULL", "''", "'mixed'"}));
}

TEST(StringFunctionsTest, Lengths) {
  EXPECT_EQ(V("length", {S("héllo")}), I32(5));
  EXPECT_EQ(V("char_length", {S("")}), I32(0));
  EXPECT_EQ(V("character_length", {S("日本語")}), I32(3));
  EXPECT_EQ(V("octet_length", {S("héllo")}), I32(6));
  EXPECT_TRUE(V("length", {Null(types::Utf8())}).is_null());
  // Invalid UTF-8 is counted byte by byte, never read past its end.
  EXPECT_EQ(V("length", {S("a\xff\xfe")}), I32(3));
  EXPECT_EQ(V("length", {S("\xe6\x97")}), I32(1));
}

TEST(StringFunctionsTest, Substr) {
  EXPECT_EQ(Str("substr", {S("hello"), I(2), I(3)}), "ell");
  EXPECT_EQ(Str("substring", {S("hello"), I(0), I(3)}), "he");  // positions before 1 count
  EXPECT_EQ(Str("substr", {S("hello"), I(-5), I(3)}), "");
  EXPECT_EQ(Str("substr", {S("hello"), I(3)}), "llo");
  EXPECT_EQ(Str("substr", {S("hello"), I(-3)}), "hello");
  EXPECT_EQ(Str("substr", {S("héllo"), I(2), I(2)}), "él");
  EXPECT_EQ(Str("substr", {S("hello"), I(10)}), "");
  EXPECT_EQ(Str("substr", {S("hello"), I(2), I(INT64_MAX)}), "ello");
  EXPECT_NE(Error("substr", {S("hello"), I(1), I(-1)}).find("negative substring length"),
            std::string::npos);
}

TEST(StringFunctionsTest, Concat) {
  EXPECT_EQ(Str("concat", {S("a"), Null(types::Utf8()), S("b"), I(1)}), "ab1");
  EXPECT_EQ(Str("concat", {Null(types::Utf8())}), "");
  EXPECT_EQ(Str("concat_ws", {S(","), S("a"), Null(types::Utf8()), S("b")}), "a,b");
  EXPECT_EQ(Str("concat_ws", {S(", "), I(1), D(2.5)}), "1, 2.5");
  EXPECT_TRUE(V("concat_ws", {Null(types::Utf8()), S("a")}).is_null());
  EXPECT_FALSE(Eval("concat", {}).ok());
}

TEST(StringFunctionsTest, Trim) {
  EXPECT_EQ(Str("btrim", {S("  x  ")}), "x");
  EXPECT_EQ(Str("trim", {S("xxhixx"), S("x")}), "hi");
  EXPECT_EQ(Str("ltrim", {S("  x ")}), "x ");
  EXPECT_EQ(Str("rtrim", {S(" x  ")}), " x");
  EXPECT_EQ(Str("rtrim", {S("test.xyzzy"), S("xyz")}), "test.");
  EXPECT_EQ(Str("btrim", {S("ééaéé"), S("é")}), "a");
  EXPECT_EQ(Str("btrim", {S("xx"), S("x")}), "");
  EXPECT_EQ(Str("btrim", {S(" a "), S("")}), " a ");
}

TEST(StringFunctionsTest, ReplaceAndSplitPart) {
  EXPECT_EQ(Str("replace", {S("abcabc"), S("b"), S("XY")}), "aXYcaXYc");
  EXPECT_EQ(Str("replace", {S("abc"), S(""), S("X")}), "abc");
  EXPECT_EQ(Str("replace", {S("aaa"), S("aa"), S("b")}), "ba");
  EXPECT_EQ(Str("split_part", {S("a,b,c"), S(","), I(2)}), "b");
  EXPECT_EQ(Str("split_part", {S("a,b,c"), S(","), I(-1)}), "c");
  EXPECT_EQ(Str("split_part", {S("a,b,c"), S(","), I(-3)}), "a");
  EXPECT_EQ(Str("split_part", {S("a,b,c"), S(","), I(4)}), "");
  EXPECT_EQ(Str("split_part", {S("a,b,c"), S(","), I(-4)}), "");
  EXPECT_EQ(Str("split_part", {S("abc~@~def~@~ghi"), S("~@~"), I(2)}), "def");
  EXPECT_EQ(Str("split_part", {S(""), S(","), I(1)}), "");
  EXPECT_EQ(Str("split_part", {S("abc"), S(""), I(1)}), "abc");
  EXPECT_EQ(Str("split_part", {S("abc"), S(""), I(2)}), "");
  EXPECT_EQ(Error("split_part", {S("a,b"), S(","), I(0)}),
            "split_part(): field position must not be zero");
}

TEST(StringFunctionsTest, PrefixSuffixPosition) {
  EXPECT_EQ(V("starts_with", {S("alphabet"), S("alph")}), B(true));
  EXPECT_EQ(V("starts_with", {S("a"), S("ab")}), B(false));
  EXPECT_EQ(V("ends_with", {S("alphabet"), S("bet")}), B(true));
  EXPECT_TRUE(V("ends_with", {S("alphabet"), Null(types::Utf8())}).is_null());
  EXPECT_EQ(V("strpos", {S("high"), S("ig")}), I32(2));
  EXPECT_EQ(V("position", {S("héllo"), S("l")}), I32(3));
  EXPECT_EQ(V("strpos", {S("abc"), S("z")}), I32(0));
  EXPECT_EQ(V("strpos", {S("abc"), S("")}), I32(1));
}

TEST(StringFunctionsTest, Padding) {
  EXPECT_EQ(Str("lpad", {S("hi"), I(5), S("xy")}), "xyxhi");
  EXPECT_EQ(Str("rpad", {S("hi"), I(5), S("xy")}), "hixyx");
  EXPECT_EQ(Str("lpad", {S("hi"), I(5)}), "   hi");
  EXPECT_EQ(Str("lpad", {S("hello"), I(3)}), "hel");
  EXPECT_EQ(Str("rpad", {S("hello"), I(3)}), "hel");
  EXPECT_EQ(Str("lpad", {S("hi"), I(5), S("")}), "hi");
  EXPECT_EQ(Str("lpad", {S("hi"), I(-1)}), "");
  EXPECT_EQ(Str("rpad", {S("é"), I(3), S("ü")}), "éüü");
  EXPECT_NE(Error("lpad", {S("x"), I(int64_t{1} << 40)}).find("requested length too large"),
            std::string::npos);
}

TEST(StringFunctionsTest, ReverseRepeatLeftRight) {
  EXPECT_EQ(Str("reverse", {S("abc")}), "cba");
  EXPECT_EQ(Str("reverse", {S("héllo")}), "olléh");
  EXPECT_EQ(Str("repeat", {S("Pg"), I(4)}), "PgPgPgPg");
  EXPECT_EQ(Str("repeat", {S("x"), I(-1)}), "");
  EXPECT_NE(Error("repeat", {S("abc"), I(1000000000)}).find("too large"), std::string::npos);
  EXPECT_EQ(Str("left", {S("abcde"), I(2)}), "ab");
  EXPECT_EQ(Str("left", {S("abcde"), I(-2)}), "abc");
  EXPECT_EQ(Str("left", {S("abcde"), I(INT64_MIN)}), "");
  EXPECT_EQ(Str("right", {S("abcde"), I(2)}), "de");
  EXPECT_EQ(Str("right", {S("abcde"), I(-2)}), "cde");
  EXPECT_EQ(Str("right", {S("abcde"), I(INT64_MIN)}), "");
  EXPECT_EQ(Str("right", {S("añb"), I(2)}), "ñb");
}

TEST(StringFunctionsTest, CodePoints) {
  EXPECT_EQ(V("ascii", {S("x")}), I32(120));
  EXPECT_EQ(V("ascii", {S("é")}), I32(233));
  EXPECT_EQ(V("ascii", {S("")}), I32(0));
  EXPECT_EQ(Str("chr", {I(65)}), "A");
  EXPECT_EQ(Str("chr", {I(0x20AC)}), "€");
  EXPECT_NE(Error("chr", {I(0)}).find("null character not permitted"), std::string::npos);
  EXPECT_NE(Error("chr", {I(-1)}).find("must be positive"), std::string::npos);
  EXPECT_NE(Error("chr", {I(0x110000)}).find("too large"), std::string::npos);
  EXPECT_EQ(Str("translate", {S("12345"), S("143"), S("ax")}), "a2x5");
  EXPECT_EQ(Str("translate", {S("héllo"), S("él"), S("EL")}), "hELLo");
  EXPECT_EQ(Str("to_hex", {I32(255)}), "ff");
  EXPECT_EQ(Str("to_hex", {I32(-1)}), "ffffffff");
  EXPECT_EQ(Str("to_hex", {I(-1)}), "ffffffffffffffff");
  EXPECT_EQ(Str("to_hex", {I(0)}), "0");
}

TEST(StringFunctionsTest, MalformedUtf8NeverCrashes) {
  for (const char* fn : {"lower", "upper", "initcap", "reverse", "btrim"}) {
    auto r = Eval(fn, {S("\x80\xc3 a\xff\xe6\x97")});
    EXPECT_TRUE(r.ok()) << fn;
  }
  EXPECT_EQ(Str("upper", {S("a\x80z")}), "A\x80Z");
  EXPECT_EQ(Str("substr", {S("\x80\x80x"), I(2)}), "x");
  EXPECT_EQ(Str("lpad", {S("\xc3"), I(3), S("\x80")}), "\x80\x80\xc3");
}

// ---------------------------------------------------------------------------------------------
// Regular expressions

TEST(RegexFunctionsTest, Like) {
  EXPECT_EQ(V("regexp_like", {S("Hello World"), S("o W")}), B(true));
  EXPECT_EQ(V("regexp_like", {S("Hello"), S("^ell")}), B(false));
  EXPECT_EQ(V("regexp_like", {S("Hello"), S("hello"), S("i")}), B(true));
  EXPECT_EQ(V("regexp_like", {S("a\nb"), S("a.b")}), B(true));  // '.' matches newline by default
  EXPECT_EQ(V("regexp_like", {S("a\nb"), S("a.b"), S("n")}), B(false));
  EXPECT_EQ(V("regexp_like", {S("x\nab"), S("^ab"), S("n")}), B(true));
  EXPECT_TRUE(V("regexp_like", {Null(types::Utf8()), S("a")}).is_null());
  EXPECT_EQ(V("~", {S("foobar"), S("o+b")}), B(true));
  EXPECT_EQ(V("~*", {S("FOOBAR"), S("o+b")}), B(true));
  EXPECT_EQ(V("!~", {S("foobar"), S("^b")}), B(true));
}

TEST(RegexFunctionsTest, InvalidPatternIsABindError) {
  BindInput in;
  in.types = {types::Utf8(), types::Utf8()};
  in.constants = {std::nullopt, Value::String("(")};
  auto fn = FunctionRegistry::Get().Bind("regexp_like", in);
  ASSERT_FALSE(fn.ok());
  EXPECT_EQ(fn.status().message().rfind("invalid regular expression '(': missing )", 0), 0u)
      << fn.status().message();
  EXPECT_EQ(fn.status().kind(), ErrorKind::kUser);
  // Per-row patterns fail in the kernel with the same message.
  auto out = RunKernel("regexp_like", {TextColumn({"a"}), TextColumn({"a["})});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("invalid regular expression 'a['"), std::string::npos);
  EXPECT_NE(
      Error("regexp_like", {S("a"), S("a"), S("z")}).find("invalid regular expression option"),
      std::string::npos);
}

TEST(RegexFunctionsTest, Match) {
  EXPECT_EQ(V("regexp_match", {S("foobarbequebaz"), S("(bar)(beque)")}), Texts({"bar", "beque"}));
  EXPECT_EQ(V("regexp_match", {S("foobarbequebaz"), S("barbeque")}), Texts({"barbeque"}));
  EXPECT_TRUE(V("regexp_match", {S("abc"), S("x")}).is_null());
  EXPECT_EQ(V("regexp_match", {S("ab"), S("(a)|(z)")}), Texts({"a", std::nullopt}));
  EXPECT_EQ(V("regexp_match", {S("ABC"), S("b(c)"), S("i")}), Texts({"C"}));
  EXPECT_NE(Error("regexp_match", {S("a"), S("a"), S("g")}).find("global"), std::string::npos);
}

TEST(RegexFunctionsTest, Replace) {
  EXPECT_EQ(Str("regexp_replace", {S("Thomas"), S(".[mN]a."), S("M")}), "ThM");
  EXPECT_EQ(Str("regexp_replace", {S("foobarbaz"), S("b(..)"), S("X\\1Y"), S("g")}), "fooXarYXazY");
  EXPECT_EQ(Str("regexp_replace", {S("aaa"), S("a"), S("b")}), "baa");
  EXPECT_EQ(Str("regexp_replace", {S("aaa"), S("A"), S("b"), S("gi")}), "bbb");
  EXPECT_EQ(Str("regexp_replace", {S("abc"), S("x*"), S("-"), S("g")}), "-a-b-c-");
  EXPECT_EQ(Str("regexp_replace", {S("abc"), S("b"), S("[\\&]")}), "a[b]c");
  EXPECT_EQ(Str("regexp_replace", {S("abc"), S("(b)"), S("\\2\\\\")}), "a\\c");
  EXPECT_EQ(Str("regexp_replace", {S("héllo"), S("."), S("*"), S("g")}), "*****");
}

TEST(RegexFunctionsTest, CountAndSplit) {
  EXPECT_EQ(V("regexp_count", {S("ABCABCAXYaxy"), S("A.")}), I32(3));
  EXPECT_EQ(V("regexp_count", {S("ABCABCAXYaxy"), S("A."), I(1), S("i")}), I32(4));
  EXPECT_EQ(V("regexp_count", {S("ABCABC"), S("A"), I(2)}), I32(1));
  EXPECT_EQ(V("regexp_split_to_array", {S("hello   world"), S("\\s+")}), Texts({"hello", "world"}));
  EXPECT_EQ(V("regexp_split_to_array", {S("abc"), S("")}), Texts({"a", "b", "c"}));
  EXPECT_EQ(V("regexp_split_to_array", {S(",a,"), S(",")}), Texts({"", "a", ""}));
}

TEST(RegexFunctionsTest, PerRowPatternsAreCompiledPerDistinctValue) {
  auto out = RunKernel("regexp_like", {TextColumn({"abc", "abc", "xyz", std::nullopt, "xyz"}),
                                       TextColumn({"^a", "^a", "^a", "(", "z$"})});
  ASSERT_TRUE(out.ok()) << out.status().ToString();  // the NULL row's bad pattern is not read
  EXPECT_EQ(Render(*out), (std::vector<std::string>{"true", "true", "false", "NULL", "true"}));
}

// ---------------------------------------------------------------------------------------------
// Date and time

TEST(DatetimeFunctionsTest, DateTrunc) {
  Value ts = Ts(2023, 10, 9, 17, 13, 40, 123456);
  EXPECT_EQ(V("date_trunc", {S("hour"), ts}), Ts(2023, 10, 9, 17));
  EXPECT_EQ(V("date_trunc", {S("HOUR"), ts}), Ts(2023, 10, 9, 17));
  EXPECT_EQ(V("date_trunc", {S("minute"), ts}), Ts(2023, 10, 9, 17, 13));
  EXPECT_EQ(V("date_trunc", {S("second"), ts}), Ts(2023, 10, 9, 17, 13, 40));
  EXPECT_EQ(V("date_trunc", {S("milliseconds"), ts}), Ts(2023, 10, 9, 17, 13, 40, 123000));
  EXPECT_EQ(V("date_trunc", {S("microseconds"), ts}), ts);
  EXPECT_EQ(V("date_trunc", {S("day"), ts}), Ts(2023, 10, 9));
  EXPECT_EQ(V("date_trunc", {S("week"), ts}), Ts(2023, 10, 9));                    // a Monday
  EXPECT_EQ(V("date_trunc", {S("week"), Ts(2023, 10, 15, 23)}), Ts(2023, 10, 9));  // Sunday
  EXPECT_EQ(V("date_trunc", {S("month"), ts}), Ts(2023, 10, 1));
  EXPECT_EQ(V("date_trunc", {S("quarter"), Ts(2023, 8, 20)}), Ts(2023, 7, 1));
  EXPECT_EQ(V("date_trunc", {S("year"), ts}), Ts(2023, 1, 1));
  EXPECT_EQ(V("date_trunc", {S("decade"), ts}), Ts(2020, 1, 1));
  EXPECT_EQ(V("date_trunc", {S("century"), ts}), Ts(2001, 1, 1));
  EXPECT_EQ(V("date_trunc", {S("century"), Ts(2000, 6, 1)}), Ts(1901, 1, 1));
  EXPECT_EQ(V("date_trunc", {S("millennium"), ts}), Ts(2001, 1, 1));
  EXPECT_EQ(V("date_trunc", {S("day"), Ts(1969, 12, 31, 23)}), Ts(1969, 12, 31));
  EXPECT_EQ(V("date_trunc", {S("month"), Date(2023, 10, 9)}), Ts(2023, 10, 1));
  EXPECT_TRUE(V("date_trunc", {S("day"), Null(types::Timestamp())}).is_null());
  EXPECT_EQ(Error("date_trunc", {S("fortnight"), ts})
                .rfind("unit 'fortnight' not recognized for date_trunc; expected one of", 0),
            0u);
}

TEST(DatetimeFunctionsTest, DatePartOfTimestamp) {
  Value ts = Ts(2023, 10, 9, 17, 13, 40, 500000);  // a Monday
  EXPECT_EQ(Dbl("date_part", {S("year"), ts}), 2023);
  EXPECT_EQ(Dbl("date_part", {S("month"), ts}), 10);
  EXPECT_EQ(Dbl("date_part", {S("day"), ts}), 9);
  EXPECT_EQ(Dbl("date_part", {S("hour"), ts}), 17);
  EXPECT_EQ(Dbl("date_part", {S("minute"), ts}), 13);
  EXPECT_EQ(Dbl("date_part", {S("second"), ts}), 40.5);
  EXPECT_EQ(Dbl("date_part", {S("milliseconds"), ts}), 40500);
  EXPECT_EQ(Dbl("date_part", {S("microsecond"), ts}), 40500000);
  EXPECT_EQ(Dbl("date_part", {S("dow"), ts}), 1);
  EXPECT_EQ(Dbl("date_part", {S("dow"), Ts(2023, 10, 15)}), 0);
  EXPECT_EQ(Dbl("date_part", {S("isodow"), Ts(2023, 10, 15)}), 7);
  EXPECT_EQ(Dbl("date_part", {S("doy"), ts}), 282);
  EXPECT_EQ(Dbl("date_part", {S("week"), ts}), 41);
  EXPECT_EQ(Dbl("date_part", {S("week"), Ts(2021, 1, 3)}), 53);  // ISO week of 2020
  EXPECT_EQ(Dbl("date_part", {S("isoyear"), Ts(2021, 1, 3)}), 2020);
  EXPECT_EQ(Dbl("date_part", {S("quarter"), ts}), 4);
  EXPECT_EQ(Dbl("date_part", {S("epoch"), ts}), 1696871620.5);
  EXPECT_EQ(Dbl("date_part", {S("epoch"), Ts(1969, 12, 31, 23, 59, 59, 500000)}), -0.5);
  EXPECT_EQ(Dbl("date_part", {S("decade"), ts}), 202);
  EXPECT_EQ(Dbl("date_part", {S("century"), ts}), 21);
  EXPECT_EQ(Dbl("date_part", {S("millennium"), ts}), 3);
  EXPECT_EQ(Dbl("date_part", {S("year"), Ts(0, 6, 1)}), -1);  // 1 BC
  EXPECT_EQ(Dbl("date_part", {S("day"), Date(2024, 2, 29)}), 29);
  EXPECT_NE(Error("date_part", {S("fortnight"), ts}).find("not recognized for date_part"),
            std::string::npos);
}

TEST(DatetimeFunctionsTest, DatePartOfIntervalAndTime) {
  Value iv = Iv(14, 3, 2 * 3600000000LL + 5 * 60000000LL + 7500000);  // 1 y 2 mon 3 d 02:05:07.5
  EXPECT_EQ(Dbl("date_part", {S("year"), iv}), 1);
  EXPECT_EQ(Dbl("date_part", {S("month"), iv}), 2);
  EXPECT_EQ(Dbl("date_part", {S("day"), iv}), 3);
  EXPECT_EQ(Dbl("date_part", {S("hour"), iv}), 2);
  EXPECT_EQ(Dbl("date_part", {S("minute"), iv}), 5);
  EXPECT_EQ(Dbl("date_part", {S("second"), iv}), 7.5);
  EXPECT_EQ(Dbl("date_part", {S("epoch"), Iv(0, 1, 7200000000LL)}), 93600);
  EXPECT_EQ(Dbl("date_part", {S("epoch"), Iv(12, 0, 0)}), 365.25 * 86400);
  EXPECT_NE(Error("date_part", {S("dow"), iv}).find("not supported for type interval"),
            std::string::npos);
  Value t = Value::Time(17 * 3600000000LL + 13 * 60000000LL + 40250000);
  EXPECT_EQ(Dbl("date_part", {S("hour"), t}), 17);
  EXPECT_EQ(Dbl("date_part", {S("second"), t}), 40.25);
  EXPECT_NE(Error("date_part", {S("day"), t}).find("not supported for type time"),
            std::string::npos);
}

TEST(DatetimeFunctionsTest, ToTimestampFromEpoch) {
  EXPECT_EQ(V("to_timestamp", {D(1696871620.5)}), Ts(2023, 10, 9, 17, 13, 40, 500000));
  EXPECT_EQ(V("to_timestamp", {I(0)}), Ts(1970, 1, 1));
  EXPECT_EQ(V("to_timestamp", {D(-1.5)}), Ts(1969, 12, 31, 23, 59, 58, 500000));
  EXPECT_NE(Error("to_timestamp", {D(std::nan(""))}).find("NaN"), std::string::npos);
  EXPECT_NE(Error("to_timestamp", {D(1e300)}).find("out of range"), std::string::npos);
}

TEST(DatetimeFunctionsTest, ToTimestampWithFormat) {
  EXPECT_EQ(V("to_timestamp", {S("2023-10-09 17:13:40"), S("YYYY-MM-DD HH24:MI:SS")}),
            Ts(2023, 10, 9, 17, 13, 40));
  EXPECT_EQ(V("to_timestamp", {S("09 Oct 2023 05:13 PM"), S("DD Mon YYYY HH12:MI AM")}),
            Ts(2023, 10, 9, 17, 13));
  EXPECT_EQ(V("to_timestamp", {S("12:30 am"), S("HH:MI am")}), Ts(1, 1, 1, 0, 30));
  EXPECT_EQ(V("to_timestamp", {S("20231009"), S("YYYYMMDD")}), Ts(2023, 10, 9));
  EXPECT_EQ(V("to_timestamp", {S("2023-10-09 17:13:40.123456"), S("YYYY-MM-DD HH24:MI:SS.US")}),
            Ts(2023, 10, 9, 17, 13, 40, 123456));
  EXPECT_EQ(V("to_timestamp", {S("12.3"), S("SS.MS")}), Ts(1, 1, 1, 0, 0, 12, 300000));
  EXPECT_EQ(V("to_timestamp", {S("October 9, 95"), S("Month DD, YY")}), Ts(1995, 10, 9));
  EXPECT_EQ(V("to_timestamp", {S("2023-10-09T17:13"), S("YYYY-MM-DD\"T\"HH24:MI")}),
            Ts(2023, 10, 9, 17, 13));
  EXPECT_EQ(V("to_date", {S("2023/10/09"), S("YYYY/MM/DD")}), Date(2023, 10, 9));
  EXPECT_NE(Error("to_timestamp", {S("2023-13-01"), S("YYYY-MM-DD")}).find("out of range"),
            std::string::npos);
  EXPECT_NE(Error("to_timestamp", {S("2023-02-30"), S("YYYY-MM-DD")}).find("out of range"),
            std::string::npos);
  EXPECT_NE(Error("to_timestamp", {S("15:00"), S("HH12:MI")}).find("12-hour clock"),
            std::string::npos);
  EXPECT_NE(Error("to_timestamp", {S("xx-10"), S("YYYY-MM")})
                .find("invalid value \"xx-10\" for "
                      "\"YYYY\""),
            std::string::npos);
}

TEST(DatetimeFunctionsTest, ToChar) {
  Value ts = Ts(2023, 10, 9, 17, 3, 40, 123456);
  EXPECT_EQ(Str("to_char", {ts, S("YYYY-MM-DD HH24:MI:SS")}), "2023-10-09 17:03:40");
  EXPECT_EQ(Str("to_char", {ts, S("Day, DD Month YYYY")}), "Monday   , 09 October   2023");
  EXPECT_EQ(Str("to_char", {ts, S("FMDay, FMDDth FMMonth YYYY")}), "Monday, 9th October 2023");
  EXPECT_EQ(Str("to_char", {ts, S("HH12:MI AM / hh:mi p.m.")}), "05:03 PM / 05:03 p.m.");
  EXPECT_EQ(Str("to_char", {ts, S("Mon MON mon Dy DY")}), "Oct OCT oct Mon MON");
  EXPECT_EQ(Str("to_char", {ts, S("MS US FF2")}), "123 123456 12");
  EXPECT_EQ(Str("to_char", {ts, S("Q DDD IW WW D ID CC J")}), "4 282 41 41 2 1 21 2460227");
  EXPECT_EQ(Str("to_char", {ts, S("\"Quarter\" Q, Y,YYY")}), "Quarter 4, 2,023");
  EXPECT_EQ(Str("to_char", {ts, S("DDth DDTH RM")}), "09th 09TH X   ");
  EXPECT_EQ(Str("to_char", {Ts(2023, 1, 2), S("FMDDth FMMMth")}), "2nd 1st");
  EXPECT_EQ(Str("to_char", {Date(2024, 2, 29), S("YYYY-MM-DD")}), "2024-02-29");
  EXPECT_TRUE(V("to_char", {Null(types::Timestamp()), S("YYYY")}).is_null());
}

TEST(DatetimeFunctionsTest, NowIsOneReadingPerBatch) {
  BoundFunction fn;
  ASSERT_TRUE(RunKernel("now", {}, {}, &fn).ok());
  EXPECT_FALSE(fn.deterministic);
  EXPECT_EQ(fn.return_type, types::Timestamp());
  ColumnPtr col;
  int64_t before = Now().value;
  ASSERT_TRUE(fn.kernel(fn, {}, 50, &col).ok());
  int64_t after = Now().value;
  for (int i = 0; i < 50; ++i) EXPECT_EQ(col->raw<int64_t>()[i], col->raw<int64_t>()[0]);
  EXPECT_GE(col->raw<int64_t>()[0], before);
  EXPECT_LE(col->raw<int64_t>()[0], after);
  BoundFunction date;
  auto today = RunKernel("current_date", {}, {}, &date);
  ASSERT_TRUE(today.ok());
  EXPECT_FALSE(date.deterministic);
  EXPECT_EQ((*today)->type.id(), TypeId::kDate);
  EXPECT_NEAR((*today)->raw<int32_t>()[0], before / 86400000000LL, 1);
}

TEST(DatetimeFunctionsTest, AddIntervalClampsMonthEnds) {
  auto add = [](Value ts, Interval iv, int sign) {
    auto r = AddInterval(ts.int_value(), iv, sign);
    EXPECT_TRUE(r.ok());
    return r.ok() ? Value::Timestamp(*r) : Value();
  };
  EXPECT_EQ(add(Ts(2023, 1, 31, 10), {1, 0, 0}, 1), Ts(2023, 2, 28, 10));
  EXPECT_EQ(add(Ts(2024, 1, 31), {1, 0, 0}, 1), Ts(2024, 2, 29));
  EXPECT_EQ(add(Ts(2023, 3, 31), {1, 0, 0}, -1), Ts(2023, 2, 28));
  EXPECT_EQ(add(Ts(2023, 12, 15), {13, 0, 0}, 1), Ts(2025, 1, 15));
  EXPECT_EQ(add(Ts(2023, 1, 15), {1, 0, 0}, -1), Ts(2022, 12, 15));
  EXPECT_EQ(add(Ts(2023, 10, 9, 17), {0, 1, 2 * 3600000000LL}, 1), Ts(2023, 10, 10, 19));
  EXPECT_EQ(add(Ts(2023, 10, 9, 17), {0, 1, 2 * 3600000000LL}, -1), Ts(2023, 10, 8, 15));
  EXPECT_EQ(add(Ts(1969, 12, 31, 23, 30), {0, 0, 3600000000LL}, 1), Ts(1970, 1, 1, 0, 30));
  auto overflow = AddInterval(INT64_MAX - 10, Interval{0, 1, 0}, 1);
  ASSERT_FALSE(overflow.ok());
  EXPECT_EQ(overflow.status().message(), "timestamp out of range");
  EXPECT_FALSE(AddInterval(0, Interval{0, 0, INT64_MIN}, -1).ok());
  auto diff = TimestampDifference(Micros(2023, 10, 10, 19), Micros(2023, 10, 9, 17));
  ASSERT_TRUE(diff.ok());
  EXPECT_EQ(*diff, (Interval{0, 1, 2 * 3600000000LL}));
  EXPECT_EQ(*TimestampDifference(Micros(2023, 10, 9, 17), Micros(2023, 10, 10, 19)),
            (Interval{0, -1, -2 * 3600000000LL}));
}

TEST(DatetimeFunctionsTest, ConstructorsAndBinning) {
  EXPECT_EQ(V("make_date", {I(2023), I(10), I(9)}), Date(2023, 10, 9));
  EXPECT_NE(Error("make_date", {I(2023), I(2), I(30)}).find("out of range"), std::string::npos);
  EXPECT_EQ(V("make_timestamp", {I(2023), I(10), I(9), I(17), I(13), D(40.5)}),
            Ts(2023, 10, 9, 17, 13, 40, 500000));
  EXPECT_EQ(V("make_interval", {I(1), I(2), I(1), I(3)}), Iv(14, 10, 0));
  EXPECT_EQ(V("date_bin", {Iv(0, 0, 15 * 60000000LL), Ts(2023, 10, 9, 17, 13, 40)}),
            Ts(2023, 10, 9, 17));
  EXPECT_EQ(V("date_bin", {Iv(0, 0, 15 * 60000000LL), Ts(1969, 12, 31, 23, 59)}),
            Ts(1969, 12, 31, 23, 45));
  EXPECT_NE(Error("date_bin", {Iv(1, 0, 0), Ts(2023, 1, 1)}).find("months"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// JSON

TEST(JsonFunctionsTest, GetByPath) {
  std::string doc = R"({"a": {"b": "x", "n": 42, "f": 1.5, "t": true, "arr": [1, 2, 3]}})";
  EXPECT_EQ(Str("json_get_str", {S(doc), S("a"), S("b")}), "x");
  EXPECT_EQ(Str("json_get_str", {J(doc), S("a"), S("n")}), "<null>");  // not a string
  EXPECT_EQ(V("json_get_int", {S(doc), S("a"), S("n")}), I(42));
  EXPECT_EQ(V("json_get_int", {S(doc), S("a"), S("arr"), I(1)}), I(2));
  EXPECT_EQ(V("json_get_int", {S(doc), S("a"), S("arr"), I(-1)}), I(3));
  EXPECT_TRUE(V("json_get_int", {S(doc), S("a"), S("f")}).is_null());
  EXPECT_TRUE(V("json_get_int", {S(doc), S("a"), S("arr"), I(3)}).is_null());
  EXPECT_EQ(Dbl("json_get_float", {S(doc), S("a"), S("f")}), 1.5);
  EXPECT_EQ(Dbl("json_get_float", {S(doc), S("a"), S("n")}), 42);
  EXPECT_EQ(V("json_get_bool", {S(doc), S("a"), S("t")}), B(true));
  EXPECT_EQ(Str("json_get_json", {S(doc), S("a"), S("arr")}), "[1,2,3]");
  EXPECT_EQ(Str("json_get_json", {S(R"({"a": {"b": [1, "x"]}})"), S("a")}), R"({"b":[1,"x"]})");
  EXPECT_EQ(V("json_get_json", {S(doc), S("a")}).type().id(), TypeId::kJson);
  EXPECT_EQ(Str("json_get_str", {S("\"top\"")}), "top");
}

TEST(JsonFunctionsTest, InvalidJsonIsNull) {
  EXPECT_TRUE(V("json_get_str", {S("{not json"), S("a")}).is_null());
  EXPECT_TRUE(V("json_get_int", {S(""), S("a")}).is_null());
  EXPECT_TRUE(V("->", {S("[1,"), I(0)}).is_null());
  EXPECT_TRUE(V("extract_json", {S("nope"), S("$.a")}).is_null());
  auto out =
      RunKernel("json_get_int", {TextColumn({R"({"a":1})", "garbage", std::nullopt, R"({"a":2})"}),
                                 TextColumn({"a", "a", "a", "a"})});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(Render(*out), (std::vector<std::string>{"1", "NULL", "NULL", "2"}));
}

TEST(JsonFunctionsTest, ArrowOperators) {
  std::string doc = R"({"a": {"b": 1}, "s": "x", "n": null, "l": [10, "y"]})";
  EXPECT_EQ(Str("->", {S(doc), S("a")}), R"({"b":1})");
  EXPECT_EQ(Str("->", {S(doc), S("s")}), "\"x\"");
  EXPECT_EQ(Str("->", {S(doc), S("n")}), "null");
  EXPECT_EQ(Str("->>", {S(doc), S("s")}), "x");
  EXPECT_TRUE(V("->>", {S(doc), S("n")}).is_null());
  EXPECT_EQ(Str("->>", {S(doc), S("l")}), R"([10,"y"])");
  EXPECT_EQ(Str("->>", {S(R"([10, "y"])"), I32(1)}), "y");
  EXPECT_EQ(Str("->", {S(R"([10, "y"])"), I(0)}), "10");
  EXPECT_TRUE(V("->", {S(doc), S("missing")}).is_null());
  EXPECT_TRUE(V("->", {S(doc), I(0)}).is_null());  // an index into an object
  EXPECT_FALSE(Eval("->", {S(doc), S("a"), S("b")}).ok());
}

TEST(JsonFunctionsTest, ExtractJsonPaths) {
  std::string doc = R"({"a": [{"b": 1}, {"b": "two", "c": {"b": false}}], "k y": 5})";
  auto json_list = [](std::vector<std::string> items) {
    std::vector<Value> v;
    for (auto& s : items) v.push_back(J(s));
    return List(DataType(TypeId::kJson), std::move(v));
  };
  EXPECT_EQ(V("extract_json", {S(doc), S("$.a[*].b")}), json_list({"1", "\"two\""}));
  EXPECT_EQ(V("extract_json", {S(doc), S("$.a[0]")}), json_list({R"({"b":1})"}));
  EXPECT_EQ(V("extract_json", {S(doc), S("$['a'][-1].c.b")}), json_list({"false"}));
  EXPECT_EQ(V("extract_json", {S(doc), S("$[\"k y\"]")}), json_list({"5"}));
  EXPECT_EQ(V("extract_json", {S(doc), S("$..b")}), json_list({"1", "\"two\"", "false"}));
  EXPECT_EQ(V("extract_json", {S(doc), S("$.missing")}), json_list({}));
  EXPECT_EQ(V("extract_json", {S(doc), S("$")}).children().size(), 1u);
  EXPECT_EQ(Str("extract_json_string", {S(doc), S("$.a[1].b")}), "two");
  EXPECT_EQ(Str("extract_json_string", {S(doc), S("$.a[0].b")}), "1");
  EXPECT_EQ(Str("extract_json_string", {S(doc), S("$.a[5]")}), "<null>");
  EXPECT_NE(Error("extract_json", {S(doc), S("$.a[")}).find("invalid JSON path '$.a['"),
            std::string::npos);
  EXPECT_NE(Error("extract_json_string", {S(doc), S("a.b")}).find("expected '$'"),
            std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Hashes

TEST(HashFunctionsTest, Digests) {
  EXPECT_EQ(Str("md5", {S("abc")}), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(Str("md5", {S("")}), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(Str("sha256", {S("abc")}),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Str("sha256", {Value::Bytes(DataType(TypeId::kBinary), "abc")}),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Str("sha224", {S("abc")}), "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7");
  EXPECT_EQ(
      Str("sha384", {S("abc")}),
      "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca1"
      "34c825a7");
  EXPECT_EQ(
      Str("sha512", {S("abc")}),
      "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23"
      "a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
  auto out = RunKernel("md5", {TextColumn({"abc", std::nullopt, ""})});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(Render(*out), (std::vector<std::string>{"'900150983cd24fb0d6963f7d28e17f72'", "NULL",
                                                    "'d41d8cd98f00b204e9800998ecf8427e'"}));
}

// ---------------------------------------------------------------------------------------------
// Arrays

Value Ints(std::vector<std::optional<int64_t>> items) {
  std::vector<Value> v;
  for (auto& x : items) v.push_back(x ? I(*x) : Null(types::Int64()));
  return List(types::Int64(), std::move(v));
}

TEST(ArrayFunctionsTest, MakeArray) {
  EXPECT_EQ(V("make_array", {I(1), I(2), Null(types::Int64())}), Ints({1, 2, std::nullopt}));
  Value mixed = V("make_array", {I32(1), D(2.5)});
  EXPECT_EQ(mixed.type(), DataType::List(types::Float64()));
  EXPECT_EQ(mixed.children()[0], D(1));
  EXPECT_EQ(V("make_array", {S("a"), Value()}), Texts({"a", std::nullopt}));
  EXPECT_FALSE(Eval("make_array", {}).ok());
}

TEST(ArrayFunctionsTest, Sizes) {
  EXPECT_EQ(V("cardinality", {Ints({1, 2, 3})}), I32(3));
  EXPECT_EQ(V("cardinality", {Ints({})}), I32(0));
  EXPECT_EQ(V("array_length", {Ints({1, 2, 3}), I(1)}), I32(3));
  EXPECT_TRUE(V("array_length", {Ints({1, 2, 3}), I(2)}).is_null());
  EXPECT_TRUE(V("array_length", {Ints({}), I(1)}).is_null());
  EXPECT_TRUE(V("cardinality", {Null(DataType::List(types::Int64()))}).is_null());
  EXPECT_EQ(V("array_upper", {Ints({1, 2}), I(1)}), I32(2));
  EXPECT_EQ(V("array_lower", {Ints({1, 2}), I(1)}), I32(1));
}

TEST(ArrayFunctionsTest, ArrayToStringAndBack) {
  EXPECT_EQ(Str("array_to_string", {Ints({1, std::nullopt, 3}), S(",")}), "1,3");
  EXPECT_EQ(Str("array_to_string", {Ints({1, std::nullopt, 3}), S(","), S("*")}), "1,*,3");
  EXPECT_EQ(Str("array_to_string", {Texts({"a", "b"}), S(" - ")}), "a - b");
  EXPECT_EQ(Str("array_to_string", {Ints({}), S(",")}), "");
  EXPECT_EQ(V("string_to_array", {S("a,b,,c"), S(",")}), Texts({"a", "b", "", "c"}));
  EXPECT_EQ(V("string_to_array", {S("a,b,,c"), S(","), S("")}),
            Texts({"a", "b", std::nullopt, "c"}));
  EXPECT_EQ(V("string_to_array", {S("añ"), Null(types::Utf8())}), Texts({"a", "ñ"}));
  EXPECT_EQ(V("string_to_array", {S(""), S(",")}), Texts({}));
}

TEST(ArrayFunctionsTest, Searching) {
  EXPECT_EQ(V("array_contains", {Ints({1, 2, 3}), I(2)}), B(true));
  EXPECT_EQ(V("array_has", {Ints({1, std::nullopt}), I(5)}), B(false));
  EXPECT_EQ(V("array_contains", {Ints({1, 2, 3}), I32(3)}), B(true));
  EXPECT_TRUE(V("array_contains", {Ints({1}), Null(types::Int64())}).is_null());
  EXPECT_EQ(V("array_contains", {Texts({"x", "y"}), S("y")}), B(true));
  EXPECT_EQ(V("array_position", {Texts({"a", "b", "c", "b"}), S("b")}), I32(2));
  EXPECT_EQ(V("array_position", {Texts({"a", "b", "c", "b"}), S("b"), I(3)}), I32(4));
  EXPECT_TRUE(V("array_position", {Texts({"a"}), S("z")}).is_null());
  EXPECT_EQ(V("array_position", {Ints({1, std::nullopt}), Null(types::Int64())}), I32(2));
}

TEST(ArrayFunctionsTest, Building) {
  EXPECT_EQ(V("array_append", {Ints({1, 2}), I(3)}), Ints({1, 2, 3}));
  EXPECT_EQ(V("array_append", {Null(DataType::List(types::Int64())), I(3)}), Ints({3}));
  EXPECT_EQ(V("array_prepend", {I(0), Ints({1})}), Ints({0, 1}));
  EXPECT_EQ(V("array_cat", {Ints({1}), Ints({2, 3})}), Ints({1, 2, 3}));
  EXPECT_EQ(V("array_remove", {Ints({1, 2, 1}), I(1)}), Ints({2}));
}

// ---------------------------------------------------------------------------------------------
// Conditional

TEST(ConditionalFunctionsTest, Coalesce) {
  EXPECT_EQ(V("coalesce", {Null(types::Int64()), I(2), I(3)}), I(2));
  EXPECT_TRUE(V("coalesce", {Null(types::Int64()), Null(types::Int64())}).is_null());
  EXPECT_EQ(V("coalesce", {I32(1), I(2)}), I(1));  // common super type BIGINT
  EXPECT_EQ(V("coalesce", {Value(), S("x")}), S("x"));
  auto out = RunKernel("coalesce", {TextColumn({std::nullopt, "a", std::nullopt}),
                                    TextColumn({"b", "c", std::nullopt})});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(Render(*out), (std::vector<std::string>{"'b'", "'a'", "NULL"}));
}

TEST(ConditionalFunctionsTest, NullIf) {
  EXPECT_TRUE(V("nullif", {I(1), I(1)}).is_null());
  EXPECT_EQ(V("nullif", {I(1), I(2)}), I(1));
  EXPECT_TRUE(V("nullif", {Null(types::Int64()), I(1)}).is_null());
  EXPECT_EQ(V("nullif", {S("a"), Null(types::Utf8())}), S("a"));
  EXPECT_TRUE(V("nullif", {D(std::nan("")), D(std::nan(""))}).is_null());
}

TEST(ConditionalFunctionsTest, GreatestLeast) {
  EXPECT_EQ(V("greatest", {I(1), I(5), I(3)}), I(5));
  EXPECT_EQ(V("greatest", {I(1), Null(types::Int64()), I(3)}), I(3));
  EXPECT_TRUE(V("greatest", {Null(types::Int64()), Null(types::Int64())}).is_null());
  EXPECT_EQ(V("least", {S("b"), S("a"), S("c")}), S("a"));
  EXPECT_EQ(V("greatest", {I32(1), D(2.5)}), D(2.5));
  EXPECT_TRUE(std::isnan(Dbl("greatest", {D(1), D(std::nan(""))})));  // NaN sorts highest
  EXPECT_EQ(V("least", {Ts(2023, 1, 1), Ts(2022, 1, 1)}), Ts(2022, 1, 1));
  EXPECT_EQ(V("greatest", {Iv(1, 0, 0), Iv(0, 31, 0)}), Iv(0, 31, 0));  // 31 days > 1 month
  EXPECT_FALSE(Eval("greatest", {Ints({1}), Ints({2})}).ok());
}

}  // namespace
}  // namespace sluice::expr
