// JsonRowReader: JSON objects into rows of column builders (see json_row_reader.h).

#include "formats/json_row_reader.h"

#include <strings.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "batch/column_builder.h"
#include "expr/cast.h"

namespace sluice::formats {

namespace {

namespace od = simdjson::ondemand;
using batch::ColumnBuilder;
using types::DataType;
using types::int128_t;
using types::TypeId;

constexpr size_t kMaxCachedKeys = 256;
constexpr size_t kMaxShownChars = 60;
constexpr int64_t kReserveRows = 4096;

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string_view Trim(std::string_view s) {
  s = TrimRight(s);
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  return s;
}

// Long values are cut in messages: the message must stay one readable line.
std::string Clip(std::string_view s) {
  if (s.size() <= kMaxShownChars) return std::string(s);
  return std::string(s.substr(0, kMaxShownChars)) + "...";
}

std::string FoundString(std::string_view s) {
  return fmt::format("string \"{}\"", Clip(s));
}

// Maps the keys of a JSON object to fields by name: exact match first, then case-insensitive
// (SQL folds identifiers to lower case; JSON producers like camelCase). Rows of a stream
// usually repeat their key order, so the key seen at the same position in the previous object
// is tried first, which makes the common case one short comparison and no unescaping.
class FieldMatcher {
 public:
  explicit FieldMatcher(std::vector<std::string> names) : names_(std::move(names)) {}

  // The field index of `field`'s key, or -1 for a key no field has.
  int Match(od::field& field, size_t pos, simdjson::error_code* error) {
    if (pos < cache_.size() && cache_[pos].usable &&
        RawKeyEquals(field.key().raw(), cache_[pos].key)) {
      return cache_[pos].index;
    }
    return MatchSlow(field, pos, error);
  }

  const std::string& name(size_t i) const { return names_[i]; }

 private:
  struct CachedKey {
    std::string key;
    int index = -1;
    bool usable = false;
  };

  // `raw` is the escaped key after its opening quote. `key` holds no quote, so the loop stops
  // at the closing quote at the latest and never reads past the key.
  static bool RawKeyEquals(const char* raw, const std::string& key) {
    for (size_t i = 0; i < key.size(); ++i) {
      if (raw[i] != key[i]) return false;
    }
    return raw[key.size()] == '"';
  }

  [[gnu::noinline]] int MatchSlow(od::field& field, size_t pos, simdjson::error_code* error) {
    std::string_view key;
    *error = field.unescaped_key().get(key);
    if (*error) return -1;
    int index = Lookup(key);
    if (pos < kMaxCachedKeys) {
      if (cache_.size() <= pos) cache_.resize(pos + 1);
      cache_[pos].key.assign(key);
      cache_[pos].index = index;
      // A key with a quote or backslash differs from its escaped form: no raw comparison.
      cache_[pos].usable = key.find_first_of("\"\\") == std::string_view::npos;
    }
    return index;
  }

  int Lookup(std::string_view key) const {
    for (size_t i = 0; i < names_.size(); ++i) {
      if (names_[i] == key) return static_cast<int>(i);
    }
    for (size_t i = 0; i < names_.size(); ++i) {
      if (names_[i].size() == key.size() &&
          strncasecmp(names_[i].data(), key.data(), key.size()) == 0) {
        return static_cast<int>(i);
      }
    }
    return -1;
  }

