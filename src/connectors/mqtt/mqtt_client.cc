// The mqtt connector's options and the sink's libmosquitto client; see mqtt_client.h.

#include "connectors/mqtt/mqtt_client.h"

#include <mosquitto.h>

#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "common/duration.h"
#include "common/text.h"
#include "common/time.h"

namespace sluice::connectors::mqtt {

namespace {

const std::string* Find(const TableSpec& spec, const std::string& key) {
  auto it = spec.options.find(key);
  return it == spec.options.end() ? nullptr : &it->second;
}

}  // namespace

// libmosquitto's C callbacks, forwarding to the client in the user data.
struct MqttCallbacks {
  static void OnConnect(mosquitto*, void* self, int rc) {
    static_cast<MqttClient*>(self)->connect_rc_ = rc;
  }
  static void OnPublish(mosquitto*, void* self, int) {
    ++static_cast<MqttClient*>(self)->acknowledged_;
  }
};

const std::vector<OptionSpec>& MqttOptionSpecs() {
  static const std::vector<OptionSpec> specs = {
      {"url", true, "tcp://host:port (1883) or mqtts://host:port (8883, TLS)", false},
      {"topic", true, "topic to subscribe to (wildcards + and # allowed) or publish to", false},
      {"qos", false, "0 (at most once) or 1 (at least once; the default)", false},
      {"username", false, "user name", false},
      {"password", false, "password (never shown in plans, logs or errors)", true},
      {"client_prefix", false, "prefix of the client ids (default 'sluice')", false},
      {"tls.ca", false, "TLS: CA certificate file that signs the broker's certificate", false},
      {"tls.cert", false, "TLS: client certificate file", false},
      {"tls.key", false, "TLS: client key file", false},
      {"retain", false, "sink: publish retained messages ('true' or 'false', default)", false},
      {"connect.timeout", false, "how long connecting may take (default 10s)", false},
  };
  return specs;
}

std::vector<std::string> MqttOptionKeys() {
  std::vector<std::string> keys;
  for (const OptionSpec& o : MqttOptionSpecs()) keys.push_back(o.name);
  return keys;
}

Result<MqttOptions> ParseMqttOptions(const TableSpec& spec) {
  MqttOptions o;
  for (const char* key : {"url", "topic"}) {
    const std::string* v = Find(spec, key);
    if (v == nullptr || TrimAsciiSpace(*v).empty()) {
      return Status::User("missing option '{}' for connector 'mqtt'", key);
    }
  }
  std::string url(TrimAsciiSpace(*Find(spec, "url")));
  auto bad_url = [&] {
    return Status::User(
        "invalid value '{}' for option 'url': use tcp://host:port or mqtts://host:port", url);
  };
  std::string rest;
  if (url.rfind("tcp://", 0) == 0 || url.rfind("mqtt://", 0) == 0) {
    rest = url.substr(url.find("://") + 3);
  } else if (url.rfind("mqtts://", 0) == 0 || url.rfind("ssl://", 0) == 0) {
    rest = url.substr(url.find("://") + 3);
    o.tls = true;
    o.port = 8883;
  } else {
    return bad_url();
  }
  if (size_t colon = rest.rfind(':'); colon != std::string::npos) {
    std::string port = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
    char* end = nullptr;
    long n = std::strtol(port.c_str(), &end, 10);
    if (port.empty() || *end != '\0' || n < 1 || n > 65535) return bad_url();
    o.port = static_cast<int>(n);
  }
  if (rest.empty() || rest.find('/') != std::string::npos) return bad_url();
  o.host = rest;
  o.topic = std::string(TrimAsciiSpace(*Find(spec, "topic")));
  if (const std::string* v = Find(spec, "qos")) {
    std::string q(TrimAsciiSpace(*v));
    if (q == "0" || q == "at_most_once") {
      o.qos = 0;
    } else if (q == "1" || q == "at_least_once") {
      o.qos = 1;
    } else {
      return Status::NotSupported(
          "option 'qos' = '{}': the mqtt connector uses QoS 0 or 1 (2, exactly once between "
          "client and broker, is not supported yet)",
          *v);
    }
  }
  if (spec.type == TableType::kSink &&
      (o.topic.find('+') != std::string::npos || o.topic.find('#') != std::string::npos)) {
    return Status::User("an mqtt sink publishes to one topic; '{}' has wildcards", o.topic);
  }
  if (const std::string* v = Find(spec, "username")) o.username = *v;
  if (const std::string* v = Find(spec, "password")) o.password = *v;
  if (const std::string* v = Find(spec, "client_prefix")) o.client_prefix = *v;
  if (const std::string* v = Find(spec, "tls.ca")) o.tls_ca = *v;
  if (const std::string* v = Find(spec, "tls.cert")) o.tls_cert = *v;
  if (const std::string* v = Find(spec, "tls.key")) o.tls_key = *v;
  if (!o.tls_ca.empty() || !o.tls_cert.empty()) o.tls = true;
  if (o.tls_cert.empty() != o.tls_key.empty()) {
    return Status::User("options 'tls.cert' and 'tls.key' go together");
  }
  if (o.tls && o.tls_ca.empty()) {
    return Status::User("TLS (mqtts://) needs option 'tls.ca': the CA certificate file");
  }
  if (const std::string* v = Find(spec, "retain")) {
    std::string b = AsciiLower(std::string(TrimAsciiSpace(*v)));
    if (spec.type != TableType::kSink) return Status::User("option 'retain' applies to sinks");
    if (b != "true" && b != "false") {
      return Status::User("invalid value '{}' for option 'retain': use 'true' or 'false'", *v);
    }
    o.retain = b == "true";
  }
  if (const std::string* v = Find(spec, "connect.timeout")) {
    SLUICE_ASSIGN_OR_RETURN(o.connect_timeout_us, ParseDuration(*v, "option 'connect.timeout'"));
  }
  return o;
}

Result<std::unique_ptr<MqttClient>> MqttClient::Connect(const MqttOptions& options,
                                                        const std::string& client_id,
                                                        const std::string& label) {
  static std::once_flag init;
  std::call_once(init, [] { mosquitto_lib_init(); });
  std::unique_ptr<MqttClient> c(new MqttClient());
  c->options_ = options;
  c->label_ = label;
  c->m_ = mosquitto_new(client_id.c_str(), true, c.get());
  if (c->m_ == nullptr) return Status::Io("{}: cannot create an MQTT client", label);
  mosquitto_connect_callback_set(c->m_, &MqttCallbacks::OnConnect);
  mosquitto_publish_callback_set(c->m_, &MqttCallbacks::OnPublish);
  const std::string where = fmt::format("{}:{}", options.host, options.port);
  if (!options.username.empty() || !options.password.empty()) {
    mosquitto_username_pw_set(c->m_, options.username.c_str(),
                              options.password.empty() ? nullptr : options.password.c_str());
  }
  if (options.tls) {
    int rc =
        mosquitto_tls_set(c->m_, options.tls_ca.c_str(), nullptr,
                          options.tls_cert.empty() ? nullptr : options.tls_cert.c_str(),
                          options.tls_key.empty() ? nullptr : options.tls_key.c_str(), nullptr);
    if (rc != MOSQ_ERR_SUCCESS) {
      return Status::User("{}: TLS files for MQTT at {} refused: {}", label, where,
                          mosquitto_strerror(rc));
    }
  }
  // Connect without blocking, then run the loop until the broker answers or the deadline.
  int rc = mosquitto_connect_async(c->m_, options.host.c_str(), options.port, 30);
  const int64_t deadline = Now().value + options.connect_timeout_us;
  auto failed = [&](const std::string& why) {
    return Status::Io("{}: cannot connect to the MQTT broker at {} (connect.timeout {} s): {}",
                      label, where, options.connect_timeout_us / 1000000, why);
  };
  if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_CONN_PENDING) {
    return failed(rc == MOSQ_ERR_ERRNO ? std::string(strerror(errno)) : mosquitto_strerror(rc));
  }
  while (c->connect_rc_ < 0) {
    rc = mosquitto_loop(c->m_, 50, 1);
    if (rc != MOSQ_ERR_SUCCESS && c->connect_rc_ < 0) {
      // Refused or unreachable: retry until the deadline (a broker may be starting).
      if (Now().value >= deadline) {
        return failed(rc == MOSQ_ERR_ERRNO ? std::string(strerror(errno)) : mosquitto_strerror(rc));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      mosquitto_reconnect_async(c->m_);
      continue;
    }
    if (c->connect_rc_ > 0) return failed(mosquitto_connack_string(c->connect_rc_));
    if (Now().value >= deadline) return failed("no answer");
  }
  return c;
}

MqttClient::~MqttClient() {
  if (m_ != nullptr) {
    mosquitto_disconnect(m_);
    mosquitto_destroy(m_);
  }
}

Status MqttClient::Loop() {
  return Handle(mosquitto_loop(m_, 0, 1));
}

Status MqttClient::Handle(int rc) {
  if (rc == MOSQ_ERR_SUCCESS) return Status::Ok();
  if (rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_NO_CONN) {
    // libmosquitto resends unacknowledged QoS 1 messages after a reconnect.
    rc = mosquitto_reconnect(m_);
    if (rc == MOSQ_ERR_SUCCESS) return Status::Ok();
  }
  return Status::Io("{}: MQTT broker at {}:{}: {}", label_, options_.host, options_.port,
                    rc == MOSQ_ERR_ERRNO ? std::string(strerror(errno)) : mosquitto_strerror(rc));
}

Status MqttClient::Publish(std::string_view payload) {
  int rc = mosquitto_publish(m_, nullptr, options_.topic.c_str(), static_cast<int>(payload.size()),
                             payload.data(), options_.qos, options_.retain);
  if (rc != MOSQ_ERR_SUCCESS) {
    return Status::Io("{}: publishing to MQTT topic '{}' failed: {}", label_, options_.topic,
                      mosquitto_strerror(rc));
  }
  ++published_;
  return Status::Ok();
}

}  // namespace sluice::connectors::mqtt
