// Date/time functions with PostgreSQL semantics on TIMESTAMP (µs since the epoch, no zone),
// DATE (days), TIME (µs since midnight) and INTERVAL (months, days, µs kept apart). Units and
// templates given as constants are checked and prepared at bind time.

#include "expr/functions/datetime.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <memory>
#include <optional>
#include <string>

#include "common/time.h"
#include "expr/functions/calendar.h"
#include "expr/functions/datetime_format.h"
#include "expr/functions/overload.h"
#include "expr/functions/row_loops.h"
#include "expr/kernel_util.h"

namespace sluice::expr {

using types::Interval;

Result<int64_t> AddInterval(int64_t ts_micros, const Interval& iv, int sign) {
  int64_t result = ts_micros;
  if (iv.months != 0) {
    CivilTime c = SplitTimestamp(ts_micros);
    int64_t total = c.year * 12 + (c.month - 1) + sign * static_cast<int64_t>(iv.months);
    int64_t year = FloorDiv(total, 12);
    unsigned month = static_cast<unsigned>(FloorMod(total, 12)) + 1;
    unsigned day = std::min(c.day, DaysInMonth(year, month));
    if (!MakeTimestamp(types::DaysFromCivil(year, month, day), c.time, &result)) {
      return Status::User("timestamp out of range");
    }
  }
  int64_t days_micros;
  int64_t micros;
  if (__builtin_mul_overflow(sign * static_cast<int64_t>(iv.days), kMicrosPerDay, &days_micros) ||
      __builtin_mul_overflow(static_cast<int64_t>(sign), iv.micros, &micros) ||
      __builtin_add_overflow(result, days_micros, &result) ||
      __builtin_add_overflow(result, micros, &result)) {
    return Status::User("timestamp out of range");
  }
  return result;
}

Result<Interval> TimestampDifference(int64_t a_micros, int64_t b_micros) {
  int64_t diff;
  if (__builtin_sub_overflow(a_micros, b_micros, &diff)) {
    return Status::User("interval out of range");
  }
  // Truncating division keeps days and time on the same side of zero, like justify_hours.
  return Interval{0, static_cast<int32_t>(diff / kMicrosPerDay), diff % kMicrosPerDay};
}

namespace {

const DataType kText = types::Utf8();
const DataType kTimestamp = types::Timestamp();
const DataType kDouble = types::Float64();
const DataType kDate = DataType(TypeId::kDate);
const DataType kTime = DataType(TypeId::kTime);
const DataType kInterval = DataType(TypeId::kInterval);

enum class Unit {
  kMicrosecond,
  kMillisecond,
  kSecond,
  kMinute,
  kHour,
  kDay,
  kWeek,
  kMonth,
  kQuarter,
  kYear,
  kDecade,
  kCentury,
  kMillennium,
  // date_part only
  kDow,
  kIsoDow,
  kDoy,
  kIsoYear,
  kEpoch,
  kJulian,
  kTimezone,
  kTimezoneHour,
  kTimezoneMinute,
};

struct UnitName {
  std::string_view name;
  Unit unit;
};

// Postgres' spellings, abbreviations and plurals.
constexpr UnitName kUnitNames[] = {
    {"microsecond", Unit::kMicrosecond},
    {"microseconds", Unit::kMicrosecond},
    {"us", Unit::kMicrosecond},
    {"usec", Unit::kMicrosecond},
    {"usecs", Unit::kMicrosecond},
    {"millisecond", Unit::kMillisecond},
    {"milliseconds", Unit::kMillisecond},
    {"ms", Unit::kMillisecond},
    {"msec", Unit::kMillisecond},
    {"msecs", Unit::kMillisecond},
    {"second", Unit::kSecond},
    {"seconds", Unit::kSecond},
    {"s", Unit::kSecond},
    {"sec", Unit::kSecond},
    {"secs", Unit::kSecond},
    {"minute", Unit::kMinute},
    {"minutes", Unit::kMinute},
    {"m", Unit::kMinute},
    {"min", Unit::kMinute},
    {"mins", Unit::kMinute},
    {"hour", Unit::kHour},
    {"hours", Unit::kHour},
    {"h", Unit::kHour},
    {"hr", Unit::kHour},
    {"hrs", Unit::kHour},
    {"day", Unit::kDay},
    {"days", Unit::kDay},
    {"d", Unit::kDay},
    {"week", Unit::kWeek},
    {"weeks", Unit::kWeek},
    {"w", Unit::kWeek},
    {"month", Unit::kMonth},
    {"months", Unit::kMonth},
    {"mon", Unit::kMonth},
    {"mons", Unit::kMonth},
    {"quarter", Unit::kQuarter},
    {"qtr", Unit::kQuarter},
    {"year", Unit::kYear},
    {"years", Unit::kYear},
    {"y", Unit::kYear},
    {"yr", Unit::kYear},
    {"yrs", Unit::kYear},
    {"decade", Unit::kDecade},
    {"decades", Unit::kDecade},
    {"dec", Unit::kDecade},
    {"century", Unit::kCentury},
    {"centuries", Unit::kCentury},
    {"c", Unit::kCentury},
    {"cent", Unit::kCentury},
    {"millennium", Unit::kMillennium},
    {"millennia", Unit::kMillennium},
    {"mil", Unit::kMillennium},
    {"mils", Unit::kMillennium},
    {"dow", Unit::kDow},
    {"isodow", Unit::kIsoDow},
    {"doy", Unit::kDoy},
    {"isoyear", Unit::kIsoYear},
    {"epoch", Unit::kEpoch},
    {"julian", Unit::kJulian},
    {"timezone", Unit::kTimezone},
    {"timezone_hour", Unit::kTimezoneHour},
    {"timezone_minute", Unit::kTimezoneMinute},
};

constexpr std::string_view kTruncUnits =
    "microseconds, milliseconds, second, minute, hour, day, week, month, quarter, year, decade, "
    "century, millennium";
constexpr std::string_view kPartUnits =
    "microseconds, milliseconds, second, minute, hour, day, week, month, quarter, year, decade, "
    "century, millennium, dow, isodow, doy, isoyear, epoch, julian";

std::optional<Unit> LookupUnit(std::string_view text) {
  std::string lower;
  for (char c : text) {
    if (c != ' ') lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  for (const auto& u : kUnitNames) {
    if (u.name == lower) return u.unit;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// date_trunc

bool IsTruncUnit(Unit u) {
  return u <= Unit::kMillennium;
}

Result<Unit> ParseTruncUnit(std::string_view text) {
  auto unit = LookupUnit(text);
  if (!unit || !IsTruncUnit(*unit)) {
    return Status::User("unit '{}' not recognized for date_trunc; expected one of {}", text,
                        kTruncUnits);
  }
  return *unit;
}

// Truncates `ts` to `unit`; false when the result leaves the timestamp range.
bool TruncateTimestamp(int64_t ts, Unit unit, int64_t* out) {
  // Flooring can step below the smallest representable value.
  auto floor_to = [&](int64_t step) {
    return !__builtin_mul_overflow(FloorDiv(ts, step), step, out);
  };
  switch (unit) {
    case Unit::kMicrosecond:
      *out = ts;
      return true;
    case Unit::kMillisecond:
      return floor_to(1000);
    case Unit::kSecond:
      return floor_to(kMicrosPerSecond);
    case Unit::kMinute:
      return floor_to(kMicrosPerMinute);
    case Unit::kHour:
      return floor_to(kMicrosPerHour);
    case Unit::kDay:
      return floor_to(kMicrosPerDay);
    default:
      break;
  }
  CivilTime c = SplitTimestamp(ts);
  int64_t y = c.year;
  unsigned m = c.month;
  switch (unit) {
    case Unit::kWeek:
      return MakeTimestamp(c.days - IsoDayOfWeek(c.days) + 1, 0, out);
    case Unit::kMonth:
      break;
    case Unit::kQuarter:
      m = ((m - 1) / 3) * 3 + 1;
      break;
    case Unit::kYear:
      m = 1;
      break;
    case Unit::kDecade:
      y = y > 0 ? (y / 10) * 10 : -((8 - (y - 1)) / 10) * 10;
      m = 1;
      break;
    case Unit::kCentury:
      y = y > 0 ? ((y + 99) / 100) * 100 - 99 : -((99 - (y - 1)) / 100) * 100 + 1;
      m = 1;
      break;
    case Unit::kMillennium:
      y = y > 0 ? ((y + 999) / 1000) * 1000 - 999 : -((999 - (y - 1)) / 1000) * 1000 + 1;
      m = 1;
      break;
    default:
      break;
  }
  return MakeTimestamp(types::DaysFromCivil(y, m, 1), 0, out);
}

struct UnitState {
  Unit unit;
};

// date_trunc(unit, timestamp|date) → TIMESTAMP.
Status DateTruncKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                       ColumnPtr* out) {
  const auto* state = static_cast<const UnitState*>(f.state.get());
  const Column& units = *args[0];
  const int64_t* ts = args[1]->raw<int64_t>();
  std::string last_text;
  std::optional<Unit> last_unit;
  auto op = [&](int64_t i, int64_t* r) -> Status {
    Unit unit;
    if (state != nullptr) {
      unit = state->unit;
    } else {
      std::string_view text = units.GetString(i);
      if (!last_unit || text != last_text) {
        auto parsed = ParseTruncUnit(text);
        if (!parsed.ok()) return parsed.status();
        last_unit = *parsed;
        last_text.assign(text);
      }
      unit = *last_unit;
    }
    if (!TruncateTimestamp(ts[i], unit, r)) {
      return Status::User("date_trunc(): timestamp out of range: {}", ts[i]);
    }
    return Status::Ok();
  };
  return StoreResult(MapFixedRows<int64_t>(args, rows, kTimestamp, op), out);
}

Result<BoundFunction> BindDateTrunc(const BindInput& in) {
  auto fn = BindOverloads(in, {Signature{{kText, kTimestamp}, kTimestamp, DateTruncKernel}});
  if (!fn.ok()) return fn.status();
  const Value* unit = ConstantArg(in, 0);
  if (unit != nullptr && !unit->is_null()) {
    auto parsed = ParseTruncUnit(unit->string_value());
    if (!parsed.ok()) return parsed.status();
    fn->state = std::make_shared<const UnitState>(UnitState{*parsed});
  }
  return fn;
}

// ---------------------------------------------------------------------------------------------
// date_part / EXTRACT

enum class PartSource { kTimestamp, kTime, kInterval };

std::string_view SourceName(PartSource s) {
  switch (s) {
    case PartSource::kTimestamp:
      return "timestamp";
    case PartSource::kTime:
      return "time";
    case PartSource::kInterval:
      return "interval";
  }
  return "?";
}

bool PartSupported(Unit u, PartSource s) {
  switch (s) {
    case PartSource::kTimestamp:
      return true;
    case PartSource::kTime:
      return u == Unit::kMicrosecond || u == Unit::kMillisecond || u == Unit::kSecond ||
             u == Unit::kMinute || u == Unit::kHour || u == Unit::kEpoch || u == Unit::kTimezone ||
             u == Unit::kTimezoneHour || u == Unit::kTimezoneMinute;
    case PartSource::kInterval:
      return IsTruncUnit(u) ? u != Unit::kWeek : u == Unit::kEpoch;
  }
  return false;
}

Result<Unit> ParsePartUnit(std::string_view text, PartSource source) {
  auto unit = LookupUnit(text);
  if (!unit) {
    return Status::User("unit '{}' not recognized for date_part; expected one of {}", text,
                        kPartUnits);
  }
  if (!PartSupported(*unit, source)) {
    return Status::User("date_part(): unit '{}' not supported for type {}", text,
                        SourceName(source));
  }
  return *unit;
}

double TimestampPart(Unit unit, int64_t ts) {
  CivilTime c = SplitTimestamp(ts);
  int64_t in_minute = c.time % kMicrosPerMinute;
  switch (unit) {
    case Unit::kMicrosecond:
      return static_cast<double>(in_minute);
    case Unit::kMillisecond:
      return static_cast<double>(in_minute) / 1000.0;
    case Unit::kSecond:
      return static_cast<double>(in_minute) / 1e6;
    case Unit::kMinute:
      return static_cast<double>((c.time / kMicrosPerMinute) % 60);
    case Unit::kHour:
      return static_cast<double>(c.time / kMicrosPerHour);
    case Unit::kDay:
      return c.day;
    case Unit::kWeek: {
      int64_t iso_year;
      int week;
      IsoWeek(c.days, &iso_year, &week);
      return week;
    }
    case Unit::kMonth:
      return c.month;
    case Unit::kQuarter:
      return (c.month - 1) / 3 + 1;
    case Unit::kYear:
      return static_cast<double>(DisplayYear(c.year));
    case Unit::kDecade:
      return static_cast<double>(DecadeOf(c.year));
    case Unit::kCentury:
      return static_cast<double>(CenturyOf(c.year));
    case Unit::kMillennium:
      return static_cast<double>(MillenniumOf(c.year));
    case Unit::kDow:
      return DayOfWeek(c.days);
    case Unit::kIsoDow:
      return IsoDayOfWeek(c.days);
    case Unit::kDoy:
      return static_cast<double>(c.days - types::DaysFromCivil(c.year, 1, 1) + 1);
    case Unit::kIsoYear: {
      int64_t iso_year;
      int week;
      IsoWeek(c.days, &iso_year, &week);
      return static_cast<double>(DisplayYear(iso_year));
    }
    case Unit::kEpoch:
      // Whole seconds and fraction apart, so large values keep their microseconds.
      return static_cast<double>(FloorDiv(ts, kMicrosPerSecond)) +
             static_cast<double>(FloorMod(ts, kMicrosPerSecond)) / 1e6;
    case Unit::kJulian:
      return static_cast<double>(c.days + kUnixEpochJulianDay) +
             static_cast<double>(c.time) / static_cast<double>(kMicrosPerDay);
    case Unit::kTimezone:
    case Unit::kTimezoneHour:
    case Unit::kTimezoneMinute:
      return 0;
  }
  return 0;
}

double TimePart(Unit unit, int64_t t) {
  if (unit == Unit::kEpoch) return static_cast<double>(t) / 1e6;
  return TimestampPart(unit, t);  // a time is a timestamp on 1970-01-01
}

double IntervalPart(Unit unit, const Interval& v) {
  int64_t years = v.months / 12;
  switch (unit) {
    case Unit::kMicrosecond:
      return static_cast<double>(v.micros % kMicrosPerMinute);
    case Unit::kMillisecond:
      return static_cast<double>(v.micros % kMicrosPerMinute) / 1000.0;
    case Unit::kSecond:
      return static_cast<double>(v.micros % kMicrosPerMinute) / 1e6;
    case Unit::kMinute:
      return static_cast<double>((v.micros / kMicrosPerMinute) % 60);
    case Unit::kHour:
      return static_cast<double>(v.micros / kMicrosPerHour);
    case Unit::kDay:
      return v.days;
    case Unit::kMonth:
      return v.months % 12;
    case Unit::kQuarter:
      return (v.months % 12) / 3 + 1;
    case Unit::kYear:
      return static_cast<double>(years);
    case Unit::kDecade:
      return static_cast<double>(years / 10);
    case Unit::kCentury:
      return static_cast<double>(years / 100);
    case Unit::kMillennium:
      return static_cast<double>(years / 1000);
    case Unit::kEpoch:
      // Postgres' conventions: a year is 365.25 days, a month 30 days.
      return static_cast<double>(v.micros) / 1e6 + 365.25 * 86400.0 * static_cast<double>(years) +
             30.0 * 86400.0 * static_cast<double>(v.months % 12) + 86400.0 * v.days;
    default:
      return 0;
  }
}

Kernel DatePartKernel(PartSource source) {
  return [source](const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                  ColumnPtr* out) -> Status {
    const auto* state = static_cast<const UnitState*>(f.state.get());
    const Column& units = *args[0];
    const Column& values = *args[1];
    std::string last_text;
    std::optional<Unit> last_unit;
    auto op = [&](int64_t i, double* r) -> Status {
      Unit unit;
      if (state != nullptr) {
        unit = state->unit;
      } else {
        std::string_view text = units.GetString(i);
        if (!last_unit || text != last_text) {
          auto parsed = ParsePartUnit(text, source);
          if (!parsed.ok()) return parsed.status();
          last_unit = *parsed;
          last_text.assign(text);
        }
        unit = *last_unit;
      }
      switch (source) {
        case PartSource::kTimestamp:
          *r = TimestampPart(unit, values.raw<int64_t>()[i]);
          break;
        case PartSource::kTime:
          *r = TimePart(unit, values.raw<int64_t>()[i]);
          break;
        case PartSource::kInterval:
          *r = IntervalPart(unit, values.raw<Interval>()[i]);
          break;
      }
      return Status::Ok();
    };
    return StoreResult(MapFixedRows<double>(args, rows, kDouble, op), out);
  };
}

Result<BoundFunction> BindDatePart(const BindInput& in) {
  auto fn = BindOverloads(
      in, {Signature{{kText, kTimestamp}, kDouble, DatePartKernel(PartSource::kTimestamp)},
           Signature{{kText, kTime}, kDouble, DatePartKernel(PartSource::kTime)},
           Signature{{kText, kInterval}, kDouble, DatePartKernel(PartSource::kInterval)}});
  if (!fn.ok()) return fn.status();
  PartSource source = fn->arg_types[1].id() == TypeId::kTime       ? PartSource::kTime
                      : fn->arg_types[1].id() == TypeId::kInterval ? PartSource::kInterval
                                                                   : PartSource::kTimestamp;
  const Value* unit = ConstantArg(in, 0);
  if (unit != nullptr && !unit->is_null()) {
    auto parsed = ParsePartUnit(unit->string_value(), source);
    if (!parsed.ok()) return parsed.status();
    fn->state = std::make_shared<const UnitState>(UnitState{*parsed});
  }
  return fn;
}

// ---------------------------------------------------------------------------------------------
// to_timestamp, to_date, to_char

Status EpochToTimestampKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                              ColumnPtr* out) {
  const double* secs = args[0]->raw<double>();
  auto op = [&](int64_t i, int64_t* r) -> Status {
    double s = secs[i];
    if (std::isnan(s)) return Status::User("to_timestamp(): timestamp cannot be NaN");
    double micros = std::rint(s * 1e6);
    // 2^63 is exactly representable; anything at or past it does not fit.
    if (!(micros > -9223372036854775808.0 && micros < 9223372036854775808.0)) {
      return Status::User("to_timestamp(): timestamp out of range: {}", s);
    }
    *r = static_cast<int64_t>(micros);
    return Status::Ok();
  };
  return StoreResult(MapFixedRows<int64_t>(args, rows, kTimestamp, op), out);
}

struct FormatState {
  DateTimeFormat format;
};

// Per batch: the bind-time template, or the last row's template re-parsed when it changes.
class FormatCursor {
 public:
  FormatCursor(const BoundFunction& f, const Column& formats)
      : constant_(static_cast<const FormatState*>(f.state.get())), formats_(formats) {}
  const DateTimeFormat& At(int64_t i) {
    if (constant_ != nullptr) return constant_->format;
    std::string_view text = formats_.GetString(i);
    if (!parsed_ || text != last_) {
      last_.assign(text);
      format_ = ParseDateTimeFormat(text);
      parsed_ = true;
    }
    return format_;
  }

 private:
  const FormatState* constant_;
  const Column& formats_;
  bool parsed_ = false;
  std::string last_;
  DateTimeFormat format_;
};

Status ParseWithFormatKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                             ColumnPtr* out) {
  const Column& text = *args[0];
  FormatCursor formats(f, *args[1]);
  bool to_date = f.return_type.id() == TypeId::kDate;
  if (to_date) {
    auto op = [&](int64_t i, int32_t* r) -> Status {
      auto ts = ParseTimestampAs(formats.At(i), text.GetString(i), f.name);
      if (!ts.ok()) return ts.status();
      *r = static_cast<int32_t>(FloorDiv(*ts, kMicrosPerDay));
      return Status::Ok();
    };
    return StoreResult(MapFixedRows<int32_t>(args, rows, kDate, op), out);
  }
  auto op = [&](int64_t i, int64_t* r) -> Status {
    auto ts = ParseTimestampAs(formats.At(i), text.GetString(i), f.name);
    if (!ts.ok()) return ts.status();
    *r = *ts;
    return Status::Ok();
  };
  return StoreResult(MapFixedRows<int64_t>(args, rows, kTimestamp, op), out);
}

Status ToCharKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                    ColumnPtr* out) {
  const int64_t* ts = args[0]->raw<int64_t>();
  FormatCursor formats(f, *args[1]);
  auto op = [&](int64_t i, std::string* r) { FormatTimestampAs(formats.At(i), ts[i], r); };
  return StoreResult(MapStringRows(f.name, args, rows, kText, op), out);
}

// Adds the parsed template of a constant format argument as state.
BindFn WithFormatState(std::vector<Signature> signatures, size_t format_arg) {
  return [signatures = std::move(signatures),
          format_arg](const BindInput& in) -> Result<BoundFunction> {
    auto fn = BindOverloads(in, signatures);
    if (!fn.ok()) return fn.status();
    const Value* format = ConstantArg(in, format_arg);
    if (format_arg < fn->arg_types.size() && format != nullptr && !format->is_null()) {
      fn->state = std::make_shared<const FormatState>(
          FormatState{ParseDateTimeFormat(format->string_value())});
    }
    return fn;
  };
}

// ---------------------------------------------------------------------------------------------
// Clock and constructors

// now(): one wall-clock reading per batch, so every row of a batch agrees.
Status NowKernel(const BoundFunction& f, std::span<const ColumnPtr>, int64_t rows, ColumnPtr* out) {
  int64_t now = Now().value;
  auto col = Column::MakeFixed(f.return_type, rows);
  switch (f.return_type.id()) {
    case TypeId::kDate: {
      int32_t* o = col->mutable_raw<int32_t>();
      std::fill(o, o + rows, static_cast<int32_t>(FloorDiv(now, kMicrosPerDay)));
      break;
    }
    case TypeId::kTime: {
      int64_t* o = col->mutable_raw<int64_t>();
      std::fill(o, o + rows, FloorMod(now, kMicrosPerDay));
      break;
    }
    default: {
      int64_t* o = col->mutable_raw<int64_t>();
      std::fill(o, o + rows, now);
      break;
    }
  }
  *out = col;
  return Status::Ok();
}

BindFn ClockFunction(DataType type) {
  return [type](const BindInput& in) -> Result<BoundFunction> {
    auto fn = FixedSignature({}, type, NowKernel)(in);
    if (fn.ok()) fn->deterministic = false;
    return fn;
  };
}

Status MakeDateKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                      ColumnPtr* out) {
  const int64_t* y = args[0]->raw<int64_t>();
  const int64_t* m = args[1]->raw<int64_t>();
  const int64_t* d = args[2]->raw<int64_t>();
  auto op = [&](int64_t i, int32_t* r) -> Status {
    // Postgres reads a negative year as BC: -44 is 44 BC, year -43 here.
    int64_t year = y[i] < 0 ? y[i] + 1 : y[i];
    if (y[i] == 0 || year < -290000 || year > 290000 || m[i] < 1 || m[i] > 12 || d[i] < 1 ||
        d[i] > DaysInMonth(year, static_cast<unsigned>(m[i]))) {
      return Status::User("make_date(): date field value out of range: {}-{:02}-{:02}", y[i], m[i],
                          d[i]);
    }
    *r = static_cast<int32_t>(
        types::DaysFromCivil(year, static_cast<unsigned>(m[i]), static_cast<unsigned>(d[i])));
    return Status::Ok();
  };
  return StoreResult(MapFixedRows<int32_t>(args, rows, kDate, op), out);
}

