// Avro decoder: binary datums (raw, Confluent-framed, or in an object container per record)
// decoded straight into column builders by a compiled Plan (avro_plan.h).
//
// A datum is decoded in one pass when the plan writes no STRUCT or LIST column: a datum that
// fails half-way leaves its row in some builders, which are padded with NULLs and the row left
// out at Flush. Plans that write nested columns first check the datum without writing (the
// same code, kWrite = false), so a bad datum never reaches a builder.

#include <cstring>
#include <map>

#include <fmt/format.h>
#include <simdjson.h>

#include "batch/column_builder.h"
#include "formats/avro_plan.h"
#include "formats/avro_schema.h"
#include "formats/codecs.h"
#include "formats/schema_registry.h"

namespace sluice::formats {

namespace {

using avro::Kind;
using avro::Node;
using avro::Op;
using avro::Plan;
using batch::ColumnBuilder;
using types::int128_t;
using types::TypeId;

constexpr char kOcfMagic[4] = {'O', 'b', 'j', 1};

struct Cursor {
  const uint8_t* p;
  const uint8_t* end;
  size_t left() const { return static_cast<size_t>(end - p); }
};

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

class AvroDecoder : public Decoder {
 public:
  AvroDecoder(const FormatOptions& options, const types::Schema& columns,
              std::shared_ptr<const avro::Schema> reader, std::string source_name)
      : options_(options),
        columns_(columns),
        reader_(std::move(reader)),
        source_name_(std::move(source_name)) {
    for (const auto& f : columns_.fields()) builders_.emplace_back(f.type);
    if (options_.avro_confluent) {
      registry_ = std::make_unique<SchemaRegistryClient>(
          options_.registry_endpoint, options_.registry_api_key, options_.registry_api_secret);
    }
  }

  Status Init() {
    if (!options_.avro_confluent) {
      // Raw datums are written with the table's schema (avro.schema, or the columns'); a
      // file's blocks with the schema of the file's header.
      std::shared_ptr<const avro::Schema> writer = reader_;
      if (!options_.avro_writer_schema.empty()) {
        SLUICE_ASSIGN_OR_RETURN(writer, avro::Schema::Parse(options_.avro_writer_schema));
        writer_schemas_.push_back(writer);
      }
      auto p = avro::CompileRecordPlan(*writer->root(), *reader_->root(), columns_);
      if (!p.ok()) {
        if (options_.avro_writer_schema.empty()) return p.status();
        return p.status().WithContext("the file's schema cannot be read with the table's");
      }
      fixed_plan_ = std::make_unique<Plan>(std::move(*p));
    }
    return Status::Ok();
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
    std::vector<batch::ColumnPtr> out;
    out.reserve(builders_.size());
    std::vector<int32_t> keep;
    if (!bad_rows_.empty()) keep = RowsWithout(static_cast<int32_t>(rows_), bad_rows_);
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
    Cursor c{reinterpret_cast<const uint8_t*>(record.data()),
             reinterpret_cast<const uint8_t*>(record.data()) + record.size()};
    if (record.data() == nullptr) c.p = c.end = reinterpret_cast<const uint8_t*>("");
    Status st = DecodeMessage(c);
    if (st.ok()) return st;
    if (st.kind() != ErrorKind::kUser || !bad_data_) {
      // Registry outages and internal errors are not the record's fault.
      if (st.kind() == ErrorKind::kUser) {
        return Status::User("{}: bad data at {}: {}", source_name_, position(), st.message());
      }
      return st.WithContext(fmt::format("{} at {}", source_name_, position()));
    }
    if (options_.bad_data == BadDataPolicy::kDrop) {
      dropped_ += 1 + block_lost_;
      block_lost_ = 0;
      return Status::Ok();
    }
    return Status::User("{}: bad data at {}: {}", source_name_, position(), st.message());
  }

