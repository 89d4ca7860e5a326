// Protobuf decoder: the wire format read directly into column builders, driven by a plan
// compiled from the message's descriptor (no DynamicMessage, no per-row allocation).
//
// Each message is scanned once to find the last occurrence of every field read (and every
// occurrence of a repeated one), then its columns are filled in order. As in the Avro decoder,
// plans that write STRUCT or LIST columns check a message without writing first, so a bad one
// never reaches a builder; flat plans pad a half-written row with NULLs and drop it at Flush.

#include <cmath>
#include <cstring>
#include <map>

#include <fmt/format.h>
#include <google/protobuf/descriptor.h>
#include <simdjson.h>

#include "batch/column_builder.h"
#include "formats/codecs.h"
#include "formats/protobuf_schema.h"
#include "formats/schema_registry.h"

namespace sluice::formats {

namespace {

namespace gp = google::protobuf;
using batch::ColumnBuilder;
using protobuf::ProtoSchema;
using types::TypeId;
using FD = gp::FieldDescriptor;

struct Span {
  const uint8_t* p = nullptr;
  uint32_t len = 0;
  uint64_t v = 0;
  uint8_t wire = 0;
};

struct PMessage;

struct PField {
  const FD* fd = nullptr;
  int column = -1;  // builder (column, or struct child) the field is read into
  TypeId target = TypeId::kNull;
  bool repeated = false;
  bool presence = false;  // absent reads as NULL (messages, optional, oneof); else the default
  bool timestamp = false;
  bool map = false;
  std::unique_ptr<PMessage> sub;  // a message read into a STRUCT
};

struct PMessage {
  const gp::Descriptor* d = nullptr;
  std::vector<PField> fields;
  std::map<int, int> by_number_sparse;  // field number -> index, for numbers past the table
  std::vector<int> by_number;           // field number -> index in fields, -1 if not read
  bool nested_target = false;
  // Per message being decoded: the last occurrence of each field, all of a repeated one.
  std::vector<Span> last;
  std::vector<bool> seen;
  std::vector<std::vector<Span>> all;

  int Find(int number) const {
    if (number < static_cast<int>(by_number.size())) return by_number[static_cast<size_t>(number)];
    auto it = by_number_sparse.find(number);
    return it == by_number_sparse.end() ? -1 : it->second;
  }
};

Result<std::unique_ptr<PMessage>> Compile(const gp::Descriptor* d, const types::Schema& columns,
                                          const std::string& at) {
  auto m = std::make_unique<PMessage>();
  m->d = d;
  for (size_t c = 0; c < columns.size(); ++c) {
    const auto& column = columns.field(c);
    const FD* fd = d->FindFieldByName(column.name);
    if (fd == nullptr) {
      for (int i = 0; i < d->field_count() && fd == nullptr; ++i) {
        if (types::Schema({{d->field(i)->name(), types::DataType()}}).Find(column.name)) {
          fd = d->field(i);
        }
      }
    }
    std::string where = at.empty() ? column.name : at + "." + column.name;
    if (fd == nullptr) {
      return Status::User("column '{}': message '{}' has no such field", where, d->full_name());
    }
    PField f;
    f.fd = fd;
    f.column = static_cast<int>(c);
    f.target = column.type.id();
    f.repeated = fd->is_repeated() && !fd->is_map();
    f.map = fd->is_map();
    f.presence = fd->has_presence();
    f.timestamp = fd->type() == FD::TYPE_MESSAGE &&
                  fd->message_type()->full_name() == "google.protobuf.Timestamp";
    if (fd->type() == FD::TYPE_MESSAGE && !f.timestamp && !f.map) {
      const types::DataType& t = f.repeated ? column.type.element() : column.type;
      if (t.id() != TypeId::kStruct) {
        return Status::User("column '{}' is {}, but field '{}' is the message '{}' (a STRUCT)",
                            where, column.type.ToString(), fd->name(),
                            fd->message_type()->full_name());
      }
      SLUICE_ASSIGN_OR_RETURN(f.sub, Compile(fd->message_type(), types::Schema(t.fields()), where));
      m->nested_target = true;
    } else if (!protobuf::Readable(*fd, column.type)) {
      auto own = protobuf::ToSluiceType(*fd);
      return Status::User("column '{}' is {}, but field '{}' reads as {}", where,
                          column.type.ToString(), fd->name(),
                          own.ok() ? own->ToString() : own.status().message());
    }
    if (f.repeated) {
      m->nested_target = true;
      if (f.target == TypeId::kList) f.target = column.type.element().id();
    }
    const int number = fd->number();
    const int index = static_cast<int>(m->fields.size());
    if (number < 4096) {
      if (m->by_number.size() <= static_cast<size_t>(number)) {
        m->by_number.resize(static_cast<size_t>(number) + 1, -1);
      }
      m->by_number[static_cast<size_t>(number)] = index;
    } else {
      m->by_number_sparse[number] = index;
    }
    m->fields.push_back(std::move(f));
  }
  m->last.resize(m->fields.size());
  m->seen.resize(m->fields.size());
  m->all.resize(m->fields.size());
  return m;
}

bool ReadVarint(const uint8_t*& p, const uint8_t* end, uint64_t* out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p == end) return false;
    uint8_t b = *p++;
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *out = v;
      return true;
    }
  }
  return false;
}

