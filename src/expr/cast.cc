#include "expr/cast.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "batch/column_builder.h"
#include "common/check.h"

namespace sluice::expr {

using batch::Column;
using batch::ColumnBuilder;
using types::int128_t;
using types::Interval;
using types::TypeId;

namespace {

int IntRank(TypeId id) {
  switch (id) {
    case TypeId::kInt8:
      return 1;
    case TypeId::kInt16:
      return 2;
    case TypeId::kInt32:
      return 3;
    case TypeId::kInt64:
      return 4;
    case TypeId::kUInt8:
      return 1;
    case TypeId::kUInt16:
      return 2;
    case TypeId::kUInt32:
      return 3;
    case TypeId::kUInt64:
      return 4;
    default:
      return 0;
  }
}

TypeId SignedOfRank(int rank) {
  switch (rank) {
    case 1:
      return TypeId::kInt8;
    case 2:
      return TypeId::kInt16;
    case 3:
      return TypeId::kInt32;
    default:
      return TypeId::kInt64;
  }
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool ParseDigits(std::string_view s, size_t* pos, int count, int* out) {
  if (*pos + count > s.size()) return false;
  int v = 0;
  for (int i = 0; i < count; ++i) {
    char c = s[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += count;
  *out = v;
  return true;
}

// Range of each integer type, as int128 so any int64/uint64 fits.
void IntRange(TypeId id, int128_t* lo, int128_t* hi) {
  switch (id) {
    case TypeId::kInt8:
      *lo = INT8_MIN;
      *hi = INT8_MAX;
      return;
    case TypeId::kInt16:
      *lo = INT16_MIN;
      *hi = INT16_MAX;
      return;
    case TypeId::kInt32:
      *lo = INT32_MIN;
      *hi = INT32_MAX;
      return;
    case TypeId::kInt64:
      *lo = INT64_MIN;
      *hi = INT64_MAX;
      return;
    case TypeId::kUInt8:
      *lo = 0;
      *hi = UINT8_MAX;
      return;
    case TypeId::kUInt16:
      *lo = 0;
      *hi = UINT16_MAX;
      return;
    case TypeId::kUInt32:
      *lo = 0;
      *hi = UINT32_MAX;
      return;
    case TypeId::kUInt64:
      *lo = 0;
      *hi = static_cast<int128_t>(UINT64_MAX);
      return;
    default:
      *lo = 0;
      *hi = 0;
      return;
  }
}

int128_t Pow10(int n) {
  int128_t r = 1;
  for (int i = 0; i < n; ++i) r *= 10;
  return r;
}

Value MakeIntValue(const DataType& to, int128_t v) {
  if (to.is_unsigned_integer()) return Value::UInt(to, static_cast<uint64_t>(v));
  return Value::Int(to, static_cast<int64_t>(v));
}

Status OutOfRange(const Value& v, const DataType& to) {
  return Status::User("value {} is out of range for type {}", v.ToString(), to.ToString());
}

Status InvalidText(std::string_view text, const DataType& to) {
  return Status::User("invalid input syntax for type {}: \"{}\"", to.ToString(), text);
}

// Numeric value of any numeric Value as int128 (integers), for range checks.
bool AsInt128(const Value& v, int128_t* out) {
  if (v.type().is_signed_integer()) {
    *out = v.int_value();
    return true;
  }
  if (v.type().is_unsigned_integer()) {
    *out = v.uint_value();
    return true;
  }
  return false;
}

double AsDouble(const Value& v) {
  const DataType& t = v.type();
  if (t.is_signed_integer()) return static_cast<double>(v.int_value());
  if (t.is_unsigned_integer()) return static_cast<double>(v.uint_value());
  if (t.is_floating()) return v.double_value();
  if (t.id() == TypeId::kDecimal) {
    return static_cast<double>(v.decimal_value()) / std::pow(10.0, t.scale());
  }
  return 0;
}

Result<int128_t> ParseDecimalText(std::string_view text, int scale) {
  std::string_view s = Trim(text);
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return Status::User("empty");
  int128_t v = 0;
  int frac = 0;
  bool seen_dot = false;
  bool any = false;
  int round_digit = -1;
  for (char c : s) {
    if (c == '.') {
      if (seen_dot) return Status::User("bad");
      seen_dot = true;
      continue;
    }
    if (c < '0' || c > '9') return Status::User("bad");
    any = true;
    if (seen_dot) {
      if (frac == scale) {
        if (round_digit < 0) round_digit = c - '0';
        continue;
      }
      ++frac;
    }
    v = v * 10 + (c - '0');
    if (v > Pow10(38)) return Status::User("overflow");
  }
  if (!any) return Status::User("bad");
  for (; frac < scale; ++frac) v *= 10;
  if (round_digit >= 5) v += 1;
  return neg ? -v : v;
}

std::string CastToText(const Value& v) {
  switch (v.type().id()) {
    case TypeId::kUtf8:
    case TypeId::kJson:
    case TypeId::kBinary:
      return v.string_value();
    case TypeId::kTimestamp: {
      std::string s = types::FormatTimestamp(v.int_value());
      s[10] = ' ';  // PostgreSQL's text form uses a space
      // TIMESTAMPTZ: PostgreSQL's form in the session zone, always UTC here.
      if (v.type().with_time_zone()) s += "+00";
      return s;
    }
    case TypeId::kDate:
      return types::FormatDate(v.int_value());
    case TypeId::kTime:
      return types::FormatTime(v.int_value());
    case TypeId::kInterval:
      return types::FormatInterval(v.interval_value());
    case TypeId::kFloat32:
    case TypeId::kFloat64: {
      double d = v.double_value();
      if (std::isnan(d)) return "NaN";
      if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
      return fmt::format("{}", d);
    }
    default:
      return v.ToString();
  }
}

// A struct converts to another of as many fields, field by field in order (the names may
// differ: PostgreSQL assigns a ROW(...) to a composite type by position).
bool FieldsCast(const DataType& from, const DataType& to,
                bool (*converts)(const DataType&, const DataType&)) {
  if (from.fields().size() != to.fields().size()) return false;
  for (size_t i = 0; i < from.fields().size(); ++i) {
    if (!converts(from.fields()[i].type, to.fields()[i].type)) return false;
  }
  return true;
}

}  // namespace

bool CanCastImplicitly(const DataType& from, const DataType& to) {
  if (from == to || from.id() == TypeId::kNull) return true;
  if (from.is_integer()) {
    if (to.is_floating() || to.id() == TypeId::kDecimal) return true;
    if (to.is_integer()) {
      int fr = IntRank(from.id()), tr = IntRank(to.id());
      if (from.is_unsigned_integer() == to.is_unsigned_integer()) return tr >= fr;
      if (from.is_unsigned_integer() && to.is_signed_integer()) return tr > fr;
      return false;
    }
    return false;
  }
  if (from.id() == TypeId::kFloat32) return to.id() == TypeId::kFloat64;
  if (from.id() == TypeId::kDecimal) {
    return to.is_floating() || (to.id() == TypeId::kDecimal && to.scale() >= from.scale() &&
                                to.precision() - to.scale() >= from.precision() - from.scale());
  }
  if (from.id() == TypeId::kDate) return to.id() == TypeId::kTimestamp;
  // TIMESTAMP to TIMESTAMPTZ reads the timestamp as UTC (PostgreSQL: in the session zone).
  if (from.id() == TypeId::kTimestamp) return to == DataType::TimestampTz();
  if (from.id() == TypeId::kJson) return to.id() == TypeId::kUtf8;
  if (from.id() == TypeId::kUtf8) return to.id() == TypeId::kJson;
  if (from.id() == TypeId::kList && to.id() == TypeId::kList) {
    return CanCastImplicitly(from.element(), to.element());
  }
  if (from.id() == TypeId::kStruct && to.id() == TypeId::kStruct) {
    return FieldsCast(from, to, CanCastImplicitly);
  }
  return false;
}

bool CanCast(const DataType& from, const DataType& to) {
  if (CanCastImplicitly(from, to)) return true;
  if (to.id() == TypeId::kUtf8 || from.id() == TypeId::kUtf8)
    return !to.is_nested() || from.id() == TypeId::kUtf8;
  if (from.is_numeric() && to.is_numeric()) return true;
  if (from.id() == TypeId::kBool && to.is_integer()) return true;
  if (from.is_integer() && to.id() == TypeId::kBool) return true;
  if (from.id() == TypeId::kTimestamp &&
      (to.id() == TypeId::kDate || to.id() == TypeId::kTime || to.id() == TypeId::kTimestamp)) {
    return true;
  }
  if (from.id() == TypeId::kBinary && to.id() == TypeId::kUtf8) return true;
  if (from.id() == TypeId::kList && to.id() == TypeId::kList) {
    return CanCast(from.element(), to.element());
  }
  if (from.id() == TypeId::kStruct && to.id() == TypeId::kStruct) {
    return FieldsCast(from, to, CanCast);
  }
  return false;
}

Result<DataType> CommonSuperType(const DataType& a, const DataType& b) {
  if (a == b) return a;
  if (a.id() == TypeId::kNull) return b;
  if (b.id() == TypeId::kNull) return a;
  if (a.is_numeric() && b.is_numeric()) {
    if (a.id() == TypeId::kFloat64 || b.id() == TypeId::kFloat64) return types::Float64();
    if (a.is_floating() || b.is_floating()) {
      if (a.id() == TypeId::kDecimal || b.id() == TypeId::kDecimal) return types::Float64();
      if (a.is_integer() || b.is_integer()) {
        int r = std::max(IntRank(a.id()), IntRank(b.id()));
        return r >= 3 ? types::Float64() : DataType(TypeId::kFloat32);
      }
      return DataType(TypeId::kFloat32);
    }
    if (a.id() == TypeId::kDecimal || b.id() == TypeId::kDecimal) {
      const DataType& d = a.id() == TypeId::kDecimal ? a : b;
      const DataType& o = a.id() == TypeId::kDecimal ? b : a;
      if (o.id() == TypeId::kDecimal) {
        int scale = std::max(a.scale(), b.scale());
        int whole = std::max(a.precision() - a.scale(), b.precision() - b.scale());
        return DataType::Decimal(std::min(38, whole + scale), scale);
      }
      int whole = std::max(d.precision() - d.scale(), o.id() == TypeId::kUInt64 ? 20 : 19);
      return DataType::Decimal(std::min(38, whole + d.scale()), d.scale());
    }
    // Both integers.
    int r = std::max(IntRank(a.id()), IntRank(b.id()));
    if (a.is_unsigned_integer() && b.is_unsigned_integer()) return a.id() > b.id() ? a : b;
    if (a.is_signed_integer() && b.is_signed_integer()) return DataType(SignedOfRank(r));
    const DataType& u = a.is_unsigned_integer() ? a : b;
    const DataType& s = a.is_unsigned_integer() ? b : a;
    if (IntRank(u.id()) < IntRank(s.id())) return s;
    // BIGINT UNSIGNED with a signed integer meets at BIGINT (values above its range fail the
    // cast with "out of range"), as in DataFusion, rather than at a slow DECIMAL.
    if (IntRank(u.id()) >= 4) return types::Int64();
    return DataType(SignedOfRank(IntRank(u.id()) + 1));
  }
  if ((a.id() == TypeId::kDate && b.id() == TypeId::kTimestamp) ||
      (b.id() == TypeId::kDate && a.id() == TypeId::kTimestamp)) {
    return a.id() == TypeId::kTimestamp ? a : b;
  }
  // TIMESTAMP meets TIMESTAMPTZ at TIMESTAMPTZ, as in PostgreSQL (the zone being UTC here).
  if (a.id() == TypeId::kTimestamp && b.id() == TypeId::kTimestamp) {
    return DataType::TimestampTz();
  }
  if ((a.id() == TypeId::kJson && b.id() == TypeId::kUtf8) ||
      (b.id() == TypeId::kJson && a.id() == TypeId::kUtf8)) {
    return types::Utf8();
  }
  if (a.id() == TypeId::kList && b.id() == TypeId::kList) {
    auto e = CommonSuperType(a.element(), b.element());
    if (!e.ok()) return e.status();
    return DataType::List(*e);
  }
  return Status::User("types {} and {} cannot be matched", a.ToString(), b.ToString());
}

Result<int64_t> ParseDate(std::string_view text) {
  std::string_view s = Trim(text);
  size_t pos = 0;
  int y, m, d;
  if (!ParseDigits(s, &pos, 4, &y) || pos >= s.size() || s[pos++] != '-' ||
      !ParseDigits(s, &pos, 2, &m) || pos >= s.size() || s[pos++] != '-' ||
      !ParseDigits(s, &pos, 2, &d) || pos != s.size() || m < 1 || m > 12 || d < 1 || d > 31) {
    return InvalidText(text, DataType(TypeId::kDate));
  }
  return types::DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
}

static bool ParseTimeOfDay(std::string_view s, size_t* pos, int64_t* micros) {
  int h, mi, sec = 0;
  if (!ParseDigits(s, pos, 2, &h) || *pos >= s.size() || s[(*pos)++] != ':' ||
      !ParseDigits(s, pos, 2, &mi)) {
    return false;
  }
  if (*pos < s.size() && s[*pos] == ':') {
    ++*pos;
    if (!ParseDigits(s, pos, 2, &sec)) return false;
  }
  int64_t frac = 0;
  if (*pos < s.size() && s[*pos] == '.') {
    ++*pos;
    int digits = 0;
    while (*pos < s.size() && s[*pos] >= '0' && s[*pos] <= '9') {
      if (digits < 6) {
        frac = frac * 10 + (s[*pos] - '0');
        ++digits;
      }
      ++*pos;
    }
    if (digits == 0) return false;
    for (; digits < 6; ++digits) frac *= 10;
  }
  if (h > 24 || mi > 59 || sec > 60) return false;
  *micros = ((h * 60LL + mi) * 60 + sec) * 1000000 + frac;
  return true;
}

Result<int64_t> ParseTime(std::string_view text) {
  std::string_view s = Trim(text);
  size_t pos = 0;
  int64_t micros;
  if (!ParseTimeOfDay(s, &pos, &micros) || pos != s.size()) {
    return InvalidText(text, DataType(TypeId::kTime));
  }
  return micros;
}

Result<int64_t> ParseTimestamp(std::string_view text) {
  std::string_view s = Trim(text);
  size_t pos = 0;
  int y, m, d;
  if (!ParseDigits(s, &pos, 4, &y) || pos >= s.size() || s[pos++] != '-' ||
      !ParseDigits(s, &pos, 2, &m) || pos >= s.size() || s[pos++] != '-' ||
      !ParseDigits(s, &pos, 2, &d) || m < 1 || m > 12 || d < 1 || d > 31) {
    return InvalidText(text, types::Timestamp());
  }
  int64_t micros =
      types::DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d)) * 86400000000LL;
  if (pos == s.size()) return micros;
  if (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') return InvalidText(text, types::Timestamp());
  ++pos;
  int64_t tod;
  if (!ParseTimeOfDay(s, &pos, &tod)) return InvalidText(text, types::Timestamp());
  micros += tod;
  while (pos < s.size() && s[pos] == ' ') ++pos;
  if (pos == s.size()) return micros;
  // Zone: Z, +HH, +HH:MM, +HHMM. The value is converted to UTC.
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    int sign = s[pos] == '-' ? -1 : 1;
    ++pos;
    int oh, om = 0;
    if (!ParseDigits(s, &pos, 2, &oh)) return InvalidText(text, types::Timestamp());
    if (pos < s.size() && s[pos] == ':') ++pos;
    if (pos < s.size()) {
      if (!ParseDigits(s, &pos, 2, &om)) return InvalidText(text, types::Timestamp());
    }
    micros -= sign * (oh * 3600LL + om * 60LL) * 1000000;
  }
  if (pos != s.size()) return InvalidText(text, types::Timestamp());
  return micros;
}

Result<Interval> ParseInterval(std::string_view text) {
  std::string_view s = Trim(text);
  Interval iv;
  bool any = false;
  size_t pos = 0;
  auto skip_space = [&] {
    while (pos < s.size() && std::isspace(static_cast<unsigned char>(s[pos]))) ++pos;
  };
  while (true) {
    skip_space();
    if (pos >= s.size()) break;
    // A number (possibly fractional, possibly negative)...
    size_t start = pos;
    if (s[pos] == '-' || s[pos] == '+') ++pos;
    while (pos < s.size() && (std::isdigit(static_cast<unsigned char>(s[pos])) || s[pos] == '.')) {
      ++pos;
    }
    std::string_view num = s.substr(start, pos - start);
    if (num.empty() || num == "-" || num == "+")
      return InvalidText(text, DataType(TypeId::kInterval));
    // ... either a clock form HH:MM:SS ...
    if (pos < s.size() && s[pos] == ':') {
      size_t p2 = start;
      bool neg = s[p2] == '-';
      if (neg || s[p2] == '+') ++p2;
      int64_t tod;
      // Accept H:MM:SS too by normalizing to two digits.
      std::string clock(s.substr(p2));
      size_t end = clock.find(' ');
      std::string part = clock.substr(0, end);
      if (part.size() >= 2 && part[1] == ':') part = "0" + part;
      size_t pp = 0;
      if (!ParseTimeOfDay(part, &pp, &tod) || pp != part.size()) {
        return InvalidText(text, DataType(TypeId::kInterval));
      }
      iv.micros += neg ? -tod : tod;
      pos = p2 + (end == std::string::npos ? clock.size() : end);
      any = true;
      continue;
    }
    double value;
    auto [ptr, ec] = std::from_chars(num.data() + (num[0] == '+'), num.data() + num.size(), value);
    if (ec != std::errc() || ptr != num.data() + num.size()) {
      return InvalidText(text, DataType(TypeId::kInterval));
    }
    // ... followed by a unit (default: seconds).
    skip_space();
    size_t ustart = pos;
    while (pos < s.size() && std::isalpha(static_cast<unsigned char>(s[pos]))) ++pos;
    std::string unit(s.substr(ustart, pos - ustart));
    for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (unit.size() > 1 && unit.back() == 's' && unit != "ms" && unit != "us") unit.pop_back();
    auto add_micros = [&](double factor) {
      iv.micros += static_cast<int64_t>(std::llround(value * factor));
    };
    if (unit.empty() || unit == "second" || unit == "sec" || unit == "s") {
      add_micros(1e6);
    } else if (unit == "millisecond" || unit == "ms" || unit == "msec") {
      add_micros(1e3);
    } else if (unit == "microsecond" || unit == "us" || unit == "usec") {
      add_micros(1);
    } else if (unit == "minute" || unit == "min" || unit == "m") {
      add_micros(60e6);
    } else if (unit == "hour" || unit == "h" || unit == "hr") {
      add_micros(3600e6);
    } else if (unit == "day" || unit == "d") {
      iv.days += static_cast<int32_t>(value);
      add_micros((value - static_cast<int32_t>(value)) * 86400e6);
    } else if (unit == "week" || unit == "w") {
      iv.days += static_cast<int32_t>(value * 7);
    } else if (unit == "month" || unit == "mon") {
      iv.months += static_cast<int32_t>(value);
    } else if (unit == "year" || unit == "y" || unit == "yr") {
      iv.months += static_cast<int32_t>(value * 12);
    } else {
      return Status::User(
          "invalid interval \"{}\": unknown unit '{}'; use microseconds, milliseconds, seconds, "
          "minutes, hours, days, weeks, months or years",
          text, unit);
    }
    any = true;
  }
  if (!any) return InvalidText(text, DataType(TypeId::kInterval));
  return iv;
}

Result<Value> CastValue(const Value& input, const DataType& to, bool try_cast) {
  if (input.is_null()) return Value::Null(to);
  const DataType& from = input.type();
  if (from == to) return input;
  auto fail = [&](Status st) -> Result<Value> {
    if (try_cast) return Value::Null(to);
    return st;
  };
  // To text.
  if (to.id() == TypeId::kUtf8) return Value::String(CastToText(input));
  if (to.id() == TypeId::kJson && from.id() == TypeId::kUtf8) {
    return Value::Bytes(to, input.string_value());
  }
  // From text.
  if (from.id() == TypeId::kUtf8 || from.id() == TypeId::kJson) {
    std::string_view text = input.string_value();
    std::string_view t = Trim(text);
    if (to.is_integer()) {
      int128_t v = 0;
      bool neg = false;
      size_t i = 0;
      if (!t.empty() && (t[0] == '-' || t[0] == '+')) {
        neg = t[0] == '-';
        i = 1;
      }
      if (i >= t.size()) return fail(InvalidText(text, to));
      for (; i < t.size(); ++i) {
        if (t[i] < '0' || t[i] > '9') return fail(InvalidText(text, to));
        v = v * 10 + (t[i] - '0');
        if (v > (static_cast<int128_t>(1) << 70)) return fail(OutOfRange(input, to));
      }
      if (neg) v = -v;
      int128_t lo, hi;
      IntRange(to.id(), &lo, &hi);
      if (v < lo || v > hi) return fail(OutOfRange(input, to));
      return MakeIntValue(to, v);
    }
    if (to.is_floating()) {
      std::string tmp(t);
      char* end = nullptr;
      double d = std::strtod(tmp.c_str(), &end);
      if (tmp.empty() || end != tmp.c_str() + tmp.size()) return fail(InvalidText(text, to));
      return Value::Float(to, d);
    }
    if (to.id() == TypeId::kDecimal) {
      auto v = ParseDecimalText(t, to.scale());
      if (!v.ok() || *v >= Pow10(to.precision()) || *v <= -Pow10(to.precision())) {
        return fail(InvalidText(text, to));
      }
      return Value::Decimal(to, *v);
    }
    if (to.id() == TypeId::kBool) {
      std::string l(t);
      for (auto& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (l == "t" || l == "true" || l == "yes" || l == "y" || l == "on" || l == "1") {
        return Value::Boolean(true);
      }
      if (l == "f" || l == "false" || l == "no" || l == "n" || l == "off" || l == "0") {
        return Value::Boolean(false);
      }
      return fail(InvalidText(text, to));
    }
    if (to.id() == TypeId::kTimestamp) {
      auto v = ParseTimestamp(text);
      if (!v.ok()) return fail(InvalidText(text, to));  // names TIMESTAMPTZ too
      return Value::Int(to, *v);
    }
    if (to.id() == TypeId::kDate) {
      auto v = ParseDate(text);
      if (!v.ok()) return fail(v.status());
      return Value::Date(*v);
    }
    if (to.id() == TypeId::kTime) {
      auto v = ParseTime(text);
      if (!v.ok()) return fail(v.status());
      return Value::Time(*v);
    }
    if (to.id() == TypeId::kInterval) {
      auto v = ParseInterval(text);
      if (!v.ok()) return fail(v.status());
      return Value::IntervalValue(*v);
    }
    if (to.id() == TypeId::kBinary) return Value::Bytes(to, input.string_value());
    if (to.id() == TypeId::kJson) return Value::Bytes(to, input.string_value());
  }
  // Numeric to numeric.
  if (from.is_numeric() && to.is_numeric()) {
    if (to.is_floating()) return Value::Float(to, AsDouble(input));
    int128_t iv;
    if (to.is_integer()) {
      if (!AsInt128(input, &iv)) {
        double d;
        if (from.id() == TypeId::kDecimal) {
          int128_t p = Pow10(from.scale());
          int128_t q = input.decimal_value() / p;
          int128_t r = input.decimal_value() % p;
          if (2 * (r < 0 ? -r : r) >= p) q += (r < 0 ? -1 : 1);
          iv = q;
        } else {
          d = std::nearbyint(input.double_value());
          if (!std::isfinite(d) || d > 1.8e19 || d < -9.3e18) return fail(OutOfRange(input, to));
          iv = static_cast<int128_t>(d);
        }
      }
      int128_t lo, hi;
      IntRange(to.id(), &lo, &hi);
      if (iv < lo || iv > hi) return fail(OutOfRange(input, to));
      return MakeIntValue(to, iv);
    }
    // To decimal.
    int128_t v;
    if (AsInt128(input, &iv)) {
      v = iv * Pow10(to.scale());
    } else if (from.id() == TypeId::kDecimal) {
      int diff = to.scale() - from.scale();
      v = diff >= 0 ? input.decimal_value() * Pow10(diff) : input.decimal_value() / Pow10(-diff);
    } else {
      double d = input.double_value() * std::pow(10.0, to.scale());
      if (!std::isfinite(d) || std::fabs(d) >= 1e38) return fail(OutOfRange(input, to));
      v = static_cast<int128_t>(std::llround(d));
    }
    if (v >= Pow10(to.precision()) || v <= -Pow10(to.precision())) {
      return fail(OutOfRange(input, to));
    }
    return Value::Decimal(to, v);
  }
  if (from.id() == TypeId::kBool && to.is_integer()) {
    return MakeIntValue(to, input.bool_value() ? 1 : 0);
  }
  if (from.is_integer() && to.id() == TypeId::kBool) {
    int128_t v;
    AsInt128(input, &v);
    return Value::Boolean(v != 0);
  }
  if (from.id() == TypeId::kDate && to.id() == TypeId::kTimestamp) {
    int64_t micros;
    if (__builtin_mul_overflow(input.int_value(), 86400000000LL, &micros)) {
      return fail(OutOfRange(input, to));
    }
    return Value::Int(to, micros);
  }
  if (from.id() == TypeId::kTimestamp && to.id() == TypeId::kTimestamp) {
    return Value::Int(to, input.int_value());  // both UTC microseconds
  }
  if (from.id() == TypeId::kTimestamp && to.id() == TypeId::kDate) {
    int64_t t = input.int_value();
    int64_t days = t / 86400000000LL - ((t % 86400000000LL) < 0 ? 1 : 0);
    return Value::Date(days);
  }
  if (from.id() == TypeId::kTimestamp && to.id() == TypeId::kTime) {
    int64_t t = input.int_value() % 86400000000LL;
    if (t < 0) t += 86400000000LL;
    return Value::Time(t);
  }
  if (from.id() == TypeId::kList && to.id() == TypeId::kList) {
    std::vector<Value> items;
    for (const auto& item : input.children()) {
      auto c = CastValue(item, to.element(), try_cast);
      if (!c.ok()) return c.status();
      items.push_back(c.MoveValue());
    }
    return Value::Nested(to, std::move(items));
  }
  if (from.id() == TypeId::kStruct && to.id() == TypeId::kStruct && FieldsCast(from, to, CanCast)) {
    std::vector<Value> fields;
    for (size_t i = 0; i < input.children().size(); ++i) {
      auto c = CastValue(input.children()[i], to.fields()[i].type, try_cast);
      if (!c.ok()) return c.status();
      fields.push_back(c.MoveValue());
    }
    return Value::Nested(to, std::move(fields));
  }
  if (from.id() == TypeId::kBinary && to.id() == TypeId::kUtf8) {
    return Value::String(input.string_value());
  }
  return Status::User("cannot cast type {} to {}", from.ToString(), to.ToString());
}

namespace {

template <typename From, typename To>
Status CastIntLoop(const Column& in, Column* out, const DataType& to, bool try_cast,
                   batch::BufferPtr* validity) {
  const From* s = in.raw<From>();
  To* d = out->mutable_raw<To>();
  constexpr bool kCheck =
      !(std::numeric_limits<To>::is_signed == std::numeric_limits<From>::is_signed &&
        sizeof(To) >= sizeof(From)) &&
      !(std::numeric_limits<To>::is_signed && sizeof(To) > sizeof(From));
  for (int64_t i = 0; i < in.length; ++i) {
    From v = s[i];
    if constexpr (kCheck) {
      if (!std::in_range<To>(v) && in.IsValid(i)) {
        if (!try_cast) return OutOfRange(in.GetValue(i), to);
        if (!*validity) *validity = Column::MakeAllValidBitmap(in.length);
        batch::ClearBit((*validity)->data(), i);
        d[i] = 0;
        continue;
      }
    }
    d[i] = static_cast<To>(v);
  }
  return Status::Ok();
}

template <typename From>
Status CastFromInt(const Column& in, Column* out, const DataType& to, bool try_cast,
                   batch::BufferPtr* validity) {
  switch (to.id()) {
    case TypeId::kInt8:
      return CastIntLoop<From, int8_t>(in, out, to, try_cast, validity);
    case TypeId::kInt16:
      return CastIntLoop<From, int16_t>(in, out, to, try_cast, validity);
    case TypeId::kInt32:
      return CastIntLoop<From, int32_t>(in, out, to, try_cast, validity);
    case TypeId::kInt64:
      return CastIntLoop<From, int64_t>(in, out, to, try_cast, validity);
    case TypeId::kUInt8:
      return CastIntLoop<From, uint8_t>(in, out, to, try_cast, validity);
    case TypeId::kUInt16:
      return CastIntLoop<From, uint16_t>(in, out, to, try_cast, validity);
    case TypeId::kUInt32:
      return CastIntLoop<From, uint32_t>(in, out, to, try_cast, validity);
    case TypeId::kUInt64:
      return CastIntLoop<From, uint64_t>(in, out, to, try_cast, validity);
    case TypeId::kFloat32: {
      const From* s = in.raw<From>();
      float* d = out->mutable_raw<float>();
      for (int64_t i = 0; i < in.length; ++i) d[i] = static_cast<float>(s[i]);
      return Status::Ok();
    }
    case TypeId::kFloat64: {
      const From* s = in.raw<From>();
      double* d = out->mutable_raw<double>();
      for (int64_t i = 0; i < in.length; ++i) d[i] = static_cast<double>(s[i]);
      return Status::Ok();
    }
    default:
      return Status::Internal("bad integer cast target");
  }
}

// Fast path for integer → integer/float casts. Returns false when not applicable.
bool FastNumericCast(const ColumnPtr& input, const DataType& to, bool try_cast,
                     Result<ColumnPtr>* result) {
  const DataType& from = input->type;
  if (!from.is_integer() || !(to.is_integer() || to.is_floating())) return false;
  auto out = Column::MakeFixed(to, input->length);
  batch::BufferPtr extra;  // rows turned NULL by TRY_CAST
  Status st;
  switch (from.id()) {
    case TypeId::kInt8:
      st = CastFromInt<int8_t>(*input, out.get(), to, try_cast, &extra);
      break;
    case TypeId::kInt16:
      st = CastFromInt<int16_t>(*input, out.get(), to, try_cast, &extra);
      break;
    case TypeId::kInt32:
      st = CastFromInt<int32_t>(*input, out.get(), to, try_cast, &extra);
      break;
    case TypeId::kInt64:
      st = CastFromInt<int64_t>(*input, out.get(), to, try_cast, &extra);
      break;
    case TypeId::kUInt8:
      st = CastFromInt<uint8_t>(*input, out.get(), to, try_cast, &extra);
      break;
    case TypeId::kUInt16:
      st = CastFromInt<uint16_t>(*input, out.get(), to, try_cast, &extra);
      break;
    case TypeId::kUInt32:
      st = CastFromInt<uint32_t>(*input, out.get(), to, try_cast, &extra);
      break;
    case TypeId::kUInt64:
      st = CastFromInt<uint64_t>(*input, out.get(), to, try_cast, &extra);
      break;
    default:
      return false;
  }
  if (!st.ok()) {
    *result = st;
    return true;
  }
  out->validity = input->validity;
  if (extra) {
    if (input->validity) {
      for (size_t i = 0; i < extra->size(); ++i) extra->data()[i] &= input->validity->data()[i];
    }
    out->validity = extra;
  }
  *result = ColumnPtr(out);
  return true;
}

}  // namespace

Result<ColumnPtr> CastColumnSlow(const ColumnPtr& input, const DataType& to, bool try_cast);

Result<ColumnPtr> CastColumn(const ColumnPtr& input, const DataType& to, bool try_cast) {
  if (input->type == to) return input;
  if (input->type.id() == TypeId::kNull) return Column::MakeNull(to, input->length);
  // Text and JSON share a layout, as do TIMESTAMP and TIMESTAMPTZ: a relabel, no copy.
  if ((input->type.id() == TypeId::kUtf8 &&
       (to.id() == TypeId::kJson || to.id() == TypeId::kBinary)) ||
      (input->type.id() == TypeId::kJson && to.id() == TypeId::kUtf8) ||
      (input->type.id() == TypeId::kBinary && to.id() == TypeId::kUtf8) ||
      (input->type.id() == TypeId::kTimestamp && to.id() == TypeId::kTimestamp)) {
    auto out = std::make_shared<Column>(*input);
    out->type = to;
    return ColumnPtr(out);
  }
  if (input->type.id() == TypeId::kDate && to.id() == TypeId::kTimestamp) {
    auto out = Column::MakeFixed(to, input->length);
    const int32_t* s = input->raw<int32_t>();
    int64_t* d = out->mutable_raw<int64_t>();
    for (int64_t i = 0; i < input->length; ++i) {
      if (__builtin_mul_overflow(static_cast<int64_t>(s[i]), 86400000000LL, &d[i]) &&
          input->IsValid(i)) {
        if (!try_cast) return OutOfRange(input->GetValue(i), to);
        return CastColumnSlow(input, to, try_cast);
      }
    }
    out->validity = input->validity;
    return ColumnPtr(out);
  }
  if (input->type.id() == TypeId::kStruct && to.id() == TypeId::kStruct &&
      FieldsCast(input->type, to, CanCast)) {
    // Field columns cast one by one; the struct's own validity stays.
    auto out = std::make_shared<Column>(*input);
    out->type = to;
    for (size_t i = 0; i < out->children.size(); ++i) {
      auto c = CastColumn(input->children[i], to.fields()[i].type, try_cast);
      if (!c.ok()) return c.status();
      out->children[i] = c.MoveValue();
    }
    return ColumnPtr(out);
  }
  Result<ColumnPtr> fast = Status::Internal("unset");
  if (FastNumericCast(input, to, try_cast, &fast)) return fast;
  return CastColumnSlow(input, to, try_cast);
}

// Row by row through CastValue: every conversion, at the cost of a Value per row.
Result<ColumnPtr> CastColumnSlow(const ColumnPtr& input, const DataType& to, bool try_cast) {
  if (!CanCast(input->type, to)) {
    return Status::User("cannot cast type {} to {}", input->type.ToString(), to.ToString());
  }
  ColumnBuilder builder(to);
  builder.Reserve(input->length);
  for (int64_t i = 0; i < input->length; ++i) {
    if (input->IsNull(i)) {
      builder.AppendNull();
      continue;
    }
    auto v = CastValue(input->GetValue(i), to, try_cast);
    if (!v.ok()) return v.status();
    builder.AppendValue(*v);
  }
  return builder.Finish();
}

}  // namespace sluice::expr
