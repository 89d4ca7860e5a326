#pragma once
// The web console's built assets (console/, docs/console.md), embedded in the binary at build
// time by console/embed_assets.cmake, which generates the definitions below. With
// -DSLUICE_CONSOLE=OFF the table holds one stub index.html instead.
//
// Threading: immutable data; any thread.

#include <span>
#include <string_view>

namespace sluice::api {

struct ConsoleAsset {
  std::string_view path;          // the URL path, e.g. "/index.html", "/assets/index-Dz3.js"
  std::string_view content_type;  // e.g. "text/javascript; charset=utf-8"
  std::string_view etag;          // quoted, e.g. "\"3f2a...\"" (a prefix of the SHA-256)
  std::string_view body;
  bool immutable;  // its name carries its content hash: cacheable for ever
};

// Whether the real console is embedded (false: the stub page of a -DSLUICE_CONSOLE=OFF build).
bool ConsoleEmbedded();

// Every embedded asset.
std::span<const ConsoleAsset> ConsoleAssets();

// The asset at a URL path ("/" is "/index.html"), or nullptr. The console routes with the URL
// fragment (#/pipelines/...), so any other path is simply absent.
const ConsoleAsset* FindConsoleAsset(std::string_view path);

}  // namespace sluice::api