int64_t ZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

// The wire type a field's values have (packed repeated numbers: also 2).
int WireTypeOf(const FD* fd) {
  switch (fd->type()) {
    case FD::TYPE_DOUBLE:
    case FD::TYPE_FIXED64:
    case FD::TYPE_SFIXED64:
      return 1;
    case FD::TYPE_FLOAT:
    case FD::TYPE_FIXED32:
    case FD::TYPE_SFIXED32:
      return 5;
    case FD::TYPE_STRING:
    case FD::TYPE_BYTES:
    case FD::TYPE_MESSAGE:
      return 2;
    default:
      return 0;
  }
}

class ProtobufDecoder : public Decoder {
 public:
  ProtobufDecoder(const FormatOptions& options, const types::Schema& columns,
                  std::shared_ptr<const ProtoSchema> schema, std::unique_ptr<PMessage> plan,
                  std::string source_name)
      : options_(options),
        columns_(columns),
        schema_(std::move(schema)),
        plan_(std::move(plan)),
        source_name_(std::move(source_name)) {
    for (const auto& f : columns_.fields()) builders_.emplace_back(f.type);
    if (options_.protobuf_confluent) {
      registry_ = std::make_unique<SchemaRegistryClient>(
          options_.registry_endpoint, options_.registry_api_key, options_.registry_api_secret);
    }
  }

  Status Append(std::string_view record, const std::string& position) override {
    return AppendRecord(record, [&] { return position; });
  }
  Status AppendLine(std::string_view record, int64_t line) override {
    return AppendRecord(record, [line] { return fmt::format("line {}", line); });
  }
  Status AppendPadded(std::string_view record,
                      const std::function<std::string()>& position) override {
    return AppendRecord(record, position);
  }
  int64_t pending_rows() const override { return rows_ - static_cast<int64_t>(bad_rows_.size()); }
  int64_t dropped_rows() const override { return dropped_; }

  std::vector<batch::ColumnPtr> Flush() override {
    std::vector<int32_t> keep;
    if (!bad_rows_.empty()) keep = RowsWithout(static_cast<int32_t>(rows_), bad_rows_);
    std::vector<batch::ColumnPtr> out;
    for (auto& b : builders_) {
      batch::ColumnPtr c = b.Finish();
      if (!bad_rows_.empty()) c = batch::FilterColumn(*c, keep);
      out.push_back(std::move(c));
    }
    bad_rows_.clear();
    rows_ = 0;
    return out;
  }

 private:
  template <typename Position>
  Status AppendRecord(std::string_view record, const Position& position) {
    const uint8_t* p = reinterpret_cast<const uint8_t*>(record.data());
    if (p == nullptr) p = reinterpret_cast<const uint8_t*>("");
    const uint8_t* end = p + record.size();
    bad_data_ = true;
    Status st = DecodeRecord(p, end);
    if (st.ok()) return st;
    if (st.kind() == ErrorKind::kUser && bad_data_) {
      if (options_.bad_data == BadDataPolicy::kDrop) {
        ++dropped_;
        return Status::Ok();
      }
      return Status::User("{}: bad data at {}: {}", source_name_, position(), st.message());
    }
    return st.WithContext(fmt::format("{} at {}", source_name_, position()));
  }