  std::vector<std::string> names_;
  std::vector<CachedKey> cache_;
};

// The field inside an iteration result, used in place: moving it out (simdjson_result::get)
// copies a 16-byte iterator right after writing it in halves, a store-forwarding stall that
// cost ~10% of decoding.
od::field& InPlace(simdjson::simdjson_result<od::field>& result) {
  const auto& constant = result;
  return const_cast<od::field&>(constant.value_unsafe());
}

// How to read one column (or nested field) from JSON.
struct Plan {
  DataType type;
  // What a JSON integer means in a TIMESTAMP, DATE or TIME column.
  IntegerTimeUnit integer_unit = IntegerTimeUnit::kNone;
  std::vector<Plan> children;             // list element, or struct fields
  std::unique_ptr<FieldMatcher> matcher;  // structs
};

Plan MakePlan(const DataType& type) {
  Plan plan;
  plan.type = type;
  if (type.id() == TypeId::kList) {
    plan.children.push_back(MakePlan(type.element()));
  } else if (type.id() == TypeId::kStruct) {
    std::vector<std::string> names;
    for (const auto& f : type.fields()) {
      plan.children.push_back(MakePlan(f.type));
      names.push_back(f.name);
    }
    plan.matcher = std::make_unique<FieldMatcher>(std::move(names));
  }
  return plan;
}

// Repairs a builder whose last row was abandoned halfway: struct fields that got a value are
// matched by NULLs in the others and the struct row closed. Lists need no repair of their own
// (an unfinished list row is simply not closed), only of their elements.
void Complete(ColumnBuilder* b, int64_t rows);

void Settle(ColumnBuilder* b) {
  if (b->type().id() == TypeId::kList) {
    Settle(b->element_builder());
  } else if (b->type().id() == TypeId::kStruct) {
    size_t n = b->type().fields().size();
    int64_t rows = b->length();
    for (size_t i = 0; i < n; ++i) {
      Settle(b->field_builder(i));
      rows = std::max(rows, b->field_builder(i)->length());
    }
    if (rows > b->length()) {
      for (size_t i = 0; i < n; ++i) Complete(b->field_builder(i), rows);
      b->FinishStructRow();
    }
  }
}

// Brings a builder to exactly `rows` rows: its length or one more.
void Complete(ColumnBuilder* b, int64_t rows) {
  Settle(b);
  if (b->length() < rows) b->AppendNull();
}

// Powers of ten up to 10^38, the largest DECIMAL precision.
constexpr auto kPow10 = [] {
  std::array<int128_t, 39> p{};
  p[0] = 1;
  for (size_t i = 1; i < p.size(); ++i) p[i] = p[i - 1] * 10;
  return p;
}();

// Parses decimal text (digits, optional fraction and exponent) scaled to `scale`, rounding half
// away from zero. Returns 0 on success, 1 for bad syntax, 2 when it exceeds `precision`.
int ParseDecimal(std::string_view s, int precision, int scale, int128_t* out) {
  s = Trim(s);
  // Fast path for the usual plain text ("-12.5"): digits fit an int64, no exponent, no more
  // fractional digits than the scale.
  if (!s.empty() && s.size() <= 18 && scale <= 18) {
    size_t i = s[0] == '-' || s[0] == '+' ? 1 : 0;
    int64_t mantissa = 0;
    int frac = -1;  // digits after the point; -1 before it
    bool ok = i < s.size();
    for (; ok && i < s.size(); ++i) {
      char c = s[i];
      if (c >= '0' && c <= '9') {
        mantissa = mantissa * 10 + (c - '0');
        if (frac >= 0) ++frac;
      } else if (c == '.' && frac < 0) {
        frac = 0;
      } else {
        ok = false;
      }
    }
    if (ok && frac != 0 && frac <= scale) {
      int128_t v = static_cast<int128_t>(mantissa) * kPow10[scale - std::max(frac, 0)];
      if (v >= kPow10[precision]) return 2;
      *out = s[0] == '-' ? -v : v;
      return 0;
    }
  }
  bool neg = false;
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
  int128_t mantissa = 0;
  int digits = 0;       // significant digits kept in `mantissa`
  int frac_digits = 0;  // of those, after the point
  int int_dropped = 0;  // integer digits beyond 38 (overflow)
  int first_dropped = -1;
  bool any = false, dot = false;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c == '.') {
      if (dot) return 1;
      dot = true;
      continue;
    }
    if (c < '0' || c > '9') break;
    any = true;
    if (digits >= 38) {
      if (!dot) ++int_dropped;
      if (first_dropped < 0) first_dropped = c - '0';
      continue;
    }
    if (mantissa != 0 || c != '0') ++digits;
    mantissa = mantissa * 10 + (c - '0');
    if (dot) ++frac_digits;
  }
  if (!any) return 1;
  int exponent = 0;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool eneg = false;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) eneg = s[i++] == '-';
    if (i >= s.size()) return 1;
    for (; i < s.size(); ++i) {
      if (s[i] < '0' || s[i] > '9') return 1;
      exponent = std::min(exponent * 10 + (s[i] - '0'), 10000);
    }
    if (eneg) exponent = -exponent;
  }
  if (i != s.size()) return 1;
  // value = mantissa * 10^(int_dropped + exponent - frac_digits); we want value * 10^scale.
  int shift = scale + int_dropped + exponent - frac_digits;
  const int128_t limit = kPow10[precision];
  if (shift >= 0) {
    for (int k = 0; k < shift; ++k) {
      if (mantissa >= limit) return 2;
      mantissa *= 10;
    }
    if (first_dropped >= 5 && shift == 0) ++mantissa;
  } else {
    // Only the most significant digit removed decides the rounding.
    int round = first_dropped;
    for (int k = 0; k < -shift; ++k) {
      if (mantissa == 0) {
        round = 0;
        break;
      }
      round = static_cast<int>(mantissa % 10);
      mantissa /= 10;
    }
    if (round >= 5) ++mantissa;
  }
  if (mantissa >= limit) return 2;
  *out = neg ? -mantissa : mantissa;
  return 0;
}

