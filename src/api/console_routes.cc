#include "api/console_routes.h"

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "api/console_assets.h"
#include "api/json_util.h"
#include "expr/aggregate.h"
#include "expr/function.h"
#include "sql/binder/declared_tables.h"

namespace sluice::api {

namespace json = boost::json;

namespace {

// Content-Security-Policy of the console: everything from this server, nothing from another
// host (CodeMirror writes its styles inline, hence 'unsafe-inline' for styles only).
constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'";

std::string_view PathOf(std::string_view target) {
  return target.substr(0, std::min(target.find('?'), target.find('#')));
}

HttpResponse ServeAsset(const HttpRequest& request, const ConsoleAsset& asset) {
  HttpResponse r;
  r.content_type = std::string(asset.content_type);
  r.headers["ETag"] = std::string(asset.etag);
  // Hashed bundles never change under their name; index.html is revalidated every time so a
  // new binary's console is picked up at once.
  r.headers["Cache-Control"] = asset.immutable ? "public, max-age=31536000, immutable" : "no-cache";
  r.headers["Content-Security-Policy"] = kContentSecurityPolicy;
  r.headers["X-Content-Type-Options"] = "nosniff";
  auto inm = request.headers.find("if-none-match");
  if (inm != request.headers.end() && inm->second == asset.etag) {
    r.status = 304;
    return r;
  }
  if (request.method != "HEAD") r.body = std::string(asset.body);
  return r;
}

HttpResponse Functions() {
  std::vector<std::pair<std::string, std::string>> all;
  // Operators (+, ->>, ~*) are registered as functions too; only named functions are listed.
  auto named = [](const std::string& n) {
    return !n.empty() && std::isalpha(static_cast<unsigned char>(n[0]));
  };
  for (const auto& name : expr::FunctionRegistry::Get().Names()) {
    if (named(name)) all.emplace_back(name, "scalar");
  }
  for (const auto& name : expr::AggregateRegistry::Get().Names()) {
    all.emplace_back(name, "aggregate");
  }
  // Planned by the SQL layer rather than registered as kernels (docs/sql.md).
  for (const char* name : {"row_number", "rank", "dense_rank", "lag", "lead"}) {
    all.emplace_back(name, "window");
  }
  for (const char* name : {"tumble", "hop", "session", "unnest"}) all.emplace_back(name, "table");
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  json::array data;
  for (const auto& [name, kind] : all) {
    data.push_back(json::object{{"name", name}, {"kind", kind}});
  }
  return JsonResponse(200, json::object{{"data", std::move(data)}});
}

HttpResponse Catalog(const HttpRequest& request) {
  HttpResponse error;
  auto body = ParseBody(request.body, {"query"}, &error);
  if (!body) return error;
  auto query = GetString(*body, "query", &error);
  if (error.status >= 400) return error;
  if (!query) return ErrorResponse(400, "missing field \"query\": the SQL text to list tables of");
  json::array tables;
  for (const auto& t : sql::DeclaredTables(*query)) {
    json::array columns;
    for (const auto& c : t.columns)
      columns.push_back(json::object{{"name", c.name}, {"type", c.type}});
    tables.push_back(json::object{{"name", t.name},
                                  {"kind", t.kind},
                                  {"connector", t.connector},
                                  {"columns", std::move(columns)}});
  }
  return JsonResponse(200, json::object{{"tables", std::move(tables)}});
}

HttpResponse MethodNotAllowed(std::string_view path, std::string_view allowed) {
  HttpResponse r =
      ErrorResponse(405, std::string(path) + " accepts " + std::string(allowed) + " only");
  r.headers["Allow"] = std::string(allowed);
  return r;
}

}  // namespace

std::optional<HttpResponse> HandleConsoleRequest(const HttpRequest& request) {
  const std::string_view path = PathOf(request.target);
  if (path == "/api/v1/functions") {
    if (request.method != "GET") return MethodNotAllowed(path, "GET");
    return Functions();
  }
  if (path == "/api/v1/catalog") {
    if (request.method != "POST") return MethodNotAllowed(path, "POST");
    return Catalog(request);
  }
  if (path.starts_with("/api/") || path == "/api") return std::nullopt;
  if (request.method != "GET" && request.method != "HEAD") return std::nullopt;
  if (const ConsoleAsset* asset = FindConsoleAsset(path)) return ServeAsset(request, *asset);
  return std::nullopt;
}

}  // namespace sluice::api
