// Sluice's MQTT 3.1.1 subscribing client; see mqtt_subscriber.h.

#include "connectors/mqtt/mqtt_subscriber.h"

#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "common/time.h"

namespace sluice::connectors::mqtt {

namespace {

constexpr int64_t kSendTimeoutUs = 10'000'000;
constexpr int64_t kRetryPauseUs = 100'000;

int64_t NowMicros() {
  return Now().value;
}

}  // namespace

std::string MqttSubscriber::Where() const {
  return fmt::format("{}:{}", options_.host, options_.port);
}

Result<std::unique_ptr<MqttSubscriber>> MqttSubscriber::Connect(const MqttOptions& options,
                                                                std::string client_id,
                                                                std::string label,
                                                                const std::atomic<bool>* stop) {
  std::unique_ptr<MqttSubscriber> s(new MqttSubscriber());
  s->stop_ = stop;
  s->options_ = options;
  s->client_id_ = std::move(client_id);
  s->label_ = std::move(label);
  SLUICE_RETURN_NOT_OK(s->ConnectWithRetries());
  return s;
}

MqttSubscriber::~MqttSubscriber() {
  if (socket_ == nullptr) return;
  std::string bye;
  AppendDisconnect(&bye);
  (void)socket_->Send(bye, NowMicros() + 1'000'000);
}

Status MqttSubscriber::ConnectWithRetries() {
  const int64_t deadline = NowMicros() + options_.connect_timeout_us;
  for (;;) {
    bool permanent = false;
    Status st = ConnectOnce(deadline, &permanent);
    if (st.ok()) return st;
    socket_.reset();
    // A broker that refuses or does not listen yet may be starting: try again until the
    // deadline. Refused credentials, a certificate that does not verify: not.
    if (permanent || st.kind() == ErrorKind::kUser || NowMicros() + kRetryPauseUs >= deadline) {
      return Status(
          st.kind() == ErrorKind::kUser ? ErrorKind::kUser : ErrorKind::kIo,
          fmt::format("{}: cannot connect to the MQTT broker at {} (connect.timeout {} "
                      "s): {}",
                      label_, Where(), options_.connect_timeout_us / 1000000, st.message()));
    }
    if (stop_ != nullptr && stop_->load()) {
      return Status::Cancelled(
          fmt::format("{}: stopped while connecting to the MQTT broker at {}", label_, Where()));
    }
    std::this_thread::sleep_for(std::chrono::microseconds(kRetryPauseUs));
  }
}

Status MqttSubscriber::ConnectOnce(int64_t deadline_us, bool* permanent) {
  net::SocketOptions so;
  so.host = options_.host;
  so.port = options_.port;
  so.tls = options_.tls;
  so.tls_ca = options_.tls_ca;
  so.tls_cert = options_.tls_cert;
  so.tls_key = options_.tls_key;
  SLUICE_ASSIGN_OR_RETURN(
      socket_,
      net::BufferedSocket::Connect(so, deadline_us, fmt::format("the MQTT broker at {}", Where())));
  consumed_ = 0;
  received_.clear();
  out_.clear();
  ConnectFields f;
  f.client_id = client_id_;
  f.clean_session = true;
  f.keepalive_s = kKeepAliveSeconds;
  // MQTT 3.1.1 allows a password only with a user name (spec 3.1.2.9).
  f.has_username = !options_.username.empty() || !options_.password.empty();
  f.username = options_.username;
  f.has_password = !options_.password.empty();
  f.password = options_.password;
  std::string packet;
  AppendConnect(f, &packet);
  SLUICE_RETURN_NOT_OK(socket_->Send(packet, deadline_us));
  SLUICE_ASSIGN_OR_RETURN(Packet connack, NextPacket(deadline_us, "CONNACK"));
  if (connack.type != kConnack) {
    return Status::Io("the broker answered CONNECT with packet type {}, not CONNACK", connack.type);
  }
  bool session_present = false;
  SLUICE_ASSIGN_OR_RETURN(uint8_t code, ParseConnack(connack, &session_present));
  if (code != 0) {
    *permanent = code != 3;  // 3: server unavailable, for now
    return Status::Io("{}", ConnackText(code));
  }
  const uint16_t id = next_packet_id_++;
  if (next_packet_id_ == 0) next_packet_id_ = 1;
  packet.clear();
  AppendSubscribe(id, options_.topic, static_cast<uint8_t>(options_.qos), &packet);
  SLUICE_RETURN_NOT_OK(socket_->Send(packet, deadline_us));
  for (;;) {
    SLUICE_ASSIGN_OR_RETURN(Packet p, NextPacket(deadline_us, "SUBACK"));
    if (p.type != kSuback) continue;  // nothing else is due before it on a clean session
    uint16_t acked = 0;
    uint8_t granted = 0;
    SLUICE_RETURN_NOT_OK(ParseSuback(p, &acked, &granted));
    if (acked != id) continue;
    if (granted == 0x80) {
      *permanent = true;
      return Status::Io(
          "the broker refused the subscription to topic '{}' (not authorized, or not a valid "
          "topic filter)",
          options_.topic);
    }
    break;
  }
  last_sent_us_ = last_received_us_ = NowMicros();
  ping_sent_us_ = 0;
  return Status::Ok();
}

Result<Packet> MqttSubscriber::NextPacket(int64_t deadline_us, const char* waiting_for) {
  for (;;) {
    Packet p;
    size_t need = 0;
    SLUICE_ASSIGN_OR_RETURN(Split split, SplitPacket(socket_->buffered(), &p, &need));
    if (split == Split::kPacket) {
      socket_->Consume(p.size);  // the bytes stay in place until the next Read
      return p;
    }
    const int64_t wait = deadline_us - NowMicros();
    if (wait <= 0 || !socket_->WaitReadable(wait)) {
      return Status::Io("no {} from the broker in time", waiting_for);
    }
    SLUICE_RETURN_NOT_OK(socket_->Read(need).status());
  }
}

Status MqttSubscriber::Reconnect(const Status& why) {
  ++reconnects_;
  socket_.reset();
  Status st = ConnectWithRetries();
  if (st.kind() == ErrorKind::kCancelled) return st;
  if (!st.ok()) {
    return Status::Io(
        "{}: lost the connection to the MQTT broker at {} ({}), and reconnecting "
        "failed: {}",
        label_, Where(), why.message(), st.message());
  }
  return Status::Ok();
}

Result<const std::vector<Publish>*> MqttSubscriber::Receive() {
  socket_failed_ = false;
  auto got = ReceiveOnce();
  if (got.ok() || !socket_failed_) return got;
  SLUICE_RETURN_NOT_OK(Reconnect(got.status()));
  return ReceiveOnce();
}

Result<const std::vector<Publish>*> MqttSubscriber::ReceiveOnce() {
  socket_->Consume(consumed_);  // the messages the caller had are done with
  consumed_ = 0;
  received_.clear();
  // The size of a packet that is not whole yet, so the read makes room for all of it.
  Packet p;
  size_t need = 0;
  SLUICE_ASSIGN_OR_RETURN(Split first, SplitPacket(socket_->buffered(), &p, &need));
  (void)first;
  auto n = socket_->Read(need);
  if (n.ok() && *n > 0) last_received_us_ = NowMicros();
  const std::string_view bytes = socket_->buffered();
  size_t pos = 0;
  for (;;) {
    auto split = SplitPacket(bytes.substr(pos), &p, &need);
    if (!split.ok()) {
      // The stream cannot be resynchronized after a bad packet: fail rather than guess.
      return Status::Io("{}: the MQTT broker at {} sent a malformed packet: {}", label_, Where(),
                        split.status().message());
    }
    if (*split == Split::kNeedMore) break;
    pos += p.size;
    switch (p.type) {
      case kPublish: {
        Publish m;
        Status st = ParsePublish(p, &m);
        if (!st.ok()) {
          return Status::Io("{}: the MQTT broker at {} sent a malformed packet: {}", label_,
                            Where(), st.message());
        }
        if (m.qos == 1) AppendPuback(m.packet_id, &out_);
        received_.push_back(m);
        break;
      }
      case kPingresp:
        ping_sent_us_ = 0;
        break;
      default:
        break;  // SUBACK of an earlier session, PUBACK: nothing to do (no QoS 2 subscription)
    }
  }
  consumed_ = pos;
  // What arrived before the connection ended is taken first; the next Receive reports it.
  if (!n.ok() && received_.empty()) {
    socket_failed_ = true;
    return n.status();
  }
  return &received_;
}

Status MqttSubscriber::SendOut() {
  if (out_.empty()) return Status::Ok();
  Status st = socket_->Send(out_, NowMicros() + kSendTimeoutUs);
  out_.clear();
  last_sent_us_ = NowMicros();
  // A connection that broke loses these acknowledgements; the broker forgets the messages with
  // the clean session anyway.
  if (!st.ok()) return Reconnect(st);
  return Status::Ok();
}

Status MqttSubscriber::Acknowledge() {
  return SendOut();
}

Status MqttSubscriber::KeepAlive() {
  const int64_t now = NowMicros();
  const int64_t keepalive_us = int64_t{kKeepAliveSeconds} * 1'000'000;
  if (ping_sent_us_ != 0 && now - ping_sent_us_ > keepalive_us) {
    // Lost: a PINGREQ unanswered for a keep-alive with nothing at all received since it.
    if (last_received_us_ < ping_sent_us_) {
      return Reconnect(Status::Io("no answer to PINGREQ for {} s", kKeepAliveSeconds));
    }
    ping_sent_us_ = 0;  // the broker is alive; its PINGRESP went missing: ping again
  }
  if (ping_sent_us_ == 0 && now - last_sent_us_ >= keepalive_us * 3 / 4) {
    AppendPingreq(&out_);
    ping_sent_us_ = now;
  }
  return SendOut();
}

}  // namespace sluice::connectors::mqtt
