#pragma once
// MQTT 3.1.1 packets (OASIS standard, 29 October 2014), as far as a subscribing client needs
// them: decoding what a broker sends (CONNACK, SUBACK, PUBLISH, PINGRESP and the rest by their
// fixed header) straight from a receive buffer, and encoding CONNECT, SUBSCRIBE, PUBACK,
// PINGREQ and DISCONNECT. No state, no I/O: mqtt_subscriber.cc drives them over a socket.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace sluice::connectors::mqtt {

// Control packet types (spec 2.2.1).
enum PacketType : uint8_t {
  kConnect = 1,
  kConnack = 2,
  kPublish = 3,
  kPuback = 4,
  kPubrec = 5,
  kPubrel = 6,
  kPubcomp = 7,
  kSubscribe = 8,
  kSuback = 9,
  kUnsubscribe = 10,
  kUnsuback = 11,
  kPingreq = 12,
  kPingresp = 13,
  kDisconnect = 14,
};

// The largest remaining length four bytes can encode (spec 2.2.3).
inline constexpr uint32_t kMaxRemainingLength = 268'435'455;

// One whole packet at the front of a buffer.
struct Packet {
  uint8_t type = 0;       // PacketType
  uint8_t flags = 0;      // the fixed header's low four bits
  std::string_view body;  // variable header and payload (remaining length bytes)
  size_t size = 0;        // fixed header + body: the bytes to consume
};

enum class Split {
  kPacket,    // *packet is the first packet of the bytes
  kNeedMore,  // the first packet is not whole yet; *need is its size when known, else 0
};

// Splits the first packet off `bytes` without copying. A remaining length longer than four
// bytes, or a packet type 0 or 15, is malformed (an error naming what).
Result<Split> SplitPacket(std::string_view bytes, Packet* packet, size_t* need);

struct Publish {
  std::string_view topic;
  std::string_view payload;  // views the packet's bytes
  uint16_t packet_id = 0;    // QoS 1 and 2 only
  uint8_t qos = 0;
  bool retain = false;
  bool dup = false;
};

// Reads a PUBLISH packet's fields (spec 3.3): a topic length past the packet's end, QoS 3 or
// packet identifier 0 with QoS > 0 is malformed.
Status ParsePublish(const Packet& packet, Publish* publish);

// CONNACK's return code (spec 3.2.2.3), 0 when accepted; malformed: not two bytes.
Result<uint8_t> ParseConnack(const Packet& packet, bool* session_present);
// What a refusing CONNACK code means, for errors ("bad user name or password").
std::string_view ConnackText(uint8_t code);

// SUBACK (spec 3.9): its packet identifier and the first return code (0, 1, 2 granted QoS;
// 0x80 failure).
Status ParseSuback(const Packet& packet, uint16_t* packet_id, uint8_t* first_code);

struct ConnectFields {
  std::string_view client_id;
  bool clean_session = true;
  uint16_t keepalive_s = 30;
  bool has_username = false;
  std::string_view username;
  bool has_password = false;
  std::string_view password;
};

// Encoders append one packet to `out`.
void AppendConnect(const ConnectFields& fields, std::string* out);
void AppendSubscribe(uint16_t packet_id, std::string_view topic_filter, uint8_t qos,
                     std::string* out);
void AppendPuback(uint16_t packet_id, std::string* out);
void AppendPingreq(std::string* out);
void AppendDisconnect(std::string* out);
// The remaining length's variable-length encoding (spec 2.2.3).
void AppendRemainingLength(uint32_t length, std::string* out);

}  // namespace sluice::connectors::mqtt