Status MakeTimestampKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                           ColumnPtr* out) {
  const int64_t* y = args[0]->raw<int64_t>();
  const int64_t* mo = args[1]->raw<int64_t>();
  const int64_t* d = args[2]->raw<int64_t>();
  const int64_t* h = args[3]->raw<int64_t>();
  const int64_t* mi = args[4]->raw<int64_t>();
  const double* s = args[5]->raw<double>();
  auto op = [&](int64_t i, int64_t* r) -> Status {
    int64_t year = y[i] < 0 ? y[i] + 1 : y[i];
    bool date_ok = y[i] != 0 && year >= -290000 && year <= 290000 && mo[i] >= 1 && mo[i] <= 12 &&
                   d[i] >= 1 && d[i] <= DaysInMonth(year, static_cast<unsigned>(mo[i]));
    bool time_ok = h[i] >= 0 && h[i] <= 23 && mi[i] >= 0 && mi[i] <= 59 && s[i] >= 0 && s[i] < 60;
    if (!date_ok || !time_ok) {
      return Status::User(
          "make_timestamp(): date/time field value out of range: "
          "{}-{:02}-{:02} {:02}:{:02}:{}",
          y[i], mo[i], d[i], h[i], mi[i], s[i]);
    }
    int64_t days =
        types::DaysFromCivil(year, static_cast<unsigned>(mo[i]), static_cast<unsigned>(d[i]));
    int64_t time = h[i] * kMicrosPerHour + mi[i] * kMicrosPerMinute +
                   static_cast<int64_t>(std::rint(s[i] * 1e6));
    if (!MakeTimestamp(days, time, r))
      return Status::User("make_timestamp(): timestamp out of range");
    return Status::Ok();
  };
  return StoreResult(MapFixedRows<int64_t>(args, rows, kTimestamp, op), out);
}

