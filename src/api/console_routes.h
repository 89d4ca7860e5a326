#pragma once
// The web console's part of `sluice serve` (docs/console.md): its embedded assets at "/", and
// the two small catalog routes its editor uses beside Arroyo's API:
//   GET  /api/v1/functions -> {"data": [{"name", "kind"}]}  (scalar, aggregate, window, table)
//   POST /api/v1/catalog {"query"} -> {"tables": [{"name", "kind", "connector",
//                                                   "columns": [{"name", "type"}]}]}
//
// Threading: stateless; any server thread.

#include <optional>

#include "api/http_server.h"

namespace sluice::api {

// The response for a console route, or nullopt when `request` is for another route.
std::optional<HttpResponse> HandleConsoleRequest(const HttpRequest& request);

}  // namespace sluice::api
