// The mqtt connector: validation and the operator factories of its source and sink
// (docs/connectors.md lists the options; mqtt_source.cc and mqtt_sink.cc the guarantees).

#include <fmt/format.h>

#include "connectors/connector.h"
#include "connectors/mqtt/mqtt_client.h"

namespace sluice::connectors {

namespace {

using mqtt::MqttOptions;

class MqttFactory : public runtime::OperatorFactory {
 public:
  MqttFactory(const TableSpec& spec, MqttOptions options)
      : spec_(spec), options_(std::move(options)) {}
  std::string name() const override {
    return spec_.type == TableType::kSource ? "mqtt source" : "mqtt sink";
  }
  // No password: plans are shown to users and written to logs.
  std::string Describe() const override {
    return fmt::format("{} {}{}:{} topic={} qos={}", name(), options_.tls ? "mqtts://" : "",
                       options_.host, options_.port, options_.topic, options_.qos);
  }
  bool is_source() const override { return spec_.type == TableType::kSource; }
  // The source has no position (at-most-once: a restore reads what arrives after it); the sink
  // waits for acknowledgements at each barrier.
  bool checkpointable() const override { return true; }
  // Every subscriber receives every message: one subtask reads a topic.
  int max_parallelism() const override { return spec_.type == TableType::kSource ? 1 : 0; }
  Result<std::unique_ptr<runtime::Operator>> Create(int subtask, int parallelism) const override {
    if (spec_.type != TableType::kSink) return OperatorFactory::Create(subtask, parallelism);
    return mqtt::MakeMqttSink(spec_, options_, subtask);
  }
  Result<std::unique_ptr<runtime::SourceOperator>> CreateSource(int subtask,
                                                                int parallelism) const override {
    if (spec_.type != TableType::kSource) {
      return OperatorFactory::CreateSource(subtask, parallelism);
    }
    return mqtt::MakeMqttSource(spec_, options_, subtask);
  }

 private:
  TableSpec spec_;
  MqttOptions options_;
};

class MqttConnector : public Connector {
 public:
  std::string name() const override { return "mqtt"; }
  bool can_source() const override { return true; }
  bool can_sink() const override { return true; }
  std::vector<std::string> option_keys() const override { return mqtt::MqttOptionKeys(); }
  std::string description() const override {
    return "MQTT 3.1.1 topics (QoS 0 or 1, TLS): a source (at-most-once) and a sink "
           "(at-least-once with QoS 1)";
  }
  std::vector<OptionSpec> option_specs() const override { return mqtt::MqttOptionSpecs(); }

  Status Validate(TableSpec* spec) const override {
    SLUICE_RETURN_NOT_OK(mqtt::ParseMqttOptions(*spec).status());
    return ValidateMessageFormat(spec);
  }

  Result<std::shared_ptr<const runtime::OperatorFactory>> MakeSource(
      const TableSpec& spec) const override {
    SLUICE_ASSIGN_OR_RETURN(MqttOptions options, mqtt::ParseMqttOptions(spec));
    return std::shared_ptr<const runtime::OperatorFactory>(
        std::make_shared<MqttFactory>(spec, std::move(options)));
  }
  Result<std::shared_ptr<const runtime::OperatorFactory>> MakeSink(
      const TableSpec& spec) const override {
    if (spec.schema.size() > 0) {
      SLUICE_RETURN_NOT_OK(formats::MakeEncoder(spec.format, spec.schema).status());
    }
    SLUICE_ASSIGN_OR_RETURN(MqttOptions options, mqtt::ParseMqttOptions(spec));
    return std::shared_ptr<const runtime::OperatorFactory>(
        std::make_shared<MqttFactory>(spec, std::move(options)));
  }
};

}  // namespace

std::unique_ptr<Connector> MakeMqttConnector() {
  return std::make_unique<MqttConnector>();
}

}  // namespace sluice::connectors
