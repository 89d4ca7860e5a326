// JSON encoder: one object per row, `{"col":value,...}\n`, columns in schema order.
//
// Everything is appended to the caller's string through small stack buffers: a sink encodes
// millions of values per second, so no value may allocate.

#include <charconv>
#include <cmath>
#include <cstring>

#include <fmt/compile.h>
#include <fmt/format.h>

#include "formats/codecs.h"
#include "types/value.h"

namespace sluice::formats {

namespace {

using batch::Column;
using types::int128_t;
using types::TypeId;

constexpr int64_t kMicrosPerDay = 86400000000LL;

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// Writes `v` as exactly `width` digits (v must fit).
char* PutDigits(char* p, int64_t v, int width) {
  for (int i = width - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return p + width;
}

// The fraction rule of types::FormatTimestamp: milliseconds when exact, else microseconds.
char* PutFraction(char* p, int64_t frac_micros) {
  if (frac_micros == 0) return p;
  *p++ = '.';
  if (frac_micros % 1000 == 0) return PutDigits(p, frac_micros / 1000, 3);
  return PutDigits(p, frac_micros, 6);
}

char* PutClock(char* p, int64_t micros_of_day) {
  int64_t secs = micros_of_day / 1000000;
  p = PutDigits(p, secs / 3600, 2);
  *p++ = ':';
  p = PutDigits(p, (secs / 60) % 60, 2);
  *p++ = ':';
  p = PutDigits(p, secs % 60, 2);
  return PutFraction(p, micros_of_day % 1000000);
}

// The slow path for values the fixed-width fast paths do not cover.
void AppendQuoted(std::string* out, const std::string& text) {
  out->push_back('"');
  out->append(text);
  out->push_back('"');
}

// Returns false for years the fixed-width fast path cannot write.
bool PutDate(char** p, int64_t days) {
  int64_t y;
  unsigned m, d;
  types::CivilFromDays(days, &y, &m, &d);
  if (y < 0 || y > 9999) return false;
  char* q = PutDigits(*p, y, 4);
  *q++ = '-';
  q = PutDigits(q, m, 2);
  *q++ = '-';
  *p = PutDigits(q, d, 2);
  return true;
}

// Same text as types::FormatTimestamp/FormatDate/FormatTime (checked by the tests), quoted;
// TIMESTAMPTZ (`zone`) ends in RFC 3339's `Z`.
void AppendTimestamp(std::string* out, int64_t micros, bool zone) {
  char buf[40];
  char* p = buf;
  *p++ = '"';
  int64_t days = FloorDiv(micros, kMicrosPerDay);
  if (!PutDate(&p, days)) {
    AppendQuoted(out, types::FormatTimestamp(micros) + (zone ? "Z" : ""));
    return;
  }
  *p++ = 'T';
  p = PutClock(p, micros - days * kMicrosPerDay);
  if (zone) *p++ = 'Z';
  *p++ = '"';
  out->append(buf, static_cast<size_t>(p - buf));
}

void AppendDate(std::string* out, int64_t days) {
  char buf[16];
  char* p = buf;
  *p++ = '"';
  if (!PutDate(&p, days)) {
    AppendQuoted(out, types::FormatDate(days));
    return;
  }
  *p++ = '"';
  out->append(buf, static_cast<size_t>(p - buf));
}

void AppendTime(std::string* out, int64_t micros) {
  if (micros < 0 || micros >= 100 * 3600 * 1000000LL) {
    AppendQuoted(out, types::FormatTime(micros));
    return;
  }
  char buf[24];
  char* p = buf;
  *p++ = '"';
  p = PutClock(p, micros);
  *p++ = '"';
  out->append(buf, static_cast<size_t>(p - buf));
}

template <typename T>
void AppendInteger(std::string* out, T v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, static_cast<size_t>(r.ptr - buf));
}

template <typename T>
void AppendFloat(std::string* out, T v) {
  if (!std::isfinite(v)) {
    out->append("null");  // JSON has no NaN or infinity
    return;
  }
  char buf[40];
  // Shortest round-trip text; compiled format, no parsing of "{}" per value.
  char* end = fmt::format_to(buf, FMT_COMPILE("{}"), v);
  out->append(buf, static_cast<size_t>(end - buf));
  // A float stays recognisably a float: 120.0, not 120 (as Arroyo writes them).
  bool integral = true;
  for (char* p = buf; p < end; ++p) {
    if (*p == '.' || *p == 'e' || *p == 'E') integral = false;
  }
  if (integral) out->append(".0");
}

void AppendDecimal(std::string* out, int128_t v, int scale) {
  char buf[48];
  char* end = buf + sizeof(buf);
  char* p = end;
  bool neg = v < 0;
  auto u = neg ? static_cast<unsigned __int128>(-(v + 1)) + 1 : static_cast<unsigned __int128>(v);
  int written = 0;
  do {
    *--p = static_cast<char>('0' + static_cast<int>(u % 10));
    u /= 10;
    if (++written == scale) *--p = '.';
  } while (u != 0 || written < scale);
  if (scale > 0 && *p == '.') *--p = '0';
  if (neg) *--p = '-';
  out->append(p, static_cast<size_t>(end - p));
}

// Bytes that need escaping inside a JSON string (RFC 8259): control characters, '"', '\'.
struct EscapeTable {
  bool needs[256] = {};
  constexpr EscapeTable() {
    for (int c = 0; c < 0x20; ++c) needs[c] = true;
    needs[static_cast<unsigned char>('"')] = true;
    needs[static_cast<unsigned char>('\\')] = true;
  }
};
constexpr EscapeTable kEscape;

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (!kEscape.needs[c]) continue;
    out->append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default: {
        static constexpr char kHex[] = "0123456789abcdef";
        char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
        out->append(esc, 6);
      }
    }
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

// JSON column text is embedded as is, except line breaks (only legal as whitespace between
// tokens there), which would split the record in a newline-framed output.
void AppendRawJson(std::string* out, std::string_view s) {
  if (s.empty()) {
    out->append("null");
    return;
  }
  size_t start = out->size();
  out->append(s);
  if (s.find_first_of("\r\n") != std::string_view::npos) {
    for (size_t i = start; i < out->size(); ++i) {
      if ((*out)[i] == '\n' || (*out)[i] == '\r') (*out)[i] = ' ';
    }
  }
}

// BYTEA as PostgreSQL's hex text, "\x0a1b": JSON strings cannot hold arbitrary bytes.
void AppendBytes(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->append("\"\\\\x");
  for (unsigned char c : s) {
    out->push_back(kHex[c >> 4]);
    out->push_back(kHex[c & 15]);
  }
  out->push_back('"');
}

// How to write one column or nested field.
struct Plan {
  TypeId id = TypeId::kNull;
  int scale = 0;
  bool with_time_zone = false;    // TIMESTAMPTZ
  std::vector<Plan> children;     // list element or struct fields
  std::vector<std::string> keys;  // structs: `"name":`, with the separating comma after the first
};

std::string KeyText(const std::string& name, bool first) {
  std::string s = first ? "" : ",";
  AppendJsonString(&s, name);
  s.push_back(':');
  return s;
}

Plan MakePlan(const types::DataType& type) {
  Plan plan;
  plan.id = type.id();
  plan.scale = type.scale();
  plan.with_time_zone = type.with_time_zone();
  if (type.id() == TypeId::kList) {
    plan.children.push_back(MakePlan(type.element()));
  } else if (type.id() == TypeId::kStruct) {
    for (const auto& f : type.fields()) {
      plan.children.push_back(MakePlan(f.type));
      plan.keys.push_back(KeyText(f.name, plan.keys.empty()));
    }
  }
  return plan;
}

class JsonEncoder : public Encoder {
 public:
  JsonEncoder(const FormatOptions& options, const types::Schema& schema)
      : timestamp_format_(options.timestamp_format), unstructured_(options.unstructured) {
    for (const auto& f : schema.fields()) {
      plans_.push_back(MakePlan(f.type));
      keys_.push_back(KeyText(f.name, keys_.empty()));
    }
  }

