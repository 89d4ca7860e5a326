#pragma once
// Connectors: sources and sinks registered by name. Each validates its options when a table is
// declared, so `CREATE TABLE` with a misspelt option fails at planning, not at run time.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "exec/join.h"
#include "formats/format.h"
#include "runtime/operator.h"
#include "types/schema.h"

namespace sluice::connectors {

enum class TableType { kSource, kSink };

// What the binder knows of a declared connector table.
struct TableSpec {
  std::string table_name;
  std::string connector;
  TableType type = TableType::kSource;
  types::Schema schema;  // declared columns (physical: no generated or metadata columns)
  std::map<std::string, std::string> options;  // all WITH options, keys lower case
  formats::FormatOptions format;
  // PRIMARY KEY columns, as indexes into `schema` (in key order); empty without a key. A
  // debezium_json source needs one: the key identifies the row each change applies to.
  std::vector<int> primary_key;
  // Metadata columns (`col TYPE METADATA FROM 'key'`): column name -> key. They are in
  // `schema` like the others; the connector fills them from each record's envelope.
  std::map<std::string, std::string> metadata;
  bool finite = false;  // set by the connector: does the source end by itself?
  // Set by the connector: the source emits a change stream (inserts, deletes, updates of the
  // rows of a table keyed by `primary_key`) whatever its format (postgres-cdc; a debezium_json
  // source is one too); the sink applies changes by key whatever its format (redis strings and
  // hashes: a delete removes the key).
  bool changelog = false;
  // Set by the connector: the table is only read by key, as the side of a lookup join (JOIN t
  // FOR SYSTEM_TIME AS OF ...), through Connector::MakeLookupJoin (redis).
  bool lookup_only = false;
  int64_t batch_rows = 4096;  // most rows per batch a source emits (SET batch_size)
};

// One WITH option of a connector, for the service's `GET /connectors` and for docs.
struct OptionSpec {
  std::string name;
  bool required = false;
  std::string description;  // one line: what it sets, the default, the accepted values
  bool secret = false;      // never shown in EXPLAIN, logs or errors (passwords)
};

class Connector {
 public:
  virtual ~Connector() = default;
  virtual std::string name() const = 0;
  virtual bool can_source() const = 0;
  virtual bool can_sink() const = 0;
  // Table type when `type` is not given; error when the connector needs it.
  virtual Result<TableType> InferType(const std::map<std::string, std::string>& options) const;
  // The columns a source table has when the user gave no column list (impulse, nexmark).
  virtual std::optional<types::Schema> fixed_schema() const { return std::nullopt; }
  // True when the source can read a narrowed schema: only some of its columns, and of struct
  // columns only some fields (the planner then asks for just what a query reads).
  virtual bool reads_narrowed_schema(const TableSpec& spec) const { return false; }
  // True when the connector's sources fill metadata columns (it checks their keys and types in
  // Validate); other connectors refuse them.
  virtual bool provides_metadata() const { return false; }
  // Every option key the connector understands (besides connector, type, format options).
  virtual std::vector<std::string> option_keys() const = 0;
  // For the service's `GET /connectors`: one line on what the connector reads or writes, and
  // its options (by default the keys of option_keys(), undescribed).
  virtual std::string description() const { return ""; }
  virtual std::vector<OptionSpec> option_specs() const;
  // Validates options and schema; fills spec->format and spec->finite. Unknown keys are
  // rejected by the caller using option_keys().
  virtual Status Validate(TableSpec* spec) const = 0;
  // Factories for the dataflow graph.
  virtual Result<std::shared_ptr<const runtime::OperatorFactory>> MakeSource(
      const TableSpec& spec) const;
  virtual Result<std::shared_ptr<const runtime::OperatorFactory>> MakeSink(
      const TableSpec& spec) const;
  // Lookup-only tables: the operator joining a probe stream with table `side` (`join`: the
  // lookup join, input 0 the probe; `side_columns`: per column of join.right_schema, the column
  // of side.schema it is).
  virtual Result<std::shared_ptr<const runtime::OperatorFactory>> MakeLookupJoin(
      const TableSpec& side, const exec::JoinSpec& join, std::vector<int> side_columns) const;
};

class ConnectorRegistry {
 public:
  static const ConnectorRegistry& Get();
  const Connector* Find(const std::string& name) const;
  std::vector<std::string> Names() const;

 private:
  std::vector<std::unique_ptr<Connector>> connectors_;
};

// Validates a table declaration end to end: connector exists, type, format options, connector
// options, no unknown keys (with a "did you mean" hint). Errors name the table.
// `metadata`: the metadata columns among `schema` (column name -> METADATA FROM key).
Result<TableSpec> ResolveTable(const std::string& table_name, const types::Schema& schema,
                               bool has_columns, std::map<std::string, std::string> options,
                               std::map<std::string, std::string> metadata = {});

// Validation shared by generator sources (impulse, nexmark): the declared columns must be the
// generator's (or none, which takes them), and no format applies.
Status ValidateGeneratedColumns(const std::string& connector, const types::Schema& fixed,
                                TableSpec* spec);

// Validation shared by sources that carry bytes (single_file, kafka): the format is given, and a
// source declared without columns takes the one column its format implies (raw_string: `value
// TEXT`; unstructured json: `value JSON`); other formats need a column list.
Status ValidateByteSourceFormat(TableSpec* spec);

// The format checks of a message connector (mqtt, nats, the HTTP connectors): a source's format
// as ValidateByteSourceFormat has it, with a decoder for its columns; a sink's format (JSON when
// not given) with an encoder for its columns.
Status ValidateMessageFormat(TableSpec* spec);

// Edit distance for "did you mean" hints; shared with the binder.
size_t EditDistance(const std::string& a, const std::string& b);
std::string ClosestMatch(const std::string& word, const std::vector<std::string>& candidates);

// Each connector file defines one of these.
std::unique_ptr<Connector> MakeImpulseConnector();
std::unique_ptr<Connector> MakeNexmarkConnector();
std::unique_ptr<Connector> MakeSingleFileConnector();
std::unique_ptr<Connector> MakeStdoutConnector();
std::unique_ptr<Connector> MakeBlackholeConnector();
std::unique_ptr<Connector> MakePreviewConnector();
std::unique_ptr<Connector> MakeKafkaConnector();
std::unique_ptr<Connector> MakePostgresCdcConnector();
std::unique_ptr<Connector> MakeRedisConnector();
std::unique_ptr<Connector> MakeMqttConnector();
std::unique_ptr<Connector> MakeNatsConnector();
std::unique_ptr<Connector> MakeRabbitmqConnector();
std::unique_ptr<Connector> MakeRabbitmqStreamConnector();
std::unique_ptr<Connector> MakeFilesystemConnector();
std::unique_ptr<Connector> MakeSseConnector();
std::unique_ptr<Connector> MakeWebsocketConnector();
std::unique_ptr<Connector> MakePollingHttpConnector();
std::unique_ptr<Connector> MakeWebhookConnector();

}  // namespace sluice::connectors
