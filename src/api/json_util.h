#pragma once
// JSON helpers of the REST API: errors, body parsing with unknown-field checks, typed reads.

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "api/http_server.h"

namespace sluice::api {

HttpResponse JsonResponse(int status, const boost::json::value& body);
HttpResponse ErrorResponse(int status, const std::string& message);

// Parses a request body that must be a JSON object whose keys are among `allowed`. On failure
// sets *error to a 400 (bad JSON, not an object, unknown field with a hint) and returns nullopt.
// An empty body counts as {} when `empty_ok`.
std::optional<boost::json::object> ParseBody(const std::string& body,
                                             std::initializer_list<std::string_view> allowed,
                                             HttpResponse* error, bool empty_ok = false);

// Field readers: nullopt when absent or null; *error set (400) when of the wrong type.
std::optional<std::string> GetString(const boost::json::object& o, std::string_view key,
                                     HttpResponse* error);
std::optional<int64_t> GetInt(const boost::json::object& o, std::string_view key,
                              HttpResponse* error);
std::optional<bool> GetBool(const boost::json::object& o, std::string_view key,
                            HttpResponse* error);

}  // namespace sluice::api
