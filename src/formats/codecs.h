#pragma once
// Factories of the concrete decoders and encoders, called by MakeDecoder/MakeEncoder after
// the format name has been checked. Internal to the formats module.

#include <memory>
#include <string>

#include "common/status.h"
#include "formats/avro_schema.h"
#include "formats/format.h"
#include "formats/protobuf_schema.h"
#include "types/schema.h"

namespace sluice::formats {

Result<std::unique_ptr<Decoder>> MakeJsonDecoder(const FormatOptions& options,
                                                 const types::Schema& schema,
                                                 const std::string& source_name);
Result<std::unique_ptr<Decoder>> MakeDebeziumJsonDecoder(const FormatOptions& options,
                                                         const types::Schema& schema,
                                                         const std::string& source_name);
Result<std::unique_ptr<Decoder>> MakeRawStringDecoder(const types::Schema& schema,
                                                      const std::string& source_name);
Result<std::unique_ptr<Decoder>> MakeRawBytesDecoder(const types::Schema& schema,
                                                     const std::string& source_name);
Result<std::unique_ptr<Decoder>> MakeAvroDecoder(const FormatOptions& options,
                                                 const types::Schema& schema,
                                                 const std::string& source_name);
// The table's Avro schema: avro.schema, or the one derived from its columns.
Result<std::shared_ptr<const avro::Schema>> AvroReaderSchema(const FormatOptions& options,
                                                             const types::Schema& columns);
Result<std::unique_ptr<Encoder>> MakeAvroEncoder(const FormatOptions& options,
                                                 const types::Schema& schema);
Result<std::unique_ptr<Decoder>> MakeProtobufDecoder(const FormatOptions& options,
                                                     const types::Schema& schema,
                                                     const std::string& source_name);
Result<std::unique_ptr<Encoder>> MakeProtobufEncoder(const FormatOptions& options,
                                                     const types::Schema& schema);
// The table's message: protobuf.schema parsed, protobuf.message_name found in it.
Result<std::shared_ptr<const protobuf::ProtoSchema>> ProtobufTableSchema(
    const FormatOptions& options);
Result<std::unique_ptr<Encoder>> MakeJsonEncoder(const FormatOptions& options,
                                                 const types::Schema& schema);
Result<std::unique_ptr<Encoder>> MakeRawStringEncoder(const types::Schema& schema);
Result<std::unique_ptr<Encoder>> MakeDebeziumJsonEncoder(const FormatOptions& options,
                                                         const types::Schema& schema);

}  // namespace sluice::formats
