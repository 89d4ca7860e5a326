// MQTT source: subscribes to the table's topic (wildcards allowed) and decodes each message's
// payload with the table's format. It runs Sluice's own MQTT client (mqtt_subscriber.h) on the
// source task's thread: each poll reads what the broker has sent in large reads and decodes the
// messages in place, a batch at a time. Every subtask subscribes with its own client id; run it
// at parallelism 1 (each subtask would receive every message), which the factory enforces.
//
// Delivery: at-most-once. MQTT has no position to resume from: the broker forgets a message once
// the client acknowledged it (QoS 1) or sent it (QoS 0), and a clean session keeps nothing
// across connections. The source acknowledges the QoS 1 messages of each read once they are
// decoded into the batch being built (the broker's window of unacknowledged messages, 20 by
// default in mosquitto, allows no later point), so a restore from a checkpoint reads what
// arrives after it. The event time of a row is the wall clock when its read arrived.

#include <cstring>

#include <fmt/format.h>

#include "connectors/decoded_rows.h"
#include "connectors/mqtt/mqtt_client.h"
#include "connectors/mqtt/mqtt_subscriber.h"
#include "formats/format.h"

namespace sluice::connectors::mqtt {

namespace {

using runtime::SourcePoll;

constexpr int64_t kIdlePollMicros = 2000;
constexpr int kReadsPerPoll = 64;
static_assert(net::BufferedSocket::kPadding >= formats::kLinePadding,
              "payloads are decoded in the receive buffer, which must pad them");

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
        client_, MqttSubscriber::Connect(options_, std::move(id), label_, ctx.stop_requested));
    return Status::Ok();
  }

  Result<SourcePoll> Poll(runtime::Collector& out) override {
    if (ctx_ && ctx_->stop_requested && ctx_->stop_requested->load()) return SourcePoll::Finished();
    const int64_t before = received_;
    Status st = ReadAvailable();
    // Stopped while reconnecting: a clean end, not a failure.
    if (st.kind() == ErrorKind::kCancelled) return SourcePoll::Finished();
    SLUICE_RETURN_NOT_OK(st);
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
  // Reads while messages keep coming, up to a batch; each read's QoS 1 messages are
  // acknowledged together once decoded. Then the keep-alive.
  Status ReadAvailable() {
    for (int i = 0; i < kReadsPerPoll && decoder_->pending_rows() < spec_.batch_rows; ++i) {
      SLUICE_ASSIGN_OR_RETURN(const std::vector<Publish>* messages, client_->Receive());
      if (messages->empty()) break;
      SLUICE_RETURN_NOT_OK(Take(*messages));
      SLUICE_RETURN_NOT_OK(client_->Acknowledge());
    }
    return client_->KeepAlive();
  }

  // Decodes the payloads where they lie in the receive buffer (followed by padding).
  Status Take(const std::vector<Publish>& messages) {
    const int64_t arrived = Now().value;  // one clock read per read, not one per row
    const int64_t before = decoder_->pending_rows();
    for (const Publish& m : messages) {
      ++received_;
      SLUICE_RETURN_NOT_OK(decoder_->AppendPadded(
          m.payload, [&] { return fmt::format("topic '{}' message {}", m.topic, received_); }));
    }
    event_times_.insert(event_times_.end(), static_cast<size_t>(decoder_->pending_rows() - before),
                        arrived);
    return Status::Ok();
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
  std::unique_ptr<MqttSubscriber> client_;
  int64_t received_ = 0;
  std::vector<int64_t> event_times_;
  int64_t dropped_reported_ = 0;
};

}  // namespace

std::unique_ptr<runtime::SourceOperator> MakeMqttSource(const TableSpec& spec,
                                                        const MqttOptions& options, int subtask) {
  return std::make_unique<MqttSource>(spec, options, subtask);
}

}  // namespace sluice::connectors::mqtt
