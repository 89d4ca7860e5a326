#pragma once
// Reads a Parquet file into batches of a declared schema through Apache Arrow C++'s Parquet
// library. Columns are matched by name (exact, then case-insensitive); a declared column the
// file does not have is NULL. A file column of another type is converted to the declared type
// when Arrow's cast can (int32 → BIGINT, timestamp[ns] → TIMESTAMP, large_string or dictionary
// → TEXT, ...); otherwise Open fails with a message naming the column and both types.
//
// Not thread-safe: one reader per file, used by one task.

#include <cstdint>
#include <memory>
#include <string>

#include "batch/batch.h"
#include "common/status.h"
#include "types/schema.h"

namespace sluice::formats {

class ParquetReader {
 public:
  // Opens a local file, or the file's bytes when `bytes` is set (an object fetched whole).
  // `name` names the file in errors. The first batch starts at row `skip_rows` (a resumed read).
  static Result<std::unique_ptr<ParquetReader>> Open(const std::string& name,
                                                     std::shared_ptr<const std::string> bytes,
                                                     const types::Schema& schema,
                                                     int64_t batch_rows, int64_t skip_rows);
  virtual ~ParquetReader() = default;
  // The next batch (event time left unset), or null at the end of the file.
  virtual Result<batch::BatchPtr> Next() = 0;
  virtual int64_t total_rows() const = 0;
};

}  // namespace sluice::formats
