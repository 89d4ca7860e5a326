// The parts of the nats connector that need no server (the rest: tests/nats/nats_test.py).

#include <gtest/gtest.h>

#include "connectors/nats/nats_client.h"

namespace sluice::connectors::nats {
namespace {

TEST(NatsAckSubjectTest, ParsesTheV1Form) {
  // $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<ns>.<pending>
  auto info = ParseJsAckSubject("$JS.ACK.EV.sluice_e_0_ab.2.417.15.1700000000123456789.9");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->delivered, 2u);
  EXPECT_EQ(info->stream_seq, 417u);
  EXPECT_EQ(info->consumer_seq, 15u);
  EXPECT_EQ(info->timestamp_ns, 1700000000123456789);
}

TEST(NatsAckSubjectTest, ParsesTheV2FormWithDomainAndAccount) {
  // $JS.ACK.<domain>.<account hash>.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ns>.<pending>
  // and an optional random token.
  auto info = ParseJsAckSubject("$JS.ACK.hub.ACCHASH.EV.c.1.88.7.1600000000000000000.0.xyz");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->stream_seq, 88u);
  EXPECT_EQ(info->consumer_seq, 7u);
  EXPECT_EQ(info->timestamp_ns, 1600000000000000000);
  EXPECT_EQ(ParseJsAckSubject("$JS.ACK.hub.ACCHASH.EV.c.1.88.7.1600000000000000000.0")->stream_seq,
            88u);
}

TEST(NatsAckSubjectTest, RefusesOtherSubjects) {
  EXPECT_FALSE(ParseJsAckSubject("_INBOX.abc").has_value());
  EXPECT_FALSE(ParseJsAckSubject("$JS.ACK.EV.c.1.2").has_value());         // too few tokens
  EXPECT_FALSE(ParseJsAckSubject("$JS.ACK.EV.c.1.x.3.4.5").has_value());   // not a number
  EXPECT_FALSE(ParseJsAckSubject("$JS.ACK.EV.c.1.-2.3.4.5").has_value());  // negative
}

TableSpec Spec(TableType type, std::map<std::string, std::string> options) {
  TableSpec spec;
  spec.table_name = "t";
  spec.connector = "nats";
  spec.type = type;
  spec.options = std::move(options);
  return spec;
}

TEST(NatsOptionsTest, ServersTakeBothForms) {
  auto o = ParseNatsOptions(
      Spec(TableType::kSource, {{"servers", "a:4223, nats://b, c"}, {"subject", "x.>"}}));
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->servers,
            (std::vector<std::string>{"nats://a:4223", "nats://b:4222", "nats://c:4222"}));
  EXPECT_FALSE(o->jetstream());
}

TEST(NatsOptionsTest, ErrorsSayWhatToDo) {
  auto error = [](TableType type, std::map<std::string, std::string> options) {
    auto o = ParseNatsOptions(Spec(type, std::move(options)));
    return o.ok() ? std::string("ok") : o.status().ToString();
  };
  EXPECT_NE(
      error(TableType::kSource, {{"servers", "u:p@h:1"}, {"subject", "x"}}).find("not in the URL"),
      std::string::npos);
  EXPECT_NE(error(TableType::kSource, {{"servers", "h:99999"}, {"subject", "x"}}).find("port"),
            std::string::npos);
  EXPECT_NE(error(TableType::kSource, {{"servers", "h"}}).find("exactly one of 'stream'"),
            std::string::npos);
  EXPECT_NE(
      error(TableType::kSource, {{"servers", "h"}, {"subject", "x"}, {"consumer.ack_wait", "10"}})
          .find("apply to JetStream sources"),
      std::string::npos);
  EXPECT_NE(error(TableType::kSource,
                  {{"servers", "h"}, {"stream", "S"}, {"consumer.filter_subjects", "a,b"}})
                .find("one subject only"),
            std::string::npos);
  EXPECT_NE(error(TableType::kSink, {{"servers", "h"}, {"stream", "S"}}).find("'subject'"),
            std::string::npos);
  EXPECT_NE(error(TableType::kSource, {{"servers", "h"}, {"stream", "a.b"}}).find("no '.'"),
            std::string::npos);
}

TEST(NatsOptionsTest, ConsumerOptionsTakeSecondsOrDurations) {
  auto o = ParseNatsOptions(Spec(TableType::kSource, {{"servers", "h"},
                                                      {"stream", "S"},
                                                      {"consumer.ack_wait", "45"},
                                                      {"consumer.inactive_threshold", "2m"},
                                                      {"consumer.max_batch", "500"}}));
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_TRUE(o->jetstream());
  EXPECT_EQ(o->ack_wait_s, 45);
  EXPECT_EQ(o->inactive_threshold_s, 120);
  EXPECT_EQ(o->max_batch, 500);
  EXPECT_EQ(o->max_ack_pending, -1);
}

}  // namespace
}  // namespace sluice::connectors::nats
