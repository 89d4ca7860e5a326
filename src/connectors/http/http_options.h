#pragma once
// The HTTP connectors (sse, websocket, polling_http sources; webhook sink): their options, and
// the helpers they share (endpoint checks, header lists, the reconnect deadlines).

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "connectors/connector.h"
#include "runtime/operator.h"

namespace sluice::connectors::http {

// An endpoint as given, with what the connectors need of it.
struct Endpoint {
  std::string url;       // as given
  std::string scheme;    // http, https, ws, wss
  std::string host;      // without brackets
  std::string port;      // explicit or the scheme's default
  std::string target;    // path and query ("/" when empty)
  std::string redacted;  // for errors and plans: no user:password@, no query string
};

// Checks `url` against `schemes` ("http", "https" or "ws", "wss").
Result<Endpoint> ParseEndpoint(const std::string& url, const std::vector<std::string>& schemes);

// `headers`: "Name: value,Name2: value2" (Arroyo's form); a value may not contain a comma.
Result<std::vector<std::pair<std::string, std::string>>> ParseHeaders(const std::string& text);

// Options every HTTP source shares.
struct SourceOptions {
  Endpoint endpoint;
  std::vector<std::pair<std::string, std::string>> headers;  // secret: never printed
  int64_t connect_timeout_us = 10'000'000;     // no connection at start for this long: fail
  int64_t reconnect_timeout_us = 300'000'000;  // no connection after a drop for this long: fail
  int64_t backoff_max_us = 5'000'000;          // reconnect delays double up to this
};

struct SseOptions : SourceOptions {
  std::vector<std::string> events;  // event types to read; empty: all
};

struct WebsocketOptions : SourceOptions {
  std::vector<std::string> subscription_messages;
  std::string tls_ca;  // wss: CA file instead of the system's
};

struct PollingOptions : SourceOptions {
  std::string method = "GET";
  std::string body;
  int64_t poll_interval_us = 1'000'000;
  bool emit_changed_only = false;
  int64_t request_timeout_us = 30'000'000;
};

struct WebhookOptions {
  Endpoint endpoint;
  std::vector<std::pair<std::string, std::string>> headers;
  int64_t max_batch_rows = 1;
  int max_inflight = 16;
  int max_attempts = 10;
  int64_t request_timeout_us = 30'000'000;
  int64_t backoff_max_us = 10'000'000;
};

const std::vector<OptionSpec>& SseOptionSpecs();
const std::vector<OptionSpec>& WebsocketOptionSpecs();
const std::vector<OptionSpec>& PollingOptionSpecs();
const std::vector<OptionSpec>& WebhookOptionSpecs();
std::vector<std::string> Keys(const std::vector<OptionSpec>& specs);

Result<SseOptions> ParseSseOptions(const TableSpec& spec);
Result<WebsocketOptions> ParseWebsocketOptions(const TableSpec& spec);
Result<PollingOptions> ParsePollingOptions(const TableSpec& spec);
Result<WebhookOptions> ParseWebhookOptions(const TableSpec& spec);

// The operators (sse_source.cc, websocket_source.cc, polling_source.cc, webhook_sink.cc).
std::unique_ptr<runtime::SourceOperator> MakeSseSource(const TableSpec& spec,
                                                       const SseOptions& options);
std::unique_ptr<runtime::SourceOperator> MakeWebsocketSource(const TableSpec& spec,
                                                             const WebsocketOptions& options);
std::unique_ptr<runtime::SourceOperator> MakePollingSource(const TableSpec& spec,
                                                           const PollingOptions& options);
std::unique_ptr<runtime::Operator> MakeWebhookSink(const TableSpec& spec,
                                                   const WebhookOptions& options);

}  // namespace sluice::connectors::http
