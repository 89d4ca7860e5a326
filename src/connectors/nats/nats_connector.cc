// The nats connector: validation and the operator factories of its source and sink
// (docs/connectors.md lists the options; nats_source.cc and nats_sink.cc the guarantees).

#include <fmt/format.h>

#include "connectors/connector.h"
#include "connectors/nats/nats_client.h"

namespace sluice::connectors {

namespace {

using nats::NatsOptions;

class NatsFactory : public runtime::OperatorFactory {
 public:
  NatsFactory(const TableSpec& spec, NatsOptions options)
      : spec_(spec), options_(std::move(options)) {}
  std::string name() const override {
    return spec_.type == TableType::kSource ? "nats source" : "nats sink";
  }
  // No credentials: plans are shown to users and written to logs.
  std::string Describe() const override {
    std::string what = options_.jetstream() && spec_.type == TableType::kSource
                           ? fmt::format("stream={}", options_.stream)
                           : fmt::format("subject={}", options_.subject);
    if (options_.jetstream() && spec_.type == TableType::kSink) {
      what += fmt::format(" stream={}", options_.stream);
    }
    return fmt::format("{} {} {}", name(), options_.ServersText(), what);
  }
  bool is_source() const override { return spec_.type == TableType::kSource; }
  // JetStream sources keep their position in checkpoints; core sources have none (at-most-once:
  // a restore reads what arrives after it); sinks confirm their messages at each barrier.
  bool checkpointable() const override { return true; }
  // One subtask reads a subject or a stream.
  int max_parallelism() const override { return spec_.type == TableType::kSource ? 1 : 0; }
  Result<std::unique_ptr<runtime::Operator>> Create(int subtask, int parallelism) const override {
    if (spec_.type != TableType::kSink) return OperatorFactory::Create(subtask, parallelism);
    return nats::MakeNatsSink(spec_, options_, subtask);
  }
  Result<std::unique_ptr<runtime::SourceOperator>> CreateSource(int subtask,
                                                                int parallelism) const override {
    if (spec_.type != TableType::kSource) {
      return OperatorFactory::CreateSource(subtask, parallelism);
    }
    return nats::MakeNatsSource(spec_, options_, subtask);
  }

 private:
  TableSpec spec_;
  NatsOptions options_;
};

class NatsConnector : public Connector {
 public:
  std::string name() const override { return "nats"; }
  bool can_source() const override { return true; }
  bool can_sink() const override { return true; }
  std::vector<std::string> option_keys() const override { return nats::NatsOptionKeys(); }
  std::string description() const override {
    return "NATS subjects and JetStream streams through cnats: a JetStream source (exactly-once, "
           "its stream sequence in checkpoints), a core source (at-most-once), and a sink (core "
           "publish, or JetStream publish acknowledged at each checkpoint)";
  }
  std::vector<OptionSpec> option_specs() const override { return nats::NatsOptionSpecs(); }

  Status Validate(TableSpec* spec) const override {
    SLUICE_RETURN_NOT_OK(nats::ParseNatsOptions(*spec).status());
    return ValidateMessageFormat(spec);
  }

  Result<std::shared_ptr<const runtime::OperatorFactory>> MakeSource(
      const TableSpec& spec) const override {
    SLUICE_ASSIGN_OR_RETURN(NatsOptions options, nats::ParseNatsOptions(spec));
    return std::shared_ptr<const runtime::OperatorFactory>(
        std::make_shared<NatsFactory>(spec, std::move(options)));
  }
  Result<std::shared_ptr<const runtime::OperatorFactory>> MakeSink(
      const TableSpec& spec) const override {
    if (spec.schema.size() > 0) {
      SLUICE_RETURN_NOT_OK(formats::MakeEncoder(spec.format, spec.schema).status());
    }
    SLUICE_ASSIGN_OR_RETURN(NatsOptions options, nats::ParseNatsOptions(spec));
    return std::shared_ptr<const runtime::OperatorFactory>(
        std::make_shared<NatsFactory>(spec, std::move(options)));
  }
};

}  // namespace

std::unique_ptr<Connector> MakeNatsConnector() {
  return std::make_unique<NatsConnector>();
}

}  // namespace sluice::connectors