// make_interval(years, months, weeks, days, hours, mins, secs): trailing arguments may be
// omitted, as with Postgres' defaults.
Result<BoundFunction> BindMakeInterval(const BindInput& in) {
  static const std::vector<DataType> kArgs = {types::Int64(), types::Int64(), types::Int64(),
                                              types::Int64(), types::Int64(), types::Int64(),
                                              kDouble};
  if (in.types.size() > kArgs.size()) {
    return NoMatchingSignature(in.name, in, "(years, months, weeks, days, hours, mins, secs)");
  }
  std::vector<DataType> args(kArgs.begin(), kArgs.begin() + static_cast<long>(in.types.size()));
  auto fn = FixedSignature(
      args, kInterval,
      [](const BoundFunction& f, std::span<const ColumnPtr> a, int64_t rows,
         ColumnPtr* out) -> Status {
        auto op = [&](int64_t i, Interval* r) -> Status {
          int64_t v[6] = {0, 0, 0, 0, 0, 0};
          double secs = 0;
          for (size_t k = 0; k < a.size() && k < 6; ++k) v[k] = a[k]->raw<int64_t>()[i];
          if (a.size() > 6) secs = a[6]->raw<double>()[i];
          __int128 months = static_cast<__int128>(v[0]) * 12 + v[1];
          __int128 days = static_cast<__int128>(v[2]) * 7 + v[3];
          long double micros = static_cast<long double>(v[4]) * kMicrosPerHour +
                               static_cast<long double>(v[5]) * kMicrosPerMinute +
                               static_cast<long double>(secs) * 1e6L;
          if (months > INT32_MAX || months < INT32_MIN || days > INT32_MAX || days < INT32_MIN ||
              !(std::fabs(micros) < 9.2e18L)) {
            return Status::User("make_interval(): interval out of range");
          }
          *r = Interval{static_cast<int32_t>(months), static_cast<int32_t>(days),
                        static_cast<int64_t>(std::llrint(static_cast<double>(micros)))};
          return Status::Ok();
        };
        return StoreResult(MapFixedRows<Interval>(a, rows, kInterval, op), out);
      })(in);
  return fn;
}

