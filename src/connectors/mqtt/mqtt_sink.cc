// MQTT sink: each row is one message on the table's topic (payload: the row encoded with the
// table's format). Publishing queues the message in libmosquitto; the network loop runs on the
// sink task's thread after each batch.
//
// Delivery: with QoS 1, at-least-once: at each checkpoint barrier (PreCommit) and at the end of
// input the sink waits until the broker acknowledged every message published so far (for up to
// 30 s, then the pipeline fails), so a restore from that checkpoint loses nothing; messages
// after it may be published twice. With QoS 0, at-most-once.

#include <thread>

#include <fmt/format.h>

#include "connectors/mqtt/mqtt_client.h"
#include "formats/format.h"

namespace sluice::connectors::mqtt {

namespace {

class MqttSink : public runtime::Operator {
 public:
  MqttSink(const TableSpec& spec, const MqttOptions& options, int subtask)
      : spec_(spec),
        options_(options),
        subtask_(subtask),
        label_(fmt::format("table '{}'", spec.table_name)) {}

  Status Open(runtime::OperatorContext& ctx) override {
    ctx_ = &ctx;
    formats::FormatOptions format = spec_.format;
    if (format.format.empty()) format.format = "json";
    SLUICE_ASSIGN_OR_RETURN(encoder_, formats::MakeEncoder(format, spec_.schema));
    std::string id = fmt::format("{}-{}-sink-{}-{}", options_.client_prefix, spec_.table_name,
                                 subtask_, Now().value % 1000000007);
    SLUICE_ASSIGN_OR_RETURN(client_, MqttClient::Connect(options_, id, label_));
    return Status::Ok();
  }

  Status ProcessBatch(int input, const batch::BatchPtr& batch, runtime::Collector& out) override {
    buffer_.clear();
    spans_.clear();
    SLUICE_RETURN_NOT_OK(encoder_->EncodeRecords(*batch, &buffer_, &spans_));
    for (const auto& [begin, end] : spans_) {
      SLUICE_RETURN_NOT_OK(client_->Publish(std::string_view(buffer_.data() + begin, end - begin)));
    }
    // Send what the socket takes now; keep the unacknowledged backlog bounded.
    SLUICE_RETURN_NOT_OK(client_->Loop());
    if (client_->unacknowledged() > kMaxInFlight) SLUICE_RETURN_NOT_OK(Drain());
    if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += batch->num_rows;
    return Status::Ok();
  }

  Status PreCommit(int64_t) override { return Drain(); }
  Status OnEndOfInput(runtime::Collector&) override { return Drain(); }

  Status Close() override {
    client_.reset();
    return Status::Ok();
  }

 private:
  static constexpr int64_t kMaxInFlight = 100000;

  // Runs the network loop until every published message is acknowledged (QoS 1) or sent.
  Status Drain() {
    const int64_t deadline = Now().value + options_.ack_timeout_us;
    while (client_->unacknowledged() > 0) {
      SLUICE_RETURN_NOT_OK(client_->Loop());
      if (client_->unacknowledged() == 0) break;
      if (Now().value >= deadline) {
        return Status::Io(
            "{}: the MQTT broker at {}:{} did not acknowledge {} messages within "
            "{} s",
            label_, options_.host, options_.port, client_->unacknowledged(),
            options_.ack_timeout_us / 1000000);
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return Status::Ok();
  }

  TableSpec spec_;
  MqttOptions options_;
  int subtask_;
  std::string label_;
  std::unique_ptr<formats::Encoder> encoder_;
  std::unique_ptr<MqttClient> client_;
  std::string buffer_;
  std::vector<std::pair<size_t, size_t>> spans_;
};

}  // namespace

std::unique_ptr<runtime::Operator> MakeMqttSink(const TableSpec& spec, const MqttOptions& options,
                                                int subtask) {
  return std::make_unique<MqttSink>(spec, options, subtask);
}

}  // namespace sluice::connectors::mqtt
