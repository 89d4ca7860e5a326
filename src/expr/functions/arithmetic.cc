// Arithmetic operators: + - * / % (and unary minus as "neg"), text concatenation ||, and
// date/time arithmetic. Both sides are cast to their common type by the bind callback, so
// kernels only see pairs of one physical type.

#include <cmath>
#include <limits>

#include "expr/cast.h"
#include "expr/functions/datetime.h"
#include "expr/kernel_util.h"

namespace sluice::expr {
namespace {

using types::int128_t;
using types::Interval;

enum class Op { kAdd, kSub, kMul, kDiv, kMod };

const char* OpName(Op op) {
  switch (op) {
    case Op::kAdd:
      return "+";
    case Op::kSub:
      return "-";
    case Op::kMul:
      return "*";
    case Op::kDiv:
      return "/";
    case Op::kMod:
      return "%";
  }
  return "?";
}

Status DivisionByZero() {
  return Status::User("division by zero");
}

Status OutOfRange(const DataType& t) {
  return Status::User("{} out of range (integer overflow in arithmetic)", t.ToString());
}

// Integer kernel with overflow checks; rows that are NULL in either input are skipped (their
// value bytes are unspecified and must not raise errors).
template <typename T>
Status IntKernel(Op op, const ColumnPtr& a, const ColumnPtr& b, int64_t n, const DataType& type,
                 ColumnPtr* out) {
  auto result = Column::MakeFixed(type, n);
  const T* x = a->raw<T>();
  const T* y = b->raw<T>();
  T* o = result->mutable_raw<T>();
  ColumnPtr args[2] = {a, b};
  batch::BufferPtr validity = CombineValidity(args, n);
  const uint8_t* valid = validity ? validity->data() : nullptr;
  bool overflow = false;
  switch (op) {
    case Op::kAdd:
      for (int64_t i = 0; i < n; ++i) overflow |= __builtin_add_overflow(x[i], y[i], &o[i]);
      break;
    case Op::kSub:
      for (int64_t i = 0; i < n; ++i) overflow |= __builtin_sub_overflow(x[i], y[i], &o[i]);
      break;
    case Op::kMul:
      for (int64_t i = 0; i < n; ++i) overflow |= __builtin_mul_overflow(x[i], y[i], &o[i]);
      break;
    case Op::kDiv:
    case Op::kMod:
      for (int64_t i = 0; i < n; ++i) {
        if (valid && !batch::GetBit(valid, i)) {
          o[i] = 0;
          continue;
        }
        if (y[i] == 0) return DivisionByZero();
        if constexpr (std::numeric_limits<T>::is_signed) {
          if (y[i] == -1) {  // MIN / -1 overflows; MIN % -1 is 0
            if (op == Op::kMod) {
              o[i] = 0;
              continue;
            }
            overflow |= x[i] == std::numeric_limits<T>::min();
            o[i] = static_cast<T>(-x[i]);
            continue;
          }
        }
        o[i] = op == Op::kDiv ? static_cast<T>(x[i] / y[i]) : static_cast<T>(x[i] % y[i]);
      }
      break;
  }
  if (overflow) {
    // Re-check row by row, ignoring NULL rows, before reporting.
    for (int64_t i = 0; i < n; ++i) {
      if (valid && !batch::GetBit(valid, i)) continue;
      T r;
      bool ov = false;
      switch (op) {
        case Op::kAdd:
          ov = __builtin_add_overflow(x[i], y[i], &r);
          break;
        case Op::kSub:
          ov = __builtin_sub_overflow(x[i], y[i], &r);
          break;
        case Op::kMul:
          ov = __builtin_mul_overflow(x[i], y[i], &r);
          break;
        default:
          if constexpr (std::numeric_limits<T>::is_signed) {
            ov = y[i] == -1 && x[i] == std::numeric_limits<T>::min();
          }
          break;
      }
      if (ov) return OutOfRange(type);
    }
  }
  result->validity = validity;
  *out = result;
  return Status::Ok();
}

template <typename T>
Status FloatKernel(Op op, const ColumnPtr& a, const ColumnPtr& b, int64_t n, const DataType& type,
                   ColumnPtr* out) {
  auto result = Column::MakeFixed(type, n);
  const T* x = a->raw<T>();
  const T* y = b->raw<T>();
  T* o = result->mutable_raw<T>();
  ColumnPtr args[2] = {a, b};
  batch::BufferPtr validity = CombineValidity(args, n);
  const uint8_t* valid = validity ? validity->data() : nullptr;
  switch (op) {
    case Op::kAdd:
      for (int64_t i = 0; i < n; ++i) o[i] = x[i] + y[i];
      break;
    case Op::kSub:
      for (int64_t i = 0; i < n; ++i) o[i] = x[i] - y[i];
      break;
    case Op::kMul:
      for (int64_t i = 0; i < n; ++i) o[i] = x[i] * y[i];
      break;
    case Op::kDiv:
    case Op::kMod:
      for (int64_t i = 0; i < n; ++i) {
        if (y[i] == 0 && (valid == nullptr || batch::GetBit(valid, i))) return DivisionByZero();
        o[i] = op == Op::kDiv ? x[i] / y[i] : std::fmod(x[i], y[i]);
      }
      break;
  }
  result->validity = validity;
  *out = result;
  return Status::Ok();
}

int128_t Pow10(int n) {
  int128_t r = 1;
  for (int i = 0; i < n; ++i) r *= 10;
  return r;
}

// Decimal arithmetic on scaled int128 values. Both inputs carry their own scale; the result
// type was chosen at bind time.
Status DecimalKernel(Op op, const ColumnPtr& a, const ColumnPtr& b, int64_t n, const DataType& type,
                     ColumnPtr* out) {
  auto result = Column::MakeFixed(type, n);
  const int128_t* x = a->raw<int128_t>();
  const int128_t* y = b->raw<int128_t>();
  int128_t* o = result->mutable_raw<int128_t>();
  ColumnPtr args[2] = {a, b};
  batch::BufferPtr validity = CombineValidity(args, n);
  const uint8_t* valid = validity ? validity->data() : nullptr;
  int sa = a->type.scale(), sb = b->type.scale(), so = type.scale();
  int128_t limit = Pow10(type.precision());
  for (int64_t i = 0; i < n; ++i) {
    if (valid && !batch::GetBit(valid, i)) {
      o[i] = 0;
      continue;
    }
    int128_t r = 0;
    switch (op) {
      case Op::kAdd:
        r = x[i] * Pow10(so - sa) + y[i] * Pow10(so - sb);
        break;
      case Op::kSub:
        r = x[i] * Pow10(so - sa) - y[i] * Pow10(so - sb);
        break;
      case Op::kMul:
        r = x[i] * y[i];
        break;  // so == sa + sb
      case Op::kDiv: {
        if (y[i] == 0) return DivisionByZero();
        // x / y at scale so: (x * 10^(so - sa + sb)) / y, rounded half away from zero.
        int128_t num = x[i] * Pow10(so - sa + sb + 1);
        int128_t q = num / y[i];
        r = (q + (q >= 0 ? 5 : -5)) / 10;
        break;
      }
      case Op::kMod: {
        if (y[i] == 0) return DivisionByZero();
        int s = std::max(sa, sb);
        r = (x[i] * Pow10(s - sa)) % (y[i] * Pow10(s - sb));
        break;
      }
    }
    if (r >= limit || r <= -limit) return OutOfRange(type);
    o[i] = r;
  }
  result->validity = validity;
  *out = result;
  return Status::Ok();
}

Status NumericKernel(Op op, const ColumnPtr& a, const ColumnPtr& b, int64_t n, const DataType& type,
                     ColumnPtr* out) {
  switch (type.id()) {
    case TypeId::kInt8:
      return IntKernel<int8_t>(op, a, b, n, type, out);
    case TypeId::kInt16:
      return IntKernel<int16_t>(op, a, b, n, type, out);
    case TypeId::kInt32:
      return IntKernel<int32_t>(op, a, b, n, type, out);
    case TypeId::kInt64:
      return IntKernel<int64_t>(op, a, b, n, type, out);
    case TypeId::kUInt8:
      return IntKernel<uint8_t>(op, a, b, n, type, out);
    case TypeId::kUInt16:
      return IntKernel<uint16_t>(op, a, b, n, type, out);
    case TypeId::kUInt32:
      return IntKernel<uint32_t>(op, a, b, n, type, out);
    case TypeId::kUInt64:
      return IntKernel<uint64_t>(op, a, b, n, type, out);
    case TypeId::kFloat32:
      return FloatKernel<float>(op, a, b, n, type, out);
    case TypeId::kFloat64:
      return FloatKernel<double>(op, a, b, n, type, out);
    case TypeId::kDecimal:
      return DecimalKernel(op, a, b, n, type, out);
    default:
      return Status::Internal("numeric kernel on {}", type.ToString());
  }
}

// Timestamp ± interval, row by row through AddInterval (month arithmetic is calendar-aware).
Status TimestampIntervalKernel(int sign, const ColumnPtr& ts, const ColumnPtr& iv, int64_t n,
                               ColumnPtr* out) {
  auto result = Column::MakeFixed(types::Timestamp(), n);
  const int64_t* t = ts->raw<int64_t>();
  const Interval* v = iv->raw<Interval>();
  int64_t* o = result->mutable_raw<int64_t>();
  ColumnPtr args[2] = {ts, iv};
  batch::BufferPtr validity = CombineValidity(args, n);
  for (int64_t i = 0; i < n; ++i) {
    if (validity && !batch::GetBit(validity->data(), i)) {
      o[i] = 0;
      continue;
    }
    if (v[i].months == 0) {
      int64_t delta = v[i].days * 86400000000LL + v[i].micros;
      o[i] = t[i] + sign * delta;
    } else {
      auto r = AddInterval(t[i], v[i], sign);
      if (!r.ok()) return r.status();
      o[i] = *r;
    }
  }
  result->validity = validity;
  *out = result;
  return Status::Ok();
}

bool IsNumericOrNull(const DataType& t) {
  return t.is_numeric() || t.id() == TypeId::kNull;
}

// Result type of a numeric operation on the common type `t` (decimal scales adjust).
DataType NumericResultType(Op op, const DataType& a, const DataType& b, const DataType& t) {
  if (t.id() != TypeId::kDecimal) return t;
  int sa = a.id() == TypeId::kDecimal ? a.scale() : 0;
  int sb = b.id() == TypeId::kDecimal ? b.scale() : 0;
  int pa = a.id() == TypeId::kDecimal ? a.precision() : 19;
  int pb = b.id() == TypeId::kDecimal ? b.precision() : 19;
  switch (op) {
    case Op::kMul:
      return DataType::Decimal(std::min(38, pa + pb), std::min(38, sa + sb));
    case Op::kDiv: {
      int scale = std::max({6, sa, sb});
      return DataType::Decimal(38, scale);
    }
    default:
      return DataType::Decimal(std::min(38, t.precision() + 1), t.scale());
  }
}

BindFn ArithmeticBind(Op op) {
  return [op](const BindInput& in) -> Result<BoundFunction> {
    if (in.types.size() != 2)
      return Status::Internal("binary operator with {} args", in.types.size());
    const DataType& a = in.types[0];
    const DataType& b = in.types[1];
    BoundFunction fn;
    fn.name = OpName(op);
    if (IsNumericOrNull(a) && IsNumericOrNull(b)) {
      auto common = CommonSuperType(a, b);
      if (!common.ok()) return common.status();
      DataType t = common->id() == TypeId::kNull ? types::Int64() : *common;
      DataType ret = NumericResultType(op, a, b, t);
      if (t.id() == TypeId::kDecimal) {
        // Decimal kernels take each side at its own scale.
        fn.arg_types = {a.id() == TypeId::kDecimal ? a : DataType::Decimal(20, 0),
                        b.id() == TypeId::kDecimal ? b : DataType::Decimal(20, 0)};
      } else {
        fn.arg_types = {t, t};
      }
      fn.return_type = ret;
      fn.kernel = [op](const BoundFunction& f, std::span<const ColumnPtr> args, int64_t n,
                       ColumnPtr* out) {
        return NumericKernel(op, args[0], args[1], n, f.return_type, out);
      };
      return fn;
    }
    TypeId ia = a.id(), ib = b.id();
    auto is = [](TypeId x, TypeId want) { return x == want || x == TypeId::kNull; };
    if ((op == Op::kAdd || op == Op::kSub) && is(ia, TypeId::kTimestamp) &&
        is(ib, TypeId::kInterval)) {
      int sign = op == Op::kAdd ? 1 : -1;
      DataType ts = ia == TypeId::kNull ? types::Timestamp() : a;  // TIMESTAMP or TIMESTAMPTZ
      fn.arg_types = {ts, DataType(TypeId::kInterval)};
      fn.return_type = ts;
      fn.kernel = [sign](const BoundFunction&, std::span<const ColumnPtr> args, int64_t n,
                         ColumnPtr* out) {
        return TimestampIntervalKernel(sign, args[0], args[1], n, out);
      };
      return fn;
    }
    if (op == Op::kAdd && ia == TypeId::kInterval && ib == TypeId::kTimestamp) {
      fn.arg_types = {DataType(TypeId::kInterval), b};
      fn.return_type = b;
      fn.kernel = [](const BoundFunction&, std::span<const ColumnPtr> args, int64_t n,
                     ColumnPtr* out) {
        return TimestampIntervalKernel(1, args[1], args[0], n, out);
      };
      return fn;
    }
    if (op == Op::kSub && ia == TypeId::kTimestamp && ib == TypeId::kTimestamp) {
      DataType ts = a == b ? a : DataType::TimestampTz();  // as comparisons mix them
      fn.arg_types = {ts, ts};
      fn.return_type = DataType(TypeId::kInterval);
      fn.kernel = [](const BoundFunction& f, std::span<const ColumnPtr> args, int64_t n,
                     ColumnPtr* out) {
        auto r = Column::MakeFixed(f.return_type, n);
        const int64_t* x = args[0]->raw<int64_t>();
        const int64_t* y = args[1]->raw<int64_t>();
        Interval* o = r->mutable_raw<Interval>();
        for (int64_t i = 0; i < n; ++i) {
          // PostgreSQL justifies whole days out of the microseconds.
          int64_t d = x[i] - y[i];
          o[i] = Interval{0, static_cast<int32_t>(d / 86400000000LL), d % 86400000000LL};
        }
        *out = r;
        return Status::Ok();
      };
      return fn;
    }
    if ((op == Op::kAdd || op == Op::kSub) && ia == TypeId::kDate && b.is_integer()) {
      int sign = op == Op::kAdd ? 1 : -1;
      fn.arg_types = {DataType(TypeId::kDate), types::Int32()};
      fn.return_type = DataType(TypeId::kDate);
      fn.kernel = [sign](const BoundFunction& f, std::span<const ColumnPtr> args, int64_t n,
                         ColumnPtr* out) {
        *out = MapFixed2<int32_t, int32_t, int32_t>(
            args[0], args[1], f.return_type, [sign](int32_t d, int32_t k) { return d + sign * k; });
        return Status::Ok();
      };
      return fn;
    }
    if (op == Op::kSub && ia == TypeId::kDate && ib == TypeId::kDate) {
      fn.arg_types = {DataType(TypeId::kDate), DataType(TypeId::kDate)};
      fn.return_type = types::Int32();
      fn.kernel = [](const BoundFunction& f, std::span<const ColumnPtr> args, int64_t n,
                     ColumnPtr* out) {
        *out = MapFixed2<int32_t, int32_t, int32_t>(args[0], args[1], f.return_type,
                                                    [](int32_t x, int32_t y) { return x - y; });
        return Status::Ok();
      };
      return fn;
    }
    if ((op == Op::kAdd || op == Op::kSub) && ia == TypeId::kInterval && ib == TypeId::kInterval) {
      int sign = op == Op::kAdd ? 1 : -1;
      fn.arg_types = {a, b};
      fn.return_type = a;
      fn.kernel = [sign](const BoundFunction& f, std::span<const ColumnPtr> args, int64_t n,
                         ColumnPtr* out) {
        *out = MapFixed2<Interval, Interval, Interval>(
            args[0], args[1], f.return_type, [sign](const Interval& x, const Interval& y) {
              return Interval{x.months + sign * y.months, x.days + sign * y.days,
                              x.micros + sign * y.micros};
            });
        return Status::Ok();
      };
      return fn;
    }
    if ((op == Op::kMul || op == Op::kDiv) && ia == TypeId::kInterval && b.is_numeric()) {
      bool div = op == Op::kDiv;
      fn.arg_types = {a, types::Float64()};
      fn.return_type = a;
      fn.kernel = [div](const BoundFunction& f, std::span<const ColumnPtr> args, int64_t n,
                        ColumnPtr* out) {
        const double* k = args[1]->raw<double>();
        for (int64_t i = 0; i < n; ++i) {
          if (div && k[i] == 0 && args[1]->IsValid(i) && args[0]->IsValid(i)) {
            return DivisionByZero();
          }
        }
        *out = MapFixed2<Interval, double, Interval>(
            args[0], args[1], f.return_type, [div](const Interval& x, double m) {
              double f2 = div ? (m == 0 ? 0 : 1.0 / m) : m;
              double months = x.months * f2;
              double days = x.days * f2 + (months - std::trunc(months)) * 30;
              double micros = x.micros * f2 + (days - std::trunc(days)) * 86400e6;
              return Interval{static_cast<int32_t>(months), static_cast<int32_t>(days),
                              static_cast<int64_t>(std::llround(micros))};
            });
        return Status::Ok();
      };
      return fn;
    }
    return Status::User("operator does not exist: {} {} {}", a.ToString(), OpName(op),
                        b.ToString());
  };
}

Status ConcatKernel(const BoundFunction&, std::span<const ColumnPtr> args, int64_t n,
                    ColumnPtr* out) {
  const Column& a = *args[0];
  const Column& b = *args[1];
  *out = MapToString(args, n, types::Utf8(), [&](int64_t i, std::string* s) {
    s->append(a.GetString(i));
    s->append(b.GetString(i));
    return true;
  });
  return Status::Ok();
}

}  // namespace

void RegisterArithmeticFunctions(FunctionRegistry* r) {
  r->Register("+", ArithmeticBind(Op::kAdd));
  r->Register("-", ArithmeticBind(Op::kSub));
  r->Register("*", ArithmeticBind(Op::kMul));
  r->Register("/", ArithmeticBind(Op::kDiv));
  r->Register("%", ArithmeticBind(Op::kMod));
  r->Register("neg", [](const BindInput& in) -> Result<BoundFunction> {
    if (in.types.size() != 1 ||
        !(IsNumericOrNull(in.types[0]) || in.types[0].id() == TypeId::kInterval)) {
      return NoMatchingSignature("-", in, "a number or an interval");
    }
    BoundFunction fn;
    fn.name = "-";
    DataType t = in.types[0].id() == TypeId::kNull ? types::Int64() : in.types[0];
    if (t.is_unsigned_integer()) t = types::Int64();
    fn.arg_types = {t};
    fn.return_type = t;
    fn.kernel = [](const BoundFunction& f, std::span<const ColumnPtr> args, int64_t n,
                   ColumnPtr* out) {
      const DataType& t = f.return_type;
      if (t.id() == TypeId::kInterval) {
        *out = MapFixed<Interval, Interval>(args[0], t, [](const Interval& v) {
          return Interval{-v.months, -v.days, -v.micros};
        });
        return Status::Ok();
      }
      // 0 - x reuses the checked kernels.
      ColumnPtr zero = Column::MakeConstant(t.id() == TypeId::kDecimal ? Value::Decimal(t, 0)
                                            : t.is_floating()          ? Value::Float(t, 0.0)
                                                                       : Value::Int(t, 0),
                                            n);
      return NumericKernel(Op::kSub, zero, args[0], n, t, out);
    };
    return fn;
  });
  r->Register("||", [](const BindInput& in) -> Result<BoundFunction> {
    if (in.types.size() != 2) return NoMatchingSignature("||", in, "two values");
    if (in.types[0].id() == TypeId::kList || in.types[1].id() == TypeId::kList) {
      return Status::NotSupported("array concatenation with ||");
    }
    BoundFunction fn;
    fn.name = "||";
    // Like PostgreSQL, anything concatenates with text by its text form.
    fn.arg_types = {types::Utf8(), types::Utf8()};
    fn.return_type = types::Utf8();
    fn.kernel = ConcatKernel;
    return fn;
  });
}

}  // namespace sluice::expr