  Status DecodeRecord(const uint8_t* p, const uint8_t* end) {
    PMessage* plan = plan_.get();
    if (options_.protobuf_confluent) {
      if (end - p < static_cast<ptrdiff_t>(kConfluentHeaderBytes) || p[0] != 0) {
        return Status::User(
            "not in the Confluent wire format (a 0 byte, a 4-byte schema id and the message "
            "indexes before the message)");
      }
      int32_t id = static_cast<int32_t>((uint32_t{p[1]} << 24) | (uint32_t{p[2]} << 16) |
                                        (uint32_t{p[3]} << 8) | uint32_t{p[4]});
      p += kConfluentHeaderBytes;
      uint64_t count;
      if (!ReadVarint(p, end, &count)) return Status::User("truncated message indexes");
      std::vector<int> indexes;
      int64_t n = ZigZag(count);
      if (n < 0 || n > 64) return Status::User("bad message index count {}", n);
      for (int64_t i = 0; i < n; ++i) {
        uint64_t v;
        if (!ReadVarint(p, end, &v)) return Status::User("truncated message indexes");
        indexes.push_back(static_cast<int>(ZigZag(v)));
      }
      if (indexes.empty()) indexes.push_back(0);
      SLUICE_ASSIGN_OR_RETURN(plan, PlanOf(id, indexes));
    } else if (options_.protobuf_length_delimited) {
      uint64_t len;
      if (!ReadVarint(p, end, &len) || len != static_cast<uint64_t>(end - p)) {
        return Status::User("the length prefix does not match the record's {} bytes", end - p);
      }
    }
    const int32_t row = static_cast<int32_t>(rows_);
    if (plan->nested_target) {
      if (!Message<false>(*plan, p, end, nullptr)) return Error();
      if (!Message<true>(*plan, p, end, nullptr)) {
        return Status::Internal("protobuf message decoded differently the second time: {}", error_);
      }
      ++rows_;
      return Status::Ok();
    }
    bool ok = Message<true>(*plan, p, end, nullptr);
    ++rows_;
    if (ok) return Status::Ok();
    for (auto& b : builders_) {
      if (b.length() == row) b.AppendNull();
    }
    bad_rows_.push_back(row);
    return Error();
  }

  Result<PMessage*> PlanOf(int32_t id, const std::vector<int>& indexes) {
    auto key = std::make_pair(id, indexes);
    auto it = registry_plans_.find(key);
    if (it != registry_plans_.end()) return it->second.get();
    auto schema = registry_->GetSchema(id);
    if (!schema.ok()) {
      bad_data_ = schema.status().kind() == ErrorKind::kUser;
      return schema.status();
    }
    if (schema->schema_type != "PROTOBUF") {
      return Status::User("schema id {} in registry {} is a {} schema, not Protobuf", id,
                          registry_->endpoint(), schema->schema_type);
    }
    SLUICE_ASSIGN_OR_RETURN(auto parsed, ProtoSchema::Parse(schema->schema, "", true));
    // The message at the index path (first index: a top-level message of the file).
    const gp::FileDescriptor* file = parsed->message()->file();
    if (indexes[0] < 0 || indexes[0] >= file->message_type_count()) {
      return Status::User("message index {} is past the messages of schema id {}", indexes[0], id);
    }
    const gp::Descriptor* d = file->message_type(indexes[0]);
    for (size_t i = 1; i < indexes.size(); ++i) {
      if (indexes[i] < 0 || indexes[i] >= d->nested_type_count()) {
        return Status::User("message index {} is past the nested messages of '{}'", indexes[i],
                            d->full_name());
      }
      d = d->nested_type(indexes[i]);
    }
    auto plan = Compile(d, columns_, "");
    if (!plan.ok()) {
      return plan.status().WithContext(
          fmt::format("schema id {} cannot be read into the table's columns", id));
    }
    writer_schemas_.push_back(parsed);
    PMessage* out = plan->get();
    registry_plans_.emplace(key, std::move(*plan));
    return out;
  }

  Status Error() {
    std::string e = std::move(error_);
    error_.clear();
    return Status::User("{}", e.empty() ? "malformed protobuf message" : e);
  }

