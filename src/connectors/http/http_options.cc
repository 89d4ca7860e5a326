// The HTTP connectors' options; see http_options.h and docs/connectors.md.

#include "connectors/http/http_options.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <simdjson.h>

#include "common/duration.h"
#include "common/text.h"

namespace sluice::connectors::http {

namespace {

const std::string* Find(const TableSpec& spec, const std::string& key) {
  auto it = spec.options.find(key);
  return it == spec.options.end() ? nullptr : &it->second;
}

Status DurationOption(const TableSpec& spec, const std::string& key, int64_t* out) {
  if (const std::string* v = Find(spec, key)) {
    SLUICE_ASSIGN_OR_RETURN(*out, ParseDuration(*v, fmt::format("option '{}'", key)));
    if (*out <= 0) return Status::User("option '{}' must be positive, not '{}'", key, *v);
  }
  return Status::Ok();
}

Result<int64_t> PositiveInt(const TableSpec& spec, const std::string& key, int64_t fallback,
                            int64_t max) {
  const std::string* v = Find(spec, key);
  if (v == nullptr) return fallback;
  std::string t(TrimAsciiSpace(*v));
  char* end = nullptr;
  long long n = std::strtoll(t.c_str(), &end, 10);
  if (t.empty() || *end != '\0' || n < 1 || n > max) {
    return Status::User("invalid value '{}' for option '{}': a whole number from 1 to {}", *v, key,
                        max);
  }
  return static_cast<int64_t>(n);
}

Result<Endpoint> RequiredEndpoint(const TableSpec& spec, const std::string& connector,
                                  const std::vector<std::string>& schemes) {
  const std::string* v = Find(spec, "endpoint");
  if (v == nullptr || TrimAsciiSpace(*v).empty()) {
    return Status::User("missing option 'endpoint' for connector '{}' (e.g. '{}://host:port/path')",
                        connector, schemes[0]);
  }
  return ParseEndpoint(std::string(TrimAsciiSpace(*v)), schemes);
}

Status ParseSourceOptions(const TableSpec& spec, const std::string& connector,
                          const std::vector<std::string>& schemes, SourceOptions* o) {
  if (spec.type != TableType::kSource) {
    return Status::User("connector '{}' is a source; write to HTTP with connector 'webhook'",
                        connector);
  }
  SLUICE_ASSIGN_OR_RETURN(o->endpoint, RequiredEndpoint(spec, connector, schemes));
  if (const std::string* v = Find(spec, "headers")) {
    SLUICE_ASSIGN_OR_RETURN(o->headers, ParseHeaders(*v));
  }
  SLUICE_RETURN_NOT_OK(DurationOption(spec, "connect.timeout", &o->connect_timeout_us));
  SLUICE_RETURN_NOT_OK(DurationOption(spec, "reconnect.timeout", &o->reconnect_timeout_us));
  SLUICE_RETURN_NOT_OK(DurationOption(spec, "backoff.max", &o->backoff_max_us));
  return Status::Ok();
}

std::vector<OptionSpec> SourceSpecs(const std::string& endpoint_description) {
  return {
      {"endpoint", true, endpoint_description, false},
      {"headers", false,
       "request headers, 'Name: value,Name2: value2' (never shown in plans, logs or errors)", true},
      {"connect.timeout", false,
       "how long the first connection may take, retries included, before the pipeline fails "
       "(default 10s)",
       false},
      {"reconnect.timeout", false,
       "after a lost connection, how long reconnecting may take before the pipeline fails "
       "(default 5m)",
       false},
      {"backoff.max", false, "reconnect delays start at 100ms and double up to this (default 5s)",
       false},
  };
}

}  // namespace

Result<Endpoint> ParseEndpoint(const std::string& url, const std::vector<std::string>& schemes) {
  auto bad = [&](const std::string& why) {
    return Status::User("invalid value '{}' for option 'endpoint': {}; use {}://host[:port][/path]",
                        url, why, schemes[0]);
  };
  Endpoint e;
  e.url = url;
  size_t sep = url.find("://");
  if (sep == std::string::npos) return bad("no scheme");
  e.scheme = AsciiLower(url.substr(0, sep));
  if (std::find(schemes.begin(), schemes.end(), e.scheme) == schemes.end()) {
    return bad(fmt::format("the scheme must be {}", fmt::join(schemes, " or ")));
  }
  std::string rest = url.substr(sep + 3);
  size_t slash = rest.find_first_of("/?#");
  std::string authority = rest.substr(0, slash);
  e.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (!e.target.empty() && e.target[0] != '/') e.target = "/" + e.target;
  if (size_t hash = e.target.find('#'); hash != std::string::npos) e.target.resize(hash);
  std::string userinfo;
  if (size_t at = authority.rfind('@'); at != std::string::npos) {
    userinfo = authority.substr(0, at + 1);
    authority = authority.substr(at + 1);
  }
  std::string port;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string::npos) return bad("unclosed '[' in the host");
    e.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return bad("bad port");
      port = authority.substr(close + 2);
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string::npos) {
    e.host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  } else {
    e.host = authority;
  }
  if (e.host.empty()) return bad("no host");
  if (!port.empty()) {
    char* end = nullptr;
    long n = std::strtol(port.c_str(), &end, 10);
    if (*end != '\0' || n < 1 || n > 65535) return bad(fmt::format("bad port '{}'", port));
    e.port = port;
  } else {
    e.port = (e.scheme == "https" || e.scheme == "wss") ? "443" : "80";
  }
  std::string path = e.target.substr(0, e.target.find('?'));
  e.redacted = fmt::format("{}://{}{}{}", e.scheme, userinfo.empty() ? "" : "***@", authority,
                           path == "/" && rest.find('/') == std::string::npos ? "" : path);
  return e;
}