// The date of the last timestamp parsed in the common shape: a stream's timestamps mostly share
// their day, whose number then need not be computed again.
struct DateCache {
  std::array<char, 10> text{};  // "2023-10-09"
  int64_t days = 0;
  bool valid = false;
};

// The common timestamp shapes, "2023-10-09T17:13:40[.200][Z]" (or with a space for 'T'),
// parsed without the generality of expr::ParseTimestamp, which handles everything else.
bool ParseRfc3339(std::string_view s, DateCache* cache, int64_t* out) {
  if (s.size() < 19 || s.size() > 30) return false;
  const char* p = s.data();
  auto digits = [p](size_t at, size_t n, int* v) {
    int x = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (p[i] < '0' || p[i] > '9') return false;
      x = x * 10 + (p[i] - '0');
    }
    *v = x;
    return true;
  };
  int64_t days;
  if (cache->valid && std::memcmp(p, cache->text.data(), cache->text.size()) == 0) {
    days = cache->days;
  } else {
    int y, mo, d;
    if (!digits(0, 4, &y) || p[4] != '-' || !digits(5, 2, &mo) || p[7] != '-' ||
        !digits(8, 2, &d) || mo < 1 || mo > 12 || d < 1 || d > 31) {
      return false;
    }
    days = types::DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
    std::memcpy(cache->text.data(), p, cache->text.size());
    cache->days = days;
    cache->valid = true;
  }
  int h, mi, sec;
  if ((p[10] != 'T' && p[10] != ' ') || !digits(11, 2, &h) || p[13] != ':' || !digits(14, 2, &mi) ||
      p[16] != ':' || !digits(17, 2, &sec)) {
    return false;
  }
  if (h > 23 || mi > 59 || sec > 59) return false;
  size_t i = 19;
  int64_t frac = 0;
  if (i < s.size() && p[i] == '.') {
    ++i;
    int n = 0;
    for (; i < s.size() && p[i] >= '0' && p[i] <= '9'; ++i, ++n) {
      if (n < 6) frac = frac * 10 + (p[i] - '0');
    }
    if (n == 0) return false;
    for (; n < 6; ++n) frac *= 10;
  }
  if (i < s.size() && (p[i] == 'Z' || p[i] == 'z')) ++i;
  if (i != s.size()) return false;
  *out = ((days * 24 + h) * 60 + mi) * 60000000LL + sec * 1000000LL + frac;
  return true;
}

const char* JsonTypeName(od::json_type t) {
  switch (t) {
    case od::json_type::array:
      return "array";
    case od::json_type::object:
      return "object";
    case od::json_type::number:
      return "number";
    case od::json_type::string:
      return "string";
    case od::json_type::boolean:
      return "boolean";
    case od::json_type::null:
      return "null";
  }
  return "value";
}

}  // namespace

std::string_view TrimBlanks(std::string_view s) {
  return Trim(s);
}

class JsonRowReader::Impl {
 public:
  Impl(const types::Schema& schema, const FormatOptions& options) {
    std::vector<std::string> names;
    for (const auto& f : schema.fields()) {
      plans_.push_back(MakePlan(f.type));
      plans_.back().integer_unit = DefaultIntegerUnit(f.type, options);
      default_units_.push_back(plans_.back().integer_unit);
      builders_.push_back(std::make_unique<ColumnBuilder>(f.type));
      builders_.back()->Reserve(kReserveRows);
      names.push_back(f.name);
    }
    matcher_ = std::make_unique<FieldMatcher>(std::move(names));
  }

  simdjson::error_code Parse(std::string_view record, od::document* doc, size_t readable_after) {
    if (readable_after >= simdjson::SIMDJSON_PADDING) {
      return parser_.iterate(record.data(), record.size(), record.size() + readable_after)
          .get(*doc);
    }
    CopyToPadded(record);
    return parser_.iterate(buffer_.get(), record.size(), capacity_).get(*doc);
  }

  simdjson::error_code Validate(std::string_view record) {
    CopyToPadded(record);
    return dom_parser_.parse(buffer_.get(), record.size(), false).error();
  }