  // One message: a raw datum, a Confluent-framed datum, or an object container file.
  Status DecodeMessage(Cursor& c) {
    bad_data_ = true;
    if (options_.avro_confluent) {
      if (c.left() < kConfluentHeaderBytes || c.p[0] != 0) {
        return Status::User(
            "not in the Confluent wire format (a 0 byte and a 4-byte schema id before the Avro "
            "datum){}",
            c.left() == 0 ? ": the record is empty"
                          : fmt::format(": it begins with byte 0x{:02x}", c.p[0]));
      }
      int32_t id = static_cast<int32_t>((uint32_t{c.p[1]} << 24) | (uint32_t{c.p[2]} << 16) |
                                        (uint32_t{c.p[3]} << 8) | uint32_t{c.p[4]});
      c.p += kConfluentHeaderBytes;
      SLUICE_ASSIGN_OR_RETURN(const Plan* plan, PlanOfId(id));
      return DecodeDatum(*plan, c, true);
    }
    if (options_.avro_file_blocks) return DecodeBlock(c);
    if (options_.avro_raw_datums) return DecodeDatum(*fixed_plan_, c, true);
    return DecodeContainer(c);
  }

  // One block of an object container file: a datum count, a byte size, the datums. A bad
  // datum loses the rest of its block (datums have no framing to resume at); with
  // bad_data = 'drop' all of them count as dropped.
  Status DecodeBlock(Cursor& c) {
    block_lost_ = 0;
    int64_t count, size;
    if (!ReadLong(c, &count) || !ReadLong(c, &size) || count < 0 || size < 0 ||
        static_cast<uint64_t>(size) != c.left()) {
      return Status::User("malformed Avro block header (datum count and byte size)");
    }
    for (int64_t i = 0; i < count; ++i) {
      Status st = DecodeDatum(*fixed_plan_, c, false);
      if (!st.ok()) {
        block_lost_ = count - i - 1;
        return st;
      }
    }
    if (c.left() != 0) {
      return Status::User("an Avro block has {} bytes after its {} datums", c.left(), count);
    }
    return Status::Ok();
  }

  Result<const Plan*> PlanOfId(int32_t id) {
    auto it = plans_by_id_.find(id);
    if (it != plans_by_id_.end()) return &it->second;
    auto schema = registry_->GetSchema(id);
    if (!schema.ok()) {
      // An unknown id is the record's problem (bad data); an unreachable registry is not.
      bad_data_ = schema.status().kind() == ErrorKind::kUser;
      return schema.status();
    }
    if (schema->schema_type != "AVRO") {
      return Status::User("schema id {} in registry {} is a {} schema, not Avro", id,
                          registry_->endpoint(), schema->schema_type);
    }
    auto parsed = avro::Schema::Parse(schema->schema);
    if (!parsed.ok()) {
      return parsed.status().WithContext(fmt::format("schema id {}", id));
    }
    auto plan = avro::CompileRecordPlan(*(*parsed)->root(), *reader_->root(), columns_);
    if (!plan.ok()) {
      return plan.status().WithContext(
          fmt::format("schema id {} cannot be read with the table's schema", id));
    }
    writer_schemas_.push_back(*parsed);
    return &plans_by_id_.emplace(id, std::move(*plan)).first->second;
  }

