#include "formats/format.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <climits>
#include <cstdlib>
#include <optional>

#include <fmt/format.h>
#include "common/text.h"

#include "formats/codecs.h"

namespace sluice::formats {

namespace {

constexpr const char* kFormatHint =
    "use format = 'json', 'debezium_json', 'raw_string', 'raw_bytes', 'avro', 'protobuf' or "
    "'parquet'";
constexpr const char* kFormats =
    "'json', 'debezium_json', 'raw_string', 'raw_bytes', 'avro', 'protobuf' or 'parquet'";

// Removes `key` from the options and returns its value (lower case, trimmed), if present.
std::optional<std::string> TakeOption(std::map<std::string, std::string>* options,
                                      const std::string& key) {
  auto it = options->find(key);
  if (it == options->end()) return std::nullopt;
  std::string value = AsciiLower(std::string(TrimAsciiSpace(it->second)));
  options->erase(it);
  return value;
}

// TakeOption keeping the value's case (schemas, URLs, credentials).
std::optional<std::string> TakeRawOption(std::map<std::string, std::string>* options,
                                         const std::string& key) {
  auto it = options->find(key);
  if (it == options->end()) return std::nullopt;
  std::string value = it->second;
  options->erase(it);
  return value;
}

Result<bool> TakeBool(std::map<std::string, std::string>* options, const std::string& key) {
  auto v = TakeOption(options, key);
  if (!v) return false;
  if (*v == "true") return true;
  if (*v == "false") return false;
  return Status::User("invalid value '{}' for option '{}'; use 'true' or 'false'", *v, key);
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
      "avro.schema",
      "avro.raw_datums",
      "avro.confluent_schema_registry",
      "avro.schema_id",
      "avro.codec",
      "protobuf.schema",
      "protobuf.message_name",
      "protobuf.length_delimited",
      "protobuf.confluent_schema_registry",
      "protobuf.schema_id",
      "schema_registry.endpoint",
      "schema_registry.api_key",
      "schema_registry.api_secret",
      "schema_registry.subject",
  };
  return keys;
}

Status ParseAvroOptions(std::map<std::string, std::string>* options, FormatOptions* out);
Status ParseProtobufOptions(std::map<std::string, std::string>* options, FormatOptions* out);

std::vector<int32_t> RowsWithout(int32_t rows, const std::vector<int32_t>& bad_rows) {
  std::vector<int32_t> keep;
  keep.reserve(static_cast<size_t>(rows) - std::min(bad_rows.size(), static_cast<size_t>(rows)));
  size_t next_bad = 0;
  for (int32_t r = 0; r < rows; ++r) {
    if (next_bad < bad_rows.size() && bad_rows[next_bad] == r) {
      ++next_bad;
    } else {
      keep.push_back(r);
    }
  }
  return keep;
}

Result<FormatOptions> ParseFormatOptions(std::map<std::string, std::string>* options,
                                         bool required) {
  FormatOptions out;
  if (auto format = TakeOption(options, "format")) {
    if (*format == "json" || *format == "raw_string" || *format == "debezium_json" ||
        *format == "parquet" || *format == "avro" || *format == "raw_bytes" ||
        *format == "protobuf") {
      out.format = *format;
    } else {
      return InvalidValue("format", *format, kFormats);
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
    if (out.format == "raw_string" || out.format == "raw_bytes" || out.format == "avro" ||
        out.format == "protobuf" || (out.format == "debezium_json" && !debezium_too)) {
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
  SLUICE_RETURN_NOT_OK(ParseAvroOptions(options, &out));
  return out;
}

Status ParseProtobufOptions(std::map<std::string, std::string>* options, FormatOptions* out) {
  const bool protobuf = out->format == "protobuf";
  for (const char* key : {"protobuf.schema", "protobuf.message_name", "protobuf.length_delimited",
                          "protobuf.confluent_schema_registry", "protobuf.schema_id"}) {
    if (options->count(key) && !protobuf) {
      return Status::User("option '{}' applies only to format 'protobuf', not '{}'", key,
                          out->format.empty() ? "(none)" : out->format);
    }
  }
  if (auto schema = TakeRawOption(options, "protobuf.schema")) out->protobuf_schema = *schema;
  if (auto name = TakeRawOption(options, "protobuf.message_name")) {
    out->protobuf_message_name = std::string(TrimAsciiSpace(*name));
  }
  SLUICE_ASSIGN_OR_RETURN(out->protobuf_length_delimited,
                          TakeBool(options, "protobuf.length_delimited"));
  SLUICE_ASSIGN_OR_RETURN(out->protobuf_confluent,
                          TakeBool(options, "protobuf.confluent_schema_registry"));
  if (auto id = TakeOption(options, "protobuf.schema_id")) {
    int64_t v = 0;
    auto [ptr, ec] = std::from_chars(id->data(), id->data() + id->size(), v);
    if (ec != std::errc() || ptr != id->data() + id->size() || v < 0 || v > INT32_MAX) {
      return InvalidValue("protobuf.schema_id", *id, "a schema id (a non-negative integer)");
    }
    out->protobuf_schema_id = v;
  }
  if (protobuf && out->protobuf_schema.empty()) {
    return Status::User(
        "format 'protobuf' needs the message's definition: protobuf.schema = '<.proto text>' "
        "(and protobuf.message_name when it defines several messages)");
  }
  if (out->protobuf_length_delimited && out->protobuf_confluent) {
    return Status::User(
        "options 'protobuf.length_delimited' and 'protobuf.confluent_schema_registry' exclude "
        "each other");
  }
  return Status::Ok();
}

Status ParseAvroOptions(std::map<std::string, std::string>* options, FormatOptions* out) {
  const bool avro = out->format == "avro";
  auto avro_only = [&](const char* key) -> Status {
    if (!avro) {
      return Status::User("option '{}' applies only to format 'avro', not '{}'", key,
                          out->format.empty() ? "(none)" : out->format);
    }
    return Status::Ok();
  };
  if (auto schema = TakeRawOption(options, "avro.schema")) {
    SLUICE_RETURN_NOT_OK(avro_only("avro.schema"));
    if (TrimAsciiSpace(*schema).empty()) {
      return Status::User("option 'avro.schema' is empty; give the record schema as JSON");
    }
    out->avro_schema = *schema;
  }
  if (options->count("avro.raw_datums")) SLUICE_RETURN_NOT_OK(avro_only("avro.raw_datums"));
  SLUICE_ASSIGN_OR_RETURN(out->avro_raw_datums, TakeBool(options, "avro.raw_datums"));
  if (options->count("avro.confluent_schema_registry")) {
    SLUICE_RETURN_NOT_OK(avro_only("avro.confluent_schema_registry"));
  }
  SLUICE_ASSIGN_OR_RETURN(out->avro_confluent, TakeBool(options, "avro.confluent_schema_registry"));
  if (auto id = TakeOption(options, "avro.schema_id")) {
    SLUICE_RETURN_NOT_OK(avro_only("avro.schema_id"));
    int64_t v = 0;
    auto [ptr, ec] = std::from_chars(id->data(), id->data() + id->size(), v);
    if (ec != std::errc() || ptr != id->data() + id->size() || v < 0 || v > INT32_MAX) {
      return InvalidValue("avro.schema_id", *id, "a schema id (a non-negative integer)");
    }
    out->avro_schema_id = v;
  }
  if (auto codec = TakeOption(options, "avro.codec")) {
    SLUICE_RETURN_NOT_OK(avro_only("avro.codec"));
    std::string c = AsciiLower(std::string(TrimAsciiSpace(*codec)));
    if (c != "null" && c != "deflate" && c != "zstandard") {
      return InvalidValue("avro.codec", *codec, "'null', 'deflate' or 'zstandard'");
    }
    out->avro_codec = c;
  }
  if (auto e = TakeRawOption(options, "schema_registry.endpoint")) {
    out->registry_endpoint = std::string(TrimAsciiSpace(*e));
  }
  if (auto k = TakeRawOption(options, "schema_registry.api_key")) out->registry_api_key = *k;
  if (auto k = TakeRawOption(options, "schema_registry.api_secret")) {
    out->registry_api_secret = *k;
  }
  if (auto k = TakeRawOption(options, "schema_registry.subject")) {
    out->registry_subject = std::string(TrimAsciiSpace(*k));
  }
  SLUICE_RETURN_NOT_OK(ParseProtobufOptions(options, out));
  const bool confluent = out->avro_confluent || out->protobuf_confluent;
  if (out->avro_raw_datums && out->avro_confluent) {
    return Status::User(
        "options 'avro.raw_datums' and 'avro.confluent_schema_registry' exclude each other: "
        "a record is either a bare datum or framed with its schema id");
  }
  if (confluent && out->registry_endpoint.empty()) {
    return Status::User(
        "{}.confluent_schema_registry = 'true' needs the registry: set "
        "schema_registry.endpoint = 'http://host:8081'",
        out->format);
  }
  if (!out->registry_endpoint.empty() && !confluent) {
    return Status::User(
        "option 'schema_registry.endpoint' is used with {}.confluent_schema_registry = "
        "'true'; set that too, or remove the endpoint",
        out->format == "protobuf" ? "protobuf" : "avro");
  }
  if (!out->registry_endpoint.empty() && out->registry_endpoint.rfind("http://", 0) != 0 &&
      out->registry_endpoint.rfind("https://", 0) != 0) {
    return InvalidValue("schema_registry.endpoint", out->registry_endpoint,
                        "an http:// or https:// URL");
  }
  return Status::Ok();
}

Status Encoder::EncodeRecords(const batch::Batch& batch, std::string* out,
                              std::vector<std::pair<size_t, size_t>>* spans) {
  size_t pos = out->size();
  SLUICE_RETURN_NOT_OK(Encode(batch, out));
  while (pos < out->size()) {
    size_t end = out->find('\n', pos);
    if (end == std::string::npos) end = out->size();
    spans->emplace_back(pos, end);
    pos = end + 1;
  }
  return Status::Ok();
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
  if (options.format == "avro") return MakeAvroDecoder(options, schema, source_name);
  if (options.format == "protobuf") return MakeProtobufDecoder(options, schema, source_name);
  if (options.format == "raw_string") return MakeRawStringDecoder(schema, source_name);
  if (options.format == "raw_bytes") return MakeRawBytesDecoder(schema, source_name);
  if (options.format == "debezium_json") {
    return MakeDebeziumJsonDecoder(options, schema, source_name);
  }
  if (options.format.empty()) return Status::User("missing option 'format'; {}", kFormatHint);
  if (options.format == "parquet") return ParquetNeedsFiles();
  return InvalidValue("format", options.format, kFormats);
}

Result<std::unique_ptr<Encoder>> MakeEncoder(const FormatOptions& options,
                                             const types::Schema& schema) {
  if (options.format == "json") return MakeJsonEncoder(options, schema);
  if (options.format == "avro") return MakeAvroEncoder(options, schema);
  if (options.format == "protobuf") return MakeProtobufEncoder(options, schema);
  if (options.format == "raw_string") return MakeRawStringEncoder(schema);
  if (options.format == "raw_bytes") {
    // Bytes have no line framing: a file of them could not be read back record by record.
    return Status::NotSupported(
        "format 'raw_bytes' writes each row's bytes as one message and is for message "
        "connectors (kafka); for files use 'raw_string' or 'json'");
  }
  if (options.format == "debezium_json") return MakeDebeziumJsonEncoder(options, schema);
  if (options.format.empty()) return Status::User("missing option 'format'; {}", kFormatHint);
  if (options.format == "parquet") return ParquetNeedsFiles();
  return InvalidValue("format", options.format, "'json' or 'raw_string'");
}

}  // namespace sluice::formats