  bool Fail(const std::string& what) {
    if (error_.empty()) error_ = what;
    return false;
  }

  // Scans the message in [p, end) into the plan's slots.
  bool Scan(PMessage& m, const uint8_t* p, const uint8_t* end) {
    for (size_t i = 0; i < m.fields.size(); ++i) {
      m.seen[i] = false;
      m.all[i].clear();
    }
    while (p < end) {
      uint64_t tag;
      if (!ReadVarint(p, end, &tag)) return Fail("truncated field tag");
      const int number = static_cast<int>(tag >> 3);
      const int wire = static_cast<int>(tag & 7);
      if (number <= 0 || (tag >> 3) > 536870911) return Fail("invalid field number 0");
      Span s;
      s.wire = static_cast<uint8_t>(wire);
      switch (wire) {
        case 0:
          if (!ReadVarint(p, end, &s.v)) return Fail(fmt::format("field {}: truncated", number));
          break;
        case 1:
          if (end - p < 8) return Fail(fmt::format("field {}: truncated", number));
          std::memcpy(&s.v, p, 8);
          p += 8;
          break;
        case 5: {
          if (end - p < 4) return Fail(fmt::format("field {}: truncated", number));
          uint32_t v32;
          std::memcpy(&v32, p, 4);
          s.v = v32;
          p += 4;
          break;
        }
        case 2: {
          uint64_t len;
          if (!ReadVarint(p, end, &len) || len > static_cast<uint64_t>(end - p)) {
            return Fail(fmt::format("field {}: length past the end of the message", number));
          }
          s.p = p;
          s.len = static_cast<uint32_t>(len);
          p += len;
          break;
        }
        default:
          return Fail(
              fmt::format("field {}: wire type {} (groups are not supported)", number, wire));
      }
      const int idx = m.Find(number);
      if (idx < 0) continue;  // a field not read (or unknown): skipped
      PField& f = m.fields[static_cast<size_t>(idx)];
      const int expected = WireTypeOf(f.fd);
      const bool packed = f.repeated && wire == 2 && expected != 2;
      if (wire != expected && !packed) {
        return Fail(
            fmt::format("field '{}' has wire type {}, not {}", f.fd->name(), wire, expected));
      }
      if (f.repeated || f.map) {
        m.all[static_cast<size_t>(idx)].push_back(s);
      } else {
        m.last[static_cast<size_t>(idx)] = s;
        m.seen[static_cast<size_t>(idx)] = true;
      }
    }
    return true;
  }

  template <bool kWrite>
  bool Message(PMessage& m, const uint8_t* p, const uint8_t* end, ColumnBuilder* parent) {
    if (!Scan(m, p, end)) return false;
    for (size_t i = 0; i < m.fields.size(); ++i) {
      PField& f = m.fields[i];
      ColumnBuilder* b = nullptr;
      if constexpr (kWrite) {
        b = parent ? parent->field_builder(static_cast<size_t>(f.column)) : &builders_[f.column];
      }
      if (f.map) {
        json_.clear();
        json_.push_back('{');
        bool first = true;
        for (const Span& s : m.all[i]) {
          if (!first) json_.push_back(',');
          first = false;
          if (!MapEntryJson(f.fd->message_type(), s)) return false;
        }
        json_.push_back('}');
        if constexpr (kWrite) b->AppendString(json_);
        continue;
      }
      if (f.repeated) {
        // The spans stay put while elements decode: nested messages have plans (and slots) of
        // their own.
        const std::vector<Span>& spans = m.all[i];
        ColumnBuilder* eb = nullptr;
        if constexpr (kWrite) eb = b->element_builder();
        for (const Span& s : spans) {
          if (s.wire == 2 && WireTypeOf(f.fd) != 2) {
            if (!Packed<kWrite>(f, s, eb)) return false;
          } else if (!Value<kWrite>(f, s, eb)) {
            return false;
          }
        }
        if constexpr (kWrite) b->FinishListRow();
        continue;
      }
      if (!m.seen[i]) {
        if constexpr (kWrite) {
          if (f.presence) {
            b->AppendNull();
          } else {
            AppendDefault(f, b);
          }
        }
        continue;
      }
      Span s = m.last[i];
      if (!Value<kWrite>(f, s, b)) return false;
    }
    if constexpr (kWrite) {
      if (parent) parent->FinishStructRow();
    }
    return true;
  }

