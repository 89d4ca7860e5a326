#pragma once
// Writes batches into one Parquet file through Apache Arrow C++'s Parquet library
// (docs/decisions/0013). Sluice columns have the Arrow memory layout, so a batch is handed to
// the library without copying: each column's buffers are wrapped as Arrow buffers.
//
// Type mapping (the reader maps back the same way):
//   BOOLEAN → boolean; TINYINT..BIGINT (and UNSIGNED) → int8..int64 (uint8..uint64);
//   REAL/DOUBLE → float/double; DECIMAL(p, s) → decimal128(p, s) (Parquet DECIMAL);
//   TEXT, JSON → string (UTF8); BYTEA → binary; DATE → date32; TIME → time64[us];
//   TIMESTAMP → timestamp[us] (Parquet TIMESTAMP(isAdjustedToUTC=false, MICROS));
//   TIMESTAMPTZ → timestamp[us, UTC] (isAdjustedToUTC=true); T[] → list<T>;
//   STRUCT<...> → struct<...>. INTERVAL has no Parquet type: refused (cast it to TEXT).
//
// Not thread-safe: one writer per file, used by one task.

#include <cstdint>
#include <memory>
#include <string_view>

#include "batch/batch.h"
#include "common/status.h"
#include "formats/parquet/parquet_options.h"
#include "types/schema.h"

namespace sluice::formats {

// Where the file's bytes go (a local file, an upload). Called in order, from the writer's thread.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual Status Append(std::string_view bytes) = 0;
};

// OK when every column of `schema` has a Parquet type; else a user error naming the column.
Status CheckParquetSchema(const types::Schema& schema);

class ParquetWriter {
 public:
  // `sink` must outlive the writer. Nothing is written before the first batch's row group is
  // flushed or Close.
  static Result<std::unique_ptr<ParquetWriter>> Make(const types::Schema& schema,
                                                     const ParquetOptions& options, ByteSink* sink);
  virtual ~ParquetWriter() = default;
  // Adds the batch's rows (its columns must have the writer's schema).
  virtual Status Write(const batch::Batch& batch) = 0;
  // Ends the file: the open row group and the footer. The writer cannot be used afterwards.
  virtual Status Close() = 0;
  // Bytes handed to the sink so far plus an estimate of the open row group's (its in-memory
  // size; compression usually makes it smaller): what size-based rolling compares.
  virtual int64_t estimated_size() const = 0;
  virtual int64_t rows() const = 0;
};

}  // namespace sluice::formats