  bool ReadObject(od::object& object) {
    const int64_t row = rows_++;
    size_t pos = 0;
    for (auto field_result : object) {
      simdjson::error_code error;
      if ((error = field_result.error())) return Abandon(row, SyntaxError(error));
      od::field& field = InPlace(field_result);
      int index = matcher_->Match(field, pos++, &error);
      if (error) return Abandon(row, SyntaxError(error));
      if (index < 0) continue;
      ColumnBuilder* b = builders_[static_cast<size_t>(index)].get();
      if (b->length() > row) continue;  // a repeated key: the first one wins
      if (!Convert(field.value(), plans_[static_cast<size_t>(index)], b)) {
        AddPath(matcher_->name(static_cast<size_t>(index)));
        return Abandon(row, false);
      }
    }
    for (auto& b : builders_) {
      if (b->length() == row) b->AppendNull();
    }
    return true;
  }

  void AppendText(std::string_view text) {
    builders_[0]->AppendString(text);
    ++rows_;
  }

  int64_t rows() const { return rows_; }

  std::vector<batch::ColumnPtr> Finish(const std::vector<int32_t>* keep) {
    std::vector<batch::ColumnPtr> columns;
    columns.reserve(builders_.size());
    for (auto& b : builders_) {
      columns.push_back(b->Finish());
      b->Reserve(kReserveRows);
    }
    if (keep != nullptr) {
      for (auto& c : columns) c = batch::FilterColumn(*c, *keep);
    }
    rows_ = 0;
    return columns;
  }

  bool Fail(std::string message) {
    problem_ = {false, "", std::move(message)};
    return false;
  }
  bool SyntaxError(simdjson::error_code error) {
    return InvalidJson(simdjson::error_message(error));
  }
  bool InvalidJson(std::string message) {
    problem_ = {true, "", std::move(message)};
    return false;
  }
  // Prefixes the path of the current problem with a field name or an "[index]".
  void AddPath(std::string_view part) {
    if (problem_.path.empty()) {
      problem_.path = part;
    } else if (problem_.path[0] == '[') {
      problem_.path = fmt::format("{}{}", part, problem_.path);
    } else {
      problem_.path = fmt::format("{}.{}", part, problem_.path);
    }
  }

  bool NotAnObject(std::string_view record, std::string_view expected) {
    CopyToPadded(record);
    simdjson::dom::element element;
    if (auto error = dom_parser_.parse(buffer_.get(), record.size(), false).get(element)) {
      return SyntaxError(error);
    }
    const char* found = "number";  // the numeric types vary across simdjson versions
    switch (element.type()) {
      case simdjson::dom::element_type::ARRAY:
        found = "array";
        break;
      case simdjson::dom::element_type::OBJECT:
        found = "object";
        break;
      case simdjson::dom::element_type::STRING:
        found = "string";
        break;
      case simdjson::dom::element_type::BOOL:
        found = "boolean";
        break;
      case simdjson::dom::element_type::NULL_VALUE:
        found = "null";
        break;
      default:
        break;
    }
    return Fail(fmt::format("expected {}, found {}", expected, found));
  }

  std::string ProblemDetail() const {
    if (problem_.syntax) return "invalid JSON: " + problem_.message;
    if (!problem_.path.empty())
      return fmt::format("field '{}': {}", problem_.path, problem_.message);
    return problem_.message;
  }

  std::string Found(od::value& v) {
    od::json_type type;
    if (v.type().get(type)) return "invalid JSON";
    switch (type) {
      case od::json_type::object:
        return "an object";
      case od::json_type::array:
        return "an array";
      case od::json_type::null:
        return "null";
      default:
        return fmt::format("{} {}", JsonTypeName(type), Clip(TrimRight(v.raw_json_token())));
    }
  }

  bool Mismatch(od::value& v, const Plan& plan, const char* hint = "") {
    return Fail(fmt::format("expected {}, found {}{}", plan.type.ToString(), Found(v), hint));
  }

  bool OutOfRange(const std::string& value, const Plan& plan) {
    return Fail(fmt::format("value {} is out of range for {}", value, plan.type.ToString()));
  }

  // The slow path after the expected getter failed: a JSON null, or a mismatch.
  bool NullOrMismatch(od::value& v, const Plan& plan, ColumnBuilder* b, const char* hint = "") {
    bool null_atom = false;
    if (v.is_null().get(null_atom) == simdjson::SUCCESS && null_atom) {  // the common case
      b->AppendNull();
      return true;
    }
    od::json_type type;
    if (auto error = v.type().get(type)) return SyntaxError(error);
    if (type != od::json_type::null) return Mismatch(v, plan, hint);
    bool is_null = false;
    if (auto error = v.is_null().get(is_null)) return SyntaxError(error);
    if (!is_null) return SyntaxError(simdjson::N_ATOM_ERROR);
    b->AppendNull();
    return true;
  }

