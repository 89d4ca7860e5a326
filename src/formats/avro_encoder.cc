// Avro encoder: each row one datum of the writer schema (avro.schema, or the columns' own),
// as a bare datum, in the Confluent wire format, or in an object container of its own.

#include <cstring>
#include <random>

#include <fmt/format.h>

#include "formats/avro_schema.h"
#include "formats/codecs.h"
#include "formats/schema_registry.h"

namespace sluice::formats {

namespace {

using avro::Kind;
using avro::Logical;
using avro::Node;
using batch::Column;
using types::DataType;
using types::int128_t;
using types::TypeId;

enum class EOp : uint8_t {
  kNull,  // the schema's field is null (no column)
  kBool,
  kInt,   // any integer-backed column into int/long, scaled by mul/div
  kReal,  // numeric column into float/double
  kText,  // string-like column into string/bytes
  kFixed,
  kDecimal,  // DECIMAL into bytes/fixed decimal
  kDuration,
  kEnum,
  kRecord,
  kArray,
};

struct EPlan {
  EOp op = EOp::kNull;
  const Node* node = nullptr;  // the (non-union) Avro type written
  TypeId source = TypeId::kNull;
  int64_t mul = 1;
  int64_t div = 1;
  // The union around the value: the branch of a NULL and of a value; -1 without a union.
  int null_branch = -1;
  int value_branch = -1;
  std::vector<EPlan> children;  // record: per schema field; array: items
  std::vector<int> columns;     // record: column (struct child) of each field, -1 for none
  std::string name;             // column or field name, for errors
};

int64_t Pow10(int n) {
  int64_t v = 1;
  for (int i = 0; i < n; ++i) v *= 10;
  return v;
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

bool IntegerBacked(TypeId t) {
  switch (t) {
    case TypeId::kInt8:
    case TypeId::kInt16:
    case TypeId::kInt32:
    case TypeId::kInt64:
    case TypeId::kUInt8:
    case TypeId::kUInt16:
    case TypeId::kUInt32:
    case TypeId::kUInt64:
    case TypeId::kDate:
    case TypeId::kTime:
    case TypeId::kTimestamp:
      return true;
    default:
      return false;
  }
}

Result<EPlan> CompileValue(const Node& schema, const DataType& type, const std::string& name);

Result<EPlan> CompileRecord(const Node& schema, const types::Schema& columns,
                            const std::string& name) {
  EPlan p;
  p.op = EOp::kRecord;
  p.node = &schema;
  p.name = name;
  for (const auto& f : schema.fields) {
    auto col = columns.Find(f.name);
    std::string where = name.empty() ? f.name : name + "." + f.name;
    if (!col) {
      // A field the rows lack: written as null, which its type must allow.
      EPlan null;
      null.op = EOp::kNull;
      null.name = where;
      bool nullable = f.type->kind == Kind::kNull;
      if (f.type->kind == Kind::kUnion) {
        for (size_t b = 0; b < f.type->branches.size(); ++b) {
          if (f.type->branches[b]->kind == Kind::kNull) {
            null.null_branch = static_cast<int>(b);
            nullable = true;
          }
        }
      }
      if (!nullable) {
        return Status::User(
            "format 'avro': the rows have no column '{}' for the schema's field of type {} (not "
            "nullable); select one",
            where, avro::Describe(*f.type));
      }
      p.children.push_back(std::move(null));
      p.columns.push_back(-1);
      continue;
    }
    SLUICE_ASSIGN_OR_RETURN(EPlan child, CompileValue(*f.type, columns.field(*col).type, where));
    p.children.push_back(std::move(child));
    p.columns.push_back(static_cast<int>(*col));
  }
  return p;
}

Result<EPlan> CompileValue(const Node& schema, const DataType& type, const std::string& name) {
  const Node* n = &schema;
  int null_branch = -1, value_branch = -1;
  if (n->kind == Kind::kUnion) {
    // The NULL branch, and the first branch a value of the column's type can be written as.
    for (size_t b = 0; b < n->branches.size(); ++b) {
      const Node* branch = n->branches[b];
      if (branch->kind == Kind::kNull) {
        if (null_branch < 0) null_branch = static_cast<int>(b);
      } else if (value_branch < 0 && CompileValue(*branch, type, name).ok()) {
        value_branch = static_cast<int>(b);
      }
    }
    if (value_branch < 0) {
      return Status::User("format 'avro': column '{}' ({}) fits no branch of the union", name,
                          type.ToString());
    }
    n = n->branches[static_cast<size_t>(value_branch)];
  }
  EPlan p;
  p.node = n;
  p.source = type.id();
  p.name = name;
  p.null_branch = null_branch;
  p.value_branch = value_branch;
  auto mismatch = [&]() {
    return Status::User("format 'avro': column '{}' ({}) cannot be written as Avro {}", name,
                        type.ToString(), avro::Describe(*n));
  };
  const TypeId t = type.id();
  switch (n->kind) {
    case Kind::kNull:
      return mismatch();
    case Kind::kBoolean:
      if (t != TypeId::kBool) return mismatch();
      p.op = EOp::kBool;
      return p;
    case Kind::kInt:
    case Kind::kLong: {
      if (!IntegerBacked(t)) return mismatch();
      p.op = EOp::kInt;
      const Logical l = n->logical;
      if (t == TypeId::kDate) {
        if (l != Logical::kDate) return mismatch();
      } else if (t == TypeId::kTime) {
        if (l == Logical::kTimeMillis) {
          p.div = 1000;
        } else if (l != Logical::kTimeMicros) {
          return mismatch();
        }
      } else if (t == TypeId::kTimestamp) {
        if (l == Logical::kTimestampMillis || l == Logical::kLocalTimestampMillis) {
          p.div = 1000;
        } else if (l == Logical::kTimestampNanos || l == Logical::kLocalTimestampNanos) {
          p.mul = 1000;
        } else if (l != Logical::kTimestampMicros && l != Logical::kLocalTimestampMicros) {
          return mismatch();
        }
      } else {
        if (l != Logical::kNone) return mismatch();
        // A BIGINT does not fit an Avro int.
        if (n->kind == Kind::kInt && (type.byte_width() > 4 || t == TypeId::kUInt32)) {
          return mismatch();
        }
      }
      return p;
    }
    case Kind::kFloat:
    case Kind::kDouble:
      if (!(type.is_integer() || type.is_floating())) return mismatch();
      p.op = EOp::kReal;
      return p;
    case Kind::kString:
      if (t != TypeId::kUtf8 && t != TypeId::kJson) return mismatch();
      p.op = EOp::kText;
      return p;
    case Kind::kBytes:
    case Kind::kFixed:
      if (n->logical == Logical::kDecimal) {
        if (t != TypeId::kDecimal || type.scale() > n->scale || n->scale - type.scale() > 18) {
          return mismatch();
        }
        p.op = EOp::kDecimal;
        p.mul = Pow10(n->scale - type.scale());
        return p;
      }
      if (n->logical == Logical::kDuration) {
        if (t != TypeId::kInterval) return mismatch();
        p.op = EOp::kDuration;
        return p;
      }
      if (!type.is_string_like()) return mismatch();
      p.op = n->kind == Kind::kFixed ? EOp::kFixed : EOp::kText;
      return p;
    case Kind::kEnum:
      if (t != TypeId::kUtf8) return mismatch();
      p.op = EOp::kEnum;
      return p;
    case Kind::kArray: {
      if (t != TypeId::kList) return mismatch();
      p.op = EOp::kArray;
      SLUICE_ASSIGN_OR_RETURN(EPlan items, CompileValue(*n->items, type.element(), name + "[]"));
      p.children.push_back(std::move(items));
      return p;
    }
    case Kind::kRecord: {
      if (t != TypeId::kStruct) return mismatch();
      SLUICE_ASSIGN_OR_RETURN(EPlan r, CompileRecord(*n, types::Schema(type.fields()), name));
      r.null_branch = null_branch;
      r.value_branch = value_branch;
      r.source = t;
      return r;
    }
    case Kind::kMap:
    case Kind::kUnion:
      return mismatch();
  }
  return mismatch();
}

void PutLong(std::string* out, int64_t v) {
  uint64_t z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  char buf[10];
  int n = 0;
  while (z >= 0x80) {
    buf[n++] = static_cast<char>((z & 0x7f) | 0x80);
    z >>= 7;
  }
  buf[n++] = static_cast<char>(z);
  out->append(buf, static_cast<size_t>(n));
}

void PutBytes(std::string* out, std::string_view s) {
  PutLong(out, static_cast<int64_t>(s.size()));
  out->append(s);
}

int64_t IntegerAt(const Column& c, TypeId t, int64_t i) {
  switch (t) {
    case TypeId::kInt8:
      return c.raw<int8_t>()[i];
    case TypeId::kInt16:
      return c.raw<int16_t>()[i];
    case TypeId::kInt32:
    case TypeId::kDate:
      return c.raw<int32_t>()[i];
    case TypeId::kUInt8:
      return c.raw<uint8_t>()[i];
    case TypeId::kUInt16:
      return c.raw<uint16_t>()[i];
    case TypeId::kUInt32:
      return c.raw<uint32_t>()[i];
    case TypeId::kUInt64:
      return static_cast<int64_t>(c.raw<uint64_t>()[i]);
    default:
      return c.raw<int64_t>()[i];
  }
}

double RealAt(const Column& c, TypeId t, int64_t i) {
  if (t == TypeId::kFloat32) return c.raw<float>()[i];
  if (t == TypeId::kFloat64) return c.raw<double>()[i];
  return static_cast<double>(IntegerAt(c, t, i));
}

class AvroEncoder : public Encoder {
 public:
  AvroEncoder(const FormatOptions& options, std::shared_ptr<const avro::Schema> schema, EPlan plan)
      : options_(options), schema_(std::move(schema)), plan_(std::move(plan)) {
    if (!options_.avro_raw_datums && !options_.avro_confluent) {
      // One object container per record: the header is the same for all.
      std::mt19937_64 rng(std::random_device{}());
      for (int i = 0; i < 2; ++i) {
        uint64_t r = rng();
        sync_.append(reinterpret_cast<const char*>(&r), 8);
      }
      header_.append("Obj\x01", 4);
      PutLong(&header_, 2);
      PutBytes(&header_, "avro.schema");
      PutBytes(&header_, schema_->ToJson());
      PutBytes(&header_, "avro.codec");
      PutBytes(&header_, "null");
      PutLong(&header_, 0);
      header_ += sync_;
    }
    if (options_.avro_schema_id >= 0) schema_id_ = static_cast<int32_t>(options_.avro_schema_id);
  }

  Status Encode(const batch::Batch& batch, std::string* out) override {
    std::vector<std::pair<size_t, size_t>> spans;
    return EncodeRecords(batch, out, &spans);
  }

  Status EncodeRecords(const batch::Batch& batch, std::string* out,
                       std::vector<std::pair<size_t, size_t>>* spans) override {
    if (options_.avro_confluent && schema_id_ < 0) SLUICE_RETURN_NOT_OK(RegisterSchema());
    spans->reserve(spans->size() + static_cast<size_t>(batch.num_rows));
    for (int64_t row = 0; row < batch.num_rows; ++row) {
      const size_t begin = out->size();
      if (options_.avro_confluent) {
        const uint32_t id = static_cast<uint32_t>(schema_id_);
        const char header[5] = {0, static_cast<char>(id >> 24), static_cast<char>(id >> 16),
                                static_cast<char>(id >> 8), static_cast<char>(id)};
        out->append(header, 5);
        SLUICE_RETURN_NOT_OK(WriteRecord(plan_, batch.columns, row, out));
      } else if (options_.avro_raw_datums) {
        SLUICE_RETURN_NOT_OK(WriteRecord(plan_, batch.columns, row, out));
      } else {
        datum_.clear();
        SLUICE_RETURN_NOT_OK(WriteRecord(plan_, batch.columns, row, &datum_));
        out->append(header_);
        PutLong(out, 1);
        PutLong(out, static_cast<int64_t>(datum_.size()));
        out->append(datum_);
        out->append(sync_);
      }
      spans->emplace_back(begin, out->size());
    }
    return Status::Ok();
  }

 private:
  Status RegisterSchema() {
    if (options_.registry_subject.empty()) {
      return Status::User(
          "format 'avro' with avro.confluent_schema_registry needs schema_registry.subject (or "
          "avro.schema_id) to know which schema id to write");
    }
    SchemaRegistryClient client(options_.registry_endpoint, options_.registry_api_key,
                                options_.registry_api_secret);
    SLUICE_ASSIGN_OR_RETURN(schema_id_,
                            client.Register(options_.registry_subject, "AVRO", schema_->ToJson()));
    return Status::Ok();
  }

  Status WriteRecord(const EPlan& p, const std::vector<batch::ColumnPtr>& columns, int64_t row,
                     std::string* out) {
    for (size_t f = 0; f < p.children.size(); ++f) {
      const EPlan& child = p.children[f];
      const int col = p.columns[f];
      if (col < 0) {
        if (child.null_branch >= 0) PutLong(out, child.null_branch);
        continue;
      }
      SLUICE_RETURN_NOT_OK(WriteValue(child, *columns[static_cast<size_t>(col)], row, out));
    }
    return Status::Ok();
  }

  Status WriteValue(const EPlan& p, const Column& c, int64_t row, std::string* out) {
    if (c.IsNull(row)) {
      if (p.null_branch < 0) {
        return Status::User(
            "format 'avro': column '{}' is NULL in a row, but the schema's type {} has no null "
            "(make it a union with \"null\", or filter the NULLs)",
            p.name, avro::Describe(*p.node));
      }
      PutLong(out, p.null_branch);
      return Status::Ok();
    }
    if (p.value_branch >= 0) PutLong(out, p.value_branch);
    switch (p.op) {
      case EOp::kNull:
        return Status::Ok();
      case EOp::kBool:
        out->push_back(c.GetBool(row) ? 1 : 0);
        return Status::Ok();
      case EOp::kInt: {
        int64_t v = IntegerAt(c, p.source, row);
        if (p.div != 1) v = FloorDiv(v, p.div);
        if (p.mul != 1 && __builtin_mul_overflow(v, p.mul, &v)) {
          return Status::User("format 'avro': column '{}' value out of the range of {}", p.name,
                              avro::Describe(*p.node));
        }
        PutLong(out, v);
        return Status::Ok();
      }
      case EOp::kReal: {
        double v = RealAt(c, p.source, row);
        if (p.node->kind == Kind::kFloat) {
          float f = static_cast<float>(v);
          out->append(reinterpret_cast<const char*>(&f), 4);
        } else {
          out->append(reinterpret_cast<const char*>(&v), 8);
        }
        return Status::Ok();
      }
      case EOp::kText:
        PutBytes(out, c.GetString(row));
        return Status::Ok();
      case EOp::kFixed: {
        std::string_view s = c.GetString(row);
        if (s.size() != static_cast<size_t>(p.node->size)) {
          return Status::User("format 'avro': column '{}' has a value of {} bytes for {} of {}",
                              p.name, s.size(), avro::Describe(*p.node), p.node->size);
        }
        out->append(s);
        return Status::Ok();
      }
      case EOp::kDecimal: {
        int128_t v = c.raw<int128_t>()[row];
        if (p.mul != 1 && __builtin_mul_overflow(v, static_cast<int128_t>(p.mul), &v)) {
          return Status::User("format 'avro': column '{}' value out of the range of {}", p.name,
                              avro::Describe(*p.node));
        }
        // Big-endian two's complement: the fewest bytes (bytes), or sign-extended (fixed).
        char be[16];
        __uint128_t u = static_cast<__uint128_t>(v);
        for (int i = 15; i >= 0; --i) {
          be[i] = static_cast<char>(u & 0xff);
          u >>= 8;
        }
        if (p.node->kind == Kind::kFixed) {
          const size_t size = static_cast<size_t>(p.node->size);
          const char fill = v < 0 ? static_cast<char>(0xff) : 0;
          if (size >= 16) {
            out->append(size - 16, fill);
            out->append(be, 16);
          } else {
            for (size_t i = 0; i < 16 - size; ++i) {
              if (be[i] != fill) {
                return Status::User("format 'avro': column '{}' value does not fit {}", p.name,
                                    avro::Describe(*p.node));
              }
            }
            out->append(be + 16 - size, size);
          }
          return Status::Ok();
        }
        size_t start = 0;
        while (start < 15) {
          bool redundant = (be[start] == 0 && !(be[start + 1] & 0x80)) ||
                           (be[start] == static_cast<char>(0xff) && (be[start + 1] & 0x80));
          if (!redundant) break;
          ++start;
        }
        PutBytes(out, std::string_view(be + start, 16 - start));
        return Status::Ok();
      }
      case EOp::kDuration: {
        const types::Interval& iv = c.raw<types::Interval>()[row];
        if (iv.months < 0 || iv.days < 0 || iv.micros < 0 || iv.micros % 1000 != 0 ||
            iv.micros / 1000 > UINT32_MAX) {
          return Status::User(
              "format 'avro': column '{}' holds {}, which an Avro duration (non-negative "
              "months, days and milliseconds) cannot",
              p.name, types::FormatInterval(iv));
        }
        uint32_t parts[3] = {static_cast<uint32_t>(iv.months), static_cast<uint32_t>(iv.days),
                             static_cast<uint32_t>(iv.micros / 1000)};
        for (uint32_t part : parts) {
          char le[4] = {static_cast<char>(part), static_cast<char>(part >> 8),
                        static_cast<char>(part >> 16), static_cast<char>(part >> 24)};
          out->append(le, 4);
        }
        return Status::Ok();
      }
      case EOp::kEnum: {
        std::string_view s = c.GetString(row);
        const auto& symbols = p.node->symbols;
        for (size_t i = 0; i < symbols.size(); ++i) {
          if (symbols[i] == s) {
            PutLong(out, static_cast<int64_t>(i));
            return Status::Ok();
          }
        }
        return Status::User("format 'avro': column '{}' holds '{}', which is no symbol of {}",
                            p.name, s, avro::Describe(*p.node));
      }
      case EOp::kRecord:
        return WriteRecord(p, c.children, row, out);
      case EOp::kArray: {
        const int32_t* offsets = c.offsets();
        const int32_t begin = offsets[row], end = offsets[row + 1];
        if (end > begin) {
          PutLong(out, end - begin);
          for (int32_t i = begin; i < end; ++i) {
            SLUICE_RETURN_NOT_OK(WriteValue(p.children[0], *c.children[0], i, out));
          }
        }
        PutLong(out, 0);
        return Status::Ok();
      }
    }
    return Status::Internal("unknown Avro encoding step");
  }

  FormatOptions options_;
  std::shared_ptr<const avro::Schema> schema_;
  EPlan plan_;
  int32_t schema_id_ = -1;
  std::string header_;
  std::string sync_;
  std::string datum_;
};

}  // namespace

Result<std::unique_ptr<Encoder>> MakeAvroEncoder(const FormatOptions& options,
                                                 const types::Schema& schema) {
  if (!options.avro_codec.empty() && options.avro_codec != "null") {
    return Status::User(
        "option 'avro.codec' compresses the blocks of Avro files (connector 'filesystem'); a "
        "message of its own is written uncompressed: remove it, or compress at the Kafka level");
  }
  SLUICE_ASSIGN_OR_RETURN(auto writer, AvroReaderSchema(options, schema));
  SLUICE_ASSIGN_OR_RETURN(EPlan plan, CompileRecord(*writer->root(), schema, ""));
  if (options.avro_confluent && options.avro_schema_id < 0 && options.registry_subject.empty()) {
    return Status::User(
        "format 'avro' with avro.confluent_schema_registry needs schema_registry.subject (the "
        "subject to register the schema under) or avro.schema_id");
  }
  return std::unique_ptr<Encoder>(
      std::make_unique<AvroEncoder>(options, std::move(writer), std::move(plan)));
}

}  // namespace sluice::formats