  template <bool kWrite>
  bool Packed(const PField& f, const Span& s, ColumnBuilder* eb) {
    const uint8_t* p = s.p;
    const uint8_t* end = s.p + s.len;
    const int wire = WireTypeOf(f.fd);
    while (p < end) {
      Span v;
      v.wire = static_cast<uint8_t>(wire);
      if (wire == 0) {
        if (!ReadVarint(p, end, &v.v)) return Fail("truncated packed field");
      } else if (wire == 1) {
        if (end - p < 8) return Fail("truncated packed field");
        std::memcpy(&v.v, p, 8);
        p += 8;
      } else {
        if (end - p < 4) return Fail("truncated packed field");
        uint32_t v32;
        std::memcpy(&v32, p, 4);
        v.v = v32;
        p += 4;
      }
      if (!Value<kWrite>(f, v, eb)) return false;
    }
    return true;
  }

  template <bool kWrite>
  bool Value(const PField& f, const Span& s, ColumnBuilder* b) {
    if (f.timestamp) {
      int64_t seconds = 0, nanos = 0;
      const uint8_t* p = s.p;
      const uint8_t* end = s.p + s.len;
      while (p < end) {
        uint64_t tag, v;
        if (!ReadVarint(p, end, &tag) || (tag & 7) != 0 || !ReadVarint(p, end, &v)) {
          return Fail(fmt::format("field '{}': malformed google.protobuf.Timestamp", f.fd->name()));
        }
        if ((tag >> 3) == 1) seconds = static_cast<int64_t>(v);
        if ((tag >> 3) == 2) nanos = static_cast<int32_t>(v);
      }
      int64_t micros;
      if (__builtin_mul_overflow(seconds, int64_t{1000000}, &micros)) {
        return Fail(fmt::format("field '{}': timestamp out of range", f.fd->name()));
      }
      if constexpr (kWrite) b->AppendFixed<int64_t>(micros + nanos / 1000);
      return true;
    }
    if (f.sub) return Message<kWrite>(*f.sub, s.p, s.p + s.len, b);
    switch (f.fd->type()) {
      case FD::TYPE_STRING:
      case FD::TYPE_BYTES: {
        std::string_view text(reinterpret_cast<const char*>(s.p ? s.p : s.p), s.len);
        if (s.len == 0) text = std::string_view("");
        if (f.fd->type() == FD::TYPE_STRING && !simdjson::validate_utf8(text.data(), text.size())) {
          return Fail(fmt::format("field '{}': string is not valid UTF-8", f.fd->name()));
        }
        if constexpr (kWrite) b->AppendString(text);
        return true;
      }
      case FD::TYPE_ENUM: {
        if constexpr (kWrite) {
          const int number = static_cast<int32_t>(s.v);
          const gp::EnumValueDescriptor* e = f.fd->enum_type()->FindValueByNumber(number);
          if (e != nullptr) {
            b->AppendString(e->name());
          } else {
            b->AppendString(std::to_string(number));  // an open enum's unknown value
          }
        }
        return true;
      }
      default:
        if constexpr (kWrite) AppendNumber(f, s.v, b);
        return true;
    }
  }

  static void AppendNumber(const PField& f, uint64_t v, ColumnBuilder* b) {
    int64_t i = 0;
    double d = 0;
    bool real = false;
    switch (f.fd->type()) {
      case FD::TYPE_INT32:
        i = static_cast<int32_t>(v);
        break;
      case FD::TYPE_SINT32:
        i = static_cast<int32_t>(ZigZag(v));
        break;
      case FD::TYPE_SFIXED32:
        i = static_cast<int32_t>(static_cast<uint32_t>(v));
        break;
      case FD::TYPE_UINT32:
      case FD::TYPE_FIXED32:
        i = static_cast<uint32_t>(v);
        break;
      case FD::TYPE_SINT64:
        i = ZigZag(v);
        break;
      case FD::TYPE_BOOL:
        b->AppendBool(v != 0);
        return;
      case FD::TYPE_UINT64:
      case FD::TYPE_FIXED64:
        if (f.target == TypeId::kUInt64) {
          b->AppendFixed<uint64_t>(v);
          return;
        }
        i = static_cast<int64_t>(v);
        break;
      case FD::TYPE_FLOAT: {
        float x;
        uint32_t v32 = static_cast<uint32_t>(v);
        std::memcpy(&x, &v32, 4);
        d = x;
        real = true;
        break;
      }
      case FD::TYPE_DOUBLE:
        std::memcpy(&d, &v, 8);
        real = true;
        break;
      default:
        i = static_cast<int64_t>(v);
        break;  // int64, sfixed64
    }
    switch (f.target) {
      case TypeId::kInt32:
        b->AppendFixed<int32_t>(static_cast<int32_t>(i));
        break;
      case TypeId::kInt64:
        b->AppendFixed<int64_t>(i);
        break;
      case TypeId::kFloat32:
        b->AppendFixed<float>(static_cast<float>(d));
        break;
      case TypeId::kFloat64:
        b->AppendFixed<double>(real ? d : static_cast<double>(i));
        break;
      default:
        b->AppendFixed<int64_t>(i);
        break;
    }
  }

