// NATS sink: each row is one message on the table's subject (payload: the row encoded with the
// table's format).
//
// Core NATS (no `stream`): at-most-once. At each checkpoint barrier (PreCommit) and at the end
// of input the sink flushes its connection and waits for the server's answer (a PING/PONG round
// trip), so every message before the barrier has reached the server; core NATS delivers it to
// the subscribers connected at that moment and keeps nothing.
//
// JetStream (`stream` given): at-least-once. Messages are published asynchronously and the
// stream acknowledges each once stored. At each barrier and at the end of input the sink waits
// (up to ack.timeout) until every message published so far is acknowledged; a refused message
// (no stream takes the subject, the stream is full...) fails the pipeline with the server's
// reason. So a checkpoint never covers a message the stream has not stored; after a restore the
// rows since the checkpoint are published again (possibly twice).

#include <nats/nats.h>

#include <atomic>
#include <mutex>

#include <fmt/format.h>

#include "connectors/nats/nats_client.h"
#include "formats/format.h"

namespace sluice::connectors::nats {

namespace {

class NatsSink : public runtime::Operator {
 public:
  NatsSink(const TableSpec& spec, const NatsOptions& options, int subtask)
      : spec_(spec), options_(options), label_(fmt::format("table '{}'", spec.table_name)) {
    (void)subtask;
  }

  ~NatsSink() override { Release(); }

  Status Open(runtime::OperatorContext& ctx) override {
    ctx_ = &ctx;
    formats::FormatOptions format = spec_.format;
    if (format.format.empty()) format.format = "json";
    SLUICE_ASSIGN_OR_RETURN(encoder_, formats::MakeEncoder(format, spec_.schema));
    SLUICE_ASSIGN_OR_RETURN(conn_, NatsConnection::Connect(options_, label_));
    if (options_.jetstream()) {
      jsOptions jo;
      jsOptions_Init(&jo);
      jo.Wait = options_.ack_timeout_us / 1000;
      jo.PublishAsync.MaxPending = kMaxInFlight;
      jo.PublishAsync.ErrHandler = &NatsSink::OnPublishError;
      jo.PublishAsync.ErrHandlerClosure = this;
      jo.PublishAsync.StallWait = options_.ack_timeout_us / 1000;
      natsStatus s = natsConnection_JetStream(&js_, conn_->get(), &jo);
      if (s != NATS_OK) {
        js_ = nullptr;
        return Status::Io("{}: cannot use JetStream on {}: {}", label_, options_.ServersText(),
                          NatsError(s));
      }
      jsPubOptions_Init(&pub_);
      pub_.ExpectStream = options_.stream.c_str();
      pub_.MaxWait = options_.ack_timeout_us / 1000;  // a lost acknowledgement is a failure
    }
    return Status::Ok();
  }

  Status ProcessBatch(int, const batch::BatchPtr& batch, runtime::Collector&) override {
    buffer_.clear();
    spans_.clear();
    SLUICE_RETURN_NOT_OK(encoder_->EncodeRecords(*batch, &buffer_, &spans_));
    SLUICE_RETURN_NOT_OK(conn_->Health());
    for (const auto& [begin, end] : spans_) {
      const void* data = buffer_.data() + begin;
      const int len = static_cast<int>(end - begin);
      natsStatus s =
          js_ != nullptr
              ? js_PublishAsync(js_, options_.subject.c_str(), data, len, &pub_)
              : natsConnection_Publish(conn_->get(), options_.subject.c_str(), data, len);
      if (s != NATS_OK) {
        return Status::Io("{}: publishing to NATS subject '{}' at {} failed: {}", label_,
                          options_.subject, options_.ServersText(), NatsError(s));
      }
    }
    SLUICE_RETURN_NOT_OK(Failure());
    if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += batch->num_rows;
    return Status::Ok();
  }

  Status PreCommit(int64_t) override { return Drain(); }
  Status OnEndOfInput(runtime::Collector&) override { return Drain(); }

  Status Close() override {
    Release();
    return Status::Ok();
  }

 private:
  static constexpr int64_t kMaxInFlight = 65536;

  static void OnPublishError(jsCtx*, jsPubAckErr* pae, void* closure) {
    auto* self = static_cast<NatsSink*>(closure);
    std::lock_guard<std::mutex> lock(self->mu_);
    if (self->failures_++ == 0) {
      self->first_failure_ = pae->ErrText != nullptr ? pae->ErrText : natsStatus_GetText(pae->Err);
    }
  }

  Status Failure() {
    std::lock_guard<std::mutex> lock(mu_);
    if (failures_ == 0) return Status::Ok();
    return Status::Io("{}: JetStream stream '{}' refused {} message(s) published to '{}': {}",
                      label_, options_.stream, failures_, options_.subject, first_failure_);
  }

  // Waits until the server has every message (core) or the stream acknowledged each (JetStream).
  Status Drain() {
    const int64_t timeout_ms = options_.ack_timeout_us / 1000;
    natsStatus s;
    if (js_ != nullptr) {
      jsPubOptions wait;
      jsPubOptions_Init(&wait);
      wait.MaxWait = timeout_ms;
      s = js_PublishAsyncComplete(js_, &wait);
    } else {
      s = natsConnection_FlushTimeout(conn_->get(), timeout_ms);
    }
    SLUICE_RETURN_NOT_OK(Failure());
    if (s != NATS_OK) {
      return Status::Io(
          "{}: the NATS server at {} did not confirm the messages published to "
          "'{}' within {} s (ack.timeout): {}",
          label_, options_.ServersText(), options_.subject, timeout_ms / 1000, NatsError(s));
    }
    return Status::Ok();
  }

  void Release() {
    if (js_ != nullptr) {
      jsCtx_Destroy(js_);
      js_ = nullptr;
    }
    conn_.reset();
  }

  TableSpec spec_;
  NatsOptions options_;
  std::string label_;
  std::unique_ptr<formats::Encoder> encoder_;
  std::unique_ptr<NatsConnection> conn_;
  jsCtx* js_ = nullptr;
  jsPubOptions pub_{};
  std::mutex mu_;
  int64_t failures_ = 0;
  std::string first_failure_;
  std::string buffer_;
  std::vector<std::pair<size_t, size_t>> spans_;
};

}  // namespace

std::unique_ptr<runtime::Operator> MakeNatsSink(const TableSpec& spec, const NatsOptions& options,
                                                int subtask) {
  return std::make_unique<NatsSink>(spec, options, subtask);
}

}  // namespace sluice::connectors::nats
