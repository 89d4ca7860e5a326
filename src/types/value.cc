#include "types/value.h"

#include <cinttypes>
#include <cstdio>

#include <fmt/format.h>

namespace sluice::types {

// Howard Hinnant's public-domain civil-date algorithms (the well-known formulas).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t yy = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yy + (*m <= 2);
}

static int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

static void AppendFraction(std::string* out, int64_t frac_micros) {
  if (frac_micros == 0) return;
  // Milliseconds when exact, else microseconds: 17:13:40.200, 17:13:40.123456.
  if (frac_micros % 1000 == 0) {
    *out += fmt::format(".{:03d}", frac_micros / 1000);
  } else {
    *out += fmt::format(".{:06d}", frac_micros);
  }
}

std::string FormatDate(int64_t days) {
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  return fmt::format("{:04d}-{:02d}-{:02d}", y, m, d);
}

std::string FormatTimestamp(int64_t micros) {
  int64_t days = FloorDiv(micros, 86400000000LL);
  int64_t rem = micros % 86400000000LL;  // no overflow near INT64_MIN, unlike days * 86400e6
  if (rem < 0) rem += 86400000000LL;
  int64_t secs = rem / 1000000;
  std::string out = FormatDate(days);
  out += fmt::format("T{:02d}:{:02d}:{:02d}", secs / 3600, (secs / 60) % 60, secs % 60);
  AppendFraction(&out, rem % 1000000);
  return out;
}

std::string FormatTime(int64_t micros) {
  int64_t secs = micros / 1000000;
  std::string out = fmt::format("{:02d}:{:02d}:{:02d}", secs / 3600, (secs / 60) % 60, secs % 60);
  AppendFraction(&out, micros % 1000000);
  return out;
}

std::string FormatInterval(const Interval& v) {
  std::string out;
  auto add = [&](int64_t n, const char* unit) {
    if (n == 0) return;
    if (!out.empty()) out += ' ';
    out += fmt::format("{} {}{}", n, unit, (n == 1 || n == -1) ? "" : "s");
  };
  add(v.months / 12, "year");
  add(v.months % 12, "mon");
  add(v.days, "day");
  if (v.micros != 0 || out.empty()) {
    if (!out.empty()) out += ' ';
    uint64_t us = static_cast<uint64_t>(v.micros);
    if (v.micros < 0) {
      out += '-';
      us = 0 - us;  // well defined for INT64_MIN, unlike -v.micros
    }
    int64_t secs = us / 1000000;
    out += fmt::format("{:02d}:{:02d}:{:02d}", secs / 3600, (secs / 60) % 60, secs % 60);
    if (us % 1000000) out += fmt::format(".{:06d}", us % 1000000);
  }
  return out;
}

std::string FormatDecimal(int128_t v, int scale) {
  bool neg = v < 0;
  unsigned __int128 u =
      neg ? static_cast<unsigned __int128>(-(v + 1)) + 1 : static_cast<unsigned __int128>(v);
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(u % 10)));
    u /= 10;
  } while (u != 0);
  if (scale > 0) {
    while (static_cast<int>(digits.size()) <= scale) digits.insert(digits.begin(), '0');
    digits.insert(digits.end() - scale, '.');
  }
  return neg ? "-" + digits : digits;
}

int CompareValues(const Value& a, const Value& b) {
  if (a.is_null() || b.is_null()) return a.is_null() == b.is_null() ? 0 : (a.is_null() ? 1 : -1);
  auto cmp = [](const auto& x, const auto& y) { return x < y ? -1 : (y < x ? 1 : 0); };
  const auto& pa = a.payload();
  const auto& pb = b.payload();
  if (pa.index() != pb.index()) return cmp(pa.index(), pb.index());
  if (const auto* iv = std::get_if<Interval>(&pa)) {
    const auto& jv = std::get<Interval>(pb);
    auto key = [](const Interval& v) {
      return (static_cast<int128_t>(v.months) * 30 + v.days) * 86400000000LL + v.micros;
    };
    return cmp(key(*iv), key(jv));
  }
  if (const auto* xs = std::get_if<std::vector<Value>>(&pa)) {
    const auto& ys = std::get<std::vector<Value>>(pb);
    for (size_t i = 0; i < xs->size() && i < ys.size(); ++i) {
      int c = CompareValues((*xs)[i], ys[i]);
      if (c != 0) return c;
    }
    return cmp(xs->size(), ys.size());
  }
  return std::visit(
      [&](const auto& x) -> int {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate> || std::is_same_v<T, Interval> ||
                      std::is_same_v<T, std::vector<Value>>) {
          return 0;
        } else {
          return cmp(x, std::get<T>(pb));
        }
      },
      pa);
}

std::string Value::ToString() const {
  if (is_null()) return "NULL";
  switch (type_.id()) {
    case TypeId::kBool:
      return bool_value() ? "true" : "false";
    case TypeId::kInt8:
    case TypeId::kInt16:
    case TypeId::kInt32:
    case TypeId::kInt64:
      return std::to_string(int_value());
    case TypeId::kUInt8:
    case TypeId::kUInt16:
    case TypeId::kUInt32:
    case TypeId::kUInt64:
      return std::to_string(uint_value());
    case TypeId::kFloat32:
    case TypeId::kFloat64:
      return fmt::format("{}", double_value());
    case TypeId::kDecimal:
      return FormatDecimal(decimal_value(), type_.scale());
    case TypeId::kUtf8:
    case TypeId::kJson:
    case TypeId::kBinary:
      return "'" + string_value() + "'";
    case TypeId::kDate:
      return "DATE '" + FormatDate(int_value()) + "'";
    case TypeId::kTime:
      return "TIME '" + FormatTime(int_value()) + "'";
    case TypeId::kTimestamp:
      if (type_.with_time_zone()) return "TIMESTAMPTZ '" + FormatTimestamp(int_value()) + "Z'";
      return "TIMESTAMP '" + FormatTimestamp(int_value()) + "'";
    case TypeId::kInterval:
      return "INTERVAL '" + FormatInterval(interval_value()) + "'";
    case TypeId::kList:
    case TypeId::kStruct: {
      std::string s = type_.id() == TypeId::kList ? "[" : "{";
      for (size_t i = 0; i < children().size(); ++i) {
        if (i) s += ", ";
        s += children()[i].ToString();
      }
      return s + (type_.id() == TypeId::kList ? "]" : "}");
    }
    case TypeId::kNull:
      return "NULL";
  }
  return "?";
}

}  // namespace sluice::types
