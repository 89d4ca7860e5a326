#pragma once
// Options of format = 'parquet' (parquet.compression, parquet.row_group_size), parsed with the
// other format options (formats/format.h). No Arrow types here: Arrow stays inside the .cc files
// of this folder.

#include <cstdint>
#include <string>

namespace sluice::formats {

enum class ParquetCompression { kZstd, kSnappy, kGzip, kLz4, kNone };

struct ParquetOptions {
  ParquetCompression compression = ParquetCompression::kZstd;
  // Most rows per row group; a row group also ends when the file does.
  int64_t row_group_rows = 1 << 20;
};

// "zstd", "snappy", "gzip", "lz4", "none".
const char* ParquetCompressionName(ParquetCompression c);

}  // namespace sluice::formats
