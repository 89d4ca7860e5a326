#include "formats/protobuf_schema.h"

#include <set>

#include <fmt/format.h>
#include <google/protobuf/compiler/parser.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

namespace sluice::formats::protobuf {

namespace gp = google::protobuf;
using types::DataType;
using types::TypeId;

namespace {

class ParseErrors : public gp::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (first.empty()) first = fmt::format("line {}, column {}: {}", line + 1, column + 1, message);
  }
  std::string first;
};

class BuildErrors : public gp::DescriptorPool::ErrorCollector {
 public:
  void AddError(const std::string& filename, const std::string& element_name,
                const gp::Message* descriptor, ErrorLocation location,
                const std::string& message) override {
    if (first.empty()) {
      first = element_name.empty() ? message : fmt::format("{}: {}", element_name, message);
    }
  }
  std::string first;
};

// Adds the well-known file `name` (and its imports) from the generated pool.
bool AddWellKnown(gp::DescriptorPool* pool, const std::string& name) {
  if (pool->FindFileByName(name) != nullptr) return true;
  const gp::FileDescriptor* f = gp::DescriptorPool::generated_pool()->FindFileByName(name);
  if (f == nullptr) return false;
  for (int i = 0; i < f->dependency_count(); ++i) {
    if (!AddWellKnown(pool, f->dependency(i)->name())) return false;
  }
  gp::FileDescriptorProto proto;
  f->CopyTo(&proto);
  return pool->BuildFile(proto) != nullptr;
}

void CollectMessages(const gp::Descriptor* d, std::vector<const gp::Descriptor*>* out) {
  out->push_back(d);
  for (int i = 0; i < d->nested_type_count(); ++i) {
    if (!d->nested_type(i)->options().map_entry()) CollectMessages(d->nested_type(i), out);
  }
}

bool IsTimestamp(const gp::Descriptor* d) {
  return d->full_name() == "google.protobuf.Timestamp";
}

Result<DataType> TypeOf(const gp::FieldDescriptor& f, std::set<const gp::Descriptor*>* open,
                        bool element);

Result<DataType> MessageType(const gp::Descriptor* d, std::set<const gp::Descriptor*>* open) {
  if (IsTimestamp(d)) return DataType::TimestampTz();
  if (!open->insert(d).second) {
    return Status::NotSupported(
        "protobuf message '{}' contains itself; Sluice's STRUCT types are not recursive",
        d->full_name());
  }
  std::vector<types::Field> fields;
  for (int i = 0; i < d->field_count(); ++i) {
    SLUICE_ASSIGN_OR_RETURN(DataType t, TypeOf(*d->field(i), open, false));
    fields.push_back({d->field(i)->name(), t});
  }
  open->erase(d);
  return DataType::Struct(std::move(fields));
}

Result<DataType> TypeOf(const gp::FieldDescriptor& f, std::set<const gp::Descriptor*>* open,
                        bool element) {
  if (f.is_map()) return DataType(TypeId::kJson);
  if (f.is_repeated() && !element) {
    SLUICE_ASSIGN_OR_RETURN(DataType e, TypeOf(f, open, true));
    return DataType::List(e);
  }
  switch (f.type()) {
    case gp::FieldDescriptor::TYPE_DOUBLE:
      return DataType(TypeId::kFloat64);
    case gp::FieldDescriptor::TYPE_FLOAT:
      return DataType(TypeId::kFloat32);
    case gp::FieldDescriptor::TYPE_INT32:
    case gp::FieldDescriptor::TYPE_SINT32:
    case gp::FieldDescriptor::TYPE_SFIXED32:
      return DataType(TypeId::kInt32);
    case gp::FieldDescriptor::TYPE_INT64:
    case gp::FieldDescriptor::TYPE_SINT64:
    case gp::FieldDescriptor::TYPE_SFIXED64:
    case gp::FieldDescriptor::TYPE_UINT32:
    case gp::FieldDescriptor::TYPE_FIXED32:
      return DataType(TypeId::kInt64);
    case gp::FieldDescriptor::TYPE_UINT64:
    case gp::FieldDescriptor::TYPE_FIXED64:
      return DataType(TypeId::kUInt64);
    case gp::FieldDescriptor::TYPE_BOOL:
      return DataType(TypeId::kBool);
    case gp::FieldDescriptor::TYPE_STRING:
    case gp::FieldDescriptor::TYPE_ENUM:
      return DataType(TypeId::kUtf8);
    case gp::FieldDescriptor::TYPE_BYTES:
      return DataType(TypeId::kBinary);
    case gp::FieldDescriptor::TYPE_MESSAGE:
      return MessageType(f.message_type(), open);
    case gp::FieldDescriptor::TYPE_GROUP:
      return Status::NotSupported("protobuf field '{}' is a group (proto2), which Sluice reads not",
                                  f.full_name());
  }
  return Status::Internal("unknown protobuf field type");
}

}  // namespace