// date_bin(stride, ts[, origin]): the start of the stride-wide bin holding ts, bins aligned to
// origin (default the Unix epoch, as in DataFusion/Arroyo).
Status DateBinKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                     ColumnPtr* out) {
  const Interval* stride = args[0]->raw<Interval>();
  const int64_t* ts = args[1]->raw<int64_t>();
  const int64_t* origin = args.size() > 2 ? args[2]->raw<int64_t>() : nullptr;
  auto op = [&](int64_t i, int64_t* r) -> Status {
    const Interval& s = stride[i];
    if (s.months != 0) {
      return Status::User(
          "date_bin(): timestamps cannot be binned into intervals containing "
          "months or years");
    }
    __int128 width = static_cast<__int128>(s.days) * kMicrosPerDay + s.micros;
    if (width <= 0) return Status::User("date_bin(): stride must be greater than zero");
    int64_t o = origin != nullptr ? origin[i] : 0;
    __int128 delta = static_cast<__int128>(ts[i]) - o;
    __int128 bins = delta / width;
    if (delta % width < 0) --bins;
    __int128 result = o + bins * width;
    if (result < INT64_MIN || result > INT64_MAX) {
      return Status::User("date_bin(): timestamp out of range");
    }
    *r = static_cast<int64_t>(result);
    return Status::Ok();
  };
  return StoreResult(MapFixedRows<int64_t>(args, rows, kTimestamp, op), out);
}

}  // namespace

