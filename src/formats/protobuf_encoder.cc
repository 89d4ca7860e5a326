// Protobuf encoder: each row one message of the table's message type (protobuf.schema), its
// fields from the columns of the same name; NULLs are left out (absent fields).

#include <charconv>
#include <cstring>

#include <fmt/format.h>
#include <google/protobuf/descriptor.h>
#include <simdjson.h>

#include "formats/codecs.h"
#include "formats/protobuf_schema.h"
#include "formats/schema_registry.h"

namespace sluice::formats {

namespace {

namespace gp = google::protobuf;
using batch::Column;
using protobuf::ProtoSchema;
using types::TypeId;
using FD = gp::FieldDescriptor;

struct EField {
  const FD* fd = nullptr;
  int column = -1;
  TypeId source = TypeId::kNull;  // the column's (or list element's) type
  bool repeated = false;
  bool timestamp = false;
  bool map = false;         // a map field written from a JSON object column
  std::vector<EField> sub;  // a STRUCT column written as a message
};

Result<std::vector<EField>> CompileFields(const gp::Descriptor* d, const types::Schema& columns,
                                          const std::string& at) {
  std::vector<EField> out;
  for (int i = 0; i < d->field_count(); ++i) {
    const FD* fd = d->field(i);
    auto col = columns.Find(fd->name());
    if (!col) continue;  // a field the rows lack stays absent
    std::string where = at.empty() ? fd->name() : at + "." + fd->name();
    const types::DataType& type = columns.field(*col).type;
    EField f;
    f.fd = fd;
    f.column = static_cast<int>(*col);
    f.repeated = fd->is_repeated();
    if (fd->is_map()) {
      const FD* value = fd->message_type()->FindFieldByNumber(2);
      if ((type.id() != TypeId::kJson && type.id() != TypeId::kUtf8) ||
          value->type() == FD::TYPE_MESSAGE) {
        return Status::NotSupported(
            "format 'protobuf' writes map field '{}' from a JSON object column of scalar values, "
            "not from {}",
            where, type.ToString());
      }
      f.map = true;
      f.source = type.id();
      out.push_back(std::move(f));
      continue;
    }
    const types::DataType& value_type = f.repeated ? type.element() : type;
    if (f.repeated && type.id() != TypeId::kList) {
      return Status::User("format 'protobuf': field '{}' is repeated; column '{}' must be a list",
                          fd->name(), where);
    }
    f.source = value_type.id();
    f.timestamp = fd->type() == FD::TYPE_MESSAGE &&
                  fd->message_type()->full_name() == "google.protobuf.Timestamp";
    auto mismatch = [&]() {
      return Status::User("format 'protobuf': column '{}' ({}) cannot be written as field '{}'",
                          where, type.ToString(), fd->name());
    };
    const TypeId t = value_type.id();
    switch (fd->type()) {
      case FD::TYPE_MESSAGE:
        if (f.timestamp) {
          if (t != TypeId::kTimestamp) return mismatch();
        } else {
          if (t != TypeId::kStruct) return mismatch();
          SLUICE_ASSIGN_OR_RETURN(
              f.sub, CompileFields(fd->message_type(), types::Schema(value_type.fields()), where));
        }
        break;
      case FD::TYPE_STRING:
        if (t != TypeId::kUtf8 && t != TypeId::kJson) return mismatch();
        break;
      case FD::TYPE_BYTES:
        if (!value_type.is_string_like()) return mismatch();
        break;
      case FD::TYPE_ENUM:
        if (t != TypeId::kUtf8 && !value_type.is_integer()) return mismatch();
        break;
      case FD::TYPE_BOOL:
        if (t != TypeId::kBool) return mismatch();
        break;
      case FD::TYPE_FLOAT:
      case FD::TYPE_DOUBLE:
        if (!value_type.is_floating() && !value_type.is_integer()) return mismatch();
        break;
      case FD::TYPE_GROUP:
        return mismatch();
      default:
        if (!value_type.is_integer()) return mismatch();
    }
    out.push_back(std::move(f));
  }
  return out;
}

void PutVarint(std::string* out, uint64_t v) {
  char buf[10];
  int n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out->append(buf, static_cast<size_t>(n));
}

void PutTag(std::string* out, int number, int wire) {
  PutVarint(out, (static_cast<uint64_t>(number) << 3) | static_cast<uint64_t>(wire));
}

int64_t IntAt(const Column& c, TypeId t, int64_t i) {
  switch (t) {
    case TypeId::kInt8:
      return c.raw<int8_t>()[i];
    case TypeId::kInt16:
      return c.raw<int16_t>()[i];
    case TypeId::kInt32:
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

constexpr size_t kMaxDepth = 64;

class ProtobufEncoder : public Encoder {
 public:
  ProtobufEncoder(const FormatOptions& options, std::shared_ptr<const ProtoSchema> schema,
                  std::vector<EField> fields)
      : options_(options), schema_(std::move(schema)), fields_(std::move(fields)) {
    scratch_.resize(kMaxDepth);  // never resized: nested writes hold references into it
    if (options_.protobuf_schema_id >= 0) {
      schema_id_ = static_cast<int32_t>(options_.protobuf_schema_id);
    }
  }

  Status Encode(const batch::Batch& batch, std::string* out) override {
    std::vector<std::pair<size_t, size_t>> spans;
    return EncodeRecords(batch, out, &spans);
  }

  Status EncodeRecords(const batch::Batch& batch, std::string* out,
                       std::vector<std::pair<size_t, size_t>>* spans) override {
    if (options_.protobuf_confluent && schema_id_ < 0) {
      if (options_.registry_subject.empty()) {
        return Status::User(
            "format 'protobuf' with protobuf.confluent_schema_registry needs "
            "schema_registry.subject (or protobuf.schema_id)");
      }
      SchemaRegistryClient client(options_.registry_endpoint, options_.registry_api_key,
                                  options_.registry_api_secret);
      SLUICE_ASSIGN_OR_RETURN(
          schema_id_, client.Register(options_.registry_subject, "PROTOBUF", schema_->text()));
    }
    for (int64_t row = 0; row < batch.num_rows; ++row) {
      const size_t begin = out->size();
      if (options_.protobuf_confluent) {
        const uint32_t id = static_cast<uint32_t>(schema_id_);
        const char header[5] = {0, static_cast<char>(id >> 24), static_cast<char>(id >> 16),
                                static_cast<char>(id >> 8), static_cast<char>(id)};
        out->append(header, 5);
        std::vector<int> indexes = schema_->message_indexes();
        if (indexes == std::vector<int>{0}) {
          out->push_back(0);
        } else {
          PutVarint(out, static_cast<uint64_t>(indexes.size()) << 1);
          for (int i : indexes) PutVarint(out, static_cast<uint64_t>(i) << 1);
        }
      }
      if (options_.protobuf_length_delimited) {
        message_.clear();
        SLUICE_RETURN_NOT_OK(WriteMessage(fields_, batch.columns, row, &message_, 0));
        PutVarint(out, message_.size());
        out->append(message_);
      } else {
        SLUICE_RETURN_NOT_OK(WriteMessage(fields_, batch.columns, row, out, 0));
      }
      spans->emplace_back(begin, out->size());
    }
    return Status::Ok();
  }

 private:
  Status WriteMessage(const std::vector<EField>& fields,
                      const std::vector<batch::ColumnPtr>& columns, int64_t row, std::string* out,
                      size_t depth) {
    for (const EField& f : fields) {
      const Column& c = *columns[static_cast<size_t>(f.column)];
      if (c.IsNull(row)) continue;
      if (f.map) {
        SLUICE_RETURN_NOT_OK(WriteMap(f, c.GetString(row), out));
        continue;
      }
      if (f.repeated) {
        const int32_t* offsets = c.offsets();
        const Column& e = *c.children[0];
        for (int32_t i = offsets[row]; i < offsets[row + 1]; ++i) {
          if (e.IsNull(i)) {
            return Status::User(
                "format 'protobuf': a list element of column '{}' is NULL, which "
                "a repeated field cannot hold",
                f.fd->name());
          }
          SLUICE_RETURN_NOT_OK(WriteValue(f, e, i, out, depth));
        }
      } else {
        SLUICE_RETURN_NOT_OK(WriteValue(f, c, row, out, depth));
      }
    }
    return Status::Ok();
  }

  Status WriteValue(const EField& f, const Column& c, int64_t i, std::string* out, size_t depth) {
    const int n = f.fd->number();
    switch (f.fd->type()) {
      case FD::TYPE_MESSAGE: {
        if (depth >= kMaxDepth) {
          return Status::NotSupported("format 'protobuf': messages nested deeper than {}",
                                      kMaxDepth);
        }
        std::string& body = scratch_[depth];
        body.clear();
        if (f.timestamp) {
          int64_t micros = c.raw<int64_t>()[i];
          int64_t seconds = micros / 1000000, rem = micros % 1000000;
          if (rem < 0) {
            rem += 1000000;
            --seconds;
          }
          if (seconds != 0) {
            PutTag(&body, 1, 0);
            PutVarint(&body, static_cast<uint64_t>(seconds));
          }
          if (rem != 0) {
            PutTag(&body, 2, 0);
            PutVarint(&body, static_cast<uint64_t>(rem * 1000));
          }
        } else {
          SLUICE_RETURN_NOT_OK(WriteMessage(f.sub, c.children, i, &body, depth + 1));
        }
        PutTag(out, n, 2);
        PutVarint(out, body.size());
        out->append(body);
        return Status::Ok();
      }
      case FD::TYPE_STRING:
      case FD::TYPE_BYTES: {
        std::string_view s = c.GetString(i);
        PutTag(out, n, 2);
        PutVarint(out, s.size());
        out->append(s);
        return Status::Ok();
      }
      case FD::TYPE_ENUM: {
        int number;
        if (f.source == TypeId::kUtf8) {
          std::string_view s = c.GetString(i);
          const gp::EnumValueDescriptor* e = f.fd->enum_type()->FindValueByName(std::string(s));
          if (e == nullptr) {
            return Status::User("format 'protobuf': '{}' is no value of enum '{}' (column '{}')", s,
                                f.fd->enum_type()->full_name(), f.fd->name());
          }
          number = e->number();
        } else {
          number = static_cast<int>(IntAt(c, f.source, i));
        }
        PutTag(out, n, 0);
        PutVarint(out, static_cast<uint64_t>(static_cast<int64_t>(number)));
        return Status::Ok();
      }
      case FD::TYPE_BOOL:
        PutTag(out, n, 0);
        out->push_back(c.GetBool(i) ? 1 : 0);
        return Status::Ok();
      case FD::TYPE_FLOAT: {
        float v = f.source == TypeId::kFloat32   ? c.raw<float>()[i]
                  : f.source == TypeId::kFloat64 ? static_cast<float>(c.raw<double>()[i])
                                                 : static_cast<float>(IntAt(c, f.source, i));
        PutTag(out, n, 5);
        out->append(reinterpret_cast<const char*>(&v), 4);
        return Status::Ok();
      }
      case FD::TYPE_DOUBLE: {
        double v = f.source == TypeId::kFloat32   ? c.raw<float>()[i]
                   : f.source == TypeId::kFloat64 ? c.raw<double>()[i]
                                                  : static_cast<double>(IntAt(c, f.source, i));
        PutTag(out, n, 1);
        out->append(reinterpret_cast<const char*>(&v), 8);
        return Status::Ok();
      }
      default:
        break;
    }
    const int64_t v = IntAt(c, f.source, i);
    switch (f.fd->type()) {
      case FD::TYPE_SINT32:
      case FD::TYPE_SINT64:
        PutTag(out, n, 0);
        PutVarint(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
        return Status::Ok();
      case FD::TYPE_FIXED32:
      case FD::TYPE_SFIXED32: {
        uint32_t x = static_cast<uint32_t>(v);
        PutTag(out, n, 5);
        out->append(reinterpret_cast<const char*>(&x), 4);
        return Status::Ok();
      }
      case FD::TYPE_FIXED64:
      case FD::TYPE_SFIXED64:
        PutTag(out, n, 1);
        out->append(reinterpret_cast<const char*>(&v), 8);
        return Status::Ok();
      case FD::TYPE_INT32:
        if (v < INT32_MIN || v > INT32_MAX) {
          return Status::User("format 'protobuf': column '{}' value {} does not fit an int32",
                              f.fd->name(), v);
        }
        PutTag(out, n, 0);
        PutVarint(out, static_cast<uint64_t>(v));
        return Status::Ok();
      default:  // int64, uint32, uint64
        PutTag(out, n, 0);
        PutVarint(out, static_cast<uint64_t>(v));
        return Status::Ok();
    }
  }

  // A map field from a JSON object: one entry message (key = 1, value = 2) per member.
  Status WriteMap(const EField& f, std::string_view json, std::string* out) {
    simdjson::dom::element doc;
    simdjson::dom::object object;
    if (json_parser_.parse(json.data(), json.size()).get(doc) || doc.get_object().get(object)) {
      return Status::User("format 'protobuf': map field '{}' needs a JSON object, not {}",
                          f.fd->name(), json.substr(0, 60));
    }
    const FD* kf = f.fd->message_type()->FindFieldByNumber(1);
    const FD* vf = f.fd->message_type()->FindFieldByNumber(2);
    for (auto [key, value] : object) {
      entry_.clear();
      if (!WriteMapScalar(kf, true, key, simdjson::dom::element(), &entry_) ||
          !WriteMapScalar(vf, false, std::string_view(), value, &entry_)) {
        return Status::User(
            "format 'protobuf': map field '{}': the entry \"{}\" does not fit "
            "its key and value types",
            f.fd->name(), key);
      }
      PutTag(out, f.fd->number(), 2);
      PutVarint(out, entry_.size());
      out->append(entry_);
    }
    return Status::Ok();
  }

  // A map key (`text`, the JSON member name) or value (`v`) as field `fd` of an entry.
  static bool WriteMapScalar(const FD* fd, bool is_key, std::string_view text,
                             simdjson::dom::element v, std::string* out) {
    const int n = fd->number();
    switch (fd->type()) {
      case FD::TYPE_STRING:
      case FD::TYPE_BYTES: {
        std::string_view s = text;
        if (!is_key && v.get_string().get(s)) return false;
        PutTag(out, n, 2);
        PutVarint(out, s.size());
        out->append(s);
        return true;
      }
      case FD::TYPE_BOOL: {
        bool b;
        if (is_key) {
          if (text != "true" && text != "false") return false;
          b = text == "true";
        } else if (v.get_bool().get(b)) {
          return false;
        }
        PutTag(out, n, 0);
        out->push_back(b ? 1 : 0);
        return true;
      }
      case FD::TYPE_ENUM: {
        std::string_view name;
        int64_t number;
        if (is_key) return false;
        if (!v.get_string().get(name)) {
          const gp::EnumValueDescriptor* e = fd->enum_type()->FindValueByName(std::string(name));
          if (e == nullptr) return false;
          number = e->number();
        } else if (v.get_int64().get(number)) {
          return false;
        }
        PutTag(out, n, 0);
        PutVarint(out, static_cast<uint64_t>(number));
        return true;
      }
      case FD::TYPE_FLOAT:
      case FD::TYPE_DOUBLE: {
        double d;
        if (is_key || v.get_double().get(d)) return false;
        if (fd->type() == FD::TYPE_FLOAT) {
          float x = static_cast<float>(d);
          PutTag(out, n, 5);
          out->append(reinterpret_cast<const char*>(&x), 4);
        } else {
          PutTag(out, n, 1);
          out->append(reinterpret_cast<const char*>(&d), 8);
        }
        return true;
      }
      default: {
        int64_t i;
        if (is_key) {
          auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), i);
          if (ec != std::errc() || ptr != text.data() + text.size()) return false;
        } else if (v.get_int64().get(i)) {
          uint64_t u;
          if (v.get_uint64().get(u)) return false;
          i = static_cast<int64_t>(u);
        }
        switch (fd->type()) {
          case FD::TYPE_SINT32:
          case FD::TYPE_SINT64:
            PutTag(out, n, 0);
            PutVarint(out, (static_cast<uint64_t>(i) << 1) ^ static_cast<uint64_t>(i >> 63));
            return true;
          case FD::TYPE_FIXED32:
          case FD::TYPE_SFIXED32: {
            uint32_t x = static_cast<uint32_t>(i);
            PutTag(out, n, 5);
            out->append(reinterpret_cast<const char*>(&x), 4);
            return true;
          }
          case FD::TYPE_FIXED64:
          case FD::TYPE_SFIXED64:
            PutTag(out, n, 1);
            out->append(reinterpret_cast<const char*>(&i), 8);
            return true;
          default:
            PutTag(out, n, 0);
            PutVarint(out, static_cast<uint64_t>(i));
            return true;
        }
      }
    }
  }

  FormatOptions options_;
  std::shared_ptr<const ProtoSchema> schema_;
  std::vector<EField> fields_;
  int32_t schema_id_ = -1;
  std::string message_;
  std::vector<std::string> scratch_;  // nested messages' bytes, one buffer per depth
  std::string entry_;                 // a map entry's bytes
  simdjson::dom::parser json_parser_;
};

}  // namespace

Result<std::unique_ptr<Encoder>> MakeProtobufEncoder(const FormatOptions& options,
                                                     const types::Schema& schema) {
  SLUICE_ASSIGN_OR_RETURN(auto proto, ProtobufTableSchema(options));
  SLUICE_ASSIGN_OR_RETURN(std::vector<EField> fields, CompileFields(proto->message(), schema, ""));
  for (const auto& f : schema.fields()) {
    if (proto->message()->FindFieldByName(f.name) == nullptr) {
      bool found = false;
      for (const auto& e : fields) found = found || e.fd->name() == f.name;
      if (!found) {
        return Status::User("format 'protobuf': column '{}' is no field of message '{}'", f.name,
                            proto->message()->full_name());
      }
    }
  }
  if (options.protobuf_confluent && options.protobuf_schema_id < 0 &&
      options.registry_subject.empty()) {
    return Status::User(
        "format 'protobuf' with protobuf.confluent_schema_registry needs "
        "schema_registry.subject or protobuf.schema_id");
  }
  return std::unique_ptr<Encoder>(
      std::make_unique<ProtobufEncoder>(options, std::move(proto), std::move(fields)));
}

}  // namespace sluice::formats