  static void AppendDefault(const PField& f, ColumnBuilder* b) {
    switch (f.fd->type()) {
      case FD::TYPE_STRING:
      case FD::TYPE_BYTES:
        b->AppendString(f.fd->default_value_string());
        return;
      case FD::TYPE_ENUM:
        b->AppendString(f.fd->default_value_enum()->name());
        return;
      case FD::TYPE_BOOL:
        b->AppendBool(f.fd->default_value_bool());
        return;
      default:
        break;
    }
    switch (f.target) {
      case TypeId::kInt32:
        b->AppendFixed<int32_t>(0);
        break;
      case TypeId::kUInt64:
        b->AppendFixed<uint64_t>(0);
        break;
      case TypeId::kFloat32:
        b->AppendFixed<float>(0);
        break;
      case TypeId::kFloat64:
        b->AppendFixed<double>(0);
        break;
      default:
        b->AppendFixed<int64_t>(0);
        break;
    }
  }

  void JsonString(std::string_view s) {
    json_.push_back('"');
    for (char ch : s) {
      unsigned char u = static_cast<unsigned char>(ch);
      if (ch == '"' || ch == '\\') {
        json_.push_back('\\');
        json_.push_back(ch);
      } else if (u < 0x20) {
        json_ += fmt::format("\\u{:04x}", u);
      } else {
        json_.push_back(ch);
      }
    }
    json_.push_back('"');
  }

  // One map entry (key = 1, value = 2) as "key":value; values that are messages are refused.
  bool MapEntryJson(const gp::Descriptor* entry, const Span& s) {
    const FD* kf = entry->FindFieldByNumber(1);
    const FD* vf = entry->FindFieldByNumber(2);
    Span key, value;
    bool has_key = false, has_value = false;
    const uint8_t* p = s.p;
    const uint8_t* end = s.p + s.len;
    while (p < end) {
      uint64_t tag;
      if (!ReadVarint(p, end, &tag)) return Fail("truncated map entry");
      Span x;
      x.wire = static_cast<uint8_t>(tag & 7);
      if (x.wire == 0) {
        if (!ReadVarint(p, end, &x.v)) return Fail("truncated map entry");
      } else if (x.wire == 1 || x.wire == 5) {
        int n = x.wire == 1 ? 8 : 4;
        if (end - p < n) return Fail("truncated map entry");
        std::memcpy(&x.v, p, static_cast<size_t>(n));
        p += n;
      } else if (x.wire == 2) {
        uint64_t len;
        if (!ReadVarint(p, end, &len) || len > static_cast<uint64_t>(end - p)) {
          return Fail("truncated map entry");
        }
        x.p = p;
        x.len = static_cast<uint32_t>(len);
        p += len;
      } else {
        return Fail("bad wire type in a map entry");
      }
      if ((tag >> 3) == 1) {
        key = x;
        has_key = true;
      } else if ((tag >> 3) == 2) {
        value = x;
        has_value = true;
      }
    }
    PField kp;
    kp.fd = kf;
    kp.target = TypeId::kInt64;
    std::string key_text;
    if (kf->type() == FD::TYPE_STRING) {
      key_text = has_key ? std::string(reinterpret_cast<const char*>(key.p), key.len) : "";
    } else if (kf->type() == FD::TYPE_BOOL) {
      key_text = has_key && key.v ? "true" : "false";
    } else {
      key_text = std::to_string(has_key ? NumberAsInt(kf, key.v) : 0);
    }
    JsonString(key_text);
    json_.push_back(':');
    switch (vf->type()) {
      case FD::TYPE_STRING:
      case FD::TYPE_BYTES:
        JsonString(has_value ? std::string_view(reinterpret_cast<const char*>(value.p), value.len)
                             : std::string_view());
        return true;
      case FD::TYPE_ENUM: {
        const gp::EnumValueDescriptor* e =
            vf->enum_type()->FindValueByNumber(has_value ? static_cast<int32_t>(value.v) : 0);
        JsonString(e ? e->name() : std::to_string(static_cast<int32_t>(value.v)));
        return true;
      }
      case FD::TYPE_BOOL:
        json_ += has_value && value.v ? "true" : "false";
        return true;
      case FD::TYPE_FLOAT: {
        float x = 0;
        uint32_t v32 = static_cast<uint32_t>(value.v);
        if (has_value) std::memcpy(&x, &v32, 4);
        json_ += std::isfinite(x) ? fmt::format("{}", x) : "null";
        return true;
      }
      case FD::TYPE_DOUBLE: {
        double x = 0;
        if (has_value) std::memcpy(&x, &value.v, 8);
        json_ += std::isfinite(x) ? fmt::format("{}", x) : "null";
        return true;
      }
      case FD::TYPE_MESSAGE:
        return Fail("map values that are messages are not supported (declare another column)");
      default:
        json_ += std::to_string(has_value ? NumberAsInt(vf, value.v) : 0);
        return true;
    }
  }

