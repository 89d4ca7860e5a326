#include "connectors/filesystem/filesystem_options.h"

#include <cctype>
#include <cstdlib>

#include <fmt/format.h>

#include "common/duration.h"
#include "common/text.h"
#include "formats/record_file.h"

namespace sluice::connectors::filesystem {

namespace {

std::optional<std::string> Get(const TableSpec& spec, const std::string& key) {
  auto it = spec.options.find(key);
  if (it == spec.options.end()) return std::nullopt;
  return std::string(TrimAsciiSpace(it->second));
}

// A duration as ParseDuration takes it (30s, 5m), or as an SQL interval's text ('30 seconds',
// '1 hour', '2 minutes'), as Arroyo's options are written.
Result<int64_t> ParseInterval(const std::string& text, const std::string& option) {
  auto direct = ParseDuration(text, option);
  if (direct.ok()) return direct;
  std::string lower = AsciiLower(text);
  char* end = nullptr;
  double n = std::strtod(lower.c_str(), &end);
  std::string unit(TrimAsciiSpace(std::string_view(end)));
  if (end != lower.c_str() && n > 0) {
    // Words, and the abbreviations ParseDuration takes, also after a space ('200 ms').
    static const std::pair<const char*, int64_t> kUnits[] = {
        {"millisecond", 1000}, {"milliseconds", 1000}, {"ms", 1000},         {"second", 1000000},
        {"seconds", 1000000},  {"s", 1000000},         {"minute", 60000000}, {"minutes", 60000000},
        {"min", 60000000},     {"m", 60000000},        {"hour", 3600000000}, {"hours", 3600000000},
        {"h", 3600000000},     {"day", 86400000000},   {"days", 86400000000}};
    for (const auto& [name, micros] : kUnits) {
      if (unit == name) return static_cast<int64_t>(n * static_cast<double>(micros));
    }
  }
  return Status::User(
      "invalid value '{}' for option '{}'; use a duration such as '30 seconds', "
      "'5 minutes', '10s' or '200 ms'",
      text, option);
}

}  // namespace

std::vector<std::string> FilesystemOptionKeys() {
  return {"path",
          "rolling_policy.file_size",
          "rolling_policy.interval",
          "rolling_policy.inactivity_interval",
          "filename.prefix",
          "filename.suffix",
          "partitioning.fields",
          "partitioning.time_pattern",
          "multipart.target_part_size",
          "source.compression",
          "source.regex_pattern",
          "source.monitor_interval"};
}

Result<int64_t> ParseByteSize(const std::string& text, const std::string& option) {
  std::string lower = AsciiLower(text);
  char* end = nullptr;
  double n = std::strtod(lower.c_str(), &end);
  std::string unit(TrimAsciiSpace(std::string_view(end)));
  static const std::pair<const char*, int64_t> kUnits[] = {
      {"", 1},         {"b", 1},         {"kb", 1000},       {"kib", 1024},
      {"mb", 1000000}, {"mib", 1 << 20}, {"gb", 1000000000}, {"gib", int64_t{1} << 30}};
  if (end != lower.c_str() && n > 0) {
    for (const auto& [name, bytes] : kUnits) {
      if (unit == name) return static_cast<int64_t>(n * static_cast<double>(bytes));
    }
  }
  return Status::User(
      "invalid value '{}' for option '{}'; use a size such as '128 MB', "
      "'64 MiB' or a number of bytes",
      text, option);
}

Result<FilesystemOptions> ParseFilesystemOptions(const TableSpec& spec) {
  FilesystemOptions o;
  const std::string table = fmt::format("table '{}'", spec.table_name);
  auto path = Get(spec, "path");
  if (!path || path->empty()) {
    return Status::User(
        "{}: missing option 'path' for connector 'filesystem' (a directory, or "
        "s3://bucket/prefix)",
        table);
  }
  o.path = *path;
  o.s3 = o.path.rfind("s3://", 0) == 0;
  if (o.path.find("://") != std::string::npos && !o.s3 && o.path.rfind("file://", 0) != 0) {
    return Status::User("{}: path '{}': only local paths, file:// and s3:// URLs are supported",
                        table, o.path);
  }
  if (o.path.rfind("file://", 0) == 0) o.path = o.path.substr(7);
  o.format = spec.format.format;
  if (o.format != "json" && o.format != "parquet" && o.format != "avro" && o.format != "protobuf" &&
      o.format != "raw_string") {
    return Status::User(
        "{}: connector 'filesystem' reads and writes format = 'json', 'parquet', 'avro', "
        "'protobuf' or 'raw_string', not '{}'",
        table, o.format.empty() ? "(none)" : o.format);
  }
  if (o.format != "parquet") {
    Status st = formats::CheckRecordFileFormat(spec.format);
    if (!st.ok()) return st.WithContext(table);
  }
  const bool sink = spec.type == TableType::kSink;
  auto sink_only = [&](const char* key) -> Status {
    if (!sink && spec.options.count(key)) {
      return Status::User("{}: option '{}' applies to filesystem sinks only", table, key);
    }
    return Status::Ok();
  };
  auto source_only = [&](const char* key) -> Status {
    if (sink && spec.options.count(key)) {
      return Status::User("{}: option '{}' applies to filesystem sources only", table, key);
    }
    return Status::Ok();
  };
  for (const char* key :
       {"rolling_policy.file_size", "rolling_policy.interval", "rolling_policy.inactivity_interval",
        "filename.prefix", "filename.suffix", "partitioning.fields", "partitioning.time_pattern",
        "multipart.target_part_size"}) {
    SLUICE_RETURN_NOT_OK(sink_only(key));
  }
  for (const char* key :
       {"source.compression", "source.regex_pattern", "source.monitor_interval"}) {
    SLUICE_RETURN_NOT_OK(source_only(key));
  }
  if (auto v = Get(spec, "rolling_policy.file_size")) {
    SLUICE_ASSIGN_OR_RETURN(o.roll_bytes, ParseByteSize(*v, "rolling_policy.file_size"));
  }
  if (auto v = Get(spec, "rolling_policy.interval")) {
    SLUICE_ASSIGN_OR_RETURN(o.roll_interval_micros, ParseInterval(*v, "rolling_policy.interval"));
  }
  if (auto v = Get(spec, "rolling_policy.inactivity_interval")) {
    SLUICE_ASSIGN_OR_RETURN(o.roll_inactivity_micros,
                            ParseInterval(*v, "rolling_policy.inactivity_interval"));
  }
  // A sink given no rolling policy rolls its files every 30 seconds: files stay open across
  // checkpoints, and without a policy their rows would show only at the end of the input.
  if (sink && !o.roll_bytes && !o.roll_interval_micros && !o.roll_inactivity_micros) {
    o.roll_interval_micros = kDefaultRollIntervalMicros;
  }
  if (auto v = Get(spec, "filename.prefix")) o.file_prefix = *v;
  o.file_suffix = o.format == "parquet"      ? ".parquet"
                  : o.format == "avro"       ? ".avro"
                  : o.format == "protobuf"   ? ".pb"
                  : o.format == "raw_string" ? ".txt"
                                             : ".json";
  if (auto v = Get(spec, "filename.suffix")) o.file_suffix = *v;
  for (const std::string* name : {&o.file_prefix, &o.file_suffix}) {
    if (name->find('/') != std::string::npos) {
      return Status::User("{}: filename.prefix and filename.suffix cannot contain '/'", table);
    }
  }
  if (auto v = Get(spec, "partitioning.fields")) {
    std::string_view rest(*v);
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string_view f = TrimAsciiSpace(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      if (f.empty()) continue;
      std::string name = AsciiLower(std::string(f));
      if (!name.empty() && (name.front() == '\'' || name.front() == '"')) {
        name = name.substr(1, name.size() >= 2 ? name.size() - 2 : 0);
      }
      o.partition_fields.push_back(name);
    }
    if (o.partition_fields.empty()) {
      return Status::User("{}: option 'partitioning.fields' names no column", table);
    }
  }
  if (auto v = Get(spec, "partitioning.time_pattern")) {
    o.time_pattern = *v;
    for (size_t i = 0; i < v->size(); ++i) {
      if ((*v)[i] != '%') continue;
      char c = i + 1 < v->size() ? (*v)[i + 1] : '\0';
      if (std::string_view("YmdHMSjy%").find(c) == std::string_view::npos || c == '\0') {
        return Status::User(
            "{}: partitioning.time_pattern '{}': unsupported conversion '%{}'; "
            "use %Y %y %m %d %j %H %M %S",
            table, *v, c == '\0' ? std::string() : std::string(1, c));
      }
      ++i;
    }
  }
  if (auto v = Get(spec, "multipart.target_part_size")) {
    SLUICE_ASSIGN_OR_RETURN(o.part_size, ParseByteSize(*v, "multipart.target_part_size"));
    if (o.part_size < (5 << 20)) {
      return Status::User(
          "{}: multipart.target_part_size must be at least 5 MiB (S3's smallest "
          "part)",
          table);
    }
  }
  if (auto v = Get(spec, "source.compression")) {
    std::string c = AsciiLower(*v);
    if (c == "none") {
      o.compression = FileCompression::kNone;
    } else if (c == "gzip") {
      o.compression = FileCompression::kGzip;
    } else if (c == "zstd") {
      o.compression = FileCompression::kZstd;
    } else {
      return Status::User(
          "invalid value '{}' for option 'source.compression'; use 'none', "
          "'gzip' or 'zstd'",
          *v);
    }
    if ((o.format == "parquet" || o.format == "avro") && o.compression != FileCompression::kNone) {
      return Status::User(
          "{}: source.compression applies to json, raw_string and protobuf files; {} files "
          "compress their own {}",
          table, o.format == "avro" ? "Avro" : "Parquet", o.format == "avro" ? "blocks" : "pages");
    }
  }
  if (auto v = Get(spec, "source.regex_pattern")) o.regex_pattern = *v;
  if (auto v = Get(spec, "source.monitor_interval")) {
    SLUICE_ASSIGN_OR_RETURN(o.monitor_interval_micros,
                            ParseInterval(*v, "source.monitor_interval"));
    if (*o.monitor_interval_micros < 1000) {
      return Status::User("{}: source.monitor_interval must be at least 1 millisecond", table);
    }
  }
  return o;
}

}  // namespace sluice::connectors::filesystem