  // An object container file (Arroyo's default framing of a Kafka record): header with the
  // writer schema, then blocks of datums.
  Status DecodeContainer(Cursor& c) {
    if (c.left() < 4 || std::memcmp(c.p, kOcfMagic, 4) != 0) {
      return Status::User(
          "not an Avro object container (no 'Obj\\x01' magic); for bare datums set "
          "avro.raw_datums = 'true', for the Confluent wire format "
          "avro.confluent_schema_registry = 'true'");
    }
    c.p += 4;
    std::string schema_text;
    std::string codec = "null";
    while (true) {
      int64_t count;
      if (!ReadLong(c, &count)) return Truncated();
      if (count == 0) break;
      if (count < 0) {
        int64_t size;
        if (!ReadLong(c, &size)) return Truncated();
        count = -count;
      }
      for (int64_t i = 0; i < count; ++i) {
        std::string_view key, value;
        if (!ReadBytes(c, &key) || !ReadBytes(c, &value)) return Truncated();
        if (key == "avro.schema") schema_text = value;
        if (key == "avro.codec") codec = value;
      }
    }
    if (codec != "null") {
      return Status::NotSupported(
          "Avro object container with codec '{}': Sluice reads uncompressed containers (codec "
          "'null'); compress at the Kafka level instead",
          codec);
    }
    if (c.left() < 16) return Truncated();
    const uint8_t* sync = c.p;
    c.p += 16;
    const Plan* plan;
    auto it = plans_by_text_.find(schema_text);
    if (it != plans_by_text_.end()) {
      plan = &it->second;
    } else {
      SLUICE_ASSIGN_OR_RETURN(auto parsed, avro::Schema::Parse(schema_text));
      SLUICE_ASSIGN_OR_RETURN(Plan p,
                              avro::CompileRecordPlan(*parsed->root(), *reader_->root(), columns_));
      writer_schemas_.push_back(parsed);
      plan = &plans_by_text_.emplace(schema_text, std::move(p)).first->second;
    }
    while (c.left() > 0) {
      int64_t count, size;
      if (!ReadLong(c, &count) || !ReadLong(c, &size) || count < 0 || size < 0 ||
          static_cast<uint64_t>(size) > c.left()) {
        return Truncated();
      }
      Cursor block{c.p, c.p + size};
      for (int64_t i = 0; i < count; ++i) {
        SLUICE_RETURN_NOT_OK(DecodeDatum(*plan, block, false));
      }
      if (block.left() != 0) {
        return Status::User("an Avro container block has {} bytes after its {} datums",
                            block.left(), count);
      }
      c.p += size;
      if (c.left() < 16 || std::memcmp(c.p, sync, 16) != 0) {
        return Status::User("an Avro container block does not end with the file's sync marker");
      }
      c.p += 16;
    }
    return Status::Ok();
  }

  Status DecodeDatum(const Plan& plan, Cursor& c, bool whole) {
    const int32_t row = static_cast<int32_t>(rows_);
    if (plan.nested_target) {
      Cursor check = c;
      if (!ReadRecord<false>(plan, check, nullptr) || (whole && check.left() != 0)) {
        return DatumError(check, whole);
      }
      if (!ReadRecord<true>(plan, c, nullptr)) {
        return Status::Internal("Avro datum decoded differently the second time: {}", error_);
      }
      ++rows_;
      return Status::Ok();
    }
    bool ok = ReadRecord<true>(plan, c, nullptr);
    if (ok && (!whole || c.left() == 0)) {
      ++rows_;
      return Status::Ok();
    }
    // Complete the row with NULLs and leave it out at Flush.
    for (auto& b : builders_) {
      if (b.length() == row) b.AppendNull();
    }
    bad_rows_.push_back(row);
    ++rows_;
    return DatumError(c, whole);
  }

  Status DatumError(const Cursor& c, bool whole) {
    if (error_.empty() && whole && c.left() != 0) {
      return Status::User(
          "{} bytes after the end of the Avro datum (is the writer's schema "
          "the table's? avro.schema, or the Confluent framing)",
          c.left());
    }
    std::string e = std::move(error_);
    error_.clear();
    return Status::User("{}", e.empty() ? "malformed Avro datum" : e);
  }

  Status Truncated() { return Status::User("the Avro object container is truncated"); }

  // --- primitive reads ---

  static bool ReadLong(Cursor& c, int64_t* out) {
    uint64_t v = 0;
    int shift = 0;
    while (true) {
      if (c.p == c.end || shift > 63) return false;
      uint8_t b = *c.p++;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) break;
      shift += 7;
    }
    *out = static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
    return true;
  }