  static int64_t NumberAsInt(const FD* fd, uint64_t v) {
    switch (fd->type()) {
      case FD::TYPE_INT32:
        return static_cast<int32_t>(v);
      case FD::TYPE_SINT32:
      case FD::TYPE_SINT64:
        return ZigZag(v);
      case FD::TYPE_SFIXED32:
        return static_cast<int32_t>(static_cast<uint32_t>(v));
      case FD::TYPE_UINT32:
      case FD::TYPE_FIXED32:
        return static_cast<uint32_t>(v);
      default:
        return static_cast<int64_t>(v);
    }
  }

  FormatOptions options_;
  types::Schema columns_;
  std::shared_ptr<const ProtoSchema> schema_;
  std::unique_ptr<PMessage> plan_;
  std::string source_name_;
  std::vector<ColumnBuilder> builders_;
  std::unique_ptr<SchemaRegistryClient> registry_;
  std::map<std::pair<int32_t, std::vector<int>>, std::unique_ptr<PMessage>> registry_plans_;
  std::vector<std::shared_ptr<const ProtoSchema>> writer_schemas_;
  std::vector<int32_t> bad_rows_;
  int64_t rows_ = 0;
  int64_t dropped_ = 0;
  bool bad_data_ = true;
  std::string error_;
  std::string json_;
};

}  // namespace

Result<std::shared_ptr<const ProtoSchema>> ProtobufTableSchema(const FormatOptions& options) {
  if (options.protobuf_schema.empty()) {
    return Status::User(
        "format 'protobuf' needs the message's definition: protobuf.schema = '<.proto text>' "
        "and protobuf.message_name = '<message>'");
  }
  auto parsed = ProtoSchema::Parse(options.protobuf_schema, options.protobuf_message_name);
  if (!parsed.ok()) return parsed.status().WithContext("option 'protobuf.schema'");
  return parsed;
}

Result<std::unique_ptr<Decoder>> MakeProtobufDecoder(const FormatOptions& options,
                                                     const types::Schema& schema,
                                                     const std::string& source_name) {
  SLUICE_ASSIGN_OR_RETURN(auto proto, ProtobufTableSchema(options));
  auto plan = Compile(proto->message(), schema, "");
  if (!plan.ok()) {
    return plan.status().WithContext(
        fmt::format("the columns against message '{}'", proto->message()->full_name()));
  }
  return std::unique_ptr<Decoder>(std::make_unique<ProtobufDecoder>(
      options, schema, std::move(proto), std::move(*plan), source_name));
}

}  // namespace sluice::formats
