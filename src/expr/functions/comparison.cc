// Comparison operators (= <> < <= > >=), IS [NOT] DISTINCT FROM, LIKE / ILIKE and the
// IS TRUE / IS FALSE / IS UNKNOWN tests.

#include <cstring>

#include "expr/cast.h"
#include "expr/kernel_util.h"

namespace sluice::expr {
namespace {

using types::int128_t;
using types::Interval;

enum class Cmp { kEq, kNe, kLt, kLe, kGt, kGe };

template <typename T>
bool Apply(Cmp c, const T& a, const T& b) {
  switch (c) {
    case Cmp::kEq:
      return a == b;
    case Cmp::kNe:
      return a != b;
    case Cmp::kLt:
      return a < b;
    case Cmp::kLe:
      return a <= b;
    case Cmp::kGt:
      return a > b;
    case Cmp::kGe:
      return a >= b;
  }
  return false;
}

// Intervals compare like PostgreSQL: a month is 30 days.
int128_t IntervalKey(const Interval& v) {
  return (static_cast<int128_t>(v.months) * 30 + v.days) * 86400000000LL + v.micros;
}

template <typename T>
void CompareFixed(Cmp c, const Column& a, const Column& b, int64_t n, uint8_t* bits) {
  const T* x = a.raw<T>();
  const T* y = b.raw<T>();
  // Build 8 results at a time into a byte: the compiler vectorizes the comparison loop.
  int64_t full = n / 8;
  for (int64_t k = 0; k < full; ++k) {
    uint8_t byte = 0;
    for (int j = 0; j < 8; ++j) {
      byte |= static_cast<uint8_t>(Apply(c, x[k * 8 + j], y[k * 8 + j])) << j;
    }
    bits[k] = byte;
  }
  for (int64_t i = full * 8; i < n; ++i) {
    if (Apply(c, x[i], y[i])) batch::SetBit(bits, i);
  }
}

// Three-way comparison of row i of two columns of the same type (nested types by value).
int CompareRow(const Column& a, int64_t i, const Column& b, int64_t j);

int CompareRow(const Column& a, int64_t i, const Column& b, int64_t j) {
  switch (a.type.id()) {
    case TypeId::kUtf8:
    case TypeId::kJson:
    case TypeId::kBinary: {
      int r = a.GetString(i).compare(b.GetString(j));
      return r < 0 ? -1 : (r > 0 ? 1 : 0);
    }
    case TypeId::kInterval: {
      int128_t x = IntervalKey(a.raw<Interval>()[i]), y = IntervalKey(b.raw<Interval>()[j]);
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    default:
      return types::CompareValues(a.GetValue(i), b.GetValue(j));
  }
}

Status CompareKernel(Cmp c, std::span<const ColumnPtr> args, int64_t n, ColumnPtr* out) {
  const Column& a = *args[0];
  const Column& b = *args[1];
  auto result = Column::MakeFixed(types::Bool(), n);
  uint8_t* bits = result->values->data();
  switch (a.type.id()) {
    case TypeId::kBool: {
      const uint8_t* x = a.values->data();
      const uint8_t* y = b.values->data();
      for (int64_t i = 0; i < n; ++i) {
        if (Apply(c, batch::GetBit(x, i), batch::GetBit(y, i))) batch::SetBit(bits, i);
      }
      break;
    }
    case TypeId::kInt8:
      CompareFixed<int8_t>(c, a, b, n, bits);
      break;
    case TypeId::kInt16:
      CompareFixed<int16_t>(c, a, b, n, bits);
      break;
    case TypeId::kInt32:
    case TypeId::kDate:
      CompareFixed<int32_t>(c, a, b, n, bits);
      break;
    case TypeId::kInt64:
    case TypeId::kTime:
    case TypeId::kTimestamp:
      CompareFixed<int64_t>(c, a, b, n, bits);
      break;
    case TypeId::kUInt8:
      CompareFixed<uint8_t>(c, a, b, n, bits);
      break;
    case TypeId::kUInt16:
      CompareFixed<uint16_t>(c, a, b, n, bits);
      break;
    case TypeId::kUInt32:
      CompareFixed<uint32_t>(c, a, b, n, bits);
      break;
    case TypeId::kUInt64:
      CompareFixed<uint64_t>(c, a, b, n, bits);
      break;
    case TypeId::kFloat32:
      CompareFixed<float>(c, a, b, n, bits);
      break;
    case TypeId::kFloat64:
      CompareFixed<double>(c, a, b, n, bits);
      break;
    case TypeId::kDecimal:
      CompareFixed<int128_t>(c, a, b, n, bits);
      break;
    default:
      for (int64_t i = 0; i < n; ++i) {
        if (a.IsNull(i) || b.IsNull(i)) continue;
        if (Apply(c, CompareRow(a, i, b, i), 0)) batch::SetBit(bits, i);
      }
      break;
  }
  result->validity = CombineValidity(args, n);
  *out = result;
  return Status::Ok();
}

Result<BoundFunction> BindComparison(const BindInput& in, Cmp c, const char* name,
                                     bool distinct_from) {
  if (in.types.size() != 2) return NoMatchingSignature(name, in, "two values");
  auto common = CommonSuperType(in.types[0], in.types[1]);
  if (!common.ok()) {
    return Status::User("operator does not exist: {} {} {}; cast one side to the other's type",
                        in.types[0].ToString(), name, in.types[1].ToString());
  }
  DataType t = common->id() == TypeId::kNull ? types::Bool() : *common;
  BoundFunction fn;
  fn.name = name;
  fn.arg_types = {t, t};
  fn.return_type = types::Bool();
  if (!distinct_from) {
    fn.kernel = [c](const BoundFunction&, std::span<const ColumnPtr> args, int64_t n,
                    ColumnPtr* out) { return CompareKernel(c, args, n, out); };
    return fn;
  }
  // IS [NOT] DISTINCT FROM: NULLs compare equal to each other, result never NULL.
  bool want_distinct = c == Cmp::kNe;
  fn.null_propagating = false;
  fn.kernel = [want_distinct](const BoundFunction&, std::span<const ColumnPtr> args, int64_t n,
                              ColumnPtr* out) {
    ColumnPtr eq;
    SLUICE_RETURN_NOT_OK(CompareKernel(Cmp::kEq, args, n, &eq));
    auto result = Column::MakeFixed(types::Bool(), n);
    for (int64_t i = 0; i < n; ++i) {
      bool an = args[0]->IsNull(i), bn = args[1]->IsNull(i);
      bool same = (an && bn) || (!an && !bn && eq->GetBool(i));
      if (same != want_distinct) batch::SetBit(result->values->data(), i);
    }
    *out = result;
    return Status::Ok();
  };
  return fn;
}

// LIKE matching with % and _ and an escape character, over bytes (or lower-cased bytes for
// ILIKE). Iterative with backtracking to the last %, so it is linear for common patterns.
bool LikeMatch(std::string_view s, std::string_view p, char escape) {
  size_t si = 0, pi = 0, star_p = std::string_view::npos, star_s = 0;
  while (si < s.size()) {
    if (pi < p.size()) {
      char pc = p[pi];
      if (pc == escape && pi + 1 < p.size()) {
        if (p[pi + 1] == s[si]) {
          pi += 2;
          ++si;
          continue;
        }
      } else if (pc == '%') {
        star_p = pi++;
        star_s = si;
        continue;
      } else if (pc == '_' || pc == s[si]) {
        ++pi;
        ++si;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    pi = star_p + 1;
    si = ++star_s;
  }
  while (pi < p.size() && p[pi] == '%') ++pi;
  return pi == p.size();
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

BindFn LikeBind(bool insensitive) {
  return [insensitive](const BindInput& in) -> Result<BoundFunction> {
    if (in.types.size() < 2 || in.types.size() > 3) {
      return NoMatchingSignature(insensitive ? "ilike" : "like", in, "(text, text [, text])");
    }
    for (const auto& t : in.types) {
      if (!ConvertsTo(t, types::Utf8())) {
        return NoMatchingSignature(insensitive ? "ilike" : "like", in, "text arguments");
      }
    }
    char escape = '\\';
    if (in.types.size() == 3) {
      if (!in.constants[2] || in.constants[2]->is_null() ||
          in.constants[2]->string_value().size() > 1) {
        return Status::User("LIKE ... ESCAPE takes a constant of one character");
      }
      escape = in.constants[2]->string_value().empty() ? '\0' : in.constants[2]->string_value()[0];
    }
    BoundFunction fn;
    fn.name = insensitive ? "ilike" : "like";
    fn.arg_types.assign(in.types.size(), types::Utf8());
    fn.return_type = types::Bool();
    fn.kernel = [insensitive, escape](const BoundFunction&, std::span<const ColumnPtr> args,
                                      int64_t n, ColumnPtr* out) {
      const Column& s = *args[0];
      const Column& p = *args[1];
      *out = MapToBool(args, n, [&](int64_t i) {
        if (s.IsNull(i) || p.IsNull(i)) return false;
        if (insensitive) return LikeMatch(Lower(s.GetString(i)), Lower(p.GetString(i)), escape);
        return LikeMatch(s.GetString(i), p.GetString(i), escape);
      });
      return Status::Ok();
    };
    return fn;
  };
}

BindFn TruthBind(const char* name, int which) {  // 0 true, 1 false, 2 unknown
  return [name, which](const BindInput& in) -> Result<BoundFunction> {
    if (in.types.size() != 1 || !ConvertsTo(in.types[0], types::Bool())) {
      return NoMatchingSignature(name, in, "(BOOLEAN)");
    }
    BoundFunction fn;
    fn.name = name;
    fn.arg_types = {types::Bool()};
    fn.return_type = types::Bool();
    fn.null_propagating = false;
    fn.kernel = [which](const BoundFunction&, std::span<const ColumnPtr> args, int64_t n,
                        ColumnPtr* out) {
      const Column& a = *args[0];
      auto r = Column::MakeFixed(types::Bool(), n);
      for (int64_t i = 0; i < n; ++i) {
        bool v = which == 2 ? a.IsNull(i) : (a.IsValid(i) && a.GetBool(i) == (which == 0));
        if (v) batch::SetBit(r->values->data(), i);
      }
      *out = r;
      return Status::Ok();
    };
    return fn;
  };
}

}  // namespace

void RegisterComparisonFunctions(FunctionRegistry* r) {
  struct Entry {
    const char* name;
    Cmp cmp;
  };
  for (Entry e : {Entry{"=", Cmp::kEq}, Entry{"<>", Cmp::kNe}, Entry{"<", Cmp::kLt},
                  Entry{"<=", Cmp::kLe}, Entry{">", Cmp::kGt}, Entry{">=", Cmp::kGe}}) {
    r->Register(e.name,
                [e](const BindInput& in) { return BindComparison(in, e.cmp, e.name, false); });
  }
  r->Register("is_distinct_from", [](const BindInput& in) {
    return BindComparison(in, Cmp::kNe, "IS DISTINCT FROM", true);
  });
  r->Register("is_not_distinct_from", [](const BindInput& in) {
    return BindComparison(in, Cmp::kEq, "IS NOT DISTINCT FROM", true);
  });
  r->Register("like", LikeBind(false));
  r->Register("ilike", LikeBind(true));
  r->Register("is_true", TruthBind("IS TRUE", 0));
  r->Register("is_false", TruthBind("IS FALSE", 1));
  r->Register("is_unknown", TruthBind("IS UNKNOWN", 2));
}

}  // namespace sluice::expr
