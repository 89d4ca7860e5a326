#pragma once
// The nats connector: its options and the cnats (libnats) connection its source and sink share
// (servers, credentials, connecting within a deadline, reconnection, JetStream context).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "connectors/connector.h"
#include "runtime/operator.h"

struct __natsConnection;
struct __jsCtx;

namespace sluice::connectors::nats {

struct NatsOptions {
  std::vector<std::string> servers;  // nats://host:port each
  std::string username;
  std::string password;  // secret: never printed
  std::string subject;   // core source, sink
  std::string stream;    // JetStream source; sink: publish through JetStream into this stream
  // JetStream source: the consumer it creates.
  std::string description;
  std::string filter_subject;
  bool replay_original = false;
  int64_t ack_wait_s = 30;
  int64_t inactive_threshold_s = 600;
  int64_t max_ack_pending = -1;
  int64_t max_deliver = -1;
  int64_t max_batch = 10000;  // most messages per pull request
  int64_t connect_timeout_us = 10'000'000;
  // How long the connection may stay lost (the client reconnects meanwhile) before the pipeline
  // fails; sink: how long a flush or the JetStream acknowledgements at a checkpoint may take.
  int64_t reconnect_timeout_us = 60'000'000;
  int64_t ack_timeout_us = 30'000'000;

  bool jetstream() const { return !stream.empty(); }
  std::string ServersText() const;  // for messages: the servers, never credentials
};

const std::vector<OptionSpec>& NatsOptionSpecs();
std::vector<std::string> NatsOptionKeys();
Result<NatsOptions> ParseNatsOptions(const TableSpec& spec);

// What a JetStream message's reply subject ($JS.ACK...) says about it.
struct JsAckInfo {
  uint64_t stream_seq = 0;
  uint64_t consumer_seq = 0;
  uint64_t delivered = 0;
  int64_t timestamp_ns = 0;  // when the stream stored the message
};
// Parses "$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ns>.<pending>" and the newer
// form with domain and account hash ("$JS.ACK.<domain>.<hash>.<stream>..."); nullopt otherwise.
std::optional<JsAckInfo> ParseJsAckSubject(std::string_view reply);

// One connection to a NATS server (or cluster), with the library's reconnection enabled.
class NatsConnection {
 public:
  // Connects within connect.timeout (retrying while the server refuses: it may be starting).
  static Result<std::unique_ptr<NatsConnection>> Connect(const NatsOptions& options,
                                                         const std::string& label);
  ~NatsConnection();
  NatsConnection(const NatsConnection&) = delete;
  NatsConnection& operator=(const NatsConnection&) = delete;

  __natsConnection* get() const { return nc_; }
  // The JetStream context (created on first use), with `wait_ms` for API requests.
  Result<__jsCtx*> JetStream(int64_t wait_ms = 5000);
  // Ok while connected or reconnecting for less than reconnect.timeout; an error naming the
  // servers once the connection is closed or lost for longer.
  Status Health();
  bool connected() const;
  const std::string& label() const { return label_; }
  const NatsOptions& options() const { return options_; }

 private:
  NatsConnection() = default;
  __natsConnection* nc_ = nullptr;
  __jsCtx* js_ = nullptr;
  NatsOptions options_;
  std::string label_;
  int64_t lost_since_us_ = 0;  // 0 while connected
};

// "cannot ... : <cnats status text and its last error>", without credentials.
std::string NatsError(int status);

std::unique_ptr<runtime::SourceOperator> MakeNatsSource(const TableSpec& spec,
                                                        const NatsOptions& options, int subtask);
std::unique_ptr<runtime::Operator> MakeNatsSink(const TableSpec& spec, const NatsOptions& options,
                                                int subtask);

}  // namespace sluice::connectors::nats
