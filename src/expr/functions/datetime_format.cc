#include "expr/functions/datetime_format.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

#include <fmt/format.h>

#include "expr/functions/calendar.h"
#include "expr/functions/string_util.h"

namespace sluice::expr {
namespace {

struct Keyword {
  std::string_view text;
  FormatField field;
  int width;  // digits printed (and read when fields are adjacent); 0 for text fields
  bool dotted = false;
  int digits = 0;
};

// Longest keywords first wherever one is a prefix of another (MONTH before MON before MM).
constexpr Keyword kKeywords[] = {
    {"Y,YYY", FormatField::kYearComma, 5},
    {"YYYY", FormatField::kYear4, 4},
    {"YYY", FormatField::kYear3, 3},
    {"YY", FormatField::kYear2, 2},
    {"Y", FormatField::kYear1, 1},
    {"IYYY", FormatField::kIsoYear4, 4},
    {"IYY", FormatField::kIsoYear3, 3},
    {"IY", FormatField::kIsoYear2, 2},
    {"IDDD", FormatField::kIsoDayOfYear, 3},
    {"ID", FormatField::kIsoDayOfWeek, 1},
    {"IW", FormatField::kIsoWeek, 2},
    {"I", FormatField::kIsoYear1, 1},
    {"A.D.", FormatField::kEra, 0, true},
    {"B.C.", FormatField::kEra, 0, true},
    {"AD", FormatField::kEra, 0},
    {"BC", FormatField::kEra, 0},
    {"A.M.", FormatField::kMeridiem, 0, true},
    {"P.M.", FormatField::kMeridiem, 0, true},
    {"AM", FormatField::kMeridiem, 0},
    {"PM", FormatField::kMeridiem, 0},
    {"MONTH", FormatField::kMonthName, 0},
    {"MON", FormatField::kMonthAbbrev, 0},
    {"MM", FormatField::kMonth, 2},
    {"MI", FormatField::kMinute, 2},
    {"MS", FormatField::kMillisecond, 3},
    {"DAY", FormatField::kDayName, 0},
    {"DDD", FormatField::kDayOfYear, 3},
    {"DD", FormatField::kDayOfMonth, 2},
    {"DY", FormatField::kDayAbbrev, 0},
    {"D", FormatField::kDayOfWeek, 1},
    {"HH24", FormatField::kHour24, 2},
    {"HH12", FormatField::kHour12, 2},
    {"HH", FormatField::kHour12, 2},
    {"SSSSS", FormatField::kSecondsOfDay, 5},
    {"SSSS", FormatField::kSecondsOfDay, 5},
    {"SS", FormatField::kSecond, 2},
    {"US", FormatField::kMicrosecond, 6},
    {"FF1", FormatField::kFraction, 1, false, 1},
    {"FF2", FormatField::kFraction, 2, false, 2},
    {"FF3", FormatField::kFraction, 3, false, 3},
    {"FF4", FormatField::kFraction, 4, false, 4},
    {"FF5", FormatField::kFraction, 5, false, 5},
    {"FF6", FormatField::kFraction, 6, false, 6},
    {"WW", FormatField::kWeekOfYear, 2},
    {"W", FormatField::kWeekOfMonth, 1},
    {"CC", FormatField::kCentury, 2},
    {"J", FormatField::kJulianDay, 7},
    {"Q", FormatField::kQuarter, 1},
    {"RM", FormatField::kRomanMonth, 0},
    {"TZ", FormatField::kTimeZone, 0},
};

constexpr std::string_view kMonthNames[] = {"January",   "February", "March",    "April",
                                            "May",       "June",     "July",     "August",
                                            "September", "October",  "November", "December"};
constexpr std::string_view kDayNames[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                          "Thursday", "Friday", "Saturday"};
constexpr std::string_view kRomanMonths[] = {"I",   "II",   "III", "IV", "V",  "VI",
                                             "VII", "VIII", "IX",  "X",  "XI", "XII"};

bool StartsWithIgnoreCase(std::string_view s, size_t pos, std::string_view prefix) {
  if (s.size() - pos < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(s[pos + i])) != prefix[i]) return false;
  }
  return true;
}

// Width used when reading a field: widths of fixed-size fields, 0 for text fields.
int FieldWidth(const FormatNode& node) {
  for (const auto& k : kKeywords) {
    if (k.field == node.field &&
        (node.field != FormatField::kFraction || k.digits == node.digits)) {
      return k.width;
    }
  }
  return 0;
}

