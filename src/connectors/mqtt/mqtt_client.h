#pragma once
// The mqtt connector: its options, and the libmosquitto client of its sink (connection with a
// deadline, TLS, the network loop run on the caller's thread). The source runs Sluice's own
// client (mqtt_subscriber.h).

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "connectors/connector.h"
#include "runtime/operator.h"

struct mosquitto;

namespace sluice::connectors::mqtt {

struct MqttOptions {
  std::string host;
  int port = 1883;
  bool tls = false;  // mqtts:// or ssl://
  std::string topic;
  int qos = 1;
  std::string username;
  std::string password;  // secret: never printed
  std::string client_prefix = "sluice";
  std::string tls_ca, tls_cert, tls_key;
  bool retain = false;  // sink
  int64_t connect_timeout_us = 10'000'000;
  int64_t ack_timeout_us = 30'000'000;  // sink: QoS 1 acknowledgements at a checkpoint
};

const std::vector<OptionSpec>& MqttOptionSpecs();
std::vector<std::string> MqttOptionKeys();
Result<MqttOptions> ParseMqttOptions(const TableSpec& spec);

// One publishing MQTT connection (libmosquitto) driven from its owner's thread: Loop() does
// the network I/O available now and runs the callbacks.
class MqttClient {
 public:
  // Connects (TLS when asked) within connect.timeout.
  static Result<std::unique_ptr<MqttClient>> Connect(const MqttOptions& options,
                                                     const std::string& client_id,
                                                     const std::string& label);
  ~MqttClient();
  // Network I/O available now (non-blocking), callbacks included.
  Status Loop();
  // Publishes one message (queued; Loop sends it).
  Status Publish(std::string_view payload);
  // Messages published and not yet acknowledged (QoS 1) or sent (QoS 0).
  int64_t unacknowledged() const { return published_ - acknowledged_; }

 private:
  MqttClient() = default;
  // A libmosquitto result as a Status; a lost connection is re-established once.
  Status Handle(int rc);
  mosquitto* m_ = nullptr;
  MqttOptions options_;
  std::string label_;
  int connect_rc_ = -1;  // -1 while connecting
  int64_t published_ = 0;
  int64_t acknowledged_ = 0;
  friend struct MqttCallbacks;
};

std::unique_ptr<runtime::SourceOperator> MakeMqttSource(const TableSpec& spec,
                                                        const MqttOptions& options, int subtask);
std::unique_ptr<runtime::Operator> MakeMqttSink(const TableSpec& spec, const MqttOptions& options,
                                                int subtask);

}  // namespace sluice::connectors::mqtt
