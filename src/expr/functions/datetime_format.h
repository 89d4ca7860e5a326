#pragma once
// PostgreSQL's date/time templates (to_char, to_timestamp, to_date): 'YYYY-MM-DD HH24:MI:SS',
// 'FMMonth DDth, YYYY', ... A template is parsed once into nodes, then applied per row.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sluice::expr {

enum class FormatField {
  kYearComma,  // Y,YYY
  kYear4,      // YYYY
  kYear3,
  kYear2,
  kYear1,
  kIsoYear4,  // IYYY
  kIsoYear3,
  kIsoYear2,
  kIsoYear1,
  kEra,  // AD, BC, A.D., B.C.
  kMonthName,
  kMonthAbbrev,
  kMonth,  // MM
  kDayName,
  kDayAbbrev,
  kDayOfYear,     // DDD
  kIsoDayOfYear,  // IDDD
  kDayOfMonth,    // DD
  kDayOfWeek,     // D, 1 = Sunday
  kIsoDayOfWeek,  // ID, 1 = Monday
  kWeekOfMonth,   // W
  kWeekOfYear,    // WW
  kIsoWeek,       // IW
  kCentury,       // CC
  kJulianDay,     // J
  kQuarter,       // Q
  kRomanMonth,    // RM
  kHour12,        // HH, HH12
  kHour24,
  kMinute,
  kSecond,
  kSecondsOfDay,  // SSSS, SSSSS
  kMillisecond,   // MS
  kMicrosecond,   // US
  kFraction,      // FF1..FF6 (digits in FormatNode::digits)
  kMeridiem,      // AM, PM, A.M., P.M.
  kTimeZone,      // TZ: empty for a timestamp without time zone
};

enum class LetterCase { kUpper, kCapitalized, kLower };

struct FormatNode {
  bool is_field = false;
  std::string literal;  // the text of a literal node; the keyword as written for a field
  FormatField field = FormatField::kYear4;
  LetterCase letter_case = LetterCase::kUpper;
  bool fill_mode = false;  // FM prefix: no padding
  bool dotted = false;     // A.M. / B.C. style
  bool ordinal = false;    // TH/th suffix
  bool ordinal_upper = false;
  bool quoted = false;  // literal came from "..."
  int digits = 0;       // FFn
};

using DateTimeFormat = std::vector<FormatNode>;

DateTimeFormat ParseDateTimeFormat(std::string_view format);

// Appends the text of timestamp `micros` under `format` (to_char).
void FormatTimestampAs(const DateTimeFormat& format, int64_t micros, std::string* out);

// Reads `input` under `format` (to_timestamp/to_date). Missing fields default to January 1 of
// year 1 at midnight. Errors name `fn_name` and the offending text.
Result<int64_t> ParseTimestampAs(const DateTimeFormat& format, std::string_view input,
                                 std::string_view fn_name);

}  // namespace sluice::expr
