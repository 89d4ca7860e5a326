#include "formats/format.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <optional>

#include <fmt/format.h>
#include "common/text.h"

#include "formats/codecs.h"

namespace sluice::formats {

namespace {

constexpr const char* kFormatHint = "use format = 'json', 'debezium_json' or 'raw_string'";

// Removes `key` from the options and returns its value (lower case, trimmed), if present.
std::optional<std::string> TakeOption(std::map<std::string, std::string>* options,
                                      const std::string& key) {
  auto it = options->find(key);
  if (it == options->end()) return std::nullopt;
  std::string value = AsciiLower(std::string(TrimAsciiSpace(it->second)));
  options->erase(it);
  return value;
}

Status InvalidValue(const std::string& key, const std::string& value, const char* accepted) {
  return Status::User("invalid value '{}' for option '{}'; use {}", value, key, accepted);
}

// Parquet is a file format: records of a message queue or lines of a file cannot hold it.
Status ParquetNeedsFiles() {
  return Status::NotSupported(
      "format 'parquet' is a file format: use it with connector = 'filesystem'");
}

Status ParseParquetOptions(std::map<std::string, std::string>* options, FormatOptions* out) {
  auto compression = TakeOption(options, "parquet.compression");
  auto row_group = TakeOption(options, "parquet.row_group_size");
  if ((compression || row_group) && out->format != "parquet") {
    return Status::User("option '{}' applies only to format 'parquet', not '{}'",
                        compression ? "parquet.compression" : "parquet.row_group_size",
                        out->format);
  }
  if (compression) {
    static const std::pair<const char*, ParquetCompression> kNames[] = {
        {"zstd", ParquetCompression::kZstd}, {"snappy", ParquetCompression::kSnappy},
        {"gzip", ParquetCompression::kGzip}, {"lz4", ParquetCompression::kLz4},
        {"none", ParquetCompression::kNone}, {"uncompressed", ParquetCompression::kNone}};
    bool found = false;
    for (const auto& [name, c] : kNames) {
      if (*compression == name) {
        out->parquet.compression = c;
        found = true;
      }
    }
    if (!found) {
      return InvalidValue("parquet.compression", *compression,
                          "'zstd' (default), 'snappy', 'gzip', 'lz4' or 'none'");
    }
  }
  if (row_group) {
    char* end = nullptr;
    long long rows = std::strtoll(row_group->c_str(), &end, 10);
    if (row_group->empty() || *end != '\0' || rows < 1 || rows > (int64_t{1} << 31)) {
      return InvalidValue("parquet.row_group_size", *row_group,
                          "a number of rows between 1 and 2147483648 (default 1048576)");
    }
    out->parquet.row_group_rows = rows;
  }
  return Status::Ok();
}

}  // namespace

const std::vector<std::string>& FormatOptionKeys() {
  static const std::vector<std::string> keys = {
      "format",
      "bad_data",
      "framing",
      "json.timestamp_format",
      "json.unstructured",
      "parquet.compression",
      "parquet.row_group_size",
  };
  return keys;
}

Result<FormatOptions> ParseFormatOptions(std::map<std::string, std::string>* options,
                                         bool required) {
  FormatOptions out;
  if (auto format = TakeOption(options, "format")) {
    if (*format == "json" || *format == "raw_string" || *format == "debezium_json" ||
        *format == "parquet") {
      out.format = *format;
    } else if (*format == "avro" || *format == "protobuf" || *format == "raw_bytes") {
      return Status::NotSupported("format '{}' is not supported yet; {}", *format, kFormatHint);
    } else {
      return InvalidValue("format", *format, "'json', 'debezium_json' or 'raw_string'");
    }
  } else if (required) {
    return Status::User("missing option 'format'; {}", kFormatHint);
  }

  if (auto bad_data = TakeOption(options, "bad_data")) {
    if (*bad_data == "fail") {
      out.bad_data = BadDataPolicy::kFail;
    } else if (*bad_data == "drop") {
      out.bad_data = BadDataPolicy::kDrop;
    } else {
      return InvalidValue("bad_data", *bad_data, "'fail' or 'drop'");
    }
  }
  if (auto framing = TakeOption(options, "framing")) {
    if (*framing != "newline") return InvalidValue("framing", *framing, "'newline'");
  }

  // json.* options make no sense for another format; saying so beats silently ignoring them.
  // debezium_json rows are JSON objects too, read and written as by `json`.
  auto json_only = [&](const char* key, bool debezium_too) -> Status {
    if (out.format == "raw_string" || (out.format == "debezium_json" && !debezium_too)) {
      return Status::User("option '{}' applies only to format 'json', not '{}'", key, out.format);
    }
    return Status::Ok();
  };
  if (auto ts = TakeOption(options, "json.timestamp_format")) {
    SLUICE_RETURN_NOT_OK(json_only("json.timestamp_format", true));
    if (*ts == "rfc3339") {
      out.timestamp_format = TimestampFormat::kRfc3339;
    } else if (*ts == "unix_seconds") {
      out.timestamp_format = TimestampFormat::kUnixSeconds;
    } else if (*ts == "unix_millis") {
      out.timestamp_format = TimestampFormat::kUnixMillis;
    } else if (*ts == "unix_micros") {
      out.timestamp_format = TimestampFormat::kUnixMicros;
    } else {
      return InvalidValue("json.timestamp_format", *ts,
                          "'rfc3339', 'unix_seconds', 'unix_millis' or 'unix_micros'");
    }
    out.timestamp_format_set = true;
  }
  if (auto unstructured = TakeOption(options, "json.unstructured")) {
    SLUICE_RETURN_NOT_OK(json_only("json.unstructured", false));
    if (*unstructured == "true") {
      out.unstructured = true;
    } else if (*unstructured == "false") {
      out.unstructured = false;
    } else {
      return InvalidValue("json.unstructured", *unstructured, "'true' or 'false'");
    }
  }
  SLUICE_RETURN_NOT_OK(ParseParquetOptions(options, &out));
  return out;
}

Status Decoder::AppendLine(std::string_view record, int64_t line) {
  return Append(record, fmt::format("line {}", line));
}

Status Decoder::AppendPadded(std::string_view record,
                             const std::function<std::string()>& position) {
  return Append(record, position());
}

Result<std::unique_ptr<Decoder>> MakeDecoder(const FormatOptions& options,
                                             const types::Schema& schema,
                                             const std::string& source_name) {
  if (options.format == "json") return MakeJsonDecoder(options, schema, source_name);
  if (options.format == "raw_string") return MakeRawStringDecoder(schema, source_name);
  if (options.format == "debezium_json") {
    return MakeDebeziumJsonDecoder(options, schema, source_name);
  }
  if (options.format.empty()) return Status::User("missing option 'format'; {}", kFormatHint);
  if (options.format == "parquet") return ParquetNeedsFiles();
  return InvalidValue("format", options.format, "'json', 'debezium_json' or 'raw_string'");
}

Result<std::unique_ptr<Encoder>> MakeEncoder(const FormatOptions& options,
                                             const types::Schema& schema) {
  if (options.format == "json") return MakeJsonEncoder(options, schema);
  if (options.format == "raw_string") return MakeRawStringEncoder(schema);
  if (options.format == "debezium_json") return MakeDebeziumJsonEncoder(options, schema);
  if (options.format.empty()) return Status::User("missing option 'format'; {}", kFormatHint);
  if (options.format == "parquet") return ParquetNeedsFiles();
  return InvalidValue("format", options.format, "'json' or 'raw_string'");
}

}  // namespace sluice::formats
