// The HTTP connectors: sse, websocket and polling_http (sources) and webhook (sink):
// validation and the operator factories (docs/connectors.md lists the options; each operator's
// file states its guarantees).

#include <fmt/format.h>

#include "connectors/connector.h"
#include "connectors/http/http_options.h"

namespace sluice::connectors {

namespace {

using namespace http;

// One factory for the four: `Options` is the parsed options of the connector.
template <typename Options>
class HttpFactory : public runtime::OperatorFactory {
 public:
  HttpFactory(const TableSpec& spec, Options options, std::string connector)
      : spec_(spec), options_(std::move(options)), connector_(std::move(connector)) {}
  std::string name() const override {
    return fmt::format("{} {}", connector_, spec_.type == TableType::kSource ? "source" : "sink");
  }
  // No headers and no query string: plans are shown to users and written to logs.
  std::string Describe() const override {
    return fmt::format("{} {}", name(), options_.endpoint.redacted);
  }
  bool is_source() const override { return spec_.type == TableType::kSource; }
  bool checkpointable() const override { return true; }
  // A source reads one stream (each subtask would read all of it): one subtask.
  int max_parallelism() const override { return spec_.type == TableType::kSource ? 1 : 0; }
  Result<std::unique_ptr<runtime::Operator>> Create(int subtask, int parallelism) const override {
    if constexpr (std::is_same_v<Options, WebhookOptions>) {
      return MakeWebhookSink(spec_, options_);
    } else {
      return OperatorFactory::Create(subtask, parallelism);
    }
  }
  Result<std::unique_ptr<runtime::SourceOperator>> CreateSource(int subtask,
                                                                int parallelism) const override {
    if constexpr (std::is_same_v<Options, SseOptions>) {
      return MakeSseSource(spec_, options_);
    } else if constexpr (std::is_same_v<Options, WebsocketOptions>) {
      return MakeWebsocketSource(spec_, options_);
    } else if constexpr (std::is_same_v<Options, PollingOptions>) {
      return MakePollingSource(spec_, options_);
    } else {
      return OperatorFactory::CreateSource(subtask, parallelism);
    }
  }

 private:
  TableSpec spec_;
  Options options_;
  std::string connector_;
};

template <typename Options>
class HttpConnector : public Connector {
 public:
  using Parse = Result<Options> (*)(const TableSpec&);
  HttpConnector(std::string name, std::string description, const std::vector<OptionSpec>& specs,
                Parse parse)
      : name_(std::move(name)),
        description_(std::move(description)),
        specs_(specs),
        parse_(parse) {}
  std::string name() const override { return name_; }
  bool is_sink() const { return std::is_same_v<Options, WebhookOptions>; }
  bool can_source() const override { return !is_sink(); }
  bool can_sink() const override { return is_sink(); }
  std::vector<std::string> option_keys() const override { return Keys(specs_); }
  std::string description() const override { return description_; }
  std::vector<OptionSpec> option_specs() const override { return specs_; }

  Status Validate(TableSpec* spec) const override {
    SLUICE_RETURN_NOT_OK(parse_(*spec).status());
    return ValidateMessageFormat(spec);
  }

  Result<std::shared_ptr<const runtime::OperatorFactory>> MakeSource(
      const TableSpec& spec) const override {
    if (is_sink()) return Connector::MakeSource(spec);
    SLUICE_ASSIGN_OR_RETURN(Options options, parse_(spec));
    return std::shared_ptr<const runtime::OperatorFactory>(
        std::make_shared<HttpFactory<Options>>(spec, std::move(options), name_));
  }
  Result<std::shared_ptr<const runtime::OperatorFactory>> MakeSink(
      const TableSpec& spec) const override {
    if (!is_sink()) return Connector::MakeSink(spec);
    if (spec.schema.size() > 0) {
      SLUICE_RETURN_NOT_OK(formats::MakeEncoder(spec.format, spec.schema).status());
    }
    SLUICE_ASSIGN_OR_RETURN(Options options, parse_(spec));
    return std::shared_ptr<const runtime::OperatorFactory>(
        std::make_shared<HttpFactory<Options>>(spec, std::move(options), name_));
  }

 private:
  std::string name_;
  std::string description_;
  std::vector<OptionSpec> specs_;
  Parse parse_;
};

}  // namespace

std::unique_ptr<Connector> MakeSseConnector() {
  return std::make_unique<HttpConnector<SseOptions>>(
      "sse",
      "Server-Sent Events over HTTP: a source resuming with Last-Event-ID after reconnects and "
      "restores",
      SseOptionSpecs(), &ParseSseOptions);
}

std::unique_ptr<Connector> MakeWebsocketConnector() {
  return std::make_unique<HttpConnector<WebsocketOptions>>(
      "websocket",
      "WebSocket messages: a source sending subscription messages on each connection "
      "(at-most-once)",
      WebsocketOptionSpecs(), &ParseWebsocketOptions);
}

std::unique_ptr<Connector> MakePollingHttpConnector() {
  return std::make_unique<HttpConnector<PollingOptions>>(
      "polling_http",
      "an HTTP endpoint polled at an interval: a source emitting every response or only changes",
      PollingOptionSpecs(), &ParsePollingOptions);
}

std::unique_ptr<Connector> MakeWebhookConnector() {
  return std::make_unique<HttpConnector<WebhookOptions>>(
      "webhook",
      "HTTP POST of rows to an endpoint: a sink with retries and bounded concurrency "
      "(at-least-once)",
      WebhookOptionSpecs(), &ParseWebhookOptions);
}

}  // namespace sluice::connectors
