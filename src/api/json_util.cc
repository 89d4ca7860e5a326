#include "api/json_util.h"

#include <vector>

#include <fmt/format.h>

#include "connectors/connector.h"

namespace sluice::api {

HttpResponse JsonResponse(int status, const boost::json::value& body) {
  HttpResponse r;
  r.status = status;
  r.body = boost::json::serialize(body);
  return r;
}

HttpResponse ErrorResponse(int status, const std::string& message) {
  boost::json::object o;
  o["error"] = message;
  return JsonResponse(status, o);
}

std::optional<boost::json::object> ParseBody(const std::string& body,
                                             std::initializer_list<std::string_view> allowed,
                                             HttpResponse* error, bool empty_ok) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) {
    if (empty_ok) return boost::json::object();
    *error = ErrorResponse(400, "the request needs a JSON object body");
    return std::nullopt;
  }
  boost::json::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec) {
    *error =
        ErrorResponse(400, fmt::format("the request body is not valid JSON: {}", ec.message()));
    return std::nullopt;
  }
  if (!v.is_object()) {
    *error = ErrorResponse(400, "the request body must be a JSON object");
    return std::nullopt;
  }
  std::vector<std::string> names(allowed.begin(), allowed.end());
  for (const auto& kv : v.as_object()) {
    std::string key(kv.key());
    bool known = false;
    for (auto a : allowed) known = known || a == key;
    if (!known) {
      std::string hint = connectors::ClosestMatch(key, names);
      *error = ErrorResponse(
          400, fmt::format("unknown field '{}'{}; the fields are: {}", key,
                           hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint),
                           fmt::join(names, ", ")));
      return std::nullopt;
    }
  }
  return std::move(v.as_object());
}

std::optional<std::string> GetString(const boost::json::object& o, std::string_view key,
                                     HttpResponse* error) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::nullopt;
  if (!it->value().is_string()) {
    *error = ErrorResponse(400, fmt::format("field '{}' must be a string", key));
    return std::nullopt;
  }
  return std::string(it->value().as_string());
}

std::optional<int64_t> GetInt(const boost::json::object& o, std::string_view key,
                              HttpResponse* error) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::nullopt;
  const auto& v = it->value();
  if (v.is_int64()) return v.as_int64();
  if (v.is_uint64() && v.as_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return static_cast<int64_t>(v.as_uint64());
  }
  if (v.is_double() && v.as_double() == static_cast<double>(static_cast<int64_t>(v.as_double())) &&
      std::abs(v.as_double()) < 9e15) {
    return static_cast<int64_t>(v.as_double());
  }
  *error = ErrorResponse(400, fmt::format("field '{}' must be an integer", key));
  return std::nullopt;
}

std::optional<bool> GetBool(const boost::json::object& o, std::string_view key,
                            HttpResponse* error) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::nullopt;
  if (!it->value().is_bool()) {
    *error = ErrorResponse(400, fmt::format("field '{}' must be true or false", key));
    return std::nullopt;
  }
  return it->value().as_bool();
}

}  // namespace sluice::api
