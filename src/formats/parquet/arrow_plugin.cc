// Loads libsluice_arrow.so on first use (arrow_plugin.h) and forwards the Parquet entry points
// to it.

#include "formats/parquet/arrow_plugin.h"

#include <dlfcn.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <vector>

#include <fmt/format.h>

namespace sluice::formats {

namespace {

constexpr const char* kPluginFile = "libsluice_arrow.so";

std::atomic<bool> loaded{false};

std::vector<std::string> Candidates() {
  std::vector<std::string> out;
  if (const char* env = std::getenv("SLUICE_ARROW_PLUGIN"); env != nullptr && *env != '\0') {
    out.emplace_back(env);
    return out;  // an explicit choice is the only one tried
  }
  std::error_code ec;
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    out.push_back((exe.parent_path() / kPluginFile).string());
    out.push_back((exe.parent_path().parent_path() / "lib" / "sluice" / kPluginFile).string());
  }
#ifdef SLUICE_ARROW_PLUGIN_BUILD_PATH
  out.emplace_back(SLUICE_ARROW_PLUGIN_BUILD_PATH);
#endif
  return out;
}

Result<const ArrowPluginApi*> Load() {
  std::string tried;
  for (const std::string& path : Candidates()) {
    if (::access(path.c_str(), F_OK) != 0) {
      tried += fmt::format("\n  {}: no such file", path);
      continue;
    }
    // Never closed: readers, writers and Arrow's own globals live until the process exits.
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* err = ::dlerror();
      tried += fmt::format("\n  {}: {}", path, err != nullptr ? err : "dlopen failed");
      continue;
    }
    using Entry = const ArrowPluginApi* (*)();
    auto entry = reinterpret_cast<Entry>(::dlsym(handle, "sluice_arrow_plugin"));
    const ArrowPluginApi* api = entry != nullptr ? entry() : nullptr;
    if (api == nullptr || api->abi != kArrowPluginAbi) {
      tried += fmt::format("\n  {}: not a Sluice Arrow plugin of this build (ABI {}, wanted {})",
                           path, api != nullptr ? api->abi : 0, kArrowPluginAbi);
      continue;
    }
    loaded.store(true, std::memory_order_release);
    return api;
  }
  return Status::Io(
      "Parquet and compressed files need Sluice's Arrow plugin ({}), which could not be loaded; "
      "install it beside the sluice binary or set SLUICE_ARROW_PLUGIN to its path. Tried:{}",
      kPluginFile, tried);
}

}  // namespace

Result<const ArrowPluginApi*> ArrowPlugin() {
  static const Result<const ArrowPluginApi*> api = Load();
  return api;
}

bool ArrowPluginLoaded() {
  return loaded.load(std::memory_order_acquire);
}

Status CheckParquetSchema(const types::Schema& schema) {
  SLUICE_ASSIGN_OR_RETURN(const ArrowPluginApi* api, ArrowPlugin());
  return api->check_parquet_schema(schema);
}

Result<std::unique_ptr<ParquetWriter>> ParquetWriter::Make(const types::Schema& schema,
                                                           const ParquetOptions& options,
                                                           ByteSink* sink) {
  SLUICE_ASSIGN_OR_RETURN(const ArrowPluginApi* api, ArrowPlugin());
  return api->make_parquet_writer(schema, options, sink);
}

Result<std::unique_ptr<ParquetReader>> ParquetReader::Open(const std::string& name,
                                                           std::shared_ptr<const std::string> bytes,
                                                           const types::Schema& schema,
                                                           int64_t batch_rows, int64_t skip_rows) {
  SLUICE_ASSIGN_OR_RETURN(const ArrowPluginApi* api, ArrowPlugin());
  return api->open_parquet_reader(name, std::move(bytes), schema, batch_rows, skip_rows);
}

Result<std::string> DecompressFile(const std::string& name, const std::string& bytes, bool gzip) {
  SLUICE_ASSIGN_OR_RETURN(const ArrowPluginApi* api, ArrowPlugin());
  return api->decompress(name, bytes, gzip);
}

const char* ParquetCompressionName(ParquetCompression c) {
  switch (c) {
    case ParquetCompression::kZstd:
      return "zstd";
    case ParquetCompression::kSnappy:
      return "snappy";
    case ParquetCompression::kGzip:
      return "gzip";
    case ParquetCompression::kLz4:
      return "lz4";
    case ParquetCompression::kNone:
      return "none";
  }
  return "none";
}

}  // namespace sluice::formats
