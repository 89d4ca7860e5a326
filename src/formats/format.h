#pragma once
// Row formats: decode lines of text into batches and encode batches into lines.
//
// A decoder is created per source subtask and is not thread-safe. `debezium_json` decodes change
// events into rows with change kinds (an updating stream); the other formats give plain rows. Bad
// input follows the table's `bad_data` policy: `fail` returns a user error naming the source, the
// position and the problem; `drop` skips the row and counts it.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "batch/batch.h"
#include "common/status.h"
#include "formats/parquet/parquet_options.h"
#include "types/schema.h"

namespace sluice::formats {

enum class BadDataPolicy { kFail, kDrop };
// json.timestamp_format: how TIMESTAMP values are written, and how integers are read into them.
enum class TimestampFormat { kRfc3339, kUnixSeconds, kUnixMillis, kUnixMicros };

struct FormatOptions {
  std::string
      format;  // "json", "debezium_json", "raw_string", "raw_bytes", "parquet", "avro", "protobuf"
  BadDataPolicy bad_data = BadDataPolicy::kFail;
  TimestampFormat timestamp_format = TimestampFormat::kRfc3339;
  // Whether json.timestamp_format was given: debezium_json otherwise reads integers into
  // TIMESTAMP columns as epoch microseconds (PostgreSQL's timestamp(6) as Debezium writes it).
  bool timestamp_format_set = false;
  bool unstructured = false;  // json.unstructured: the whole line in one JSON column `value`
  // format = 'parquet' (parquet.compression, parquet.row_group_size): files, not lines, so
  // only connectors that write whole files (filesystem) take it; MakeDecoder/MakeEncoder refuse.
  ParquetOptions parquet;

  // avro.schema: the record schema (JSON text) records are read with (the reader's schema) and
  // written with; empty: derived from the table's columns.
  std::string avro_schema;
  // How each record carries its datum: avro.raw_datums (the bare datum),
  // avro.confluent_schema_registry (magic byte, schema id, datum), or neither (an object
  // container file per record, Arroyo's default).
  bool avro_raw_datums = false;
  bool avro_confluent = false;
  int64_t avro_schema_id = -1;  // avro.schema_id: the id a sink frames records with
  // avro.codec: how the blocks of the object container files a file sink writes are
  // compressed: null (empty), deflate or zstandard.
  std::string avro_codec;
  // Set by file connectors, not a table option: each record is one block of an Avro object
  // container file as the file holds it (datum count, byte size, datums; no sync marker),
  // written with `avro_writer_schema` (the file header's schema; empty: the table's).
  bool avro_file_blocks = false;
  std::string avro_writer_schema;
  // protobuf.schema: the .proto text; protobuf.message_name: the message records hold.
  std::string protobuf_schema;
  std::string protobuf_message_name;
  bool protobuf_length_delimited = false;  // protobuf.length_delimited: a varint length first
  bool protobuf_confluent = false;         // protobuf.confluent_schema_registry
  int64_t protobuf_schema_id = -1;         // protobuf.schema_id: the id a sink frames with
  // The schema registry (schema_registry.*), for the Confluent wire format.
  std::string registry_endpoint;
  std::string registry_api_key;
  std::string registry_api_secret;
  // The subject a sink registers its schema under (default: '<topic>-value', set by the
  // connector).
  std::string registry_subject;
};

// Parses and validates the format options among a table's options; consumed keys are erased
// from `options` so the connector can reject what is left as unknown.
// The rows of [0, rows) that are not in `bad_rows` (ascending): what a decoder keeps of the rows
// it appended when it left malformed ones in its builders (bad_data = 'drop').
std::vector<int32_t> RowsWithout(int32_t rows, const std::vector<int32_t>& bad_rows);

Result<FormatOptions> ParseFormatOptions(std::map<std::string, std::string>* options,
                                         bool required);

// The option keys formats understand (for "did you mean" hints).
const std::vector<std::string>& FormatOptionKeys();

// Bytes a caller of Decoder::AppendLine keeps readable after each record.
inline constexpr size_t kLinePadding = 64;

class Decoder {
 public:
  virtual ~Decoder() = default;
  // Appends one record. `position` names it in errors ("line 17"). Returns a user error for
  // bad data under `fail`; under `drop` the row is skipped and counted.
  virtual Status Append(std::string_view record, const std::string& position) = 0;
  // Append of the record on line `line` of a file (position "line <line>"), which lies in a
  // buffer with at least kLinePadding readable bytes after it: a format may parse it in place,
  // reading but never changing those bytes, and name the position only for an error.
  virtual Status AppendLine(std::string_view record, int64_t line);
  // Append of a record in a buffer with at least kLinePadding readable bytes after it (as for
  // AppendLine), named in errors by `position()`, which is called only for an error (message
  // queues: "partition 3 offset 17").
  virtual Status AppendPadded(std::string_view record,
                              const std::function<std::string()>& position);
  virtual int64_t pending_rows() const = 0;
  // The rows appended so far as a batch (event time filled by the caller), and resets.
  virtual std::vector<batch::ColumnPtr> Flush() = 0;
  // Formats of change streams (debezium_json): the batch::ChangeKind (kInt8) of each row the
  // last Flush returned, for Batch::change_kind. Null for formats of append-only streams.
  virtual batch::ColumnPtr flushed_change_kinds() const { return nullptr; }
  virtual int64_t dropped_rows() const = 0;
};

class Encoder {
 public:
  virtual ~Encoder() = default;
  // Appends one line per row (without trailing newline handling: each row ends with '\n').
  // Binary formats (avro) append their records back to back.
  virtual Status Encode(const batch::Batch& batch, std::string* out) = 0;
  // Appends the batch's records to `out` and the [begin, end) byte range of each to `spans`:
  // a message queue's values. The default splits Encode's lines (without their '\n').
  virtual Status EncodeRecords(const batch::Batch& batch, std::string* out,
                               std::vector<std::pair<size_t, size_t>>* spans);
};

// `source_name` is used in error messages ("table 'orders'").
Result<std::unique_ptr<Decoder>> MakeDecoder(const FormatOptions& options,
                                             const types::Schema& schema,
                                             const std::string& source_name);
Result<std::unique_ptr<Encoder>> MakeEncoder(const FormatOptions& options,
                                             const types::Schema& schema);

}  // namespace sluice::formats
