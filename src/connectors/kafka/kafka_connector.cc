// The kafka connector: table validation and the operator factories of its source and sink
// (docs/connectors.md lists the options; docs/decisions/0009-kafka-exactly-once.md the sink's
// exactly-once design).

#include <fmt/format.h>

#include "connectors/connector.h"
#include "connectors/kafka/kafka_options.h"
#include "connectors/kafka/kafka_sink.h"
#include "connectors/kafka/kafka_source.h"

namespace sluice::connectors {

namespace {

using kafka::KafkaOptions;

class KafkaFactory : public runtime::OperatorFactory {
 public:
  KafkaFactory(const TableSpec& spec, KafkaOptions options,
               std::vector<kafka::MetadataColumn> metadata)
      : spec_(spec), options_(std::move(options)), metadata_(std::move(metadata)) {}

  std::string name() const override {
    return spec_.type == TableType::kSource ? "kafka source" : "kafka sink";
  }
  std::string Describe() const override {
    std::string s =
        fmt::format("{} topic={} format={}", name(), options_.topic, spec_.format.format);
    if (spec_.format.bad_data == formats::BadDataPolicy::kDrop) s += " bad_data=drop";
    if (spec_.type == TableType::kSource) {
      if (options_.bounded) s += " bounded=latest";
      if (options_.read_committed) s += " read_committed";
    } else {
      s += options_.commit_mode == kafka::CommitMode::kExactlyOnce ? " exactly_once"
                                                                   : " at_least_once";
    }
    return s;
  }
  bool is_source() const override { return spec_.type == TableType::kSource; }
  // Sources store their partitions' offsets; sinks flush (at_least_once) or commit a
  // transaction (exactly_once) per checkpoint.
  bool checkpointable() const override { return true; }
  Result<std::unique_ptr<runtime::Operator>> Create(int subtask, int parallelism) const override {
    if (spec_.type != TableType::kSink) return OperatorFactory::Create(subtask, parallelism);
    return kafka::MakeKafkaSink(spec_, options_, subtask, parallelism);
  }
  Result<std::unique_ptr<runtime::SourceOperator>> CreateSource(int subtask,
                                                                int parallelism) const override {
    if (spec_.type != TableType::kSource) {
      return OperatorFactory::CreateSource(subtask, parallelism);
    }
    return kafka::MakeKafkaSource(spec_, options_, metadata_, subtask, parallelism);
  }

 private:
  TableSpec spec_;
  KafkaOptions options_;
  std::vector<kafka::MetadataColumn> metadata_;
};

class KafkaConnector : public Connector {
 public:
  std::string name() const override { return "kafka"; }
  bool can_source() const override { return true; }
  bool can_sink() const override { return true; }
  bool provides_metadata() const override { return true; }
  // The JSON decoder reads any subset of the columns; metadata columns are found by name.
  bool reads_narrowed_schema(const TableSpec& spec) const override {
    return spec.format.format == "json" && !spec.format.unstructured;
  }
  std::vector<std::string> option_keys() const override { return kafka::KafkaOptionKeys(); }

  Status Validate(TableSpec* spec) const override {
    SLUICE_ASSIGN_OR_RETURN(KafkaOptions parsed, kafka::ParseKafkaOptions(*spec));
    SLUICE_RETURN_NOT_OK(ValidateByteSourceFormat(spec));
    // A sink in the Confluent wire format registers its schema under the topic's value subject
    // (Confluent's TopicNameStrategy) unless told otherwise.
    if ((spec->format.avro_confluent || spec->format.protobuf_confluent) &&
        spec->format.registry_subject.empty()) {
      spec->format.registry_subject = parsed.topic + "-value";
    }
    if (spec->type == TableType::kSource) {
      SLUICE_ASSIGN_OR_RETURN(std::vector<kafka::MetadataColumn> metadata,
                              kafka::ResolveMetadataColumns(*spec));
      std::vector<types::Field> value_fields;
      for (const auto& f : spec->schema.fields()) {
        if (!spec->metadata.count(f.name)) value_fields.push_back(f);
      }
      if (value_fields.empty()) {
        return Status::User(
            "kafka source '{}' has only metadata columns; declare the columns of "
            "the record's value too",
            spec->table_name);
      }
      SLUICE_RETURN_NOT_OK(formats::MakeDecoder(spec->format, types::Schema(value_fields),
                                                fmt::format("table '{}'", spec->table_name))
                               .status());
      SLUICE_ASSIGN_OR_RETURN(KafkaOptions options, kafka::ParseKafkaOptions(*spec));
      spec->finite = options.bounded;
    } else if (spec->schema.size() > 0) {
      SLUICE_RETURN_NOT_OK(CheckSinkFormat(*spec));
    }
    return Status::Ok();
  }

  // A sink's declared columns fit its format. raw_bytes has no encoder (the one BYTEA column is
  // the record's value, written by the sink itself).
  static Status CheckSinkFormat(const TableSpec& spec) {
    if (spec.format.format != "raw_bytes") {
      return formats::MakeEncoder(spec.format, spec.schema).status();
    }
    if (spec.schema.size() != 1 || spec.schema.field(0).type.id() != types::TypeId::kBinary) {
      return Status::User("format 'raw_bytes' writes exactly one BYTEA column, not {}",
                          spec.schema.ToString());
    }
    return Status::Ok();
  }

  Result<std::shared_ptr<const runtime::OperatorFactory>> MakeSource(
      const TableSpec& spec) const override {
    if (spec.type != TableType::kSource) {
      return Status::User("table '{}' is a sink, not a source", spec.table_name);
    }
    SLUICE_ASSIGN_OR_RETURN(KafkaOptions options, kafka::ParseKafkaOptions(spec));
    SLUICE_ASSIGN_OR_RETURN(std::vector<kafka::MetadataColumn> metadata,
                            kafka::ResolveMetadataColumns(spec));
    return std::shared_ptr<const runtime::OperatorFactory>(
        std::make_shared<KafkaFactory>(spec, std::move(options), std::move(metadata)));
  }

  Result<std::shared_ptr<const runtime::OperatorFactory>> MakeSink(
      const TableSpec& spec) const override {
    if (spec.type != TableType::kSink) {
      return Status::User("table '{}' is a source, not a sink", spec.table_name);
    }
    if (spec.schema.size() > 0) SLUICE_RETURN_NOT_OK(CheckSinkFormat(spec));
    SLUICE_ASSIGN_OR_RETURN(KafkaOptions options, kafka::ParseKafkaOptions(spec));
    return std::shared_ptr<const runtime::OperatorFactory>(std::make_shared<KafkaFactory>(
        spec, std::move(options), std::vector<kafka::MetadataColumn>{}));
  }
};

}  // namespace

std::unique_ptr<Connector> MakeKafkaConnector() {
  return std::make_unique<KafkaConnector>();
}

}  // namespace sluice::connectors