  static bool ReadBytes(Cursor& c, std::string_view* out) {
    int64_t n;
    if (!ReadLong(c, &n) || n < 0 || static_cast<uint64_t>(n) > c.left()) return false;
    *out = std::string_view(reinterpret_cast<const char*>(c.p), static_cast<size_t>(n));
    c.p += n;
    return true;
  }

  bool Fail(const char* what, const Node* w) {
    if (error_.empty()) {
      error_ = w ? fmt::format("{} ({})", what, avro::Describe(*w)) : std::string(what);
    }
    return false;
  }

  // Skips a value of writer type `w`, checking its structure.
  bool Skip(const Node& w, Cursor& c) {
    int64_t v;
    std::string_view s;
    switch (w.kind) {
      case Kind::kNull:
        return true;
      case Kind::kBoolean:
        if (c.p == c.end) return Fail("truncated datum", &w);
        ++c.p;
        return true;
      case Kind::kInt:
      case Kind::kLong:
      case Kind::kEnum:
        return ReadLong(c, &v) || Fail("truncated datum", &w);
      case Kind::kFloat:
      case Kind::kDouble: {
        size_t n = w.kind == Kind::kFloat ? 4 : 8;
        if (c.left() < n) return Fail("truncated datum", &w);
        c.p += n;
        return true;
      }
      case Kind::kBytes:
      case Kind::kString:
        return ReadBytes(c, &s) || Fail("truncated datum", &w);
      case Kind::kFixed:
        if (c.left() < static_cast<size_t>(w.size)) return Fail("truncated datum", &w);
        c.p += w.size;
        return true;
      case Kind::kRecord:
        for (const auto& f : w.fields) {
          if (!Skip(*f.type, c)) return false;
        }
        return true;
      case Kind::kUnion:
        if (!ReadLong(c, &v)) return Fail("truncated datum", &w);
        if (v < 0 || static_cast<size_t>(v) >= w.branches.size()) {
          return Fail("union branch index out of range", &w);
        }
        return Skip(*w.branches[static_cast<size_t>(v)], c);
      case Kind::kArray:
      case Kind::kMap:
        while (true) {
          int64_t count;
          if (!ReadLong(c, &count)) return Fail("truncated datum", &w);
          if (count == 0) return true;
          if (count < 0) {
            int64_t size;
            if (!ReadLong(c, &size) || size < 0) return Fail("truncated datum", &w);
            if (static_cast<uint64_t>(size) > c.left()) return Fail("truncated datum", &w);
            c.p += size;  // a block with its byte size is skipped whole
            continue;
          }
          if (static_cast<uint64_t>(count) > c.left() + (1u << 20)) {
            return Fail("array or map block count larger than the datum", &w);
          }
          for (int64_t i = 0; i < count; ++i) {
            if (w.kind == Kind::kMap && !ReadBytes(c, &s)) return Fail("truncated datum", &w);
            if (!Skip(*w.items, c)) return false;
          }
        }
    }
    return Fail("unknown Avro type", &w);
  }

  template <bool kWrite>
  bool ReadRecord(const Plan& p, Cursor& c, ColumnBuilder* b) {
    const size_t n = p.children.size();
    for (size_t i = 0; i < n; ++i) {
      const int idx = p.builders[i];
      if (idx < 0) {
        if (!Skip(*p.children[i].writer, c)) return false;
        continue;
      }
      ColumnBuilder* fb = nullptr;
      if constexpr (kWrite) fb = b ? b->field_builder(static_cast<size_t>(idx)) : &builders_[idx];
      if (!Read<kWrite>(p.children[i], c, fb)) return false;
    }
    if constexpr (kWrite) {
      for (const auto& [idx, value] : p.defaults) {
        ColumnBuilder* fb = b ? b->field_builder(static_cast<size_t>(idx)) : &builders_[idx];
        fb->AppendValue(value);
      }
      if (b) b->FinishStructRow();
    }
    return true;
  }

