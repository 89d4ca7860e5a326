// The MQTT 3.1.1 packet decoder and encoders on byte strings built by hand from the OASIS
// MQTT 3.1.1 standard (fixed header 2.2, remaining length 2.2.3, CONNECT 3.1, CONNACK 3.2,
// PUBLISH 3.3, PUBACK 3.4, SUBSCRIBE 3.8, SUBACK 3.9, PINGREQ 3.12, DISCONNECT 3.14). The client
// itself is tested against a real broker: tests/connectors/mqtt_test.py.

#include <gtest/gtest.h>

#include <string>

#include "connectors/mqtt/mqtt_protocol.h"

namespace sluice::connectors::mqtt {
namespace {

using namespace std::string_literals;

// PUBLISH QoS 0 on topic "a/b" with payload "hi": 0x30, remaining length 7, topic length 3.
const std::string kPublishQos0 =
    "\x30\x07\x00\x03"
    "a/b"
    "hi"s;
// PUBLISH QoS 1 (flags 0010), retain, packet identifier 0x0102, topic "t", payload "{}".
const std::string kPublishQos1 = "\x33\x07\x00\x01t\x01\x02{}"s;

TEST(MqttSplitTest, OnePublishQos0) {
  Packet p;
  size_t need = 99;
  auto split = SplitPacket(kPublishQos0, &p, &need);
  ASSERT_TRUE(split.ok()) << split.status().message();
  ASSERT_EQ(*split, Split::kPacket);
  EXPECT_EQ(p.type, kPublish);
  EXPECT_EQ(p.flags, 0);
  EXPECT_EQ(p.size, kPublishQos0.size());
  Publish m;
  ASSERT_TRUE(ParsePublish(p, &m).ok());
  EXPECT_EQ(m.topic, "a/b");
  EXPECT_EQ(m.payload, "hi");
  EXPECT_EQ(m.qos, 0);
  EXPECT_EQ(m.packet_id, 0);
  EXPECT_FALSE(m.retain);
  // The payload views the input: no copy.
  EXPECT_EQ(m.payload.data(), kPublishQos0.data() + 7);
}

TEST(MqttSplitTest, PublishQos1HasAPacketIdentifier) {
  Packet p;
  size_t need = 0;
  ASSERT_EQ(*SplitPacket(kPublishQos1, &p, &need), Split::kPacket);
  Publish m;
  ASSERT_TRUE(ParsePublish(p, &m).ok());
  EXPECT_EQ(m.qos, 1);
  EXPECT_TRUE(m.retain);
  EXPECT_FALSE(m.dup);
  EXPECT_EQ(m.packet_id, 0x0102);
  EXPECT_EQ(m.topic, "t");
  EXPECT_EQ(m.payload, "{}");
}

TEST(MqttSplitTest, SeveralPacketsInOneBuffer) {
  const std::string pingresp = "\xd0\x00"s;
  const std::string bytes = kPublishQos0 + pingresp + kPublishQos1 + kPublishQos0;
  std::string_view rest = bytes;
  std::vector<uint8_t> types;
  for (;;) {
    Packet p;
    size_t need = 0;
    auto split = SplitPacket(rest, &p, &need);
    ASSERT_TRUE(split.ok());
    if (*split == Split::kNeedMore) break;
    types.push_back(p.type);
    rest.remove_prefix(p.size);
  }
  EXPECT_EQ(types, (std::vector<uint8_t>{kPublish, kPingresp, kPublish, kPublish}));
  EXPECT_TRUE(rest.empty());
}

TEST(MqttSplitTest, PacketSplitAcrossReadsNeedsMore) {
  // Every proper prefix is incomplete; once the remaining length is read, the whole size is
  // known (for the reader to make room).
  for (size_t n = 0; n < kPublishQos1.size(); ++n) {
    Packet p;
    size_t need = 0;
    auto split = SplitPacket(std::string_view(kPublishQos1).substr(0, n), &p, &need);
    ASSERT_TRUE(split.ok());
    EXPECT_EQ(*split, Split::kNeedMore) << n;
    EXPECT_EQ(need, n >= 2 ? kPublishQos1.size() : 0u) << n;
  }
}

TEST(MqttSplitTest, MultiByteRemainingLength) {
  // 321 = 0xC1 0x02 (the spec's example in 2.2.3): topic "x" (3 bytes) + 318 payload bytes.
  const std::string payload(318, 'p');
  const std::string bytes = "\x30\xc1\x02\x00\x01x"s + payload;
  Packet p;
  size_t need = 0;
  ASSERT_EQ(*SplitPacket(bytes.substr(0, 3), &p, &need), Split::kNeedMore);
  EXPECT_EQ(need, 3u + 321u);
  ASSERT_EQ(*SplitPacket(bytes, &p, &need), Split::kPacket);
  EXPECT_EQ(p.body.size(), 321u);
  Publish m;
  ASSERT_TRUE(ParsePublish(p, &m).ok());
  EXPECT_EQ(m.payload, payload);
}

TEST(MqttSplitTest, LargestRemainingLength) {
  // 0xFF 0xFF 0xFF 0x7F = 268 435 455, the most four bytes encode.
  Packet p;
  size_t need = 0;
  ASSERT_EQ(*SplitPacket("\x30\xff\xff\xff\x7f"s, &p, &need), Split::kNeedMore);
  EXPECT_EQ(need, 5u + kMaxRemainingLength);
}

TEST(MqttSplitTest, RemainingLengthPastFourBytesIsMalformed) {
  Packet p;
  size_t need = 0;
  auto split = SplitPacket("\x30\xff\xff\xff\xff\x01"s, &p, &need);
  ASSERT_FALSE(split.ok());
  EXPECT_NE(split.status().message().find("remaining length"), std::string::npos);
  // Known to be malformed as soon as the fifth byte would be needed.
  EXPECT_FALSE(SplitPacket("\x30\x80\x80\x80\x80"s, &p, &need).ok());
}

TEST(MqttSplitTest, ReservedPacketTypesAreMalformed) {
  Packet p;
  size_t need = 0;
  EXPECT_FALSE(SplitPacket("\x00\x00"s, &p, &need).ok());
  EXPECT_FALSE(SplitPacket("\xf0\x00"s, &p, &need).ok());
}

TEST(MqttPublishTest, MalformedPublishes) {
  // Bodies (variable header and payload) with the flags of their fixed header.
  const std::string long_topic =
      "\x00\x09"
      "abc"s;  // a topic of 9 bytes in 5
  const std::string no_topic = "\x00"s;
  const std::string topic_t = "\x00\x01t"s;
  const std::string id_zero = "\x00\x01t\x00\x00"s;
  const std::string half_id = "\x00\x01t\x00"s;
  const std::pair<uint8_t, const std::string*> bad[] = {
      {0x00, &long_topic}, {0x00, &no_topic}, {0x06, &topic_t},  // QoS 3
      {0x02, &id_zero},                                          // QoS 1, packet identifier 0
      {0x02, &half_id},                                          // QoS 1, half an identifier
  };
  for (const auto& [flags, body] : bad) {
    Packet p;
    p.type = kPublish;
    p.flags = flags;
    p.body = *body;
    Publish m;
    EXPECT_FALSE(ParsePublish(p, &m).ok()) << int{flags} << " " << body->size();
  }
  // QoS 0 with an empty payload: fine.
  Packet p;
  p.type = kPublish;
  p.body = topic_t;
  Publish m;
  ASSERT_TRUE(ParsePublish(p, &m).ok());
  EXPECT_EQ(m.topic, "t");
  EXPECT_TRUE(m.payload.empty());
}

TEST(MqttConnackTest, ReturnCodes) {
  // The packets outlive the Packet views of them.
  const std::string refused = "\x20\x02\x00\x04"s;   // return code 4
  const std::string accepted = "\x20\x02\x01\x00"s;  // session present, accepted
  const std::string short_one = "\x20\x01\x00"s;
  Packet p;
  size_t need = 0;
  ASSERT_EQ(*SplitPacket(refused, &p, &need), Split::kPacket);
  bool session = true;
  auto code = ParseConnack(p, &session);
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 4);
  EXPECT_FALSE(session);
  EXPECT_NE(ConnackText(4).find("bad user name or password"), std::string::npos);
  EXPECT_NE(ConnackText(5).find("not authorized"), std::string::npos);
  ASSERT_EQ(*SplitPacket(accepted, &p, &need), Split::kPacket);
  EXPECT_EQ(*ParseConnack(p, &session), 0);
  EXPECT_TRUE(session);
  ASSERT_EQ(*SplitPacket(short_one, &p, &need), Split::kPacket);
  EXPECT_FALSE(ParseConnack(p, &session).ok());
}

TEST(MqttSubackTest, FailureCode) {
  const std::string suback = "\x90\x03\x00\x07\x80"s;
  Packet p;
  size_t need = 0;
  ASSERT_EQ(*SplitPacket(suback, &p, &need), Split::kPacket);
  uint16_t id = 0;
  uint8_t code = 0;
  ASSERT_TRUE(ParseSuback(p, &id, &code).ok());
  EXPECT_EQ(id, 7);
  EXPECT_EQ(code, 0x80);
}

TEST(MqttEncodeTest, RemainingLengthTable) {
  // The table of spec 2.2.3.
  const std::pair<uint32_t, std::string> cases[] = {
      {0, "\x00"s},
      {127, "\x7f"s},
      {128, "\x80\x01"s},
      {16383, "\xff\x7f"s},
      {16384, "\x80\x80\x01"s},
      {2097151, "\xff\xff\x7f"s},
      {2097152, "\x80\x80\x80\x01"s},
      {268435455, "\xff\xff\xff\x7f"s},
  };
  for (const auto& [n, bytes] : cases) {
    std::string out;
    AppendRemainingLength(n, &out);
    EXPECT_EQ(out, bytes) << n;
  }
}

TEST(MqttEncodeTest, ConnectWithCredentials) {
  ConnectFields f;
  f.client_id = "c1";
  f.keepalive_s = 30;
  f.has_username = true;
  f.username = "u";
  f.has_password = true;
  f.password = "p";
  std::string out;
  AppendConnect(f, &out);
  // Protocol name "MQTT", level 4, flags user+password+clean session (0xC2), keep-alive 30,
  // then client id, user name and password as length-prefixed strings: 20 bytes.
  EXPECT_EQ(out,
            "\x10\x14\x00\x04MQTT\x04\xc2\x00\x1e\x00\x02"
            "c1\x00\x01u\x00\x01p"s);
  f.has_username = f.has_password = false;
  out.clear();
  AppendConnect(f, &out);
  EXPECT_EQ(out,
            "\x10\x0e\x00\x04MQTT\x04\x02\x00\x1e\x00\x02"
            "c1"s);
}

TEST(MqttEncodeTest, SubscribePubackPingDisconnect) {
  std::string out;
  AppendSubscribe(1, "a/#", 1, &out);
  EXPECT_EQ(out,
            "\x82\x08\x00\x01\x00\x03"
            "a/#\x01"s);
  out.clear();
  AppendPuback(0x0107, &out);
  AppendPingreq(&out);
  AppendDisconnect(&out);
  EXPECT_EQ(out, "\x40\x02\x01\x07\xc0\x00\xe0\x00"s);
}

}  // namespace
}  // namespace sluice::connectors::mqtt
