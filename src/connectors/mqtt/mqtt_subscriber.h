#pragma once
// Sluice's own MQTT 3.1.1 subscribing client, for the mqtt source: one large read into a
// buffer (net::BufferedSocket, plain or TLS), every whole packet in it decoded in place, the
// PUBACKs of a read sent together. libmosquitto 2.0 reads each packet with three or four
// `read` calls, which cost the source most of its CPU (docs/performance.md, "mqtt source").
//
// One MqttSubscriber is used by one thread (the source task's) and never blocks longer than
// connect.timeout (connecting, reconnecting) or a send's deadline.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "connectors/mqtt/mqtt_client.h"
#include "connectors/mqtt/mqtt_protocol.h"
#include "connectors/net/buffered_socket.h"

namespace sluice::connectors::mqtt {

class MqttSubscriber {
 public:
  // Connects (clean session, the keep-alive below, the credentials), and subscribes to
  // options.topic at options.qos, both acknowledged by the broker, within connect.timeout.
  // Refused or unreachable brokers are retried until then (a broker may be starting), except
  // a CONNACK refusing the credentials or the client. Errors name the broker (host:port) and
  // the reason, never the password.
  // `stop` (may be null): a stop request that ends the retrying early (Status::Cancelled).
  static Result<std::unique_ptr<MqttSubscriber>> Connect(const MqttOptions& options,
                                                         std::string client_id, std::string label,
                                                         const std::atomic<bool>* stop = nullptr);
  // Sends DISCONNECT (best effort) and closes.
  ~MqttSubscriber();

  // One read of what the broker has sent (never waits): the PUBLISH packets in it, viewing the
  // receive buffer (each payload followed by net::BufferedSocket::kPadding readable bytes),
  // valid until the next Receive. PUBACKs for the QoS 1 ones are queued for Acknowledge. A lost
  // connection is re-established (and subscribed again) within connect.timeout; messages sent
  // meanwhile are lost (clean session).
  Result<const std::vector<Publish>*> Receive();
  // Sends the queued PUBACKs in one write. At-most-once: the caller has taken the messages.
  Status Acknowledge();
  // Sends PINGREQ when nothing was sent for 3/4 of the keep-alive; a broker silent for the
  // keep-alive after it is a lost connection (re-established as in Receive).
  Status KeepAlive();
  // Waits up to `timeout_us` for something to read.
  bool WaitReadable(int64_t timeout_us) { return socket_->WaitReadable(timeout_us); }

  int64_t reconnects() const { return reconnects_; }
  static constexpr uint16_t kKeepAliveSeconds = 30;

 private:
  MqttSubscriber() = default;
  // Connects once: TCP (TLS), CONNECT/CONNACK, SUBSCRIBE/SUBACK, before `deadline_us`.
  // *permanent: a refusal that retrying will not change.
  Status ConnectOnce(int64_t deadline_us, bool* permanent);
  // Connects with retries until connect.timeout.
  Status ConnectWithRetries();
  Status Reconnect(const Status& why);
  // Waits for the next whole packet (CONNACK, SUBACK) until the deadline.
  Result<Packet> NextPacket(int64_t deadline_us, const char* waiting_for);
  Result<const std::vector<Publish>*> ReceiveOnce();
  Status SendOut();
  std::string Where() const;

  MqttOptions options_;
  std::string client_id_;
  std::string label_;
  std::unique_ptr<net::BufferedSocket> socket_;
  std::vector<Publish> received_;
  std::string out_;      // packets to send (PUBACKs)
  size_t consumed_ = 0;  // bytes of the buffer the last Receive decoded
  int64_t last_sent_us_ = 0;
  int64_t last_received_us_ = 0;
  int64_t ping_sent_us_ = 0;  // 0: no PINGREQ outstanding
  uint16_t next_packet_id_ = 1;
  int64_t reconnects_ = 0;
  bool socket_failed_ = false;
  const std::atomic<bool>* stop_ = nullptr;  // the last ReceiveOnce failed reading, not decoding
};

}  // namespace sluice::connectors::mqtt
