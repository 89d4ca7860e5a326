// The parts of the RabbitMQ stream client that need no server: AMQP 1.0 message bodies, built
// here byte by byte from the AMQP 1.0 specification (part 3, messaging; part 1, types). The
// protocol itself is tested against a real server: tests/rabbitmq/rabbitmq_test.py.

#include <gtest/gtest.h>

#include <string>

#include "connectors/rabbitmq/stream_client.h"

namespace sluice::connectors::rabbitmq {
namespace {

using namespace std::string_literals;

// A described section: 0x00, smallulong descriptor code, then the value's bytes.
std::string Section(uint8_t code, const std::string& value) {
  return "\x00\x53"s + static_cast<char>(code) + value;
}
std::string Vbin8(const std::string& b) {
  return "\xa0"s + static_cast<char>(b.size()) + b;
}

TEST(AmqpBodyTest, OneDataSectionIsViewedInPlace) {
  const std::string msg = Section(0x75, Vbin8("{\"a\":1}"));
  std::string scratch;
  auto body = AmqpBody(msg, &scratch);
  ASSERT_TRUE(body.ok()) << body.status().message();
  EXPECT_EQ(*body, "{\"a\":1}");
  EXPECT_EQ(body->data(), msg.data() + 5);  // no copy
}

TEST(AmqpBodyTest, SkipsHeaderPropertiesAndApplicationProperties) {
  // header: list8 of 1 element (durable = true); properties: list8 with message-id as str8 and
  // user-id null; application-properties: map8 {"k": uint 7}; then a vbin32 data section and
  // a footer (map8, empty).
  const std::string header = Section(0x70, "\xc0\x02\x01\x41"s);
  const std::string props = Section(0x73, "\xc0\x06\x02\xa1\x02id\x40"s);
  const std::string app = Section(0x74, "\xc1\x06\x02\xa1\x01k\x52\x07"s);
  const std::string data = Section(0x75, "\xb0\x00\x00\x00\x05hello"s);
  const std::string footer = Section(0x78, "\xc1\x01\x00"s);
  std::string scratch;
  // The body is a view into the record: the record must outlive it.
  const std::string record = header + props + app + data + footer;
  auto body = AmqpBody(record, &scratch);
  ASSERT_TRUE(body.ok()) << body.status().message();
  EXPECT_EQ(*body, "hello");
}

TEST(AmqpBodyTest, SeveralDataSectionsAreConcatenated) {
  std::string scratch;
  const std::string msg =
      Section(0x75, Vbin8("ab")) + Section(0x75, Vbin8("cd")) + Section(0x75, Vbin8("e"));
  auto body = AmqpBody(msg, &scratch);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(*body, "abcde");
}

TEST(AmqpBodyTest, AmqpValueStringOrBinary) {
  std::string scratch;
  const std::string value = Section(0x77, "\xa1\x03xyz"s);
  auto s = AmqpBody(value, &scratch);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, "xyz");
  // Descriptor given as a symbol instead of a code.
  const std::string sym = "amqp:amqp-value:*";
  const std::string by_symbol = "\x00\xa3"s + static_cast<char>(sym.size()) + sym + "\xa0\x02ok"s;
  auto b = AmqpBody(by_symbol, &scratch);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, "ok");
}

TEST(AmqpBodyTest, ARecordThatIsNoAmqpMessageIsTakenWhole) {
  std::string scratch;
  auto body = AmqpBody("plain bytes", &scratch);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(*body, "plain bytes");
}

TEST(AmqpBodyTest, MalformedMessagesAreErrors) {
  std::string scratch;
  // A data section longer than the record.
  EXPECT_FALSE(AmqpBody("\x00\x53\x75\xa0\x40short"s, &scratch).ok());
  // No data section and no amqp-value.
  EXPECT_FALSE(AmqpBody(Section(0x70, "\xc0\x02\x01\x41"s), &scratch).ok());
  // An amqp-value that is a list: no application data Sluice can decode.
  EXPECT_FALSE(AmqpBody(Section(0x77, "\x45"s), &scratch).ok());
  // A section without descriptor after a valid one.
  EXPECT_FALSE(AmqpBody(Section(0x75, Vbin8("x")) + "\x41"s, &scratch).ok());
}

TEST(ResponseCodeNameTest, NamesTheProtocolsCodes) {
  EXPECT_EQ(ResponseCodeName(0x01), "OK");
  EXPECT_EQ(ResponseCodeName(0x02), "STREAM_DOES_NOT_EXIST");
  EXPECT_EQ(ResponseCodeName(0x08), "AUTHENTICATION_FAILURE");
  EXPECT_EQ(ResponseCodeName(0x0c), "VIRTUAL_HOST_ACCESS_FAILURE");
  EXPECT_EQ(ResponseCodeName(0x99), "UNKNOWN_RESPONSE_CODE");
}

}  // namespace
}  // namespace sluice::connectors::rabbitmq