bool IsNumericField(FormatField f) {
  switch (f) {
    case FormatField::kEra:
    case FormatField::kMeridiem:
    case FormatField::kMonthName:
    case FormatField::kMonthAbbrev:
    case FormatField::kDayName:
    case FormatField::kDayAbbrev:
    case FormatField::kRomanMonth:
    case FormatField::kTimeZone:
      return false;
    default:
      return true;
  }
}

LetterCase CaseOf(std::string_view keyword_text) {
  auto is_upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  if (!is_upper(keyword_text[0])) return LetterCase::kLower;
  // Second letter decides between MONTH and Month (skipping the dot of A.M.).
  for (size_t i = 1; i < keyword_text.size(); ++i) {
    char c = keyword_text[i];
    if (std::isalpha(static_cast<unsigned char>(c))) {
      return is_upper(c) ? LetterCase::kUpper : LetterCase::kCapitalized;
    }
  }
  return LetterCase::kUpper;
}

void AppendCased(std::string_view text, LetterCase letter_case, std::string* out) {
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (letter_case == LetterCase::kUpper || (letter_case == LetterCase::kCapitalized && i == 0)) {
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    } else {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    out->push_back(c);
  }
}

// The digits of |v| zero-padded to `width` (unless fill mode), after a '-' when negative.
// Called for every field of every formatted row: to_chars, no format-string parsing.
void AppendNumber(int64_t v, int width, bool fill_mode, std::string* out) {
  char digits[24];
  const bool negative = v < 0;
  const uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  const char* end = std::to_chars(digits, digits + sizeof(digits), magnitude).ptr;
  const auto n = static_cast<int>(end - digits);
  if (negative) out->push_back('-');
  if (!fill_mode && width > n) out->append(static_cast<size_t>(width - n), '0');
  out->append(digits, static_cast<size_t>(n));
}

std::string_view OrdinalSuffix(int64_t v) {
  int64_t a = v < 0 ? -v : v;
  if (a % 100 >= 11 && a % 100 <= 13) return "th";
  switch (a % 10) {
    case 1:
      return "st";
    case 2:
      return "nd";
    case 3:
      return "rd";
    default:
      return "th";
  }
}

}  // namespace

DateTimeFormat ParseDateTimeFormat(std::string_view format) {
  DateTimeFormat nodes;
  size_t pos = 0;
  while (pos < format.size()) {
    bool fill_mode = false;
    size_t prefix_start = pos;
    while (true) {
      std::string_view rest = format.substr(pos);
      if (rest.starts_with("FM") || rest.starts_with("fm")) {
        fill_mode = true;
        pos += 2;
      } else if (rest.starts_with("FX") || rest.starts_with("fx") || rest.starts_with("TM") ||
                 rest.starts_with("tm")) {
        pos += 2;  // exact-match and translation modes: nothing to do for us
      } else {
        break;
      }
    }
    const Keyword* match = nullptr;
    for (const auto& k : kKeywords) {
      if (StartsWithIgnoreCase(format, pos, k.text)) {
        match = &k;
        break;
      }
    }
    if (match != nullptr) {
      FormatNode node;
      node.is_field = true;
      node.field = match->field;
      node.literal = std::string(format.substr(pos, match->text.size()));
      node.letter_case = CaseOf(node.literal);
      node.fill_mode = fill_mode;
      node.dotted = match->dotted;
      node.digits = match->digits;
      pos += match->text.size();
      std::string_view rest = format.substr(pos);
      if (IsNumericField(node.field) && (rest.starts_with("TH") || rest.starts_with("th"))) {
        node.ordinal = true;
        node.ordinal_upper = rest[0] == 'T';
        pos += 2;
      }
      nodes.push_back(std::move(node));
      continue;
    }
    if (pos >= format.size()) {  // a dangling prefix is plain text
      nodes.push_back(FormatNode{.literal = std::string(format.substr(prefix_start))});
      break;
    }
    if (pos > prefix_start) {
      nodes.push_back(
          FormatNode{.literal = std::string(format.substr(prefix_start, pos - prefix_start))});
    }
    FormatNode node;
    char c = format[pos];
    if (c == '"') {
      node.quoted = true;
      ++pos;
      while (pos < format.size() && format[pos] != '"') {
        if (format[pos] == '\\' && pos + 1 < format.size()) ++pos;
        node.literal.push_back(format[pos++]);
      }
      ++pos;  // closing quote (or past the end)
      if (!node.literal.empty()) nodes.push_back(std::move(node));
      continue;
    }
    if (c == '\\' && pos + 1 < format.size()) ++pos;
    size_t end = Utf8CharEnd(format, pos);
    node.literal = std::string(format.substr(pos, end - pos));
    pos = end;
    nodes.push_back(std::move(node));
  }
  return nodes;
}