  template <bool kWrite>
  bool Read(const Plan& p, Cursor& c, ColumnBuilder* b) {
    const Node& w = *p.writer;
    switch (p.op) {
      case Op::kSkip:
        return Skip(w, c);
      case Op::kError:
        if (error_.empty()) error_ = p.error;
        return false;
      case Op::kNull:
        if constexpr (kWrite) b->AppendNull();
        return true;
      case Op::kBool:
        if (c.p == c.end) return Fail("truncated datum", &w);
        if (*c.p > 1) return Fail("boolean byte is neither 0 nor 1", &w);
        if constexpr (kWrite) b->AppendBool(*c.p != 0);
        ++c.p;
        return true;
      case Op::kInteger: {
        int64_t v;
        if (!ReadLong(c, &v)) return Fail("truncated datum", &w);
        if (w.kind == Kind::kInt && (v < INT32_MIN || v > INT32_MAX)) {
          return Fail("int value out of range", &w);
        }
        if (p.mul != 1) {
          if (__builtin_mul_overflow(v, p.mul, &v)) return Fail("value out of range", &w);
        }
        if (p.div != 1) v = FloorDiv(v, p.div);
        if constexpr (kWrite) AppendInteger(b, p.target, v);
        return true;
      }
      case Op::kReal: {
        double v;
        if (w.kind == Kind::kFloat) {
          if (c.left() < 4) return Fail("truncated datum", &w);
          float f;
          std::memcpy(&f, c.p, 4);
          c.p += 4;
          v = f;
        } else {
          if (c.left() < 8) return Fail("truncated datum", &w);
          std::memcpy(&v, c.p, 8);
          c.p += 8;
        }
        if constexpr (kWrite) {
          if (p.target == TypeId::kFloat32) {
            b->AppendFixed<float>(static_cast<float>(v));
          } else {
            b->AppendFixed<double>(v);
          }
        }
        return true;
      }
      case Op::kText: {
        std::string_view s;
        if (w.kind == Kind::kFixed) {
          if (c.left() < static_cast<size_t>(w.size)) return Fail("truncated datum", &w);
          s = std::string_view(reinterpret_cast<const char*>(c.p), static_cast<size_t>(w.size));
          c.p += w.size;
        } else if (!ReadBytes(c, &s)) {
          return Fail("truncated datum", &w);
        }
        if (p.target == TypeId::kUtf8 && !simdjson::validate_utf8(s.data(), s.size())) {
          return Fail("string is not valid UTF-8", &w);
        }
        if constexpr (kWrite) b->AppendString(s.empty() ? std::string_view("") : s);
        return true;
      }
      case Op::kDecimal: {
        std::string_view s;
        if (w.kind == Kind::kFixed) {
          if (c.left() < static_cast<size_t>(w.size)) return Fail("truncated datum", &w);
          s = std::string_view(reinterpret_cast<const char*>(c.p), static_cast<size_t>(w.size));
          c.p += w.size;
        } else if (!ReadBytes(c, &s)) {
          return Fail("truncated datum", &w);
        }
        // Two's-complement big-endian unscaled value.
        size_t i = 0;
        const bool negative = !s.empty() && (static_cast<uint8_t>(s[0]) & 0x80);
        const uint8_t fill = negative ? 0xff : 0x00;
        while (s.size() - i > 16 && static_cast<uint8_t>(s[i]) == fill) ++i;
        if (s.size() - i > 16) return Fail("decimal value larger than 128 bits", &w);
        __uint128_t u = negative ? ~static_cast<__uint128_t>(0) : 0;
        for (; i < s.size(); ++i) u = (u << 8) | static_cast<uint8_t>(s[i]);
        int128_t v = static_cast<int128_t>(u);
        if (p.mul != 1 && __builtin_mul_overflow(v, static_cast<int128_t>(p.mul), &v)) {
          return Fail("decimal value out of range", &w);
        }
        if constexpr (kWrite) b->AppendFixed<int128_t>(v);
        return true;
      }
      case Op::kDuration: {
        if (c.left() < 12) return Fail("truncated datum", &w);
        uint32_t parts[3];
        for (int k = 0; k < 3; ++k) {
          parts[k] = uint32_t{c.p[0]} | (uint32_t{c.p[1]} << 8) | (uint32_t{c.p[2]} << 16) |
                     (uint32_t{c.p[3]} << 24);
          c.p += 4;
        }
        if constexpr (kWrite) {
          types::Interval iv{static_cast<int32_t>(parts[0]), static_cast<int32_t>(parts[1]),
                             int64_t{parts[2]} * 1000};
          b->AppendFixed<types::Interval>(iv);
        }
        return true;
      }
      case Op::kEnum: {
        int64_t v;
        if (!ReadLong(c, &v)) return Fail("truncated datum", &w);
        if (v < 0 || static_cast<size_t>(v) >= p.symbols.size()) {
          return Fail("enum index out of range", &w);
        }
        if (!p.symbol_known[static_cast<size_t>(v)]) {
          error_ = fmt::format(
              "enum symbol '{}' is not among the reader's symbols, which have no default",
              p.symbols[static_cast<size_t>(v)]);
          return false;
        }
        if constexpr (kWrite) b->AppendString(p.symbols[static_cast<size_t>(v)]);
        return true;
      }
      case Op::kRecord:
        return ReadRecord<kWrite>(p, c, b);
      case Op::kArray: {
        ColumnBuilder* eb = nullptr;
        if constexpr (kWrite) eb = b->element_builder();
        while (true) {
          int64_t count;
          if (!ReadLong(c, &count)) return Fail("truncated datum", &w);
          if (count == 0) break;
          if (count < 0) {
            int64_t size;
            if (!ReadLong(c, &size)) return Fail("truncated datum", &w);
            count = -count;
          }
          if (static_cast<uint64_t>(count) > c.left() + (1u << 20)) {
            return Fail("array block count larger than the datum", &w);
          }
          for (int64_t i = 0; i < count; ++i) {
            if (!Read<kWrite>(p.children[0], c, eb)) return false;
          }
        }
        if constexpr (kWrite) b->FinishListRow();
        return true;
      }
      case Op::kUnion: {
        int64_t v;
        if (!ReadLong(c, &v)) return Fail("truncated datum", &w);
        if (v < 0 || static_cast<size_t>(v) >= p.children.size()) {
          return Fail("union branch index out of range", &w);
        }
        return Read<kWrite>(p.children[static_cast<size_t>(v)], c, b);
      }
      case Op::kJson: {
        json_.clear();
        if (!RenderJson(w, c, &json_)) return false;
        if constexpr (kWrite) b->AppendString(json_);
        return true;
      }
    }
    return Fail("unknown plan step", &w);
  }

