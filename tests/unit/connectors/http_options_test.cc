// The HTTP connectors' option parsing: endpoints (schemes, ports, redaction of credentials and
// query strings), header lists, and each connector's checks (src/connectors/http/http_options.cc).

#include <gtest/gtest.h>

#include "connectors/http/http_options.h"

namespace sluice::connectors::http {
namespace {

TEST(HttpEndpointTest, SplitsAndRedacts) {
  auto e = ParseEndpoint("https://user:pw@api.example.com:8443/v1/events?token=abc#frag",
                         {"http", "https"});
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->scheme, "https");
  EXPECT_EQ(e->host, "api.example.com");
  EXPECT_EQ(e->port, "8443");
  EXPECT_EQ(e->target, "/v1/events?token=abc");
  EXPECT_EQ(e->redacted, "https://***@api.example.com:8443/v1/events");

  auto d = ParseEndpoint("ws://[::1]/stream", {"ws", "wss"});
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->host, "::1");
  EXPECT_EQ(d->port, "80");
  EXPECT_EQ(d->target, "/stream");
  auto w = ParseEndpoint("wss://feed.example.com", {"ws", "wss"});
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->port, "443");
  EXPECT_EQ(w->target, "/");
}

TEST(HttpEndpointTest, RefusesBadEndpoints) {
  for (const char* url : {"example.com/x", "ftp://example.com/", "http://:80/", "http://h:0/",
                          "http://h:99999/", "http://h:8x/", "http://[::1/"}) {
    auto e = ParseEndpoint(url, {"http", "https"});
    EXPECT_FALSE(e.ok()) << url;
    if (!e.ok()) {
      EXPECT_NE(e.status().message().find("option 'endpoint'"), std::string::npos);
    }
  }
}

TEST(HttpHeadersTest, ParsesArroyosForm) {
  auto h = ParseHeaders("Authorization: Bearer abc, X-Id:7,,Content-Type: application/json");
  ASSERT_TRUE(h.ok()) << h.status().message();
  ASSERT_EQ(h->size(), 3u);
  EXPECT_EQ((*h)[0], (std::pair<std::string, std::string>{"Authorization", "Bearer abc"}));
  EXPECT_EQ((*h)[1], (std::pair<std::string, std::string>{"X-Id", "7"}));
  EXPECT_EQ((*h)[2].second, "application/json");
}

TEST(HttpHeadersTest, ErrorsNeverShowValues) {
  auto h = ParseHeaders("X-Ok: 1,Authorization Bearer sekret");
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("item 2"), std::string::npos);
  EXPECT_EQ(h.status().message().find("sekret"), std::string::npos);
  EXPECT_FALSE(ParseHeaders("Bad Name: x").ok());
}

TableSpec Spec(TableType type, std::map<std::string, std::string> options) {
  TableSpec spec;
  spec.table_name = "t";
  spec.type = type;
  spec.options = std::move(options);
  return spec;
}

TEST(HttpOptionsTest, EachConnectorsChecks) {
  auto sse = ParseSseOptions(
      Spec(TableType::kSource,
           {{"endpoint", "http://h/e"}, {"events", " a, b ,"}, {"connect.timeout", "2s"}}));
  ASSERT_TRUE(sse.ok()) << sse.status().message();
  EXPECT_EQ(sse->events, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(sse->connect_timeout_us, 2'000'000);
  EXPECT_FALSE(
      ParseSseOptions(Spec(TableType::kSource, {{"endpoint", "http://h/"}, {"events", " , "}}))
          .ok());
  EXPECT_FALSE(ParseSseOptions(Spec(TableType::kSink, {{"endpoint", "http://h/"}})).ok());

  auto ws = ParseWebsocketOptions(
      Spec(TableType::kSource, {{"endpoint", "ws://h/"},
                                {"subscription_message", "first"},
                                {"subscription_messages", R"(["second", "{\"a\": 1}"])"}}));
  ASSERT_TRUE(ws.ok()) << ws.status().message();
  EXPECT_EQ(ws->subscription_messages,
            (std::vector<std::string>{"first", "second", R"({"a": 1})"}));
  EXPECT_FALSE(ParseWebsocketOptions(Spec(TableType::kSource, {{"endpoint", "ws://h/"},
                                                               {"subscription_messages", "[1]"}}))
                   .ok());
  EXPECT_FALSE(ParseWebsocketOptions(
                   Spec(TableType::kSource, {{"endpoint", "ws://h/"}, {"tls.ca", "/etc/hosts"}}))
                   .ok());  // tls.ca needs wss://

  auto poll = ParsePollingOptions(Spec(TableType::kSource, {{"endpoint", "http://h/"},
                                                            {"method", "patch"},
                                                            {"poll_interval_ms", "250"},
                                                            {"emit_behavior", "Changed"}}));
  ASSERT_TRUE(poll.ok()) << poll.status().message();
  EXPECT_EQ(poll->method, "PATCH");
  EXPECT_EQ(poll->poll_interval_us, 250'000);
  EXPECT_TRUE(poll->emit_changed_only);
  EXPECT_FALSE(ParsePollingOptions(
                   Spec(TableType::kSource, {{"endpoint", "http://h/"}, {"poll_interval_ms", "0"}}))
                   .ok());

  auto hook = ParseWebhookOptions(Spec(TableType::kSink, {{"endpoint", "http://h/"},
                                                          {"batch.max_rows", "100"},
                                                          {"max_inflight", "4"},
                                                          {"retry.max_attempts", "3"}}));
  ASSERT_TRUE(hook.ok()) << hook.status().message();
  EXPECT_EQ(hook->max_batch_rows, 100);
  EXPECT_EQ(hook->max_inflight, 4);
  EXPECT_EQ(hook->max_attempts, 3);
  EXPECT_FALSE(ParseWebhookOptions(
                   Spec(TableType::kSink, {{"endpoint", "http://h/"}, {"max_inflight", "0"}}))
                   .ok());
  EXPECT_FALSE(ParseWebhookOptions(Spec(TableType::kSink, {{"headers", "X: 1"}})).ok());
}

}  // namespace
}  // namespace sluice::connectors::http