void FormatTimestampAs(const DateTimeFormat& format, int64_t micros, std::string* out) {
  CivilTime c = SplitTimestamp(micros);
  int64_t hour = c.time / kMicrosPerHour;
  int64_t minute = (c.time / kMicrosPerMinute) % 60;
  int64_t second = (c.time / kMicrosPerSecond) % 60;
  int64_t fraction = c.time % kMicrosPerSecond;
  int64_t year = c.year > 0 ? c.year : 1 - c.year;  // BC years print positive, with BC
  int64_t doy = c.days - types::DaysFromCivil(c.year, 1, 1) + 1;
  int64_t iso_year = 0;
  int iso_week = 0;
  bool iso_done = false;
  auto iso = [&] {
    if (!iso_done) IsoWeek(c.days, &iso_year, &iso_week);
    iso_done = true;
  };
  for (const auto& node : format) {
    if (!node.is_field) {
      out->append(node.literal);
      continue;
    }
    std::optional<int64_t> number;
    int width = 0;
    switch (node.field) {
      case FormatField::kYearComma:
        if (year >= 1000) {
          fmt::format_to(std::back_inserter(*out), "{},{:03}", year / 1000, year % 1000);
        } else {
          AppendNumber(year, 0, true, out);
        }
        break;
      case FormatField::kYear4:
        number = year, width = 4;
        break;
      case FormatField::kYear3:
        number = year % 1000, width = 3;
        break;
      case FormatField::kYear2:
        number = year % 100, width = 2;
        break;
      case FormatField::kYear1:
        number = year % 10, width = 1;
        break;
      case FormatField::kIsoYear4:
        iso(), number = iso_year, width = 4;
        break;
      case FormatField::kIsoYear3:
        iso(), number = iso_year % 1000, width = 3;
        break;
      case FormatField::kIsoYear2:
        iso(), number = iso_year % 100, width = 2;
        break;
      case FormatField::kIsoYear1:
        iso(), number = iso_year % 10, width = 1;
        break;
      case FormatField::kEra:
        AppendCased(
            c.year > 0 ? (node.dotted ? "a.d." : "ad") : (node.dotted ? "b.c." : "bc"),
            node.letter_case == LetterCase::kLower ? LetterCase::kLower : LetterCase::kUpper, out);
        break;
      case FormatField::kMeridiem:
        AppendCased(
            hour < 12 ? (node.dotted ? "a.m." : "am") : (node.dotted ? "p.m." : "pm"),
            node.letter_case == LetterCase::kLower ? LetterCase::kLower : LetterCase::kUpper, out);
        break;
      case FormatField::kMonthName:
      case FormatField::kDayName: {
        std::string_view name = node.field == FormatField::kMonthName
                                    ? kMonthNames[c.month - 1]
                                    : kDayNames[DayOfWeek(c.days)];
        AppendCased(name, node.letter_case, out);
        if (!node.fill_mode) out->append(9 - name.size(), ' ');  // Postgres pads to 9
        break;
      }
      case FormatField::kMonthAbbrev:
        AppendCased(kMonthNames[c.month - 1].substr(0, 3), node.letter_case, out);
        break;
      case FormatField::kDayAbbrev:
        AppendCased(kDayNames[DayOfWeek(c.days)].substr(0, 3), node.letter_case, out);
        break;
      case FormatField::kRomanMonth: {
        std::string_view roman = kRomanMonths[c.month - 1];
        AppendCased(
            roman, node.letter_case == LetterCase::kLower ? LetterCase::kLower : LetterCase::kUpper,
            out);
        if (!node.fill_mode) out->append(4 - roman.size(), ' ');
        break;
      }
      case FormatField::kMonth:
        number = c.month, width = 2;
        break;
      case FormatField::kDayOfYear:
        number = doy, width = 3;
        break;
      case FormatField::kIsoDayOfYear:
        iso(), number = c.days - IsoYearStart(iso_year) + 1, width = 3;
        break;
      case FormatField::kDayOfMonth:
        number = c.day, width = 2;
        break;
      case FormatField::kDayOfWeek:
        number = DayOfWeek(c.days) + 1, width = 1;
        break;
      case FormatField::kIsoDayOfWeek:
        number = IsoDayOfWeek(c.days), width = 1;
        break;
      case FormatField::kWeekOfMonth:
        number = (c.day - 1) / 7 + 1, width = 1;
        break;
      case FormatField::kWeekOfYear:
        number = (doy - 1) / 7 + 1, width = 2;
        break;
      case FormatField::kIsoWeek:
        iso(), number = iso_week, width = 2;
        break;
      case FormatField::kCentury:
        number = CenturyOf(c.year), width = 2;
        break;
      case FormatField::kJulianDay:
        number = c.days + kUnixEpochJulianDay, width = 0;
        break;
      case FormatField::kQuarter:
        number = (c.month - 1) / 3 + 1, width = 1;
        break;
      case FormatField::kHour12:
        number = hour % 12 == 0 ? 12 : hour % 12, width = 2;
        break;
      case FormatField::kHour24:
        number = hour, width = 2;
        break;
      case FormatField::kMinute:
        number = minute, width = 2;
        break;
      case FormatField::kSecond:
        number = second, width = 2;
        break;
      case FormatField::kSecondsOfDay:
        number = c.time / kMicrosPerSecond, width = 0;
        break;
      case FormatField::kMillisecond:
        number = fraction / 1000, width = 3;
        break;
      case FormatField::kMicrosecond:
        number = fraction, width = 6;
        break;
      case FormatField::kFraction: {
        int64_t div = 1;
        for (int k = node.digits; k < 6; ++k) div *= 10;
        number = fraction / div, width = node.digits;
        break;
      }
      case FormatField::kTimeZone:
        break;  // no zone on a timestamp without time zone
    }
    if (number) {
      AppendNumber(*number, width, node.fill_mode, out);
      if (node.ordinal) {
        AppendCased(OrdinalSuffix(*number),
                    node.ordinal_upper ? LetterCase::kUpper : LetterCase::kLower, out);
      }
    }
  }
}