  static void AppendInteger(ColumnBuilder* b, TypeId t, int64_t v) {
    switch (t) {
      case TypeId::kInt8:
        b->AppendFixed<int8_t>(static_cast<int8_t>(v));
        break;
      case TypeId::kInt16:
        b->AppendFixed<int16_t>(static_cast<int16_t>(v));
        break;
      case TypeId::kInt32:
      case TypeId::kDate:
        b->AppendFixed<int32_t>(static_cast<int32_t>(v));
        break;
      case TypeId::kUInt8:
        b->AppendFixed<uint8_t>(static_cast<uint8_t>(v));
        break;
      case TypeId::kUInt16:
        b->AppendFixed<uint16_t>(static_cast<uint16_t>(v));
        break;
      case TypeId::kUInt32:
        b->AppendFixed<uint32_t>(static_cast<uint32_t>(v));
        break;
      case TypeId::kUInt64:
        b->AppendFixed<uint64_t>(static_cast<uint64_t>(v));
        break;
      case TypeId::kFloat32:
        b->AppendFixed<float>(static_cast<float>(v));
        break;
      case TypeId::kFloat64:
        b->AppendFixed<double>(static_cast<double>(v));
        break;
      case TypeId::kDecimal:
        b->AppendFixed<int128_t>(static_cast<int128_t>(v));
        break;
      default:
        b->AppendFixed<int64_t>(v);
        break;  // BIGINT, TIME, TIMESTAMP
    }
  }

