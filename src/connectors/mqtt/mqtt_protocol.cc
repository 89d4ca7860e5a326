// MQTT 3.1.1 packet decoding and encoding; see mqtt_protocol.h. Integers are big-endian;
// strings are a two-byte length then UTF-8 bytes.

#include "connectors/mqtt/mqtt_protocol.h"

namespace sluice::connectors::mqtt {

namespace {

uint16_t U16(const char* p) {
  return static_cast<uint16_t>((static_cast<uint8_t>(p[0]) << 8) | static_cast<uint8_t>(p[1]));
}

void PutU16(uint16_t v, std::string* out) {
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v & 0xff));
}

void PutString(std::string_view s, std::string* out) {
  PutU16(static_cast<uint16_t>(s.size()), out);
  out->append(s);
}

}  // namespace

Result<Split> SplitPacket(std::string_view bytes, Packet* packet, size_t* need) {
  *need = 0;
  if (bytes.size() < 2) return Split::kNeedMore;
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  const uint8_t type = p[0] >> 4;
  if (type == 0 || type == 15) {
    return Status::Io("malformed MQTT packet: reserved packet type {}", type);
  }
  // Remaining length: up to four bytes of 7 bits each, least significant first; the high bit
  // says another byte follows.
  uint32_t length = 0;
  size_t i = 1;
  for (;; ++i) {
    if (i > 4) {
      return Status::Io(
          "malformed MQTT packet: its remaining length runs past four bytes (spec 2.2.3)");
    }
    if (i >= bytes.size()) return Split::kNeedMore;
    length |= static_cast<uint32_t>(p[i] & 0x7f) << (7 * (i - 1));
    if ((p[i] & 0x80) == 0) break;
  }
  const size_t total = i + 1 + length;
  if (bytes.size() < total) {
    *need = total;
    return Split::kNeedMore;
  }
  packet->type = type;
  packet->flags = p[0] & 0x0f;
  packet->body = bytes.substr(i + 1, length);
  packet->size = total;
  return Split::kPacket;
}

Status ParsePublish(const Packet& packet, Publish* publish) {
  const std::string_view b = packet.body;
  publish->dup = (packet.flags & 0x08) != 0;
  publish->qos = (packet.flags >> 1) & 0x03;
  publish->retain = (packet.flags & 0x01) != 0;
  if (publish->qos == 3) return Status::Io("malformed MQTT PUBLISH: QoS 3");
  if (b.size() < 2) return Status::Io("malformed MQTT PUBLISH: no topic");
  const size_t topic_len = U16(b.data());
  size_t pos = 2 + topic_len;
  if (b.size() < pos) {
    return Status::Io("malformed MQTT PUBLISH: a topic of {} bytes in a packet of {}", topic_len,
                      b.size());
  }
  publish->topic = b.substr(2, topic_len);
  publish->packet_id = 0;
  if (publish->qos > 0) {
    if (b.size() < pos + 2) return Status::Io("malformed MQTT PUBLISH: no packet identifier");
    publish->packet_id = U16(b.data() + pos);
    if (publish->packet_id == 0) return Status::Io("malformed MQTT PUBLISH: packet identifier 0");
    pos += 2;
  }
  publish->payload = b.substr(pos);
  return Status::Ok();
}

Result<uint8_t> ParseConnack(const Packet& packet, bool* session_present) {
  if (packet.type != kConnack || packet.body.size() != 2) {
    return Status::Io("malformed MQTT CONNACK ({} bytes)", packet.body.size());
  }
  *session_present = (packet.body[0] & 0x01) != 0;
  return static_cast<uint8_t>(packet.body[1]);
}

std::string_view ConnackText(uint8_t code) {
  switch (code) {
    case 0:
      return "accepted";
    case 1:
      return "refused: the broker does not speak MQTT 3.1.1 (unacceptable protocol version)";
    case 2:
      return "refused: client identifier rejected (try another client_prefix)";
    case 3:
      return "refused: server unavailable";
    case 4:
      return "refused: bad user name or password";
    case 5:
      return "refused: not authorized (check the username and password)";
    default:
      return "refused with an unknown return code";
  }
}

Status ParseSuback(const Packet& packet, uint16_t* packet_id, uint8_t* first_code) {
  if (packet.type != kSuback || packet.body.size() < 3) {
    return Status::Io("malformed MQTT SUBACK ({} bytes)", packet.body.size());
  }
  *packet_id = U16(packet.body.data());
  *first_code = static_cast<uint8_t>(packet.body[2]);
  return Status::Ok();
}

void AppendRemainingLength(uint32_t length, std::string* out) {
  do {
    uint8_t byte = length & 0x7f;
    length >>= 7;
    if (length > 0) byte |= 0x80;
    out->push_back(static_cast<char>(byte));
  } while (length > 0);
}

void AppendConnect(const ConnectFields& f, std::string* out) {
  std::string body;
  PutString("MQTT", &body);
  body.push_back(4);  // protocol level: 3.1.1
  uint8_t flags = 0;
  if (f.clean_session) flags |= 0x02;
  if (f.has_password) flags |= 0x40;
  if (f.has_username) flags |= 0x80;
  body.push_back(static_cast<char>(flags));
  PutU16(f.keepalive_s, &body);
  PutString(f.client_id, &body);
  if (f.has_username) PutString(f.username, &body);
  if (f.has_password) PutString(f.password, &body);
  out->push_back(static_cast<char>(kConnect << 4));
  AppendRemainingLength(static_cast<uint32_t>(body.size()), out);
  out->append(body);
}

void AppendSubscribe(uint16_t packet_id, std::string_view topic_filter, uint8_t qos,
                     std::string* out) {
  out->push_back(static_cast<char>((kSubscribe << 4) | 0x02));  // flags 0010 (spec 3.8.1)
  AppendRemainingLength(static_cast<uint32_t>(2 + 2 + topic_filter.size() + 1), out);
  PutU16(packet_id, out);
  PutString(topic_filter, out);
  out->push_back(static_cast<char>(qos));
}

void AppendPuback(uint16_t packet_id, std::string* out) {
  out->push_back(static_cast<char>(kPuback << 4));
  out->push_back(2);
  PutU16(packet_id, out);
}

void AppendPingreq(std::string* out) {
  out->push_back(static_cast<char>(kPingreq << 4));
  out->push_back(0);
}

void AppendDisconnect(std::string* out) {
  out->push_back(static_cast<char>(kDisconnect << 4));
  out->push_back(0);
}

}  // namespace sluice::connectors::mqtt