  Status Encode(const batch::Batch& batch, std::string* out) override {
    if (batch.columns.size() != plans_.size()) {
      return Status::Internal("JSON encoder for {} columns got a batch of {}", plans_.size(),
                              batch.columns.size());
    }
    for (size_t c = 0; c < plans_.size(); ++c) {
      if (batch.columns[c]->type.id() != plans_[c].id) {
        return Status::Internal("JSON encoder: column {} is {}, expected another type", c,
                                batch.columns[c]->type.ToString());
      }
    }
    if (unstructured_) {
      // The column already holds each row's JSON text.
      const Column& col = *batch.columns[0];
      for (int64_t row = 0; row < batch.num_rows; ++row) {
        if (col.IsNull(row)) {
          out->append("null");
        } else {
          AppendRawJson(out, col.GetString(row));
        }
        out->push_back('\n');
      }
      return Status::Ok();
    }
    out->reserve(out->size() + static_cast<size_t>(batch.num_rows) * (16 + 24 * plans_.size()));
    for (int64_t row = 0; row < batch.num_rows; ++row) {
      EncodeObject(batch, row, out);
      out->push_back('\n');
    }
    return Status::Ok();
  }

  // Row `row` as one JSON object, without a newline (the columns were checked by Encode or
  // by the caller).
  void EncodeObject(const batch::Batch& batch, int64_t row, std::string* out) const {
    out->push_back('{');
    for (size_t c = 0; c < plans_.size(); ++c) {
      out->append(keys_[c]);
      Write(*batch.columns[c], plans_[c], row, out);
    }
    out->push_back('}');
  }

