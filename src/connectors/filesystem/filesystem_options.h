#pragma once
// The options of connector = 'filesystem' (Arroyo's names), parsed and checked when the table is
// declared.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "connectors/connector.h"

namespace sluice::connectors::filesystem {

// rolling_policy.interval when a sink sets no rolling option.
inline constexpr int64_t kDefaultRollIntervalMicros = 30'000'000;

enum class FileCompression { kNone, kGzip, kZstd };

struct FilesystemOptions {
  std::string path;  // a local directory (or glob, sources) or s3://bucket/prefix[?options]
  bool s3 = false;
  std::string format;  // "json", "raw_string", "avro", "protobuf" or "parquet"
  // Sink.
  std::optional<int64_t> roll_bytes;              // rolling_policy.file_size
  std::optional<int64_t> roll_interval_micros;    // rolling_policy.interval
  std::optional<int64_t> roll_inactivity_micros;  // rolling_policy.inactivity_interval
  std::string file_prefix;                        // filename.prefix
  std::string file_suffix;                        // filename.suffix (default .json / .parquet)
  std::vector<std::string> partition_fields;      // partitioning.fields
  std::string time_pattern;                       // partitioning.time_pattern
  int64_t part_size = 8 << 20;                    // multipart.target_part_size (S3)
  // Source.
  FileCompression compression = FileCompression::kNone;  // source.compression
  std::string regex_pattern;                             // source.regex_pattern
  // source.monitor_interval: list the path again this often and read the files that appeared
  // (the source never ends); none: read the files there at start and end.
  std::optional<int64_t> monitor_interval_micros;
};

// Every option key (for the unknown-key check and hints).
std::vector<std::string> FilesystemOptionKeys();

// Parses the options of a declared table; errors name the option and how to fix it.
Result<FilesystemOptions> ParseFilesystemOptions(const TableSpec& spec);

// "128 MB", "64MiB", "1048576" → bytes.
Result<int64_t> ParseByteSize(const std::string& text, const std::string& option);

}  // namespace sluice::connectors::filesystem
