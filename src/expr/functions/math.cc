// Math functions with PostgreSQL's names, result types and errors. Integer arguments keep an
// integer result where Postgres does (abs, mod); DECIMAL keeps DECIMAL for the functions
// Postgres defines on numeric (abs, ceil, floor, round, trunc, sign, mod); everything else
// computes in DOUBLE.

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <numbers>
#include <random>

#include "expr/functions/overload.h"
#include "expr/functions/row_loops.h"
#include "expr/kernel_util.h"

namespace sluice::expr {
namespace {

using types::int128_t;

const DataType kDouble = types::Float64();
const DataType kBigint = types::Int64();

// Calls fn(T{}) with the C++ type of an integer type id.
template <typename Fn>
decltype(auto) VisitIntegerType(TypeId id, Fn&& fn) {
  switch (id) {
    case TypeId::kInt8:
      return fn(int8_t{});
    case TypeId::kInt16:
      return fn(int16_t{});
    case TypeId::kInt32:
      return fn(int32_t{});
    case TypeId::kUInt8:
      return fn(uint8_t{});
    case TypeId::kUInt16:
      return fn(uint16_t{});
    case TypeId::kUInt32:
      return fn(uint32_t{});
    case TypeId::kUInt64:
      return fn(uint64_t{});
    default:
      return fn(int64_t{});
  }
}

int128_t Pow10(int n) {
  int128_t p = 1;
  for (int i = 0; i < n; ++i) p *= 10;
  return p;
}

std::string DecimalText(int128_t v, int scale) {
  return types::FormatDecimal(v, scale);
}

// ---------------------------------------------------------------------------------------------
// DOUBLE kernels.

// DOUBLE → DOUBLE without failure cases.
template <typename F>
Kernel DoubleKernel(F f) {
  return [f](const BoundFunction&, std::span<const ColumnPtr> args, int64_t,
             ColumnPtr* out) -> Status {
    *out = MapFixed<double, double>(args[0], kDouble, f);
    return Status::Ok();
  };
}

// DOUBLE → DOUBLE where `check(x)` names the problem with an input it rejects (nullptr: fine).
template <typename F, typename Check>
Kernel CheckedDoubleKernel(F f, Check check) {
  return [f, check](const BoundFunction& fn, std::span<const ColumnPtr> args, int64_t rows,
                    ColumnPtr* out) -> Status {
    const double* x = args[0]->raw<double>();
    auto op = [&](int64_t i, double* r) -> Status {
      if (const char* problem = check(x[i])) {
        return Status::User("{}(): {}: {}", fn.name, problem, x[i]);
      }
      *r = f(x[i]);
      return Status::Ok();
    };
    return StoreResult(MapFixedRows<double>(args, rows, kDouble, op), out);
  };
}

// (DOUBLE, DOUBLE) → DOUBLE where `f(x, y, &r)` returns an error message or nullptr.
template <typename F>
Kernel CheckedDoubleKernel2(F f) {
  return [f](const BoundFunction& fn, std::span<const ColumnPtr> args, int64_t rows,
             ColumnPtr* out) -> Status {
    const double* x = args[0]->raw<double>();
    const double* y = args[1]->raw<double>();
    auto op = [&](int64_t i, double* r) -> Status {
      if (const char* problem = f(x[i], y[i], r)) {
        return Status::User("{}(): {}: {}({}, {})", fn.name, problem, fn.name, x[i], y[i]);
      }
      return Status::Ok();
    };
    return StoreResult(MapFixedRows<double>(args, rows, kDouble, op), out);
  };
}

BindFn DoubleFunction(Kernel kernel) {
  return FixedSignature({kDouble}, kDouble, kernel);
}

const char* CheckLogArgument(double x) {
  if (x == 0) return "cannot take logarithm of zero";
  if (x < 0) return "cannot take logarithm of a negative number";
  return nullptr;
}

const char* CheckFiniteArgument(double x) {
  return std::isinf(x) ? "input is out of range" : nullptr;
}

const char* CheckUnitRange(double x) {
  return (x < -1 || x > 1) ? "input is out of range" : nullptr;
}

// Rounds (or truncates) x to n decimal digits the way PostgreSQL's numeric does for
// round(x::numeric, n): on the 15-significant-digit decimal form of x, so round(2.675, 2) is
// 2.68 and trunc(2.3, 2) is 2.3 although neither value is exact in binary.
double RoundToDigits(double x, int64_t n, bool truncate) {
  if (!std::isfinite(x) || x == 0) return x;
  n = std::clamp<int64_t>(n, -400, 400);  // beyond double's exponent range either way
  if (n >= -22 && n <= 22) {
    // Fast path: scale, round, unscale, unless the scaled value sits so close to a rounding
    // boundary that binary representation error could decide it.
    double p = std::pow(10.0, static_cast<double>(n < 0 ? -n : n));
    double y = n >= 0 ? x * p : x / p;
    if (std::fabs(y) >= 4503599627370496.0) return x;  // 2^52: no fractional digits left
    double frac = std::fabs(y) - std::floor(std::fabs(y));
    bool near_boundary = truncate ? (frac < 1e-6 || frac > 1 - 1e-6) : std::fabs(frac - 0.5) < 1e-6;
    if (!near_boundary) {
      double r = truncate ? std::trunc(y) : std::round(y);
      return n >= 0 ? r / p : r * p;
    }
  }
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.14e", std::fabs(x));  // d.dddddddddddddde±XX
  char digits[15];
  digits[0] = buf[0];
  for (int i = 0; i < 14; ++i) digits[i + 1] = buf[i + 2];
  int64_t exponent = std::strtol(buf + 17, nullptr, 10);
  // Digit k has place value 10^(exponent - k); keep those at or above 10^-n.
  int64_t keep = exponent + n + 1;
  if (keep >= 15) return x;
  int64_t kept = 0;
  for (int64_t k = 0; k < keep; ++k) kept = kept * 10 + (digits[k] - '0');
  if (keep < 0) {
    kept = 0;
  } else if (!truncate && digits[keep] >= '5') {
    ++kept;
  }
  double r = static_cast<double>(kept);
  if (n >= 0) {
    r = n <= 22 ? r / std::pow(10.0, static_cast<double>(n))
                : std::strtod(fmt::format("{}e-{}", kept, n).c_str(), nullptr);
  } else {
    r = r * std::pow(10.0, static_cast<double>(-n));
  }
  return std::signbit(x) ? -r : r;
}

// ---------------------------------------------------------------------------------------------
// Binders.

// abs keeps the argument's type: integers (with an overflow error on the minimum value),
// floats and decimals.
Result<BoundFunction> BindAbs(const BindInput& in) {
  if (in.types.size() != 1 || !(in.types[0].is_numeric() || ConvertsTo(in.types[0], kDouble))) {
    return NoMatchingSignature(in.name, in, "(numeric type)");
  }
  DataType t = in.types[0];
  if (!t.is_numeric()) t = kDouble;
  BoundFunction fn;
  fn.arg_types = {t};
  fn.return_type = t;
  if (t.id() == TypeId::kDecimal) {
    fn.kernel = [](const BoundFunction& f, std::span<const ColumnPtr> args, int64_t,
                   ColumnPtr* out) -> Status {
      *out = MapFixed<int128_t, int128_t>(args[0], f.return_type,
                                          [](int128_t v) { return v < 0 ? -v : v; });
      return Status::Ok();
    };
  } else if (t.id() == TypeId::kFloat32) {
    fn.kernel = [](const BoundFunction& f, std::span<const ColumnPtr> args, int64_t,
                   ColumnPtr* out) -> Status {
      *out = MapFixed<float, float>(args[0], f.return_type, [](float v) { return std::fabs(v); });
      return Status::Ok();
    };
  } else if (t.id() == TypeId::kFloat64) {
    fn.kernel = DoubleKernel([](double v) { return std::fabs(v); });
  } else {
    fn.kernel = VisitIntegerType(t.id(), [](auto tag) -> Kernel {
      using T = decltype(tag);
      return [](const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                ColumnPtr* out) -> Status {
        const T* x = args[0]->raw<T>();
        auto op = [&](int64_t i, T* r) -> Status {
          if constexpr (std::is_signed_v<T>) {
            if (x[i] == std::numeric_limits<T>::min()) {
              return Status::User("abs(): {} out of range: abs({})", f.return_type.ToString(),
                                  static_cast<int64_t>(x[i]));
            }
            *r = x[i] < 0 ? static_cast<T>(-x[i]) : x[i];
          } else {
            *r = x[i];
          }
          return Status::Ok();
        };
        return StoreResult(MapFixedRows<T>(args, rows, f.return_type, op), out);
      };
    });
  }
  return fn;
}

enum class Rounding { kCeil, kFloor, kRound, kTrunc };

// Rounds a scaled decimal value v to `drop` fewer fractional digits, returning the value at the
// reduced scale.
int128_t RoundDecimal(int128_t v, int drop, Rounding mode) {
  if (drop <= 0) return v;
  if (drop > 38) {
    // Nothing survives except what ceil/floor/round push to one unit.
    if (v == 0 || mode == Rounding::kTrunc || mode == Rounding::kRound) return 0;
    if (mode == Rounding::kCeil) return v > 0 ? 1 : 0;
    return v < 0 ? -1 : 0;
  }
  int128_t f = Pow10(drop);
  int128_t q = v / f;
  int128_t r = v % f;
  switch (mode) {
    case Rounding::kCeil:
      return r > 0 ? q + 1 : q;
    case Rounding::kFloor:
      return r < 0 ? q - 1 : q;
    case Rounding::kRound: {
      int128_t ar = r < 0 ? -r : r;
      if (2 * ar >= f) return v < 0 ? q - 1 : q + 1;  // half away from zero, as numeric does
      return q;
    }
    case Rounding::kTrunc:
      return q;
  }
  return q;
}

// ceil/floor(x), round/trunc(x[, n]): DECIMAL stays DECIMAL, everything else is DOUBLE.
Result<BoundFunction> BindRounding(const BindInput& in, Rounding mode) {
  bool with_digits = mode == Rounding::kRound || mode == Rounding::kTrunc;
  size_t n = in.types.size();
  bool arity_ok = n == 1 || (with_digits && n == 2);
  bool ok = arity_ok && (in.types[0].id() == TypeId::kDecimal || ConvertsTo(in.types[0], kDouble));
  if (ok && n == 2) ok = ConvertsTo(in.types[1], kBigint);
  if (!ok) {
    return NoMatchingSignature(in.name, in,
                               with_digits ? "(DOUBLE), (DOUBLE, BIGINT), (DECIMAL) or "
                                             "(DECIMAL, BIGINT)"
                                           : "(DOUBLE) or (DECIMAL)");
  }
  BoundFunction fn;
  if (in.types[0].id() == TypeId::kDecimal) {
    const DataType& t = in.types[0];
    int p = t.precision();
    int s = t.scale();
    int out_scale = 0;
    if (n == 2) {
      out_scale = s;  // digits not known until run time: keep the input's scale
      const Value* digits = ConstantArg(in, 1);
      if (digits != nullptr && !digits->is_null()) {
        out_scale = static_cast<int>(std::clamp<int64_t>(digits->int_value(), 0, s));
      }
    }
    int out_precision = std::clamp(p - s + out_scale + 1, 1, 38);
    fn.arg_types = {t};
    if (n == 2) fn.arg_types.push_back(kBigint);
    fn.return_type = DataType::Decimal(out_precision, out_scale);
    fn.kernel = [mode, s, out_scale](const BoundFunction& f, std::span<const ColumnPtr> args,
                                     int64_t rows, ColumnPtr* out) -> Status {
      const int128_t* x = args[0]->raw<int128_t>();
      if (args.size() == 1) {
        *out = MapFixed<int128_t, int128_t>(args[0], f.return_type,
                                            [&](int128_t v) { return RoundDecimal(v, s, mode); });
        return Status::Ok();
      }
      const int64_t* digits = args[1]->raw<int64_t>();
      auto op = [&](int64_t i, int128_t* r) {
        // Round at 10^-digits, then express the result at the output scale.
        int64_t d = std::clamp<int64_t>(digits[i], -80, 80);
        int drop = static_cast<int>(s - d);
        if (drop <= 0) {
          *r = RoundDecimal(x[i], s - out_scale, mode);  // already no finer than requested
          return;
        }
        int128_t q = RoundDecimal(x[i], drop, mode);  // at scale d
        int up = static_cast<int>(out_scale - d);     // >= 0 since out_scale >= min(d, ...)
        *r = (up > 38 || q == 0) ? 0 : q * Pow10(up);
      };
      return StoreResult(MapFixedRows<int128_t>(args, rows, f.return_type, op), out);
    };
    return fn;
  }
  fn.arg_types = {kDouble};
  fn.return_type = kDouble;
  if (n == 2) {
    fn.arg_types.push_back(kBigint);
    bool truncate = mode == Rounding::kTrunc;
    fn.kernel = [truncate](const BoundFunction&, std::span<const ColumnPtr> args, int64_t,
                           ColumnPtr* out) -> Status {
      *out = MapFixed2<double, int64_t, double>(
          args[0], args[1], kDouble,
          [truncate](double x, int64_t d) { return RoundToDigits(x, d, truncate); });
      return Status::Ok();
    };
    return fn;
  }
  switch (mode) {
    case Rounding::kCeil:
      fn.kernel = DoubleKernel([](double x) { return std::ceil(x); });
      break;
    case Rounding::kFloor:
      fn.kernel = DoubleKernel([](double x) { return std::floor(x); });
      break;
    // Postgres rounds float8 with rint(): halves go to the even neighbour.
    case Rounding::kRound:
      fn.kernel = DoubleKernel([](double x) { return std::rint(x); });
      break;
    case Rounding::kTrunc:
      fn.kernel = DoubleKernel([](double x) { return std::trunc(x); });
      break;
  }
  return fn;
}

Result<BoundFunction> BindSign(const BindInput& in) {
  if (in.types.size() == 1 && in.types[0].id() == TypeId::kDecimal) {
    BoundFunction fn;
    fn.arg_types = {in.types[0]};
    fn.return_type = DataType::Decimal(1, 0);
    fn.kernel = [](const BoundFunction& f, std::span<const ColumnPtr> args, int64_t,
                   ColumnPtr* out) -> Status {
      *out = MapFixed<int128_t, int128_t>(args[0], f.return_type, [](int128_t v) -> int128_t {
        return v > 0 ? 1 : (v < 0 ? -1 : 0);
      });
      return Status::Ok();
    };
    return fn;
  }
  return FixedSignature({kDouble}, kDouble, DoubleKernel([](double x) {
                          return x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0);
                        }))(in);
}

// mod(a, b): integers stay in their common integer type, decimals in their common decimal
// type; the result has the dividend's sign, like Postgres.
Result<BoundFunction> BindMod(const BindInput& in) {
  auto bad = [&] {
    return NoMatchingSignature(in.name, in,
                               "(integer, integer) or (numeric, "
                               "numeric)");
  };
  if (in.types.size() != 2) return bad();
  auto common = CommonArgumentType(in);
  if (!common.ok()) return bad();
  DataType t = *common;
  if (t.id() == TypeId::kNull) t = types::Int32();
  if (!t.is_numeric()) {
    if (!ConvertsTo(t, kDouble)) return bad();
    t = kDouble;
  }
  BoundFunction fn;
  fn.arg_types = {t, t};
  fn.return_type = t;
  if (t.id() == TypeId::kDecimal) {
    fn.kernel = [](const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                   ColumnPtr* out) -> Status {
      const int128_t* a = args[0]->raw<int128_t>();
      const int128_t* b = args[1]->raw<int128_t>();
      auto op = [&](int64_t i, int128_t* r) -> Status {
        if (b[i] == 0) {
          return Status::User("mod(): division by zero: mod({}, 0)",
                              DecimalText(a[i], f.return_type.scale()));
        }
        *r = a[i] % b[i];
        return Status::Ok();
      };
      return StoreResult(MapFixedRows<int128_t>(args, rows, f.return_type, op), out);
    };
  } else if (t.is_floating()) {
    fn.arg_types = {kDouble, kDouble};
    fn.return_type = kDouble;
    fn.kernel = CheckedDoubleKernel2([](double a, double b, double* r) -> const char* {
      if (b == 0) return "division by zero";
      *r = std::fmod(a, b);
      return nullptr;
    });
  } else {
    fn.kernel = VisitIntegerType(t.id(), [](auto tag) -> Kernel {
      using T = decltype(tag);
      return [](const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                ColumnPtr* out) -> Status {
        const T* a = args[0]->raw<T>();
        const T* b = args[1]->raw<T>();
        auto op = [&](int64_t i, T* r) -> Status {
          if (b[i] == 0) {
            return Status::User("mod(): division by zero: mod({}, 0)", a[i]);
          }
          if constexpr (std::is_signed_v<T>) {
            if (b[i] == -1) {  // also avoids the overflow trap of MIN % -1
              *r = 0;
              return Status::Ok();
            }
          }
          *r = static_cast<T>(a[i] % b[i]);
          return Status::Ok();
        };
        return StoreResult(MapFixedRows<T>(args, rows, f.return_type, op), out);
      };
    });
  }
  return fn;
}

// log(x) is log10 like Postgres; log(b, x) the logarithm of x to base b.
Result<BoundFunction> BindLog(const BindInput& in) {
  if (in.types.size() == 1) {
    return DoubleFunction(
        CheckedDoubleKernel([](double x) { return std::log10(x); }, CheckLogArgument))(in);
  }
  return FixedSignature({kDouble, kDouble}, kDouble,
                        CheckedDoubleKernel2([](double b, double x, double* r) -> const char* {
                          if (const char* p = CheckLogArgument(b)) return p;
                          if (const char* p = CheckLogArgument(x)) return p;
                          double lb = std::log(b);
                          if (lb == 0) return "division by zero";
                          *r = std::log(x) / lb;
                          return nullptr;
                        }))(in);
}

const char* Power(double x, double y, double* r) {
  if (x == 0 && y < 0) return "zero raised to a negative power is undefined";
  if (x < 0 && std::isfinite(y) && std::floor(y) != y) {
    return "a negative number raised to a non-integer power yields a complex result";
  }
  *r = std::pow(x, y);
  if (std::isinf(*r) && std::isfinite(x) && std::isfinite(y)) return "value out of range: overflow";
  return nullptr;
}

Kernel RandomKernel() {
  return
      [](const BoundFunction&, std::span<const ColumnPtr>, int64_t rows, ColumnPtr* out) -> Status {
        // One generator per thread, seeded once: random() must not repeat across batches.
        thread_local std::mt19937_64 engine{std::random_device{}()};
        std::uniform_real_distribution<double> dist(0.0, 1.0);
        auto col = Column::MakeFixed(kDouble, rows);
        double* o = col->mutable_raw<double>();
        for (int64_t i = 0; i < rows; ++i) o[i] = dist(engine);
        *out = col;
        return Status::Ok();
      };
}

Kernel ConstantDoubleKernel(double value) {
  return [value](const BoundFunction&, std::span<const ColumnPtr>, int64_t rows,
                 ColumnPtr* out) -> Status {
    auto col = Column::MakeFixed(kDouble, rows);
    double* o = col->mutable_raw<double>();
    for (int64_t i = 0; i < rows; ++i) o[i] = value;
    *out = col;
    return Status::Ok();
  };
}

// gcd/lcm over BIGINT, with Postgres' overflow errors.
uint64_t Gcd(uint64_t a, uint64_t b) {
  while (b != 0) {
    uint64_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

uint64_t Magnitude(int64_t v) {
  return v < 0 ? 0 - static_cast<uint64_t>(v) : v;
}

Status GcdLcm(bool lcm, const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
              ColumnPtr* out) {
  const int64_t* a = args[0]->raw<int64_t>();
  const int64_t* b = args[1]->raw<int64_t>();
  auto op = [&](int64_t i, int64_t* r) -> Status {
    uint64_t g = Gcd(Magnitude(a[i]), Magnitude(b[i]));
    unsigned __int128 v = g;
    if (lcm) v = g == 0 ? 0 : static_cast<unsigned __int128>(Magnitude(a[i]) / g) * Magnitude(b[i]);
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Status::User("{}(): bigint out of range: {}({}, {})", f.name, f.name, a[i], b[i]);
    }
    *r = static_cast<int64_t>(v);
    return Status::Ok();
  };
  return StoreResult(MapFixedRows<int64_t>(args, rows, kBigint, op), out);
}

}  // namespace

void RegisterMathFunctions(FunctionRegistry* r) {
  r->Register("abs", BindAbs);
  r->Register("ceil", [](const BindInput& in) { return BindRounding(in, Rounding::kCeil); });
  r->Alias("ceiling", "ceil");
  r->Register("floor", [](const BindInput& in) { return BindRounding(in, Rounding::kFloor); });
  r->Register("round", [](const BindInput& in) { return BindRounding(in, Rounding::kRound); });
  r->Register("trunc", [](const BindInput& in) { return BindRounding(in, Rounding::kTrunc); });
  r->Register("sign", BindSign);
  r->Register("mod", BindMod);

  r->Register("sqrt", DoubleFunction(CheckedDoubleKernel(
                          [](double x) { return std::sqrt(x); },
                          [](double x) -> const char* {
                            return x < 0 ? "cannot take square root of a negative number" : nullptr;
                          })));
  r->Register("cbrt", DoubleFunction(DoubleKernel([](double x) { return std::cbrt(x); })));
  r->Register("exp", DoubleFunction(CheckedDoubleKernel(
                         [](double x) { return std::exp(x); },
                         [](double x) -> const char* {
                           // The largest finite result is exp(log(DBL_MAX)).
                           return x > 709.782712893384 ? "value out of range: overflow" : nullptr;
                         })));
  r->Register("ln", DoubleFunction(CheckedDoubleKernel([](double x) { return std::log(x); },
                                                       CheckLogArgument)));
  r->Register("log10", DoubleFunction(CheckedDoubleKernel([](double x) { return std::log10(x); },
                                                          CheckLogArgument)));
  r->Register("log2", DoubleFunction(CheckedDoubleKernel([](double x) { return std::log2(x); },
                                                         CheckLogArgument)));
  r->Register("log", BindLog);
  r->Register("power", FixedSignature({kDouble, kDouble}, kDouble, CheckedDoubleKernel2(Power)));
  r->Alias("pow", "power");

  r->Register("pi", FixedSignature({}, kDouble, ConstantDoubleKernel(std::numbers::pi)));
  r->Register(
      "degrees",
      DoubleFunction(DoubleKernel([](double x) { return x * (180.0 / std::numbers::pi); })));
  r->Register(
      "radians",
      DoubleFunction(DoubleKernel([](double x) { return x * (std::numbers::pi / 180.0); })));
  r->Register("sin", DoubleFunction(CheckedDoubleKernel([](double x) { return std::sin(x); },
                                                        CheckFiniteArgument)));
  r->Register("cos", DoubleFunction(CheckedDoubleKernel([](double x) { return std::cos(x); },
                                                        CheckFiniteArgument)));
  r->Register("tan", DoubleFunction(CheckedDoubleKernel([](double x) { return std::tan(x); },
                                                        CheckFiniteArgument)));
  r->Register("cot", DoubleFunction(CheckedDoubleKernel([](double x) { return 1.0 / std::tan(x); },
                                                        CheckFiniteArgument)));
  r->Register("asin", DoubleFunction(CheckedDoubleKernel([](double x) { return std::asin(x); },
                                                         CheckUnitRange)));
  r->Register("acos", DoubleFunction(CheckedDoubleKernel([](double x) { return std::acos(x); },
                                                         CheckUnitRange)));
  r->Register("atan", DoubleFunction(DoubleKernel([](double x) { return std::atan(x); })));
  r->Register("atan2", FixedSignature({kDouble, kDouble}, kDouble,
                                      CheckedDoubleKernel2([](double y, double x, double* res) {
                                        *res = std::atan2(y, x);
                                        return static_cast<const char*>(nullptr);
                                      })));
  r->Register("sinh", DoubleFunction(DoubleKernel([](double x) { return std::sinh(x); })));
  r->Register("cosh", DoubleFunction(DoubleKernel([](double x) { return std::cosh(x); })));
  r->Register("tanh", DoubleFunction(DoubleKernel([](double x) { return std::tanh(x); })));
  r->Register("asinh", DoubleFunction(DoubleKernel([](double x) { return std::asinh(x); })));
  r->Register("acosh", DoubleFunction(CheckedDoubleKernel([](double x) { return std::acosh(x); },
                                                          [](double x) -> const char* {
                                                            return x < 1 ? "input is out of range"
                                                                         : nullptr;
                                                          })));
  r->Register("atanh", DoubleFunction(CheckedDoubleKernel([](double x) { return std::atanh(x); },
                                                          [](double x) -> const char* {
                                                            if (x < -1 || x > 1)
                                                              return "input is out of range";
                                                            if (x == -1 || x == 1)
                                                              return "value out of range: overflow";
                                                            return nullptr;
                                                          })));
  r->Register("gcd", FixedSignature(
                         {kBigint, kBigint}, kBigint,
                         [](const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                            ColumnPtr* out) { return GcdLcm(false, f, args, rows, out); }));
  r->Register("lcm", FixedSignature(
                         {kBigint, kBigint}, kBigint,
                         [](const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                            ColumnPtr* out) { return GcdLcm(true, f, args, rows, out); }));

  r->Register("random", [](const BindInput& in) -> Result<BoundFunction> {
    auto fn = FixedSignature({}, kDouble, RandomKernel())(in);
    if (fn.ok()) fn->deterministic = false;
    return fn;
  });
}

}  // namespace sluice::expr