  Status Check(const batch::Batch& batch) const {
    if (batch.columns.size() != plans_.size()) {
      return Status::Internal("JSON encoder for {} columns got a batch of {}", plans_.size(),
                              batch.columns.size());
    }
    return Status::Ok();
  }

 private:
  void Write(const Column& col, const Plan& plan, int64_t i, std::string* out) const {
    if (col.IsNull(i)) {
      out->append("null");
      return;
    }
    switch (plan.id) {
      case TypeId::kNull:
        out->append("null");
        break;
      case TypeId::kBool:
        out->append(col.GetBool(i) ? "true" : "false");
        break;
      case TypeId::kInt8:
        AppendInteger(out, col.raw<int8_t>()[i]);
        break;
      case TypeId::kInt16:
        AppendInteger(out, col.raw<int16_t>()[i]);
        break;
      case TypeId::kInt32:
        AppendInteger(out, col.raw<int32_t>()[i]);
        break;
      case TypeId::kInt64:
        AppendInteger(out, col.raw<int64_t>()[i]);
        break;
      case TypeId::kUInt8:
        AppendInteger(out, col.raw<uint8_t>()[i]);
        break;
      case TypeId::kUInt16:
        AppendInteger(out, col.raw<uint16_t>()[i]);
        break;
      case TypeId::kUInt32:
        AppendInteger(out, col.raw<uint32_t>()[i]);
        break;
      case TypeId::kUInt64:
        AppendInteger(out, col.raw<uint64_t>()[i]);
        break;
      case TypeId::kFloat32:
        AppendFloat(out, col.raw<float>()[i]);
        break;
      case TypeId::kFloat64:
        AppendFloat(out, col.raw<double>()[i]);
        break;
      case TypeId::kDecimal:
        AppendDecimal(out, col.raw<int128_t>()[i], plan.scale);
        break;
      case TypeId::kUtf8:
        AppendJsonString(out, col.GetString(i));
        break;
      case TypeId::kJson:
        AppendRawJson(out, col.GetString(i));
        break;
      case TypeId::kBinary:
        AppendBytes(out, col.GetString(i));
        break;
      case TypeId::kDate:
        AppendDate(out, col.raw<int32_t>()[i]);
        break;
      case TypeId::kTime:
        AppendTime(out, col.raw<int64_t>()[i]);
        break;
      case TypeId::kTimestamp:
        switch (timestamp_format_) {
          case TimestampFormat::kRfc3339:
            AppendTimestamp(out, col.raw<int64_t>()[i], plan.with_time_zone);
            break;
          case TimestampFormat::kUnixSeconds:
            AppendInteger(out, FloorDiv(col.raw<int64_t>()[i], 1000000));
            break;
          case TimestampFormat::kUnixMillis:
            AppendInteger(out, FloorDiv(col.raw<int64_t>()[i], 1000));
            break;
          case TimestampFormat::kUnixMicros:
            AppendInteger(out, col.raw<int64_t>()[i]);
            break;
        }
        break;
      case TypeId::kInterval:
        AppendJsonString(out, types::FormatInterval(col.raw<types::Interval>()[i]));
        break;
      case TypeId::kList: {
        const int32_t* offsets = col.offsets();
        out->push_back('[');
        for (int32_t j = offsets[i]; j < offsets[i + 1]; ++j) {
          if (j > offsets[i]) out->push_back(',');
          Write(*col.children[0], plan.children[0], j, out);
        }
        out->push_back(']');
        break;
      }
      case TypeId::kStruct:
        out->push_back('{');
        for (size_t f = 0; f < plan.children.size(); ++f) {
          out->append(plan.keys[f]);
          Write(*col.children[f], plan.children[f], i, out);
        }
        out->push_back('}');
        break;
    }
  }

