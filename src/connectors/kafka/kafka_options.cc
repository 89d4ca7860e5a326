// Parsing of the Kafka connector's WITH options.

#include "connectors/kafka/kafka_options.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/text.h"
#include "connectors/kafka/kafka_client.h"

namespace sluice::connectors::kafka {

namespace {

std::string Lower(const std::string& s) {
  return AsciiLower(std::string(TrimAsciiSpace(s)));
}

const std::string* Find(const TableSpec& spec, const std::string& key) {
  auto it = spec.options.find(key);
  return it == spec.options.end() ? nullptr : &it->second;
}

// An option that applies to one table type only.
Status OnlyFor(const TableSpec& spec, const std::string& key, TableType type) {
  if (spec.type != type && Find(spec, key) != nullptr) {
    return Status::User("option '{}' applies to Kafka {} tables only; table '{}' is a {}", key,
                        type == TableType::kSource ? "source" : "sink", spec.table_name,
                        spec.type == TableType::kSource ? "source" : "sink");
  }
  return Status::Ok();
}

}  // namespace

const std::vector<std::string>& KafkaOptionKeys() {
  static const std::vector<std::string> keys = {"bootstrap_servers",
                                                "topic",
                                                "client_configs",
                                                "source.offset",
                                                "source.start_timestamp_millis",
                                                "source.read_mode",
                                                "source.group_id",
                                                "group_id_prefix",
                                                "source.bounded",
                                                "sink.commit_mode",
                                                "sink.key_field",
                                                "sink.timestamp_field",
                                                "sink.headers_field",
                                                "sink.transactional_id_prefix"};
  return keys;
}

const std::vector<std::string>& KafkaMetadataKeys() {
  static const std::vector<std::string> keys = {"partition", "offset_id", "topic",
                                                "timestamp", "key",       "headers"};
  return keys;
}

Result<KafkaOptions> ParseKafkaOptions(const TableSpec& spec) {
  KafkaOptions o;
  for (const char* key : {"bootstrap_servers", "topic"}) {
    const std::string* v = Find(spec, key);
    if (v == nullptr || TrimAsciiSpace(*v).empty()) {
      return Status::User("missing option '{}' for connector 'kafka' (table '{}')", key,
                          spec.table_name);
    }
  }
  o.bootstrap_servers = std::string(TrimAsciiSpace(*Find(spec, "bootstrap_servers")));
  o.topic = std::string(TrimAsciiSpace(*Find(spec, "topic")));
  if (const std::string* v = Find(spec, "client_configs")) {
    SLUICE_ASSIGN_OR_RETURN(o.client_configs, ParseClientConfigs(*v));
    for (const char* owned : {"bootstrap.servers", "group.id", "isolation.level",
                              "transactional.id", "enable.idempotence", "enable.auto.commit"}) {
      if (o.client_configs.count(owned)) {
        return Status::User(
            "option 'client_configs' sets '{}', which the kafka connector sets itself; use the "
            "connector's own option (docs/connectors.md)",
            owned);
      }
    }
  }
  for (const char* key : {"source.offset", "source.start_timestamp_millis", "source.read_mode",
                          "source.group_id", "group_id_prefix", "source.bounded"}) {
    SLUICE_RETURN_NOT_OK(OnlyFor(spec, key, TableType::kSource));
  }
  for (const char* key : {"sink.commit_mode", "sink.key_field", "sink.timestamp_field",
                          "sink.headers_field", "sink.transactional_id_prefix"}) {
    SLUICE_RETURN_NOT_OK(OnlyFor(spec, key, TableType::kSink));
  }
  if (const std::string* v = Find(spec, "source.offset")) {
    std::string s = Lower(*v);
    if (s == "earliest") {
      o.start = StartOffset::kEarliest;
    } else if (s == "latest") {
      o.start = StartOffset::kLatest;
    } else if (s == "group") {
      o.start = StartOffset::kGroup;
    } else if (s == "timestamp") {
      o.start = StartOffset::kTimestamp;
    } else {
      return Status::User(
          "invalid value '{}' for option 'source.offset'; use 'earliest', 'latest', 'group' or "
          "'timestamp' (with source.start_timestamp_millis)",
          *v);
    }
  }
  if (const std::string* v = Find(spec, "source.start_timestamp_millis")) {
    if (o.start != StartOffset::kTimestamp) {
      return Status::User(
          "option 'source.start_timestamp_millis' needs source.offset = 'timestamp'");
    }
    char* end = nullptr;
    long long ms = std::strtoll(v->c_str(), &end, 10);
    if (v->empty() || *end != '\0' || ms < 0) {
      return Status::User(
          "option 'source.start_timestamp_millis' must be milliseconds since 1970-01-01 UTC, got "
          "'{}'",
          *v);
    }
    o.start_timestamp_ms = ms;
  } else if (o.start == StartOffset::kTimestamp) {
    return Status::User(
        "source.offset = 'timestamp' needs option 'source.start_timestamp_millis' (milliseconds "
        "since 1970-01-01 UTC)");
  }
  if (const std::string* v = Find(spec, "source.read_mode")) {
    std::string s = Lower(*v);
    if (s != "read_committed" && s != "read_uncommitted") {
      return Status::User(
          "invalid value '{}' for option 'source.read_mode'; use 'read_committed' or "
          "'read_uncommitted'",
          *v);
    }
    o.read_committed = s == "read_committed";
  }
  if (const std::string* v = Find(spec, "source.bounded")) {
    std::string s = Lower(*v);
    if (s != "latest" && s != "unbounded") {
      return Status::User(
          "invalid value '{}' for option 'source.bounded'; use 'unbounded' (the default: read "
          "forever) or 'latest' (end at the high watermarks of the first start)",
          *v);
    }
    o.bounded = s == "latest";
  }
  const std::string* group = Find(spec, "source.group_id");
  const std::string* prefix = Find(spec, "group_id_prefix");
  if (group != nullptr && prefix != nullptr) {
    return Status::User("give either 'source.group_id' or 'group_id_prefix', not both");
  }
  if (group != nullptr) {
    o.group_id = *group;
  } else {
    o.group_id =
        fmt::format("{}-{}", prefix != nullptr ? *prefix : std::string("sluice"), spec.table_name);
  }
  if (const std::string* v = Find(spec, "sink.commit_mode")) {
    std::string s = Lower(*v);
    if (s == "at_least_once") {
      o.commit_mode = CommitMode::kAtLeastOnce;
    } else if (s == "exactly_once") {
      o.commit_mode = CommitMode::kExactlyOnce;
    } else {
      return Status::User(
          "invalid value '{}' for option 'sink.commit_mode'; use 'at_least_once' or "
          "'exactly_once'",
          *v);
    }
  }
  if (const std::string* v = Find(spec, "sink.key_field")) o.key_field = *v;
  if (const std::string* v = Find(spec, "sink.timestamp_field")) o.timestamp_field = *v;
  if (const std::string* v = Find(spec, "sink.headers_field")) o.headers_field = *v;
  if (const std::string* v = Find(spec, "sink.transactional_id_prefix")) {
    o.transactional_id_prefix = *v;
  } else {
    o.transactional_id_prefix = fmt::format("sluice-{}-{}", spec.table_name, o.topic);
  }
  return o;
}

Result<std::vector<MetadataColumn>> ResolveMetadataColumns(const TableSpec& spec) {
  std::vector<MetadataColumn> out;
  for (const auto& [column, key] : spec.metadata) {
    auto index = spec.schema.Find(column);
    if (!index) continue;  // not read by the query (a narrowed schema)
    const types::DataType& type = spec.schema.field(*index).type;
    MetadataColumn m{column, MetadataKind::kPartition};
    types::TypeId want;
    const char* want_name;
    if (key == "partition") {
      m.kind = MetadataKind::kPartition;
      want = types::TypeId::kInt32;
      want_name = "INT";
    } else if (key == "offset_id") {
      m.kind = MetadataKind::kOffset;
      want = types::TypeId::kInt64;
      want_name = "BIGINT";
    } else if (key == "topic") {
      m.kind = MetadataKind::kTopic;
      want = types::TypeId::kUtf8;
      want_name = "TEXT";
    } else if (key == "timestamp") {
      m.kind = MetadataKind::kTimestamp;
      want = types::TypeId::kTimestamp;
      want_name = "TIMESTAMP";
    } else if (key == "key") {
      m.kind = MetadataKind::kKey;
      want = types::TypeId::kUtf8;
      want_name = "TEXT";
    } else if (key == "headers") {
      // A JSON object of the record's headers (Sluice has no MAP type): {"name": "value", ...}.
      m.kind = MetadataKind::kHeaders;
      want = types::TypeId::kJson;
      want_name = "JSON";
    } else {
      std::string hint = ClosestMatch(key, KafkaMetadataKeys());
      return Status::User(
          "metadata column \"{}\": unknown metadata key '{}'{}; the kafka "
          "connector offers {}",
          column, key, hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint),
          "'partition', 'offset_id', 'topic', 'timestamp', 'key', 'headers'");
    }
    if (type.id() != want) {
      return Status::User("metadata column \"{}\" (METADATA FROM '{}') must be declared {}, not {}",
                          column, key, want_name, type.ToString());
    }
    out.push_back(m);
  }
  return out;
}

}  // namespace sluice::connectors::kafka
