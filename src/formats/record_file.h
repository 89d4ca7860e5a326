#pragma once
// Files of records: how a row format lies in a whole file, for the connectors that read and
// write files (filesystem). Parquet has its own reader and writer (parquet/).
//
//   json, raw_string    one record per line
//   avro                an object container file (the Avro specification's): a header with the
//                       writer's schema, the codec and a sync marker, then blocks of datums,
//                       each block followed by the sync marker. Codecs: null, deflate,
//                       zstandard, and snappy when reading.
//   protobuf            each message preceded by its length as a varint (protobuf's
//                       writeDelimitedTo / parseDelimitedFrom)
//
// A record's position in a file is its number: lines (empty ones included), datums, messages.
// Not thread-safe.

#include <memory>
#include <string>

#include "batch/batch.h"
#include "common/status.h"
#include "formats/format.h"
#include "types/schema.h"

namespace sluice::formats {

// Why `options` cannot be a file's format, or OK (the Confluent framing and bare Avro datums
// are for messages; files carry their own framing).
Status CheckRecordFileFormat(const FormatOptions& options);

class RecordFileWriter {
 public:
  virtual ~RecordFileWriter() = default;
  static Result<std::unique_ptr<RecordFileWriter>> Make(const FormatOptions& options,
                                                        const types::Schema& schema);
  // Appends what starts every file (Avro's header; nothing for the other formats).
  virtual void StartFile(std::string* out) = 0;
  // What a writer needs to go on appending to the file this one started, after a restore
  // (Avro: the file's sync marker; nothing for the other formats).
  virtual std::string file_state() const { return {}; }
  // Makes this writer go on appending to a file a writer started: `state` is its file_state().
  virtual Status ResumeFile(std::string_view state) { return Status::Ok(); }
  // Appends the batch's rows (one Avro block per call).
  virtual Status Write(const batch::Batch& batch, std::string* out) = 0;
};

class RecordFileReader {
 public:
  virtual ~RecordFileReader() = default;
  // `bytes`: the whole file followed by kLinePadding bytes (which are not part of it).
  // `name` names the file in errors, `label` the table.
  static Result<std::unique_ptr<RecordFileReader>> Open(const FormatOptions& options,
                                                        const types::Schema& schema,
                                                        const std::string& name, std::string bytes,
                                                        const std::string& label);
  // Skips the first `records` records (a file resumed from a checkpoint).
  virtual Status Skip(int64_t records) = 0;
  // Decodes records into decoder() until it holds about `rows` rows or the file ends; returns
  // how many records it consumed (dropped bad ones included).
  virtual Result<int64_t> Read(int64_t rows) = 0;
  virtual bool done() const = 0;
  Decoder& decoder() { return *decoder_; }

 protected:
  std::unique_ptr<Decoder> decoder_;
};

}  // namespace sluice::formats