  template <typename T>
  bool AppendInRange(int128_t x, const Plan& plan, ColumnBuilder* b) {
    if (x < static_cast<int128_t>(std::numeric_limits<T>::min()) ||
        x > static_cast<int128_t>(std::numeric_limits<T>::max())) {
      bool neg = x < 0;
      auto u = static_cast<unsigned __int128>(neg ? -x : x);
      return OutOfRange(fmt::format("{}{}", neg ? "-" : "", static_cast<uint64_t>(u)), plan);
    }
    b->AppendFixed<T>(static_cast<T>(x));
    return true;
  }

  template <typename T>
  bool AppendInteger(od::value& v, const Plan& plan, ColumnBuilder* b) {
    if constexpr (std::is_signed_v<T>) {
      int64_t x;
      if (v.get_int64().get(x) == simdjson::SUCCESS) {
        if constexpr (sizeof(T) == 8) {
          b->AppendFixed<T>(x);
          return true;
        } else {
          return AppendInRange<T>(x, plan, b);
        }
      }
    } else {
      uint64_t x;
      if (v.get_uint64().get(x) == simdjson::SUCCESS) return AppendInRange<T>(x, plan, b);
    }
    return AppendIntegerSlow<T>(v, plan, b);
  }

  // Negative numbers for unsigned columns, integral floats (3.0), huge numbers, nulls.
  template <typename T>
  bool AppendIntegerSlow(od::value& v, const Plan& plan, ColumnBuilder* b) {
    od::json_type type;
    if (auto error = v.type().get(type)) return SyntaxError(error);
    if (type != od::json_type::number) return NullOrMismatch(v, plan, b);
    std::string token(TrimRight(v.raw_json_token()));
    od::number n;
    if (auto error = v.get_number().get(n)) {
      if (error == simdjson::NUMBER_OUT_OF_RANGE) {
        return OutOfRange(token, plan);
      }
      return SyntaxError(error);
    }
    switch (n.get_number_type()) {
      case od::number_type::signed_integer:
        return AppendInRange<T>(n.get_int64(), plan, b);
      case od::number_type::unsigned_integer:
        return AppendInRange<T>(n.get_uint64(), plan, b);
      default: {
        double d = n.get_double();
        if (d != std::trunc(d)) {
          return Fail(fmt::format("expected {}, found number {}", plan.type.ToString(), token));
        }
        if (!(std::fabs(d) < 1.8e19)) return OutOfRange(token, plan);
        return AppendInRange<T>(static_cast<int128_t>(d), plan, b);
      }
    }
  }

  template <typename T>
  bool AppendFloat(od::value& v, const Plan& plan, ColumnBuilder* b) {
    double d;
    if (v.get_double().get(d) == simdjson::SUCCESS) {
      b->AppendFixed<T>(static_cast<T>(d));
      return true;
    }
    return NullOrMismatch(v, plan, b);
  }

  bool AppendDecimal(od::value& v, const Plan& plan, ColumnBuilder* b) {
    od::json_type type;
    if (auto error = v.type().get(type)) return SyntaxError(error);
    std::string_view text;
    if (type == od::json_type::number) {
      // The token's text is converted digit for digit (a double would lose digits); its
      // syntax is checked by ParseDecimal.
      text = TrimRight(v.raw_json_token());
    } else if (type == od::json_type::string) {
      if (auto error = v.get_string().get(text)) return SyntaxError(error);
    } else {
      return NullOrMismatch(v, plan, b);
    }
    int128_t x = 0;
    switch (ParseDecimal(text, plan.type.precision(), plan.type.scale(), &x)) {
      case 0:
        b->AppendFixed<int128_t>(x);
        return true;
      case 2:
        return OutOfRange(Clip(text), plan);
      default:
        return Fail(fmt::format("expected {}, found {}", plan.type.ToString(), FoundString(text)));
    }
  }