  TimestampFormat timestamp_format_;
  bool unstructured_;
  std::vector<Plan> plans_;
  std::vector<std::string> keys_;  // `"name":`, with the separating comma after the first
};

// Debezium's change-event envelope, one object per change of an updating stream:
//   insert        {"before":null,"after":{...},"op":"c"}
//   delete        {"before":{...},"after":null,"op":"d"}
//   update        {"before":{...},"after":{...},"op":"u"}  (an update-before row followed by
//                 its update-after row; either one alone is written as a delete or an insert)
class DebeziumJsonEncoder : public Encoder {
 public:
  DebeziumJsonEncoder(const FormatOptions& options, const types::Schema& schema)
      : rows_(options, schema) {}

  Status Encode(const batch::Batch& batch, std::string* out) override {
    SLUICE_RETURN_NOT_OK(rows_.Check(batch));
    const int8_t* kinds = batch.change_kind ? batch.change_kind->raw<int8_t>() : nullptr;
    auto kind = [&](int64_t i) {
      return kinds ? static_cast<batch::ChangeKind>(kinds[i]) : batch::ChangeKind::kInsert;
    };
    for (int64_t i = 0; i < batch.num_rows; ++i) {
      batch::ChangeKind k = kind(i);
      if (k == batch::ChangeKind::kUpdateBefore && i + 1 < batch.num_rows &&
          kind(i + 1) == batch::ChangeKind::kUpdateAfter) {
        out->append("{\"before\":");
        rows_.EncodeObject(batch, i, out);
        out->append(",\"after\":");
        rows_.EncodeObject(batch, i + 1, out);
        out->append(",\"op\":\"u\"}\n");
        ++i;
      } else if (k == batch::ChangeKind::kDelete || k == batch::ChangeKind::kUpdateBefore) {
        out->append("{\"before\":");
        rows_.EncodeObject(batch, i, out);
        out->append(",\"after\":null,\"op\":\"d\"}\n");
      } else {
        out->append("{\"before\":null,\"after\":");
        rows_.EncodeObject(batch, i, out);
        out->append(",\"op\":\"c\"}\n");
      }
    }
    return Status::Ok();
  }

 private:
  JsonEncoder rows_;
};

}  // namespace

Result<std::unique_ptr<Encoder>> MakeDebeziumJsonEncoder(const FormatOptions& options,
                                                         const types::Schema& schema) {
  return std::unique_ptr<Encoder>(std::make_unique<DebeziumJsonEncoder>(options, schema));
}

Result<std::unique_ptr<Encoder>> MakeJsonEncoder(const FormatOptions& options,
                                                 const types::Schema& schema) {
  if (options.unstructured) {
    if (schema.size() != 1 || (schema.field(0).type.id() != TypeId::kJson &&
                               schema.field(0).type.id() != TypeId::kUtf8)) {
      return Status::User(
          "json.unstructured = 'true' writes a single JSON or TEXT column per line, but the rows "
          "are {}",
          schema.ToString());
    }
  }
  return std::unique_ptr<Encoder>(std::make_unique<JsonEncoder>(options, schema));
}

}  // namespace sluice::formats