Result<std::vector<std::pair<std::string, std::string>>> ParseHeaders(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    std::string item(TrimAsciiSpace(std::string_view(text).substr(pos, comma - pos)));
    pos = comma + 1;
    if (item.empty()) continue;
    size_t colon = item.find(':');
    std::string name(TrimAsciiSpace(std::string_view(item).substr(0, colon)));
    bool ok = colon != std::string::npos && !name.empty();
    for (char c : name) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) ok = false;
    }
    if (!ok) {
      // The value may be a secret: name only the position.
      return Status::User(
          "invalid option 'headers': item {} is not 'Name: value' (write 'Name: value,Name2: "
          "value2'; header names are letters, digits, '-' and '_')",
          out.size() + 1);
    }
    out.emplace_back(name, std::string(TrimAsciiSpace(std::string_view(item).substr(colon + 1))));
  }
  return out;
}

std::vector<std::string> Keys(const std::vector<OptionSpec>& specs) {
  std::vector<std::string> keys;
  for (const OptionSpec& o : specs) keys.push_back(o.name);
  return keys;
}

const std::vector<OptionSpec>& SseOptionSpecs() {
  static const std::vector<OptionSpec> specs = [] {
    auto s = SourceSpecs("http:// or https:// URL of the event stream");
    s.push_back({"events", false,
                 "comma-separated event types to read (default: all; an event without 'event:' "
                 "is 'message')",
                 false});
    return s;
  }();
  return specs;
}

const std::vector<OptionSpec>& WebsocketOptionSpecs() {
  static const std::vector<OptionSpec> specs = [] {
    auto s = SourceSpecs("ws:// or wss:// (TLS) URL of the WebSocket server");
    s.push_back({"tls.ca", false,
                 "wss: CA certificate file that signs the server's certificate (default: the "
                 "system's CAs)",
                 false});
    s.push_back({"subscription_message", false,
                 "a text message sent after each connection is opened", false});
    s.push_back({"subscription_messages", false,
                 "JSON array of text messages sent in order after each connection is opened "
                 "(after subscription_message)",
                 false});
    return s;
  }();
  return specs;
}

const std::vector<OptionSpec>& PollingOptionSpecs() {
  static const std::vector<OptionSpec> specs = [] {
    auto s = SourceSpecs("http:// or https:// URL to poll");
    s.push_back({"method", false, "GET (default), POST, PUT or PATCH", false});
    s.push_back({"body", false, "request body (default: none)", false});
    s.push_back({"poll_interval_ms", false,
                 "milliseconds between the end of one successful poll and the next (default 1000)",
                 false});
    s.push_back({"emit_behavior", false,
                 "'all' (default): every response is a record; 'changed': only a response that "
                 "differs from the previous one",
                 false});
    s.push_back({"request.timeout", false, "how long one request may take (default 30s)", false});
    return s;
  }();
  return specs;
}

const std::vector<OptionSpec>& WebhookOptionSpecs() {
  static const std::vector<OptionSpec> specs = {
      {"endpoint", true, "http:// or https:// URL the rows are POSTed to", false},
      {"headers", false,
       "request headers, 'Name: value,Name2: value2' (never shown in plans, logs or errors)", true},
      {"batch.max_rows", false,
       "rows per request (default 1: the body is one record; more: a JSON array for format "
       "json, else records separated by newlines)",
       false},
      {"max_inflight", false, "most requests in flight at once (default 16)", false},
      {"retry.max_attempts", false,
       "attempts per request on connection errors, HTTP 408, 429 and 5xx, with exponential "
       "backoff (default 10); then the pipeline fails",
       false},
      {"backoff.max", false, "retry delays start at 100ms and double up to this (default 10s)",
       false},
      {"request.timeout", false, "how long one request may take (default 30s)", false},
  };
  return specs;
}