namespace {

// Parsed fields of to_timestamp's input before they are combined.
struct ParsedFields {
  std::optional<int64_t> year;
  bool bc = false;
  std::optional<int64_t> century;
  std::optional<int64_t> month;
  std::optional<int64_t> day;
  std::optional<int64_t> day_of_year;
  std::optional<int64_t> julian;
  int64_t hour = 0;
  bool hour12 = false;
  std::optional<bool> pm;
  int64_t minute = 0;
  int64_t second = 0;
  int64_t micros = 0;
  std::optional<int64_t> seconds_of_day;
};

int64_t AdjustPartialYear(int64_t year) {
  if (year < 70) return year + 2000;
  if (year < 100) return year + 1900;
  if (year < 520) return year + 2000;
  if (year < 1000) return year + 1000;
  return year;
}

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
bool IsAsciiAlnum(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

// Index in `names` of the name `input` starts with (case-insensitive), -1 if none; `len`
// limits the compared prefix (3 for abbreviations).
int MatchName(std::string_view input, size_t pos, const std::string_view* names, int count,
              size_t len, size_t* consumed) {
  for (int i = 0; i < count; ++i) {
    std::string_view name = names[i].substr(0, std::min(len, names[i].size()));
    if (input.size() - pos < name.size()) continue;
    bool equal = true;
    for (size_t k = 0; k < name.size() && equal; ++k) {
      equal = std::tolower(static_cast<unsigned char>(input[pos + k])) ==
              std::tolower(static_cast<unsigned char>(name[k]));
    }
    if (equal) {
      *consumed = name.size();
      return i;
    }
  }
  return -1;
}

}  // namespace

Result<int64_t> ParseTimestampAs(const DateTimeFormat& format, std::string_view input,
                                 std::string_view fn_name) {
  ParsedFields p;
  size_t pos = 0;
  auto invalid = [&](const FormatNode& node) {
    std::string_view rest = input.substr(pos);
    size_t end = 0;
    while (end < rest.size() && end < 12 && !IsAsciiSpace(rest[end])) ++end;
    return Status::User("{}(): invalid value \"{}\" for \"{}\"", fn_name, rest.substr(0, end),
                        node.literal);
  };
  for (size_t n = 0; n < format.size() && pos < input.size(); ++n) {
    const FormatNode& node = format[n];
    if (!node.is_field) {
      if (node.quoted) {
        // Quoted text skips as many input characters as it has.
        for (int64_t k = Utf8Length(node.literal); k > 0 && pos < input.size(); --k) {
          pos = Utf8CharEnd(input, pos);
        }
      } else if (IsAsciiSpace(node.literal[0])) {
        while (pos < input.size() && IsAsciiSpace(input[pos])) ++pos;
      } else if (!IsAsciiAlnum(node.literal[0])) {
        // A separator matches one separator of the input, or nothing.
        if (!IsAsciiAlnum(input[pos])) pos = Utf8CharEnd(input, pos);
      } else {
        pos = Utf8CharEnd(input, pos);
      }
      continue;
    }
    while (pos < input.size() && IsAsciiSpace(input[pos])) ++pos;
    if (pos >= input.size()) break;
    if (IsNumericField(node.field)) {
      int width = FieldWidth(node);
      bool fraction = node.field == FormatField::kMillisecond ||
                      node.field == FormatField::kMicrosecond ||
                      node.field == FormatField::kFraction;
      // Adjacent numeric fields (YYYYMMDD) split by width; otherwise read every digit.
      bool adjacent = n + 1 < format.size() && format[n + 1].is_field;
      size_t limit = (fraction || adjacent || node.field == FormatField::kYearComma)
                         ? static_cast<size_t>(width)
                         : 18;
      bool negative = false;
      if (node.field == FormatField::kYear4 && input[pos] == '-') {
        negative = true;
        ++pos;
      }
      int64_t value = 0;
      size_t digits = 0;
      while (pos + digits < input.size() && digits < limit &&
             std::isdigit(static_cast<unsigned char>(input[pos + digits]))) {
        value = value * 10 + (input[pos + digits] - '0');
        ++digits;
      }
      if (node.field == FormatField::kYearComma && digits > 0 && digits < 3 &&
          pos + digits < input.size() && input[pos + digits] == ',') {
        // Y,YYY: the thousands, a comma, then three digits.
        size_t k = pos + digits + 1;
        size_t more = 0;
        while (k + more < input.size() && more < 3 &&
               std::isdigit(static_cast<unsigned char>(input[k + more]))) {
          value = value * 10 + (input[k + more] - '0');
          ++more;
        }
        if (more != 3) return invalid(node);
        digits += 1 + more;
      }
      if (digits == 0) return invalid(node);
      pos += digits;
      if (negative) value = -value;
      switch (node.field) {
        case FormatField::kYearComma:
        case FormatField::kYear4:
        case FormatField::kIsoYear4:
          p.year = value;
          break;
        case FormatField::kYear3:
        case FormatField::kYear2:
        case FormatField::kYear1:
        case FormatField::kIsoYear3:
        case FormatField::kIsoYear2:
        case FormatField::kIsoYear1:
          p.year = digits < 4 ? AdjustPartialYear(value) : value;
          break;
        case FormatField::kMonth:
          p.month = value;
          break;
        case FormatField::kDayOfMonth:
          p.day = value;
          break;
        case FormatField::kDayOfYear:
        case FormatField::kIsoDayOfYear:
          p.day_of_year = value;
          break;
        case FormatField::kHour12:
          p.hour = value;
          p.hour12 = true;
          break;
        case FormatField::kHour24:
          p.hour = value;
          break;
        case FormatField::kMinute:
          p.minute = value;
          break;
        case FormatField::kSecond:
          p.second = value;
          break;
        case FormatField::kSecondsOfDay:
          p.seconds_of_day = value;
          break;
        case FormatField::kMillisecond:
        case FormatField::kMicrosecond:
        case FormatField::kFraction: {
          // Digits are a fraction of a second: 'SS.MS' reads "12.3" as 12.300.
          int64_t scaled = value;
          for (size_t k = digits; k < 6; ++k) scaled *= 10;
          if (node.field == FormatField::kMillisecond) {
            scaled = value;
            for (size_t k = digits; k < 3; ++k) scaled *= 10;
            scaled *= 1000;
          }
          p.micros = scaled;
          break;
        }
        case FormatField::kCentury:
          p.century = value;
          break;
        case FormatField::kJulianDay:
          p.julian = value;
          break;
        default:
          break;  // D, ID, W, WW, IW, Q: read and ignored, as Postgres does
      }
      continue;
    }
    size_t consumed = 0;
    switch (node.field) {
      case FormatField::kMonthName:
      case FormatField::kMonthAbbrev: {
        size_t len = node.field == FormatField::kMonthAbbrev ? 3 : 99;
        int m = MatchName(input, pos, kMonthNames, 12, len, &consumed);
        if (m < 0) return invalid(node);
        p.month = m + 1;
        break;
      }
      case FormatField::kDayName:
      case FormatField::kDayAbbrev: {
        size_t len = node.field == FormatField::kDayAbbrev ? 3 : 99;
        if (MatchName(input, pos, kDayNames, 7, len, &consumed) < 0) return invalid(node);
        break;
      }
      case FormatField::kMeridiem: {
        static constexpr std::string_view kPlain[] = {"am", "pm"};
        static constexpr std::string_view kDotted[] = {"a.m.", "p.m."};
        int k = MatchName(input, pos, node.dotted ? kDotted : kPlain, 2, 99, &consumed);
        if (k < 0) return invalid(node);
        p.pm = k == 1;
        break;
      }
      case FormatField::kEra: {
        static constexpr std::string_view kPlain[] = {"ad", "bc"};
        static constexpr std::string_view kDotted[] = {"a.d.", "b.c."};
        int k = MatchName(input, pos, node.dotted ? kDotted : kPlain, 2, 99, &consumed);
        if (k < 0) return invalid(node);
        p.bc = k == 1;
        break;
      }
      case FormatField::kRomanMonth: {
        // Longest numerals first so VIII is not read as V.
        static constexpr int kOrder[] = {8, 7, 3, 6, 2, 12, 11, 9, 4, 1, 5, 10};
        int found = -1;
        for (int m : kOrder) {
          std::string_view numeral = kRomanMonths[m - 1];
          if (MatchName(input, pos, &numeral, 1, 99, &consumed) == 0) {
            found = m;
            break;
          }
        }
        if (found < 0) return invalid(node);
        p.month = found;
        break;
      }
      default:
        return Status::User("{}(): format pattern \"{}\" is not supported for input", fn_name,
                            node.literal);
    }
    pos += consumed;
  }

  auto out_of_range = [&] {
    return Status::User("{}(): date/time field value out of range: \"{}\"", fn_name, input);
  };
  int64_t year = 1;
  if (p.year) {
    year = *p.year;
  } else if (p.century) {
    year = *p.century > 0 ? (*p.century - 1) * 100 + 1 : *p.century * 100;
  }
  if (p.bc) year = 1 - year;  // 1 BC is year 0
  if (year < -290000 || year > 290000) {
    return Status::User("{}(): timestamp out of range: \"{}\"", fn_name, input);
  }
  int64_t days;
  if (p.julian) {
    days = *p.julian - kUnixEpochJulianDay;
    if (days < -100000000 || days > 100000000) return out_of_range();
  } else if (p.day_of_year && !p.month && !p.day) {
    int64_t length = IsLeapYear(year) ? 366 : 365;
    if (*p.day_of_year < 1 || *p.day_of_year > length) return out_of_range();
    days = types::DaysFromCivil(year, 1, 1) + *p.day_of_year - 1;
  } else {
    int64_t month = p.month.value_or(1);
    int64_t day = p.day.value_or(1);
    if (month < 1 || month > 12) return out_of_range();
    if (day < 1 || day > DaysInMonth(year, static_cast<unsigned>(month))) return out_of_range();
    days = types::DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  }
  int64_t hour = p.hour;
  if (p.hour12) {
    if (hour < 1 || hour > 12) {
      return Status::User("{}(): hour \"{}\" is invalid for the 12-hour clock", fn_name, hour);
    }
    hour %= 12;
    if (p.pm.value_or(false)) hour += 12;
  } else if (p.pm && hour >= 1 && hour <= 12) {
    hour = hour % 12 + (*p.pm ? 12 : 0);
  }
  int64_t time;
  if (p.seconds_of_day) {
    if (*p.seconds_of_day < 0 || *p.seconds_of_day >= 86400) return out_of_range();
    time = *p.seconds_of_day * kMicrosPerSecond + p.micros;
  } else {
    if (hour > 24 || p.minute > 59 || p.second > 60) return out_of_range();
    if (hour == 24 && (p.minute > 0 || p.second > 0 || p.micros > 0)) return out_of_range();
    time = hour * kMicrosPerHour + p.minute * kMicrosPerMinute + p.second * kMicrosPerSecond +
           p.micros;
  }
  int64_t result;
  if (!MakeTimestamp(days, time, &result)) {
    return Status::User("{}(): timestamp out of range: \"{}\"", fn_name, input);
  }
  return result;
}

}  // namespace sluice::expr
