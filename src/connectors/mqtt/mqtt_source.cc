// MQTT source: subscribes to the table's topic (wildcards allowed) and decodes each message's
// payload with the table's format. The network loop runs on the source task's thread
// (mosquitto_loop without waiting), so messages are decoded where they arrive, a batch at a
// time. Every subtask subscribes with its own client id; run it at parallelism 1 (each subtask
// would receive every message), which the factory enforces.
//
// Delivery: at-most-once. MQTT has no position to resume from: the broker forgets a message once
// the client acknowledged it (QoS 1, on receipt, as libmosquitto does) or sent it (QoS 0), so a
// restore from a checkpoint reads what arrives after it. The event time of a row is the wall
// clock when it was read.

#include <mosquitto.h>

#include <cstring>

#include <fmt/format.h>

#include "connectors/decoded_rows.h"
#include "connectors/mqtt/mqtt_client.h"
#include "formats/format.h"

namespace sluice::connectors::mqtt {

namespace {

using runtime::SourcePoll;

constexpr int64_t kIdlePollMicros = 2000;
constexpr int kReadsPerPoll = 4096;

class MqttSource : public runtime::SourceOperator {
 public:
  MqttSource(const TableSpec& spec, const MqttOptions& options, int subtask)
      : spec_(spec),
        options_(options),
        subtask_(subtask),
        label_(fmt::format("table '{}'", spec.table_name)) {}

  Status Open(runtime::OperatorContext& ctx) override {
    ctx_ = &ctx;
    schema_ = std::make_shared<const types::Schema>(spec_.schema);
    SLUICE_ASSIGN_OR_RETURN(decoder_, formats::MakeDecoder(spec_.format, spec_.schema, label_));
    std::string id = fmt::format("{}-{}-{}-{}", options_.client_prefix, spec_.table_name, subtask_,
                                 Now().value % 1000000007);
    SLUICE_ASSIGN_OR_RETURN(
        client_,
        MqttClient::Connect(options_, id, label_, [this](const mosquitto_message& m) { Take(m); }));
    return Status::Ok();
  }

  Result<SourcePoll> Poll(runtime::Collector& out) override {
    if (ctx_ && ctx_->stop_requested && ctx_->stop_requested->load()) return SourcePoll::Finished();
    const int64_t before = received_;
    // Packets are read straight from the socket while they keep coming; when none is there,
    // one Loop (select, keep-alive, outgoing acknowledgements) ends the round.
    for (int i = 0; i < kReadsPerPoll && decoder_->pending_rows() < spec_.batch_rows; ++i) {
      const int64_t n = received_;
      SLUICE_RETURN_NOT_OK(client_->Read());
      SLUICE_RETURN_NOT_OK(error_);
      if (received_ == n) break;
    }
    SLUICE_RETURN_NOT_OK(client_->Loop());
    SLUICE_RETURN_NOT_OK(error_);
    SLUICE_RETURN_NOT_OK(Emit(out));
    if (received_ == before) {
      return SourcePoll::WaitUntil(ProcessingTime{Now().value + kIdlePollMicros});
    }
    return SourcePoll::More();
  }

  Status Close() override {
    client_.reset();
    return Status::Ok();
  }

  // Nothing to store (no position); the task can checkpoint the operators after it.
  Status Snapshot(int64_t, runtime::StateWriter&) override { return Status::Ok(); }

 private:
  void Take(const mosquitto_message& m) {
    ++received_;
    if (!error_.ok()) return;
    padded_.assign(static_cast<const char*>(m.payload), static_cast<size_t>(m.payloadlen));
    padded_.append(formats::kLinePadding, '\0');
    const int64_t before = decoder_->pending_rows();
    error_ = decoder_->AppendPadded(
        std::string_view(padded_.data(), static_cast<size_t>(m.payloadlen)),
        [&] { return fmt::format("topic '{}' message {}", m.topic, m.mid); });
    // One arrival time for every row of the message (one clock read, not one per row).
    event_times_.insert(event_times_.end(), static_cast<size_t>(decoder_->pending_rows() - before),
                        Now().value);
  }

  Status Emit(runtime::Collector& out) {
    return EmitDecodedRows(*decoder_, schema_, &event_times_, &dropped_reported_, ctx_, out);
  }

  TableSpec spec_;
  MqttOptions options_;
  int subtask_;
  std::string label_;
  types::SchemaPtr schema_;
  std::unique_ptr<formats::Decoder> decoder_;
  std::unique_ptr<MqttClient> client_;
  int64_t received_ = 0;
  Status error_;
  std::string padded_;
  std::vector<int64_t> event_times_;
  int64_t dropped_reported_ = 0;
};

}  // namespace

std::unique_ptr<runtime::SourceOperator> MakeMqttSource(const TableSpec& spec,
                                                        const MqttOptions& options, int subtask) {
  return std::make_unique<MqttSource>(spec, options, subtask);
}

}  // namespace sluice::connectors::mqtt
