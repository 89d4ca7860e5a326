// The parts of the Kafka connector that need no broker (the rest: tests/kafka/*_test.py).

#include <gtest/gtest.h>

#include "connectors/kafka/kafka_client.h"

namespace sluice::connectors::kafka {
namespace {

TEST(KafkaClientConfigsTest, ParsesPairs) {
  auto c = ParseClientConfigs(" security.protocol = SASL_SSL, sasl.mechanism=PLAIN;linger.ms=5 ,");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->size(), 3u);
  EXPECT_EQ(c->at("security.protocol"), "SASL_SSL");
  EXPECT_EQ(c->at("sasl.mechanism"), "PLAIN");
  EXPECT_EQ(c->at("linger.ms"), "5");
  EXPECT_TRUE(ParseClientConfigs("")->empty());
}

TEST(KafkaClientConfigsTest, RefusesAPairWithoutValue) {
  auto c = ParseClientConfigs("linger.ms=5,acks");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().ToString().find("'acks' is not key=value"), std::string::npos);
  EXPECT_FALSE(ParseClientConfigs("=5").ok());
}

TEST(KafkaClientTest, AnInvalidSettingNamesIt) {
  auto client =
      KafkaClient::Make(ClientKind::kConsumer,
                        {{"bootstrap.servers", "127.0.0.1:1"}, {"linger.mss", "5"}}, "table 't'");
  ASSERT_FALSE(client.ok());
  EXPECT_NE(client.status().ToString().find("table 't': Kafka client setting 'linger.mss'"),
            std::string::npos)
      << client.status().ToString();
}

TEST(KafkaClientTest, UnreachableBrokersFailWithinTheTimeout) {
  auto client =
      KafkaClient::Make(ClientKind::kConsumer, {{"bootstrap.servers", "127.0.0.1:1"}}, "table 't'");
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto partitions = (*client)->Partitions("orders", 500);
  ASSERT_FALSE(partitions.ok());
  EXPECT_NE(partitions.status().ToString().find("no answer from the Kafka brokers '127.0.0.1:1'"),
            std::string::npos)
      << partitions.status().ToString();
}

}  // namespace
}  // namespace sluice::connectors::kafka