  // TEXT from a non-string, or a JSON column: the value's JSON text.
  bool AppendJsonText(od::value& v, ColumnBuilder* b) {
    od::json_type type;
    if (auto error = v.type().get(type)) return SyntaxError(error);
    std::string_view raw;
    simdjson::error_code error = simdjson::SUCCESS;
    switch (type) {
      case od::json_type::null: {
        bool is_null = false;
        if ((error = v.is_null().get(is_null))) return SyntaxError(error);
        b->AppendNull();
        return true;
      }
      case od::json_type::object: {
        od::object object;
        if (!(error = v.get_object().get(object))) error = object.raw_json().get(raw);
        break;
      }
      case od::json_type::array: {
        od::array array;
        if (!(error = v.get_array().get(array))) error = array.raw_json().get(raw);
        break;
      }
      case od::json_type::string: {
        raw = v.raw_json_token();
        std::string_view ignored;  // validates escapes
        error = v.get_string().get(ignored);
        break;
      }
      case od::json_type::number: {
        raw = v.raw_json_token();
        double ignored;
        error = v.get_double().get(ignored);
        break;
      }
      case od::json_type::boolean: {
        raw = v.raw_json_token();
        bool ignored;
        error = v.get_bool().get(ignored);
        break;
      }
    }
    if (error) return SyntaxError(error);
    b->AppendString(TrimRight(raw));
    return true;
  }

  bool AppendTimestamp(od::value& v, const Plan& plan, ColumnBuilder* b) {
    std::string_view s;
    if (v.get_string().get(s) == simdjson::SUCCESS) {
      int64_t fast;
      if (ParseRfc3339(s, &date_cache_, &fast)) {
        b->AppendFixed<int64_t>(fast);
        return true;
      }
      auto micros = expr::ParseTimestamp(s);
      if (!micros.ok()) {
        return Fail(fmt::format("expected {}, found {}", plan.type.ToString(), FoundString(s)));
      }
      b->AppendFixed<int64_t>(*micros);
      return true;
    }
    if (plan.integer_unit == IntegerTimeUnit::kNone) {
      return NullOrMismatch(v, plan, b,
                            " (epoch seconds, milliseconds or microseconds need "
                            "json.timestamp_format = 'unix_seconds', 'unix_millis' or "
                            "'unix_micros')");
    }
    int64_t micros;
    switch (ReadNumberMicros(v, plan, &micros)) {
      case NumberRead::kOk:
        b->AppendFixed<int64_t>(micros);
        return true;
      case NumberRead::kNotNumber:
        return NullOrMismatch(v, plan, b);
      case NumberRead::kFailed:
        break;
    }
    return false;
  }

  enum class NumberRead { kOk, kNotNumber, kFailed };  // kFailed: the problem is set

  // A JSON number in the plan's integer unit, as microseconds.
  NumberRead ReadNumberMicros(od::value& v, const Plan& plan, int64_t* micros) {
    int64_t n;
    if (v.get_int64().get(n) == simdjson::SUCCESS) {
      if (IntegerToMicros(n, plan.integer_unit, micros)) return NumberRead::kOk;
      OutOfRange(std::to_string(n), plan);
      return NumberRead::kFailed;
    }
    double d;
    if (v.get_double().get(d) == simdjson::SUCCESS) {
      double m = d * MicrosPerUnit(plan.integer_unit);
      if (std::fabs(m) < 9.2e18) {
        *micros = std::llround(m);
        return NumberRead::kOk;
      }
      OutOfRange(fmt::format("{}", d), plan);
      return NumberRead::kFailed;
    }
    return NumberRead::kNotNumber;
  }

  bool IsNumber(od::value& v) {
    od::json_type type;
    return v.type().get(type) == simdjson::SUCCESS && type == od::json_type::number;
  }

  // DATE and TIME from a JSON number in the column's unit (debezium_json).
  bool AppendTemporalInteger(od::value& v, const Plan& plan, ColumnBuilder* b) {
    int64_t micros;
    switch (ReadNumberMicros(v, plan, &micros)) {
      case NumberRead::kOk:
        break;
      case NumberRead::kNotNumber:
        return NullOrMismatch(v, plan, b);
      case NumberRead::kFailed:
        return false;
    }
    if (plan.type.id() == TypeId::kDate) {
      int64_t days = micros / 86400000000LL - (micros % 86400000000LL < 0 ? 1 : 0);
      if (days > std::numeric_limits<int32_t>::max() ||
          days < std::numeric_limits<int32_t>::min()) {
        return OutOfRange(std::to_string(days), plan);
      }
      b->AppendFixed<int32_t>(static_cast<int32_t>(days));
      return true;
    }
    if (micros < 0 || micros > 86400000000LL) return OutOfRange(std::to_string(micros), plan);
    b->AppendFixed<int64_t>(micros);
    return true;
  }

