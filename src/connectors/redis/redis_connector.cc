// The redis connector: table validation and the sink's operator factory (docs/connectors.md
// lists the options; redis_sink.cc explains the commands and the guarantee).

#include <fmt/format.h>

#include "connectors/connector.h"
#include "connectors/redis/redis_sink.h"

namespace sluice::connectors {

namespace {

using redis::RedisOptions;

class RedisFactory : public runtime::OperatorFactory {
 public:
  RedisFactory(const TableSpec& spec, RedisOptions options)
      : spec_(spec), options_(std::move(options)) {}

  std::string name() const override { return "redis sink"; }
  // No password: plans are shown to users and written to logs.
  std::string Describe() const override {
    static const char* kTargets[] = {"string", "list", "hash"};
    std::string s = fmt::format("redis sink {}:{}/{} target={} key_prefix='{}'", options_.host,
                                options_.port, options_.database,
                                kTargets[static_cast<int>(options_.target)], options_.key_prefix);
    if (!options_.key_column.empty()) s += " key_column=" + options_.key_column;
    if (options_.ttl_seconds > 0) s += fmt::format(" ttl={}s", options_.ttl_seconds);
    return s;
  }
  // Each batch is written before the next: nothing to do at a barrier (at-least-once).
  bool checkpointable() const override { return true; }
  Result<std::unique_ptr<runtime::Operator>> Create(int subtask, int parallelism) const override {
    return redis::MakeRedisSink(spec_, options_);
  }

 private:
  TableSpec spec_;
  RedisOptions options_;
};

class RedisConnector : public Connector {
 public:
  std::string name() const override { return "redis"; }
  // A "source" table of this connector is a lookup table (read by key by a lookup join).
  bool can_source() const override { return true; }
  bool provides_metadata() const override { return true; }
  // Without `type`: a table with target options is a sink, any other a lookup table.
  Result<TableType> InferType(const std::map<std::string, std::string>& options) const override {
    for (const auto& [key, value] : options) {
      if (key.rfind("target", 0) == 0) return TableType::kSink;
    }
    return TableType::kSource;
  }
  bool can_sink() const override { return true; }
  std::vector<std::string> option_keys() const override { return redis::RedisOptionKeys(); }
  std::string description() const override {
    return "Writes rows to Redis strings, lists or hashes (pipelined; at-least-once; updating "
           "results delete keys from string and hash targets), and serves lookup joins by key "
           "(MGET, bounded cache)";
  }
  std::vector<OptionSpec> option_specs() const override { return redis::RedisOptionSpecs(); }

  Status Validate(TableSpec* spec) const override {
    if (spec->format.format.empty()) spec->format.format = "json";
    if (spec->format.format != "json" && spec->format.format != "raw_string") {
      return Status::User("connector 'redis' writes format 'json' or 'raw_string', not '{}'",
                          spec->format.format);
    }
    SLUICE_ASSIGN_OR_RETURN(RedisOptions options, redis::ParseRedisOptions(*spec));
    if (spec->type == TableType::kSource) return ValidateLookupTable(spec);
    // String and hash targets apply deletes by key; a list cannot take a row back.
    spec->changelog = options.target != redis::Target::kList;
    if (spec->schema.size() > 0) {
      SLUICE_RETURN_NOT_OK(formats::MakeEncoder(spec->format, spec->schema).status());
    }
    return Status::Ok();
  }

  Result<std::shared_ptr<const runtime::OperatorFactory>> MakeSource(
      const TableSpec& spec) const override {
    return Status::User(
        "redis table '{}' is a lookup table: read it in a lookup join (JOIN {} FOR SYSTEM_TIME "
        "AS OF <probe>.<time> ON {}.<key column> = ...), not as a stream",
        spec.table_name, spec.table_name, spec.table_name);
  }

  Result<std::shared_ptr<const runtime::OperatorFactory>> MakeLookupJoin(
      const TableSpec& side, const exec::JoinSpec& join,
      std::vector<int> side_columns) const override {
    SLUICE_ASSIGN_OR_RETURN(RedisOptions options, redis::ParseRedisOptions(side));
    return redis::MakeRedisLookupJoin(side, options, join, std::move(side_columns));
  }

  Result<std::shared_ptr<const runtime::OperatorFactory>> MakeSink(
      const TableSpec& spec) const override {
    SLUICE_ASSIGN_OR_RETURN(RedisOptions options, redis::ParseRedisOptions(spec));
    if (spec.schema.size() > 0) {
      SLUICE_RETURN_NOT_OK(formats::MakeEncoder(spec.format, spec.schema).status());
    }
    return std::shared_ptr<const runtime::OperatorFactory>(
        std::make_shared<RedisFactory>(spec, std::move(options)));
  }

 private:
  // A lookup table: one `key TEXT METADATA FROM 'key'` column, the others decoded from the value.
  static Status ValidateLookupTable(TableSpec* spec) {
    std::string key_column;
    for (const auto& [column, key] : spec->metadata) {
      if (key != "key") {
        return Status::User(
            "unknown metadata key '{}' for column '{}'; a redis table offers "
            "'key' (the Redis key, TEXT)",
            key, column);
      }
      key_column = column;
    }
    if (key_column.empty()) {
      return Status::User(
          "redis lookup table '{}' needs its key column: add key TEXT METADATA FROM 'key'",
          spec->table_name);
    }
    if (spec->schema.field(*spec->schema.Find(key_column)).type.id() != types::TypeId::kUtf8) {
      return Status::User("column '{}' (METADATA FROM 'key') must be TEXT", key_column);
    }
    std::vector<types::Field> value_fields;
    for (const auto& f : spec->schema.fields()) {
      if (f.name != key_column) value_fields.push_back(f);
    }
    SLUICE_RETURN_NOT_OK(formats::MakeDecoder(spec->format, types::Schema(value_fields),
                                              fmt::format("table '{}'", spec->table_name))
                             .status());
    spec->lookup_only = true;
    spec->finite = true;  // it never emits rows of its own: it does not keep a pipeline running
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Connector> MakeRedisConnector() {
  return std::make_unique<RedisConnector>();
}

}  // namespace sluice::connectors