  static void JsonString(std::string* out, std::string_view s) {
    out->push_back('"');
    for (char ch : s) {
      unsigned char u = static_cast<unsigned char>(ch);
      if (ch == '"' || ch == '\\') {
        out->push_back('\\');
        out->push_back(ch);
      } else if (u < 0x20) {
        *out += fmt::format("\\u{:04x}", u);
      } else {
        out->push_back(ch);
      }
    }
    out->push_back('"');
  }

  // The value as JSON: records and maps as objects, arrays as arrays, a union as its branch's
  // value, bytes and fixed as strings of code points 0-255 (Avro's JSON encoding).
  bool RenderJson(const Node& w, Cursor& c, std::string* out) {
    int64_t v;
    std::string_view s;
    switch (w.kind) {
      case Kind::kNull:
        *out += "null";
        return true;
      case Kind::kBoolean:
        if (c.p == c.end) return Fail("truncated datum", &w);
        *out += *c.p++ ? "true" : "false";
        return true;
      case Kind::kInt:
      case Kind::kLong:
        if (!ReadLong(c, &v)) return Fail("truncated datum", &w);
        *out += std::to_string(v);
        return true;
      case Kind::kFloat:
      case Kind::kDouble: {
        double d;
        if (w.kind == Kind::kFloat) {
          float f;
          if (c.left() < 4) return Fail("truncated datum", &w);
          std::memcpy(&f, c.p, 4);
          c.p += 4;
          d = f;
        } else {
          if (c.left() < 8) return Fail("truncated datum", &w);
          std::memcpy(&d, c.p, 8);
          c.p += 8;
        }
        if (std::isfinite(d)) {
          *out += fmt::format("{}", d);
        } else {
          *out += "null";
        }
        return true;
      }
      case Kind::kString:
        if (!ReadBytes(c, &s)) return Fail("truncated datum", &w);
        if (!simdjson::validate_utf8(s.data(), s.size())) {
          return Fail("string is not valid UTF-8", &w);
        }
        JsonString(out, s);
        return true;
      case Kind::kBytes:
      case Kind::kFixed: {
        if (w.kind == Kind::kFixed) {
          if (c.left() < static_cast<size_t>(w.size)) return Fail("truncated datum", &w);
          s = std::string_view(reinterpret_cast<const char*>(c.p), static_cast<size_t>(w.size));
          c.p += w.size;
        } else if (!ReadBytes(c, &s)) {
          return Fail("truncated datum", &w);
        }
        out->push_back('"');
        for (char ch : s) {
          unsigned char u = static_cast<unsigned char>(ch);
          if (u < 0x20 || u >= 0x7f || ch == '"' || ch == '\\') {
            *out += fmt::format("\\u{:04x}", u);
          } else {
            out->push_back(ch);
          }
        }
        out->push_back('"');
        return true;
      }
      case Kind::kEnum:
        if (!ReadLong(c, &v)) return Fail("truncated datum", &w);
        if (v < 0 || static_cast<size_t>(v) >= w.symbols.size()) {
          return Fail("enum index out of range", &w);
        }
        JsonString(out, w.symbols[static_cast<size_t>(v)]);
        return true;
      case Kind::kRecord: {
        out->push_back('{');
        for (size_t i = 0; i < w.fields.size(); ++i) {
          if (i > 0) out->push_back(',');
          JsonString(out, w.fields[i].name);
          out->push_back(':');
          if (!RenderJson(*w.fields[i].type, c, out)) return false;
        }
        out->push_back('}');
        return true;
      }
      case Kind::kUnion:
        if (!ReadLong(c, &v)) return Fail("truncated datum", &w);
        if (v < 0 || static_cast<size_t>(v) >= w.branches.size()) {
          return Fail("union branch index out of range", &w);
        }
        return RenderJson(*w.branches[static_cast<size_t>(v)], c, out);
      case Kind::kArray:
      case Kind::kMap: {
        out->push_back(w.kind == Kind::kArray ? '[' : '{');
        bool first = true;
        while (true) {
          int64_t count;
          if (!ReadLong(c, &count)) return Fail("truncated datum", &w);
          if (count == 0) break;
          if (count < 0) {
            int64_t size;
            if (!ReadLong(c, &size)) return Fail("truncated datum", &w);
            count = -count;
          }
          if (static_cast<uint64_t>(count) > c.left() + (1u << 20)) {
            return Fail("array or map block count larger than the datum", &w);
          }
          for (int64_t i = 0; i < count; ++i) {
            if (!first) out->push_back(',');
            first = false;
            if (w.kind == Kind::kMap) {
              if (!ReadBytes(c, &s)) return Fail("truncated datum", &w);
              JsonString(out, s);
              out->push_back(':');
            }
            if (!RenderJson(*w.items, c, out)) return false;
          }
        }
        out->push_back(w.kind == Kind::kArray ? ']' : '}');
        return true;
      }
    }
    return Fail("unknown Avro type", &w);
  }

