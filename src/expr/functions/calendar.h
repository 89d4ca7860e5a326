#pragma once
// Proleptic Gregorian calendar arithmetic on the engine's representations: timestamps are int64
// microseconds since 1970-01-01 00:00 UTC, dates int32 days since then. Years are astronomical
// (year 0 is 1 BC), which is how Postgres computes internally too.

#include <cstdint>

#include "types/value.h"

namespace sluice::expr {

constexpr int64_t kMicrosPerSecond = 1000000;
constexpr int64_t kMicrosPerMinute = 60 * kMicrosPerSecond;
constexpr int64_t kMicrosPerHour = 60 * kMicrosPerMinute;
constexpr int64_t kMicrosPerDay = 24 * kMicrosPerHour;
constexpr int64_t kUnixEpochJulianDay = 2440588;

inline int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

inline int64_t FloorMod(int64_t a, int64_t b) {
  return a - FloorDiv(a, b) * b;
}

inline bool IsLeapYear(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

inline unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeapYear(y) ? 29 : kDays[m - 1];
}

// 0 = Sunday ... 6 = Saturday (1970-01-01 was a Thursday).
inline int DayOfWeek(int64_t days) {
  return static_cast<int>(FloorMod(days + 4, 7));
}
// 1 = Monday ... 7 = Sunday.
inline int IsoDayOfWeek(int64_t days) {
  int d = DayOfWeek(days);
  return d == 0 ? 7 : d;
}

// ISO 8601 week-numbering year and week (weeks start on Monday; week 1 holds the first
// Thursday of the year).
inline void IsoWeek(int64_t days, int64_t* iso_year, int* week) {
  int64_t thursday = days - IsoDayOfWeek(days) + 4;
  int64_t y;
  unsigned m, d;
  types::CivilFromDays(thursday, &y, &m, &d);
  *iso_year = y;
  *week = static_cast<int>((thursday - types::DaysFromCivil(y, 1, 1)) / 7 + 1);
}

// The first day (Monday) of ISO year `iso_year`'s week 1.
inline int64_t IsoYearStart(int64_t iso_year) {
  int64_t jan4 = types::DaysFromCivil(iso_year, 1, 4);
  return jan4 - IsoDayOfWeek(jan4) + 1;
}

// A timestamp taken apart.
struct CivilTime {
  int64_t days = 0;  // since the epoch
  int64_t year = 0;
  unsigned month = 1;
  unsigned day = 1;
  int64_t time = 0;  // microseconds since midnight
};

inline CivilTime SplitTimestamp(int64_t micros) {
  CivilTime c;
  c.days = FloorDiv(micros, kMicrosPerDay);
  c.time = FloorMod(micros, kMicrosPerDay);
  types::CivilFromDays(c.days, &c.year, &c.month, &c.day);
  return c;
}

// days * kMicrosPerDay + time, or false on int64 overflow.
inline bool MakeTimestamp(int64_t days, int64_t time, int64_t* out) {
  int64_t base;
  if (__builtin_mul_overflow(days, kMicrosPerDay, &base)) return false;
  return !__builtin_add_overflow(base, time, out);
}

// Postgres' year numbering for display and extract: no year 0, 1 BC is -1.
inline int64_t DisplayYear(int64_t y) {
  return y > 0 ? y : y - 1;
}
inline int64_t CenturyOf(int64_t y) {
  return y > 0 ? (y + 99) / 100 : -((99 - (y - 1)) / 100);
}
inline int64_t MillenniumOf(int64_t y) {
  return y > 0 ? (y + 999) / 1000 : -((999 - (y - 1)) / 1000);
}
inline int64_t DecadeOf(int64_t y) {
  return y >= 0 ? y / 10 : -((8 - (y - 1)) / 10);
}

}  // namespace sluice::expr