Result<SseOptions> ParseSseOptions(const TableSpec& spec) {
  SseOptions o;
  SLUICE_RETURN_NOT_OK(ParseSourceOptions(spec, "sse", {"http", "https"}, &o));
  if (const std::string* v = Find(spec, "events")) {
    size_t pos = 0;
    while (pos <= v->size()) {
      size_t comma = v->find(',', pos);
      if (comma == std::string::npos) comma = v->size();
      std::string t(TrimAsciiSpace(std::string_view(*v).substr(pos, comma - pos)));
      if (!t.empty()) o.events.push_back(t);
      pos = comma + 1;
    }
    if (o.events.empty()) {
      return Status::User("option 'events' names no event type; write e.g. 'update,delete'");
    }
  }
  return o;
}

Result<WebsocketOptions> ParseWebsocketOptions(const TableSpec& spec) {
  WebsocketOptions o;
  SLUICE_RETURN_NOT_OK(ParseSourceOptions(spec, "websocket", {"ws", "wss"}, &o));
  if (const std::string* v = Find(spec, "tls.ca")) {
    o.tls_ca = std::string(TrimAsciiSpace(*v));
    if (o.endpoint.scheme != "wss") {
      return Status::User("option 'tls.ca' applies to a wss:// endpoint only");
    }
    if (FILE* f = std::fopen(o.tls_ca.c_str(), "r")) {
      std::fclose(f);
    } else {
      return Status::User("option 'tls.ca': cannot read the CA certificate file '{}'", o.tls_ca);
    }
  }
  if (const std::string* v = Find(spec, "subscription_message")) {
    o.subscription_messages.push_back(*v);
  }
  if (const std::string* v = Find(spec, "subscription_messages")) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    auto bad = [&] {
      return Status::User(
          "invalid option 'subscription_messages': write a JSON array of strings, e.g. "
          "'[\"{{\\\"subscribe\\\": \\\"a\\\"}}\", \"ping\"]'");
    };
    if (parser.parse(*v).get(doc) != simdjson::SUCCESS) return bad();
    simdjson::dom::array arr;
    if (doc.get_array().get(arr) != simdjson::SUCCESS) return bad();
    for (simdjson::dom::element e : arr) {
      std::string_view s;
      if (e.get_string().get(s) != simdjson::SUCCESS) return bad();
      o.subscription_messages.emplace_back(s);
    }
  }
  return o;
}

Result<PollingOptions> ParsePollingOptions(const TableSpec& spec) {
  PollingOptions o;
  SLUICE_RETURN_NOT_OK(ParseSourceOptions(spec, "polling_http", {"http", "https"}, &o));
  if (const std::string* v = Find(spec, "method")) {
    o.method = AsciiLower(std::string(TrimAsciiSpace(*v)));
    for (char& c : o.method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (o.method != "GET" && o.method != "POST" && o.method != "PUT" && o.method != "PATCH") {
      return Status::User("invalid value '{}' for option 'method': GET, POST, PUT or PATCH", *v);
    }
  }
  if (const std::string* v = Find(spec, "body")) o.body = *v;
  SLUICE_ASSIGN_OR_RETURN(int64_t ms,
                          PositiveInt(spec, "poll_interval_ms", 1000, 24LL * 3600 * 1000));
  o.poll_interval_us = ms * 1000;
  if (const std::string* v = Find(spec, "emit_behavior")) {
    std::string b = AsciiLower(std::string(TrimAsciiSpace(*v)));
    if (b == "changed") {
      o.emit_changed_only = true;
    } else if (b != "all") {
      return Status::User("invalid value '{}' for option 'emit_behavior': 'all' or 'changed'", *v);
    }
  }
  SLUICE_RETURN_NOT_OK(DurationOption(spec, "request.timeout", &o.request_timeout_us));
  return o;
}

Result<WebhookOptions> ParseWebhookOptions(const TableSpec& spec) {
  WebhookOptions o;
  if (spec.type != TableType::kSink) {
    return Status::User(
        "connector 'webhook' is a sink; read HTTP with connector 'sse', 'websocket' or "
        "'polling_http'");
  }
  SLUICE_ASSIGN_OR_RETURN(o.endpoint, RequiredEndpoint(spec, "webhook", {"http", "https"}));
  if (const std::string* v = Find(spec, "headers")) {
    SLUICE_ASSIGN_OR_RETURN(o.headers, ParseHeaders(*v));
  }
  SLUICE_ASSIGN_OR_RETURN(o.max_batch_rows, PositiveInt(spec, "batch.max_rows", 1, 1000000));
  SLUICE_ASSIGN_OR_RETURN(int64_t inflight, PositiveInt(spec, "max_inflight", 16, 1024));
  o.max_inflight = static_cast<int>(inflight);
  SLUICE_ASSIGN_OR_RETURN(int64_t attempts, PositiveInt(spec, "retry.max_attempts", 10, 1000));
  o.max_attempts = static_cast<int>(attempts);
  SLUICE_RETURN_NOT_OK(DurationOption(spec, "backoff.max", &o.backoff_max_us));
  SLUICE_RETURN_NOT_OK(DurationOption(spec, "request.timeout", &o.request_timeout_us));
  return o;
}

}  // namespace sluice::connectors::http