  FormatOptions options_;
  types::Schema columns_;
  std::shared_ptr<const avro::Schema> reader_;
  std::string source_name_;
  std::vector<ColumnBuilder> builders_;
  std::unique_ptr<SchemaRegistryClient> registry_;
  std::unique_ptr<Plan> fixed_plan_;
  std::map<int32_t, Plan> plans_by_id_;
  std::map<std::string, Plan> plans_by_text_;
  std::vector<std::shared_ptr<const avro::Schema>> writer_schemas_;  // the plans point into them
  std::vector<int32_t> bad_rows_;
  int64_t rows_ = 0;
  int64_t dropped_ = 0;
  bool bad_data_ = true;
  int64_t block_lost_ = 0;  // datums of a bad block after the bad one
  std::string error_;
  std::string json_;
};

}  // namespace

Result<std::shared_ptr<const avro::Schema>> AvroReaderSchema(const FormatOptions& options,
                                                             const types::Schema& columns) {
  if (!options.avro_schema.empty()) {
    auto parsed = avro::Schema::Parse(options.avro_schema);
    if (!parsed.ok()) return parsed.status().WithContext("option 'avro.schema'");
    if ((*parsed)->root()->kind != Kind::kRecord) {
      return Status::User("option 'avro.schema': the schema of a table must be a record, not {}",
                          avro::Describe(*(*parsed)->root()));
    }
    return parsed;
  }
  return avro::Schema::FromColumns(columns);
}

Result<std::unique_ptr<Decoder>> MakeAvroDecoder(const FormatOptions& options,
                                                 const types::Schema& schema,
                                                 const std::string& source_name) {
  SLUICE_ASSIGN_OR_RETURN(auto reader, AvroReaderSchema(options, schema));
  if (!options.avro_schema.empty()) {
    Status st = avro::CheckColumns(*reader->root(), schema);
    if (!st.ok()) return st.WithContext("the columns against option 'avro.schema'");
  }
  auto decoder = std::make_unique<AvroDecoder>(options, schema, std::move(reader), source_name);
  SLUICE_RETURN_NOT_OK(decoder->Init());
  return std::unique_ptr<Decoder>(std::move(decoder));
}

}  // namespace sluice::formats