  void SetIntegerUnits(const std::vector<IntegerTimeUnit>* units) {
    const auto& u = units ? *units : default_units_;
    for (size_t i = 0; i < plans_.size() && i < u.size(); ++i) plans_[i].integer_unit = u[i];
  }

  const std::vector<IntegerTimeUnit>& default_integer_units() const { return default_units_; }

  template <typename Parse, typename Store>
  bool AppendParsedString(od::value& v, const Plan& plan, ColumnBuilder* b, Parse parse,
                          Store store) {
    std::string_view s;
    if (v.get_string().get(s) != simdjson::SUCCESS) return NullOrMismatch(v, plan, b);
    auto parsed = parse(s);
    if (!parsed.ok()) {
      return Fail(fmt::format("expected {}, found {}", plan.type.ToString(), FoundString(s)));
    }
    store(*parsed);
    return true;
  }

  bool AppendList(od::value& v, Plan& plan, ColumnBuilder* b) {
    od::array array;
    if (v.get_array().get(array) != simdjson::SUCCESS) return NullOrMismatch(v, plan, b);
    ColumnBuilder* elements = b->element_builder();
    size_t i = 0;
    for (auto element_result : array) {
      od::value element;
      if (auto error = element_result.get(element)) return SyntaxError(error);
      if (!Convert(element, plan.children[0], elements)) {
        AddPath(fmt::format("[{}]", i));
        return false;
      }
      ++i;
    }
    b->FinishListRow();
    return true;
  }

  bool AppendStruct(od::value& v, Plan& plan, ColumnBuilder* b) {
    od::object object;
    if (v.get_object().get(object) != simdjson::SUCCESS) return NullOrMismatch(v, plan, b);
    const int64_t row = b->length();
    size_t pos = 0;
    for (auto field_result : object) {
      simdjson::error_code error;
      if ((error = field_result.error())) return SyntaxError(error);
      od::field& field = InPlace(field_result);
      int index = plan.matcher->Match(field, pos++, &error);
      if (error) return SyntaxError(error);
      if (index < 0) continue;
      auto i = static_cast<size_t>(index);
      ColumnBuilder* fb = b->field_builder(i);
      if (fb->length() > row) continue;
      if (!Convert(field.value(), plan.children[i], fb)) {
        AddPath(plan.matcher->name(i));
        return false;
      }
    }
    for (size_t i = 0; i < plan.children.size(); ++i) {
      if (b->field_builder(i)->length() == row) b->field_builder(i)->AppendNull();
    }
    b->FinishStructRow();
    return true;
  }

  bool Convert(od::value& v, Plan& plan, ColumnBuilder* b) {
    switch (plan.type.id()) {
      case TypeId::kBool: {
        bool x;
        if (v.get_bool().get(x) == simdjson::SUCCESS) {
          b->AppendBool(x);
          return true;
        }
        return NullOrMismatch(v, plan, b);
      }
      case TypeId::kInt8:
        return AppendInteger<int8_t>(v, plan, b);
      case TypeId::kInt16:
        return AppendInteger<int16_t>(v, plan, b);
      case TypeId::kInt32:
        return AppendInteger<int32_t>(v, plan, b);
      case TypeId::kInt64:
        return AppendInteger<int64_t>(v, plan, b);
      case TypeId::kUInt8:
        return AppendInteger<uint8_t>(v, plan, b);
      case TypeId::kUInt16:
        return AppendInteger<uint16_t>(v, plan, b);
      case TypeId::kUInt32:
        return AppendInteger<uint32_t>(v, plan, b);
      case TypeId::kUInt64:
        return AppendInteger<uint64_t>(v, plan, b);
      case TypeId::kFloat32:
        return AppendFloat<float>(v, plan, b);
      case TypeId::kFloat64:
        return AppendFloat<double>(v, plan, b);
      case TypeId::kDecimal:
        return AppendDecimal(v, plan, b);
      case TypeId::kUtf8: {
        std::string_view s;
        if (v.get_string().get(s) == simdjson::SUCCESS) {
          b->AppendString(s);
          return true;
        }
        return AppendJsonText(v, b);
      }
      case TypeId::kBinary: {
        std::string_view s;
        if (v.get_string().get(s) == simdjson::SUCCESS) {
          b->AppendString(s);
          return true;
        }
        return NullOrMismatch(v, plan, b);
      }
      case TypeId::kJson:
        return AppendJsonText(v, b);
      case TypeId::kTimestamp:
        return AppendTimestamp(v, plan, b);
      case TypeId::kDate:
        if (plan.integer_unit != IntegerTimeUnit::kNone && IsNumber(v)) {
          return AppendTemporalInteger(v, plan, b);
        }
        return AppendParsedString(v, plan, b, expr::ParseDate, [b](int64_t days) {
          b->AppendFixed<int32_t>(static_cast<int32_t>(days));
        });
      case TypeId::kTime:
        if (plan.integer_unit != IntegerTimeUnit::kNone && IsNumber(v)) {
          return AppendTemporalInteger(v, plan, b);
        }
        return AppendParsedString(v, plan, b, expr::ParseTime,
                                  [b](int64_t micros) { b->AppendFixed<int64_t>(micros); });
      case TypeId::kInterval:
        return AppendParsedString(v, plan, b, expr::ParseInterval,
                                  [b](types::Interval iv) { b->AppendFixed<types::Interval>(iv); });
      case TypeId::kList:
        return AppendList(v, plan, b);
      case TypeId::kStruct:
        return AppendStruct(v, plan, b);
      case TypeId::kNull:
        return NullOrMismatch(v, plan, b);
    }
    return Fail("unsupported column type " + plan.type.ToString());
  }

