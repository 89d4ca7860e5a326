#pragma once
// Protobuf schemas: `.proto` text parsed at run time with libprotobuf's compiler (libprotoc)
// into descriptors, the message a table reads, and its mapping to Sluice's types. The decoder
// and encoder work on the wire format directly, driven by a plan compiled from the descriptors
// (protobuf_decoder.cc, protobuf_encoder.cc).

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "types/data_type.h"
#include "types/schema.h"

namespace google::protobuf {
class Descriptor;
class DescriptorPool;
class FieldDescriptor;
}  // namespace google::protobuf

namespace sluice::formats::protobuf {

// A parsed .proto file and the message records are read as.
class ProtoSchema {
 public:
  // Parses `proto_text`; `message_name` picks the message (full name or the unqualified name
  // of a message of the file; may be empty when the file has one top-level message, or when
  // `any_message`: the caller picks the message itself, as a registry's message indexes do).
  static Result<std::shared_ptr<const ProtoSchema>> Parse(const std::string& proto_text,
                                                          const std::string& message_name,
                                                          bool any_message = false);
  ~ProtoSchema();

  const google::protobuf::Descriptor* message() const { return message_; }
  // The message's index path in its file (Confluent's message indexes).
  std::vector<int> message_indexes() const;
  const std::string& text() const { return text_; }

 private:
  ProtoSchema();
  std::unique_ptr<google::protobuf::DescriptorPool> pool_;
  const google::protobuf::Descriptor* message_ = nullptr;
  std::string text_;
};

// The Sluice type a field is read into: scalars their SQL type, enums TEXT, messages STRUCT,
// repeated fields LIST, maps JSON, google.protobuf.Timestamp TIMESTAMP.
Result<types::DataType> ToSluiceType(const google::protobuf::FieldDescriptor& field);
// The columns of a message's fields.
Result<types::Schema> ToSluiceColumns(const google::protobuf::Descriptor& message);
// Whether a declared column of `type` can hold the field (its own type or a wider one).
bool Readable(const google::protobuf::FieldDescriptor& field, const types::DataType& type);

}  // namespace sluice::formats::protobuf