void RegisterDatetimeFunctions(FunctionRegistry* r) {
  r->Register("date_trunc", BindDateTrunc);
  r->Register("date_part", BindDatePart);
  r->Alias("datepart", "date_part");
  r->Register("to_timestamp",
              WithFormatState({Signature{{kDouble}, kTimestamp, EpochToTimestampKernel},
                               Signature{{kText, kText}, kTimestamp, ParseWithFormatKernel}},
                              1));
  r->Register("to_date",
              WithFormatState({Signature{{kText, kText}, kDate, ParseWithFormatKernel}}, 1));
  r->Register("to_char", WithFormatState({Signature{{kTimestamp, kText}, kText, ToCharKernel}}, 1));
  r->Register("now", ClockFunction(kTimestamp));
  r->Alias("current_timestamp", "now");
  r->Alias("localtimestamp", "now");
  // Flink's PROCTIME(): the current time. As a table's column `name AS PROCTIME()` it is the
  // table's processing-time attribute instead (bound by the SQL binder, not called).
  r->Alias("proctime", "now");
  r->Register("current_date", ClockFunction(kDate));
  r->Register("current_time", ClockFunction(kTime));
  r->Register("make_date", FixedSignature({types::Int64(), types::Int64(), types::Int64()}, kDate,
                                          MakeDateKernel));
  r->Register("make_timestamp", FixedSignature({types::Int64(), types::Int64(), types::Int64(),
                                                types::Int64(), types::Int64(), kDouble},
                                               kTimestamp, MakeTimestampKernel));
  r->Register("make_interval", BindMakeInterval);
  r->Register(
      "date_bin",
      Overloads({Signature{{kInterval, kTimestamp}, kTimestamp, DateBinKernel},
                 Signature{{kInterval, kTimestamp, kTimestamp}, kTimestamp, DateBinKernel}}));
}

}  // namespace sluice::expr
