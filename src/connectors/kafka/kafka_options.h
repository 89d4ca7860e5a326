#pragma once
// The WITH options of a Kafka table (docs/connectors.md), parsed and checked once when the table
// is declared; the source and sink operators read the parsed form.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "connectors/connector.h"

namespace sluice::connectors::kafka {

enum class StartOffset { kEarliest, kLatest, kGroup, kTimestamp };
enum class CommitMode { kAtLeastOnce, kExactlyOnce };

// A metadata column of a source: which record field fills it.
enum class MetadataKind { kPartition, kOffset, kTopic, kTimestamp, kKey, kHeaders };

struct MetadataColumn {
  std::string column;  // name in the table's schema
  MetadataKind kind = MetadataKind::kPartition;
};

struct KafkaOptions {
  std::string bootstrap_servers;
  std::string topic;
  std::map<std::string, std::string> client_configs;  // passed to librdkafka as they are
  // Source.
  StartOffset start = StartOffset::kGroup;
  int64_t start_timestamp_ms = 0;  // StartOffset::kTimestamp
  bool read_committed = false;
  std::string group_id;
  // source.bounded = 'latest': read up to the high watermarks the first start saw, then end.
  bool bounded = false;
  // Sink.
  CommitMode commit_mode = CommitMode::kAtLeastOnce;
  std::string key_field;
  std::string timestamp_field;
  // A JSON (object) or struct column whose names and values become each record's headers.
  std::string headers_field;
  // exactly_once: subtask s writes with transactional id "<prefix>-<s>" (stable across
  // restarts, so that a restart fences its predecessor). Default "sluice-<table>-<topic>".
  std::string transactional_id_prefix;
};

// Every option key of the kafka connector (besides connector, type and the format options).
const std::vector<std::string>& KafkaOptionKeys();

// Parses and checks `spec`'s options. Errors name the option and the accepted values.
Result<KafkaOptions> ParseKafkaOptions(const TableSpec& spec);

// The metadata keys a source offers, and their SQL types.
const std::vector<std::string>& KafkaMetadataKeys();
// Checks the metadata columns of `spec` (key known, type fits) and returns them.
Result<std::vector<MetadataColumn>> ResolveMetadataColumns(const TableSpec& spec);

// Milliseconds a metadata or offset request waits for the brokers before failing.
inline constexpr int kRequestTimeoutMs = 10000;

}  // namespace sluice::connectors::kafka