ProtoSchema::ProtoSchema() = default;
ProtoSchema::~ProtoSchema() = default;

Result<std::shared_ptr<const ProtoSchema>> ProtoSchema::Parse(const std::string& proto_text,
                                                              const std::string& message_name,
                                                              bool any_message) {
  std::shared_ptr<ProtoSchema> out(new ProtoSchema());
  out->text_ = proto_text;
  gp::io::ArrayInputStream in(proto_text.data(), static_cast<int>(proto_text.size()));
  ParseErrors errors;
  gp::io::Tokenizer tokenizer(&in, &errors);
  gp::compiler::Parser parser;
  parser.RecordErrorsTo(&errors);
  gp::FileDescriptorProto file;
  if (!parser.Parse(&tokenizer, &file) || !errors.first.empty()) {
    return Status::User("the .proto text does not parse: {}", errors.first);
  }
  file.set_name("sluice_table.proto");
  out->pool_ = std::make_unique<gp::DescriptorPool>();
  for (const auto& dep : file.dependency()) {
    if (!AddWellKnown(out->pool_.get(), dep)) {
      return Status::NotSupported(
          "the .proto text imports '{}'; Sluice resolves only the well-known types "
          "(google/protobuf/*.proto): put the imported definitions into the text",
          dep);
    }
  }
  BuildErrors build_errors;
  const gp::FileDescriptor* fd = out->pool_->BuildFileCollectingErrors(file, &build_errors);
  if (fd == nullptr) return Status::User("the .proto text is not valid: {}", build_errors.first);
  std::vector<const gp::Descriptor*> messages;
  for (int i = 0; i < fd->message_type_count(); ++i)
    CollectMessages(fd->message_type(i), &messages);
  if (messages.empty()) return Status::User("the .proto text defines no message");
  if (message_name.empty()) {
    if (fd->message_type_count() != 1 && !any_message) {
      return Status::User(
          "the .proto text defines {} messages; name the one records hold with "
          "protobuf.message_name",
          fd->message_type_count());
    }
    out->message_ = fd->message_type(0);
    return std::shared_ptr<const ProtoSchema>(out);
  }
  std::vector<std::string> names;
  for (const gp::Descriptor* d : messages) {
    names.push_back(d->full_name());
    if (d->full_name() == message_name || d->name() == message_name) {
      if (out->message_ != nullptr && out->message_ != d) {
        return Status::User("protobuf.message_name '{}' is ambiguous; give the full name",
                            message_name);
      }
      out->message_ = d;
    }
  }
  if (out->message_ == nullptr) {
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    return Status::User("protobuf.message_name '{}' is no message of the .proto text ({})",
                        message_name, list);
  }
  return std::shared_ptr<const ProtoSchema>(out);
}

std::vector<int> ProtoSchema::message_indexes() const {
  std::vector<int> path;
  for (const gp::Descriptor* d = message_; d != nullptr; d = d->containing_type()) {
    path.insert(path.begin(), d->index());
  }
  return path;
}

Result<DataType> ToSluiceType(const gp::FieldDescriptor& field) {
  std::set<const gp::Descriptor*> open;
  open.insert(field.containing_type());
  return TypeOf(field, &open, false);
}

Result<types::Schema> ToSluiceColumns(const gp::Descriptor& message) {
  std::vector<types::Field> fields;
  for (int i = 0; i < message.field_count(); ++i) {
    auto t = ToSluiceType(*message.field(i));
    if (!t.ok()) {
      return t.status().WithContext(fmt::format("protobuf field '{}'", message.field(i)->name()));
    }
    fields.push_back({message.field(i)->name(), *t});
  }
  return types::Schema(std::move(fields));
}

bool Readable(const gp::FieldDescriptor& field, const DataType& type) {
  auto own = ToSluiceType(field);
  if (!own.ok()) return false;
  if (*own == type) return true;
  if (own->id() == TypeId::kTimestamp && type.id() == TypeId::kTimestamp) return true;
  if (field.is_repeated() || field.is_map()) return false;
  switch (own->id()) {
    case TypeId::kInt32:
      return type.id() == TypeId::kInt64 || type.id() == TypeId::kFloat64;
    case TypeId::kInt64:
      return type.id() == TypeId::kFloat64;
    case TypeId::kFloat32:
      return type.id() == TypeId::kFloat64;
    default:
      return false;
  }
}

}  // namespace sluice::formats::protobuf
