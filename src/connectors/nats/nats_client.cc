// The nats connector's options and its cnats connection; see nats_client.h.

#include "connectors/nats/nats_client.h"

#include <nats/nats.h>

#include <charconv>
#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "common/duration.h"
#include "common/text.h"
#include "common/time.h"

namespace sluice::connectors::nats {

namespace {

const std::string* Find(const TableSpec& spec, const std::string& key) {
  auto it = spec.options.find(key);
  return it == spec.options.end() ? nullptr : &it->second;
}

Result<int64_t> ParseInt(const TableSpec& spec, const std::string& key, int64_t fallback,
                         int64_t min) {
  const std::string* v = Find(spec, key);
  if (v == nullptr) return fallback;
  std::string_view t = TrimAsciiSpace(*v);
  int64_t n = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
  if (t.empty() || ec != std::errc() || end != t.data() + t.size() || n < min) {
    return Status::User("invalid value '{}' for option '{}': use an integer >= {}", *v, key, min);
  }
  return n;
}

// Seconds, as Arroyo takes them ('30'), or a duration ('30s', '2m').
Result<int64_t> ParseSeconds(const TableSpec& spec, const std::string& key, int64_t fallback) {
  const std::string* v = Find(spec, key);
  if (v == nullptr) return fallback;
  std::string_view t = TrimAsciiSpace(*v);
  int64_t n = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
  if (!t.empty() && ec == std::errc() && end == t.data() + t.size()) {
    if (n < 1) return Status::User("invalid value '{}' for option '{}': at least 1 s", *v, key);
    return n;
  }
  SLUICE_ASSIGN_OR_RETURN(int64_t us, ParseDuration(t, fmt::format("option '{}'", key)));
  if (us < 1'000'000)
    return Status::User("invalid value '{}' for option '{}': at least 1 s", *v, key);
  return us / 1'000'000;
}

std::vector<std::string_view> SplitCommas(std::string_view s) {
  std::vector<std::string_view> parts;
  for (;;) {
    size_t comma = s.find(',');
    parts.push_back(s.substr(0, comma));
    if (comma == std::string_view::npos) return parts;
    s = s.substr(comma + 1);
  }
}

bool ParseU64(std::string_view s, uint64_t* out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return !s.empty() && ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

const std::vector<OptionSpec>& NatsOptionSpecs() {
  static const std::vector<OptionSpec> specs = {
      {"servers", true, "comma-separated NATS servers: host:port or nats://host:port", false},
      {"subject", false,
       "core NATS source: the subject to subscribe to (wildcards * and > allowed); sink: the "
       "subject to publish to",
       false},
      {"stream", false,
       "JetStream source: the stream to read (exactly-once with checkpoints); sink: publish "
       "through JetStream into this stream, each message acknowledged by the server",
       false},
      {"auth.type", false, "'none' (default) or 'credentials' (auth.username, auth.password)",
       false},
      {"auth.username", false, "user name (auth.type = 'credentials')", false},
      {"auth.password", false, "password (never shown in plans, logs or errors)", true},
      {"consumer.ack_policy", false,
       "JetStream source: 'all' (default: the last message of each completed checkpoint is "
       "acknowledged, which acknowledges those before it)",
       false},
      {"consumer.ack_wait", false,
       "JetStream source: seconds before the server redelivers an unacknowledged message "
       "(default 30; keep it above the checkpoint interval)",
       false},
      {"consumer.description", false, "JetStream source: description of the consumer", false},
      {"consumer.filter_subjects", false,
       "JetStream source: read only this subject of the stream (one; wildcards allowed)", false},
      {"consumer.replay_policy", false,
       "JetStream source: 'instant' (default) or 'original' (at the pace they were stored)", false},
      {"consumer.inactive_threshold", false,
       "JetStream source: seconds the server keeps the consumer of a stopped pipeline (default "
       "600)",
       false},
      {"consumer.max_ack_pending", false,
       "JetStream source: most unacknowledged messages (default -1, unlimited)", false},
      {"consumer.max_deliver", false,
       "JetStream source: most deliveries of a message (default -1, unlimited)", false},
      {"consumer.max_batch", false,
       "JetStream source: most messages per pull request (default 10000)", false},
      {"connect.timeout", false, "how long connecting may take (default 10s)", false},
      {"reconnect.timeout", false,
       "how long the connection may stay lost while the client reconnects before the pipeline "
       "fails (default 60s)",
       false},
      {"ack.timeout", false,
       "sink: how long the server may take to confirm the messages of a checkpoint (default 30s)",
       false},
  };
  return specs;
}

std::vector<std::string> NatsOptionKeys() {
  std::vector<std::string> keys;
  for (const OptionSpec& o : NatsOptionSpecs()) keys.push_back(o.name);
  return keys;
}

std::string NatsOptions::ServersText() const {
  std::string out;
  for (const std::string& s : servers) out += (out.empty() ? "" : ",") + s;
  return out;
}

Result<NatsOptions> ParseNatsOptions(const TableSpec& spec) {
  NatsOptions o;
  const std::string* servers = Find(spec, "servers");
  if (servers == nullptr || TrimAsciiSpace(*servers).empty()) {
    return Status::User("missing option 'servers' for connector 'nats' (e.g. 'localhost:4222')");
  }
  for (std::string_view part : SplitCommas(*servers)) {
    std::string s(TrimAsciiSpace(part));
    if (s.empty()) continue;
    auto bad = [&](std::string_view why) {
      return Status::User("invalid server '{}' in option 'servers': {}", s, why);
    };
    std::string rest = s;
    if (size_t p = s.find("://"); p != std::string::npos) {
      std::string scheme = AsciiLower(s.substr(0, p));
      if (scheme == "tls")
        return Status::NotSupported("option 'servers': TLS (tls://) is not supported yet");
      if (scheme != "nats") return bad("use host:port or nats://host:port");
      rest = s.substr(p + 3);
    }
    if (rest.find('@') != std::string::npos) {
      return bad(
          "give credentials with auth.type = 'credentials', auth.username and "
          "auth.password, not in the URL");
    }
    size_t colon = rest.rfind(':');
    std::string host = colon == std::string::npos ? rest : rest.substr(0, colon);
    uint64_t port = 4222;
    if (colon != std::string::npos &&
        (!ParseU64(rest.substr(colon + 1), &port) || port < 1 || port > 65535)) {
      return bad("the port must be a number from 1 to 65535");
    }
    if (host.empty() || host.find('/') != std::string::npos) return bad("use host:port");
    o.servers.push_back(fmt::format("nats://{}:{}", host, port));
  }
  if (o.servers.empty()) return Status::User("option 'servers' names no server");

  std::string auth = "none";
  if (const std::string* v = Find(spec, "auth.type"))
    auth = AsciiLower(std::string(TrimAsciiSpace(*v)));
  if (auth == "credentials") {
    const std::string* u = Find(spec, "auth.username");
    const std::string* p = Find(spec, "auth.password");
    if (u == nullptr || p == nullptr) {
      return Status::User(
          "auth.type = 'credentials' needs options 'auth.username' and "
          "'auth.password'");
    }
    o.username = *u;
    o.password = *p;
  } else if (auth == "none") {
    if (Find(spec, "auth.username") || Find(spec, "auth.password")) {
      return Status::User(
          "options 'auth.username' and 'auth.password' need auth.type = "
          "'credentials'");
    }
  } else {
    return Status::User("invalid value for option 'auth.type': use 'none' or 'credentials'");
  }

  if (const std::string* v = Find(spec, "subject")) o.subject = std::string(TrimAsciiSpace(*v));
  if (const std::string* v = Find(spec, "stream")) o.stream = std::string(TrimAsciiSpace(*v));
  const bool source = spec.type == TableType::kSource;
  if (source) {
    if (o.stream.empty() == o.subject.empty()) {
      return Status::User(
          "a nats source takes exactly one of 'stream' (JetStream, exactly-once) or 'subject' "
          "(core NATS, at-most-once)");
    }
  } else if (o.subject.empty()) {
    return Status::User(
        "a nats sink needs option 'subject' (and 'stream' to publish through "
        "JetStream)");
  } else if (o.subject.find('*') != std::string::npos || o.subject.find('>') != std::string::npos) {
    return Status::User("a nats sink publishes to one subject; '{}' has wildcards", o.subject);
  }
  if (!o.stream.empty() && o.stream.find_first_of(".*> \t") != std::string::npos) {
    return Status::User("invalid stream name '{}': no '.', '*', '>' or spaces", o.stream);
  }

  // Consumer options: JetStream sources only.
  bool consumer_option = false;
  for (const auto& [key, value] : spec.options) {
    if (key.rfind("consumer.", 0) == 0) consumer_option = true;
  }
  if (consumer_option && !(source && o.jetstream())) {
    return Status::User("'consumer.*' options apply to JetStream sources (option 'stream')");
  }
  if (const std::string* v = Find(spec, "consumer.ack_policy")) {
    std::string p = AsciiLower(std::string(TrimAsciiSpace(*v)));
    if (p != "all") {
      return Status::NotSupported(
          "option 'consumer.ack_policy' = '{}': the nats source acknowledges with policy 'all' "
          "only (once a checkpoint completes, its last message; 'explicit' and 'none' are not "
          "supported)",
          *v);
    }
  }
  if (const std::string* v = Find(spec, "consumer.replay_policy")) {
    std::string p = AsciiLower(std::string(TrimAsciiSpace(*v)));
    if (p != "instant" && p != "original") {
      return Status::User(
          "invalid value '{}' for option 'consumer.replay_policy': use 'instant' or 'original'",
          *v);
    }
    o.replay_original = p == "original";
  }
  if (const std::string* v = Find(spec, "consumer.description")) o.description = *v;
  if (const std::string* v = Find(spec, "consumer.filter_subjects")) {
    std::string f(TrimAsciiSpace(*v));
    if (f.find(',') != std::string::npos) {
      return Status::NotSupported(
          "option 'consumer.filter_subjects': one subject only (several filter subjects need "
          "NATS 2.10 and a newer client library)");
    }
    o.filter_subject = f;
  }
  SLUICE_ASSIGN_OR_RETURN(o.ack_wait_s, ParseSeconds(spec, "consumer.ack_wait", 30));
  SLUICE_ASSIGN_OR_RETURN(o.inactive_threshold_s,
                          ParseSeconds(spec, "consumer.inactive_threshold", 600));
  SLUICE_ASSIGN_OR_RETURN(o.max_ack_pending, ParseInt(spec, "consumer.max_ack_pending", -1, -1));
  SLUICE_ASSIGN_OR_RETURN(o.max_deliver, ParseInt(spec, "consumer.max_deliver", -1, -1));
  SLUICE_ASSIGN_OR_RETURN(o.max_batch, ParseInt(spec, "consumer.max_batch", 10000, 1));
  if (o.max_ack_pending == 0 || o.max_deliver == 0) {
    return Status::User(
        "options 'consumer.max_ack_pending' and 'consumer.max_deliver' take -1 "
        "(unlimited) or a positive number");
  }
  if (const std::string* v = Find(spec, "connect.timeout")) {
    SLUICE_ASSIGN_OR_RETURN(o.connect_timeout_us, ParseDuration(*v, "option 'connect.timeout'"));
  }
  if (const std::string* v = Find(spec, "reconnect.timeout")) {
    SLUICE_ASSIGN_OR_RETURN(o.reconnect_timeout_us,
                            ParseDuration(*v, "option 'reconnect.timeout'"));
  }
  if (const std::string* v = Find(spec, "ack.timeout")) {
    if (source) return Status::User("option 'ack.timeout' applies to sinks");
    SLUICE_ASSIGN_OR_RETURN(o.ack_timeout_us, ParseDuration(*v, "option 'ack.timeout'"));
  }
  return o;
}

std::optional<JsAckInfo> ParseJsAckSubject(std::string_view reply) {
  // Tokens after "$JS.ACK.": v1 has 7 (stream, consumer, delivered, sseq, cseq, ns, pending);
  // v2 has domain and account hash first, and may end with a random token.
  constexpr std::string_view kPrefix = "$JS.ACK.";
  if (reply.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::string_view rest = reply.substr(kPrefix.size());
  std::string_view tokens[12];
  size_t n = 0;
  while (n < 12) {
    size_t dot = rest.find('.');
    tokens[n++] = rest.substr(0, dot);
    if (dot == std::string_view::npos) break;
    rest = rest.substr(dot + 1);
  }
  size_t first;  // index of the delivered count
  if (n == 7) {
    first = 2;
  } else if (n == 9 || n == 10) {
    first = 4;
  } else {
    return std::nullopt;
  }
  JsAckInfo info;
  uint64_t ns = 0;
  if (!ParseU64(tokens[first], &info.delivered) || !ParseU64(tokens[first + 1], &info.stream_seq) ||
      !ParseU64(tokens[first + 2], &info.consumer_seq) || !ParseU64(tokens[first + 3], &ns)) {
    return std::nullopt;
  }
  info.timestamp_ns = static_cast<int64_t>(ns);
  return info;
}

std::string NatsError(int status) {
  const char* last = nats_GetLastError(nullptr);
  std::string text = natsStatus_GetText(static_cast<natsStatus>(status));
  if (last != nullptr && *last != '\0' && text.find(last) == std::string::npos &&
      std::string_view(last) != text) {
    text += fmt::format(" ({})", last);
  }
  return text;
}

Result<std::unique_ptr<NatsConnection>> NatsConnection::Connect(const NatsOptions& options,
                                                                const std::string& label) {
  std::unique_ptr<NatsConnection> c(new NatsConnection());
  c->options_ = options;
  c->label_ = label;
  natsOptions* opts = nullptr;
  if (natsOptions_Create(&opts) != NATS_OK)
    return Status::Io("{}: cannot create NATS options", label);
  std::vector<const char*> urls;
  for (const std::string& s : options.servers) urls.push_back(s.c_str());
  natsStatus s = natsOptions_SetServers(opts, urls.data(), static_cast<int>(urls.size()));
  if (s == NATS_OK && !options.username.empty()) {
    s = natsOptions_SetUserInfo(opts, options.username.c_str(), options.password.c_str());
  }
  const int64_t attempt_ms =
      std::max<int64_t>(200, std::min<int64_t>(2000, options.connect_timeout_us / 1000));
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts, attempt_ms);
  if (s == NATS_OK) s = natsOptions_SetName(opts, "sluice");
  // Reconnect without end; Health() fails the pipeline after reconnect.timeout.
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, -1);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, 250);
  if (s == NATS_OK) s = natsOptions_SetReconnectBufSize(opts, 64 * 1024 * 1024);
  if (s != NATS_OK) {
    natsOptions_Destroy(opts);
    return Status::Io("{}: NATS options refused: {}", label, NatsError(s));
  }
  const int64_t deadline = Now().value + options.connect_timeout_us;
  for (;;) {
    s = natsConnection_Connect(&c->nc_, opts);
    if (s == NATS_OK) break;
    c->nc_ = nullptr;
    // Wrong credentials do not get better with time.
    const bool retry = s == NATS_NO_SERVER || s == NATS_TIMEOUT || s == NATS_IO_ERROR;
    if (!retry || Now().value + 100'000 >= deadline) {
      natsOptions_Destroy(opts);
      return Status::Io("{}: cannot connect to the NATS server at {} (connect.timeout {} s): {}",
                        label, options.ServersText(), options.connect_timeout_us / 1000000,
                        s == NATS_NO_SERVER ? std::string("no server answers") : NatsError(s));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  natsOptions_Destroy(opts);
  return c;
}

NatsConnection::~NatsConnection() {
  if (js_ != nullptr) jsCtx_Destroy(js_);
  if (nc_ != nullptr) {
    natsConnection_Close(nc_);
    natsConnection_Destroy(nc_);
  }
}

Result<jsCtx*> NatsConnection::JetStream(int64_t wait_ms) {
  if (js_ != nullptr) return js_;
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = wait_ms;
  natsStatus s = natsConnection_JetStream(&js_, nc_, &jo);
  if (s != NATS_OK) {
    js_ = nullptr;
    return Status::Io("{}: cannot use JetStream on {}: {}", label_, options_.ServersText(),
                      NatsError(s));
  }
  return js_;
}

bool NatsConnection::connected() const {
  return natsConnection_Status(nc_) == NATS_CONN_STATUS_CONNECTED;
}

Status NatsConnection::Health() {
  natsConnStatus st = natsConnection_Status(nc_);
  if (st == NATS_CONN_STATUS_CONNECTED) {
    lost_since_us_ = 0;
    return Status::Ok();
  }
  if (st == NATS_CONN_STATUS_CLOSED) {
    return Status::Io("{}: the connection to the NATS server at {} is closed", label_,
                      options_.ServersText());
  }
  const int64_t now = Now().value;
  if (lost_since_us_ == 0) lost_since_us_ = now;
  if (now - lost_since_us_ > options_.reconnect_timeout_us) {
    return Status::Io(
        "{}: lost the connection to the NATS server at {} for more than {} s "
        "(reconnect.timeout)",
        label_, options_.ServersText(), options_.reconnect_timeout_us / 1000000);
  }
  return Status::Ok();
}

}  // namespace sluice::connectors::nats
