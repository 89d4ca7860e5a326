// The connector registry and the validation of a table declaration's options.

#include <algorithm>
#include <cctype>
#include "common/text.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "connectors/connector.h"
#include "formats/avro_schema.h"
#include "formats/codecs.h"

namespace sluice::connectors {

namespace {

// Options of any source table that the binder interprets (event time and watermarks), not the
// connector.
const std::vector<std::string>& SourceTableOptionKeys() {
  static const std::vector<std::string> keys = {"event_time_field", "watermark_field",
                                                "idle_micros"};
  return keys;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

const char* TypeName(TableType type) {
  return type == TableType::kSource ? "source" : "sink";
}

Result<TableSpec> Resolve(const std::string& table_name, const types::Schema& schema,
                          bool has_columns, const std::map<std::string, std::string>& raw,
                          std::map<std::string, std::string> metadata) {
  TableSpec spec;
  spec.table_name = table_name;
  spec.schema = schema;
  spec.metadata = std::move(metadata);
  for (const auto& [key, value] : raw)
    spec.options[AsciiLower(std::string(TrimAsciiSpace(key)))] = value;

  const ConnectorRegistry& registry = ConnectorRegistry::Get();
  auto names = registry.Names();
  auto it = spec.options.find("connector");
  if (it == spec.options.end()) {
    return Status::User("missing option 'connector'; available: {}", fmt::join(names, ", "));
  }
  std::string connector_name = AsciiLower(std::string(TrimAsciiSpace(it->second)));
  const Connector* connector = registry.Find(connector_name);
  if (connector == nullptr) {
    std::string hint = ClosestMatch(connector_name, names);
    return Status::User("unknown connector '{}'{}; available: {}", connector_name,
                        hint.empty() ? "" : fmt::format("; did you mean '{}'?", hint),
                        fmt::join(names, ", "));
  }
  spec.connector = connector->name();

  std::map<std::string, std::string> rest = spec.options;
  rest.erase("connector");
  if (auto t = rest.find("type"); t != rest.end()) {
    std::string type = AsciiLower(std::string(TrimAsciiSpace(t->second)));
    if (type == "source") {
      spec.type = TableType::kSource;
    } else if (type == "sink") {
      spec.type = TableType::kSink;
    } else {
      return Status::User("invalid value '{}' for option 'type'; use 'source' or 'sink'", type);
    }
    rest.erase(t);
    bool supported =
        spec.type == TableType::kSource ? connector->can_source() : connector->can_sink();
    if (!supported) {
      return Status::User(
          "connector '{}' cannot be a {}; it can only be a {}", spec.connector, TypeName(spec.type),
          TypeName(spec.type == TableType::kSource ? TableType::kSink : TableType::kSource));
    }
  } else {
    SLUICE_ASSIGN_OR_RETURN(spec.type, connector->InferType(spec.options));
  }

  SLUICE_ASSIGN_OR_RETURN(spec.format, formats::ParseFormatOptions(&rest, false));

  std::vector<std::string> known = connector->option_keys();
  std::vector<std::string> candidates = known;
  for (const auto& k : formats::FormatOptionKeys()) candidates.push_back(k);
  candidates.push_back("connector");
  candidates.push_back("type");
  for (const auto& [key, value] : rest) {
    if (Contains(known, key)) continue;
    if (Contains(SourceTableOptionKeys(), key)) {
      if (spec.type == TableType::kSource) continue;
      return Status::User("option '{}' applies only to source tables", key);
    }
    std::string hint = ClosestMatch(key, candidates);
    if (spec.type == TableType::kSource) {
      if (hint.empty()) hint = ClosestMatch(key, SourceTableOptionKeys());
    }
    if (!hint.empty()) {
      return Status::User("unknown option '{}' for connector '{}'; did you mean '{}'?", key,
                          spec.connector, hint);
    }
    // The list names the options of the table's format only (a stdout table in JSON does not
    // list Parquet's or Avro's); the hint above searched them all.
    const std::string f = spec.format.format.empty() ? "json" : spec.format.format;
    std::vector<std::string> family = {f == "debezium_json" ? "json." : f + "."};
    if (f == "avro" || f == "protobuf") family.push_back("schema_registry.");
    std::vector<std::string> listed = known;
    for (const auto& k : formats::FormatOptionKeys()) {
      bool general = k.find('.') == std::string::npos;
      bool ours = false;
      for (const auto& prefix : family) ours = ours || k.starts_with(prefix);
      if (general || ours) listed.push_back(k);
    }
    listed.push_back("connector");
    listed.push_back("type");
    return Status::User("unknown option '{}' for connector '{}'; its options{} are: {}", key,
                        spec.connector, " with format '" + f + "'", fmt::join(listed, ", "));
  }

  if (!spec.metadata.empty()) {
    const auto& [column, key] = *spec.metadata.begin();
    if (!connector->provides_metadata()) {
      return Status::NotSupported(
          "metadata column \"{}\" (METADATA FROM '{}'): connector '{}' provides no metadata "
          "columns (the kafka connector does)",
          column, key, spec.connector);
    }
    if (spec.type != TableType::kSource) {
      return Status::User(
          "metadata column \"{}\" (METADATA FROM '{}'): metadata columns are read by sources; "
          "a sink writes every column into the record's value",
          column, key);
    }
  }
  if (!has_columns) {
    if (auto fixed = connector->fixed_schema()) spec.schema = *fixed;
  }
  SLUICE_RETURN_NOT_OK(connector->Validate(&spec));
  return spec;
}

}  // namespace

Result<TableType> Connector::InferType(const std::map<std::string, std::string>& options) const {
  if (can_source() && !can_sink()) return TableType::kSource;
  if (can_sink() && !can_source()) return TableType::kSink;
  return Status::User("option 'type' is required for connector '{}': use type = 'source' or 'sink'",
                      name());
}

std::vector<OptionSpec> Connector::option_specs() const {
  std::vector<OptionSpec> specs;
  for (const std::string& key : option_keys()) specs.push_back(OptionSpec{key, false, "", false});
  return specs;
}

Result<std::shared_ptr<const runtime::OperatorFactory>> Connector::MakeSource(
    const TableSpec& spec) const {
  return Status::User("connector '{}' cannot be a source", name());
}

Result<std::shared_ptr<const runtime::OperatorFactory>> Connector::MakeLookupJoin(
    const TableSpec& side, const exec::JoinSpec& join, std::vector<int> side_columns) const {
  return Status::User("connector '{}' has no lookup tables", name());
}

Result<std::shared_ptr<const runtime::OperatorFactory>> Connector::MakeSink(
    const TableSpec& spec) const {
  return Status::User("connector '{}' cannot be a sink", name());
}

const ConnectorRegistry& ConnectorRegistry::Get() {
  static const ConnectorRegistry registry = [] {
    ConnectorRegistry r;
    r.connectors_.push_back(MakeBlackholeConnector());
    r.connectors_.push_back(MakeImpulseConnector());
    r.connectors_.push_back(MakeKafkaConnector());
    r.connectors_.push_back(MakeMqttConnector());
    r.connectors_.push_back(MakeNatsConnector());
    r.connectors_.push_back(MakeRabbitmqConnector());
    r.connectors_.push_back(MakeRabbitmqStreamConnector());
    r.connectors_.push_back(MakeFilesystemConnector());
    r.connectors_.push_back(MakeNexmarkConnector());
    r.connectors_.push_back(MakePostgresCdcConnector());
    r.connectors_.push_back(MakePreviewConnector());
    r.connectors_.push_back(MakeRedisConnector());
    r.connectors_.push_back(MakeSingleFileConnector());
    r.connectors_.push_back(MakeStdoutConnector());
    r.connectors_.push_back(MakeSseConnector());
    r.connectors_.push_back(MakeWebsocketConnector());
    r.connectors_.push_back(MakePollingHttpConnector());
    r.connectors_.push_back(MakeWebhookConnector());
    return r;
  }();
  return registry;
}

const Connector* ConnectorRegistry::Find(const std::string& name) const {
  std::string lower = AsciiLower(name);
  for (const auto& c : connectors_) {
    if (c->name() == lower) return c.get();
  }
  return nullptr;
}

std::vector<std::string> ConnectorRegistry::Names() const {
  std::vector<std::string> names;
  for (const auto& c : connectors_) names.push_back(c->name());
  std::sort(names.begin(), names.end());
  return names;
}

Result<TableSpec> ResolveTable(const std::string& table_name, const types::Schema& schema,
                               bool has_columns, std::map<std::string, std::string> options,
                               std::map<std::string, std::string> metadata) {
  auto spec = Resolve(table_name, schema, has_columns, options, std::move(metadata));
  if (!spec.ok()) return spec.status().WithContext(fmt::format("table '{}'", table_name));
  return spec;
}

Status ValidateMessageFormat(TableSpec* spec) {
  if (spec->type == TableType::kSource) {
    SLUICE_RETURN_NOT_OK(ValidateByteSourceFormat(spec));
    return formats::MakeDecoder(spec->format, spec->schema,
                                fmt::format("table '{}'", spec->table_name))
        .status();
  }
  if (spec->format.format.empty()) spec->format.format = "json";
  if (spec->schema.size() > 0) return formats::MakeEncoder(spec->format, spec->schema).status();
  return Status::Ok();
}

Status ValidateByteSourceFormat(TableSpec* spec) {
  if (spec->format.format.empty()) {
    return Status::User(
        "missing option 'format'; use format = 'json', 'debezium_json', 'raw_string', "
        "'raw_bytes', 'avro' or 'protobuf'");
  }
  if (spec->type != TableType::kSource || spec->schema.size() > 0) return Status::Ok();
  if (spec->format.format == "raw_string") {
    spec->schema = types::Schema({{"value", types::Utf8()}});
  } else if (spec->format.format == "raw_bytes") {
    spec->schema = types::Schema({{"value", types::DataType(types::TypeId::kBinary)}});
  } else if (spec->format.unstructured) {
    spec->schema = types::Schema({{"value", types::DataType(types::TypeId::kJson)}});
  } else if (spec->format.format == "avro" && !spec->format.avro_schema.empty()) {
    // The columns of the Avro schema's fields, as Arroyo infers them.
    auto parsed = formats::avro::Schema::Parse(spec->format.avro_schema);
    if (!parsed.ok()) return parsed.status().WithContext("option 'avro.schema'");
    auto columns = formats::avro::ToSluiceColumns(**parsed);
    if (!columns.ok()) return columns.status().WithContext("option 'avro.schema'");
    spec->schema = *columns;
  } else if (spec->format.format == "protobuf") {
    // The columns of the message's fields.
    SLUICE_ASSIGN_OR_RETURN(auto proto, formats::ProtobufTableSchema(spec->format));
    auto columns = formats::protobuf::ToSluiceColumns(*proto->message());
    if (!columns.ok()) return columns.status().WithContext("option 'protobuf.schema'");
    spec->schema = *columns;
  } else {
    return Status::User(
        "a {} source with format '{}' needs a column list: CREATE TABLE {} (col TYPE, ...) "
        "WITH (...)",
        spec->connector, spec->format.format, spec->table_name);
  }
  return Status::Ok();
}

// Optimal string alignment distance: Levenshtein plus adjacent transpositions, the commonest
// typo ("fromat").
Status ValidateGeneratedColumns(const std::string& connector, const types::Schema& fixed,
                                TableSpec* spec) {
  if (spec->schema.size() == 0) {
    spec->schema = fixed;
  } else {
    bool same = spec->schema.size() == fixed.size();
    for (size_t i = 0; same && i < fixed.size(); ++i) {
      same = spec->schema.field(i).name == fixed.field(i).name &&
             spec->schema.field(i).type == fixed.field(i).type;
    }
    if (!same) {
      return Status::User(
          "connector '{}' produces the columns {}; declare those or no columns, not {}", connector,
          fixed.ToString(), spec->schema.ToString());
    }
  }
  if (!spec->format.format.empty()) {
    return Status::User("connector '{}' generates its rows and takes no 'format'", connector);
  }
  return Status::Ok();
}

size_t EditDistance(const std::string& a, const std::string& b) {
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

std::string ClosestMatch(const std::string& word, const std::vector<std::string>& candidates) {
  // Short words get less slack: two edits turn "ts" into almost anything.
  const std::string lower = AsciiLower(word);
  const size_t max_distance = lower.size() <= 3 ? 1 : 2;
  std::string best;
  size_t best_distance = max_distance + 1;
  for (const auto& c : candidates) {
    size_t d = EditDistance(lower, AsciiLower(c));
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

}  // namespace sluice::connectors