 private:
  // Why the current row is bad. The path is built while unwinding, outermost part last.
  struct Problem {
    bool syntax = false;  // invalid JSON rather than a value that does not fit its column
    std::string path;
    std::string message;
  };

  void CopyToPadded(std::string_view record) {
    size_t need = record.size() + simdjson::SIMDJSON_PADDING;
    if (need > capacity_) {
      capacity_ = std::max(need, capacity_ * 2);
      buffer_ = std::make_unique<char[]>(capacity_);  // zeroed: padding is never garbage
    }
    std::memcpy(buffer_.get(), record.data(), record.size());
  }

  // Pads the abandoned `row` with NULLs so every builder has a value for it.
  bool Abandon(int64_t row, bool result) {
    for (auto& b : builders_) Complete(b.get(), row + 1);
    return result;
  }

  DateCache date_cache_;
  std::vector<Plan> plans_;
  std::vector<IntegerTimeUnit> default_units_;  // per column
  std::vector<std::unique_ptr<ColumnBuilder>> builders_;
  std::unique_ptr<FieldMatcher> matcher_;
  od::parser parser_;
  simdjson::dom::parser dom_parser_;
  std::unique_ptr<char[]> buffer_;
  size_t capacity_ = 0;
  int64_t rows_ = 0;  // rows in the builders, bad ones included
  Problem problem_;
};

JsonRowReader::JsonRowReader(const types::Schema& schema, const FormatOptions& options)
    : impl_(std::make_unique<Impl>(schema, options)) {}
JsonRowReader::~JsonRowReader() = default;

simdjson::error_code JsonRowReader::Parse(std::string_view record, od::document* doc,
                                          size_t readable_after) {
  return impl_->Parse(record, doc, readable_after);
}
simdjson::error_code JsonRowReader::Validate(std::string_view record) {
  return impl_->Validate(record);
}
const std::vector<IntegerTimeUnit>& JsonRowReader::default_integer_units() const {
  return impl_->default_integer_units();
}
void JsonRowReader::SetIntegerUnits(const std::vector<IntegerTimeUnit>* units) {
  impl_->SetIntegerUnits(units);
}
bool JsonRowReader::ReadObject(od::object& object) {
  return impl_->ReadObject(object);
}
void JsonRowReader::AppendText(std::string_view text) {
  impl_->AppendText(text);
}
int64_t JsonRowReader::rows() const {
  return impl_->rows();
}
std::vector<batch::ColumnPtr> JsonRowReader::Finish(const std::vector<int32_t>* keep) {
  return impl_->Finish(keep);
}
bool JsonRowReader::Fail(std::string message) {
  return impl_->Fail(std::move(message));
}
bool JsonRowReader::SyntaxError(simdjson::error_code error) {
  return impl_->SyntaxError(error);
}
bool JsonRowReader::InvalidJson(std::string message) {
  return impl_->InvalidJson(std::move(message));
}
void JsonRowReader::AddPath(std::string_view part) {
  impl_->AddPath(part);
}
bool JsonRowReader::NotAnObject(std::string_view record, std::string_view expected) {
  return impl_->NotAnObject(record, expected);
}
std::string JsonRowReader::ProblemDetail() const {
  return impl_->ProblemDetail();
}
std::string JsonRowReader::Describe(od::value& v) {
  return impl_->Found(v);
}

}  // namespace sluice::formats
