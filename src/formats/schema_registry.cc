#include "formats/schema_registry.h"

#include <map>
#include <mutex>

#include <curl/curl.h>
#include <fmt/format.h>
#include <simdjson.h>

namespace sluice::formats {

namespace {

constexpr long kConnectTimeoutMs = 5000;
constexpr long kTimeoutMs = 30000;

size_t WriteBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  for (char c : s) {
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          *out += fmt::format("\\u{:04x}", static_cast<int>(c));
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

// Registry error bodies: {"error_code":40403,"message":"Schema 7 not found"}.
std::string ErrorMessage(const std::string& body) {
  simdjson::dom::parser parser;
  simdjson::dom::element e;
  std::string_view message;
  if (!parser.parse(body).get(e) && !e["message"].get_string().get(message)) {
    return std::string(message);
  }
  return body.substr(0, 200);
}

struct Cache {
  std::mutex mu;
  std::map<std::pair<std::string, int32_t>, RegistrySchema> schemas;
};

Cache& SchemaCache() {
  static Cache* cache = new Cache();  // never destroyed: used by sources until exit
  return *cache;
}

}  // namespace

SchemaRegistryClient::SchemaRegistryClient(std::string endpoint, std::string api_key,
                                           std::string api_secret)
    : endpoint_(std::move(endpoint)),
      api_key_(std::move(api_key)),
      api_secret_(std::move(api_secret)) {
  while (!endpoint_.empty() && endpoint_.back() == '/') endpoint_.pop_back();
}

Result<long> SchemaRegistryClient::Request(const std::string& method, const std::string& path,
                                           const std::string& payload, std::string* body) const {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::unique_ptr<CURL, void (*)(CURL*)> h(curl_easy_init(), curl_easy_cleanup);
  if (!h) return Status::Internal("schema registry: cannot create an HTTP handle");
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> headers(nullptr, curl_slist_free_all);
  auto add = [&](const char* header) {
    headers.reset(curl_slist_append(headers.release(), header));
  };
  add("Accept: application/vnd.schemaregistry.v1+json, application/json");
  if (method == "POST") add("Content-Type: application/vnd.schemaregistry.v1+json");
  const std::string url = endpoint_ + path;
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(h.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(h.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h.get(), CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h.get(), CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(h.get(), CURLOPT_CONNECTTIMEOUT_MS, kConnectTimeoutMs);
  curl_easy_setopt(h.get(), CURLOPT_TIMEOUT_MS, kTimeoutMs);
  curl_easy_setopt(h.get(), CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(h.get(), CURLOPT_WRITEDATA, body);
  if (!api_key_.empty()) {
    curl_easy_setopt(h.get(), CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(h.get(), CURLOPT_USERNAME, api_key_.c_str());
    curl_easy_setopt(h.get(), CURLOPT_PASSWORD, api_secret_.c_str());
  }
  if (method == "POST") {
    curl_easy_setopt(h.get(), CURLOPT_POST, 1L);
    curl_easy_setopt(h.get(), CURLOPT_POSTFIELDS, payload.c_str());
    curl_easy_setopt(h.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(payload.size()));
  }
  CURLcode rc = curl_easy_perform(h.get());
  if (rc != CURLE_OK) {
    return Status::Io("schema registry {}: {} {} failed: {}", endpoint_, method, path,
                      error[0] ? error : curl_easy_strerror(rc));
  }
  long code = 0;
  curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &code);
  return code;
}

Result<RegistrySchema> SchemaRegistryClient::GetSchema(int32_t id) const {
  Cache& cache = SchemaCache();
  {
    std::lock_guard<std::mutex> lock(cache.mu);
    auto it = cache.schemas.find({endpoint_, id});
    if (it != cache.schemas.end()) return it->second;
  }
  std::string body;
  SLUICE_ASSIGN_OR_RETURN(long code, Request("GET", fmt::format("/schemas/ids/{}", id), "", &body));
  if (code == 404) {
    return Status::User("schema registry {} has no schema with id {} ({})", endpoint_, id,
                        ErrorMessage(body));
  }
  if (code != 200) {
    return Status::Io("schema registry {}: GET /schemas/ids/{} answered HTTP {}: {}", endpoint_, id,
                      code, ErrorMessage(body));
  }
  simdjson::dom::parser parser;
  simdjson::dom::element e;
  std::string_view schema;
  if (parser.parse(body).get(e) || e["schema"].get_string().get(schema)) {
    return Status::Io("schema registry {}: GET /schemas/ids/{} answered no schema: {}", endpoint_,
                      id, body.substr(0, 200));
  }
  RegistrySchema out;
  out.schema = schema;
  std::string_view type;
  out.schema_type = e["schemaType"].get_string().get(type) ? "AVRO" : std::string(type);
  std::lock_guard<std::mutex> lock(cache.mu);
  cache.schemas[{endpoint_, id}] = out;
  return out;
}

Result<int32_t> SchemaRegistryClient::Register(const std::string& subject,
                                               const std::string& schema_type,
                                               const std::string& schema) const {
  std::string payload = "{\"schema\":";
  AppendJsonString(&payload, schema);
  if (schema_type != "AVRO") payload += ",\"schemaType\":\"" + schema_type + "\"";
  payload += "}";
  std::string body;
  const std::string path = fmt::format("/subjects/{}/versions", subject);
  SLUICE_ASSIGN_OR_RETURN(long code, Request("POST", path, payload, &body));
  if (code != 200) {
    return Status::User("schema registry {} refused the schema for subject '{}' (HTTP {}): {}",
                        endpoint_, subject, code, ErrorMessage(body));
  }
  simdjson::dom::parser parser;
  simdjson::dom::element e;
  int64_t id;
  if (parser.parse(body).get(e) || e["id"].get_int64().get(id)) {
    return Status::Io("schema registry {}: POST {} answered no id: {}", endpoint_, path,
                      body.substr(0, 200));
  }
  return static_cast<int32_t>(id);
}

}  // namespace sluice::formats
