#pragma once
// Apache Arrow C++ and its Parquet library are loaded on demand: the code that uses them
// (src/formats/parquet/arrow/) is built into a plugin, libsluice_arrow.so, that the binary opens
// with dlopen the first time a query reads or writes Parquet or a compressed file. A process
// that never does (`sluice serve` with no such pipeline) does not map Arrow's 40 MB of
// libraries at all. The plugin uses Sluice's own code from the executable that loads it
// (executables export their symbols); it is built with, and only works with, the same build.
//
// Where it is looked for, in order: $SLUICE_ARROW_PLUGIN (a file); beside the executable;
// ../lib/sluice/ from the executable's folder (an installed layout); the build tree the binary
// was built in.

#include <cstdint>
#include <memory>
#include <string>

#include "batch/batch.h"
#include "common/status.h"
#include "formats/parquet/parquet_options.h"
#include "formats/parquet/parquet_reader.h"
#include "formats/parquet/parquet_writer.h"
#include "types/schema.h"

namespace sluice::formats {

// What the plugin offers; the loader checks `abi` against its own.
struct ArrowPluginApi {
  uint32_t abi = 0;
  Status (*check_parquet_schema)(const types::Schema& schema) = nullptr;
  Result<std::unique_ptr<ParquetWriter>> (*make_parquet_writer)(const types::Schema& schema,
                                                                const ParquetOptions& options,
                                                                ByteSink* sink) = nullptr;
  Result<std::unique_ptr<ParquetReader>> (*open_parquet_reader)(
      const std::string& name, std::shared_ptr<const std::string> bytes,
      const types::Schema& schema, int64_t batch_rows, int64_t skip_rows) = nullptr;
  // The bytes of a gzip (`gzip`) or zstd stream, decompressed; `name` names the file in errors.
  Result<std::string> (*decompress)(const std::string& name, const std::string& bytes,
                                    bool gzip) = nullptr;
};

// Changes whenever ArrowPluginApi or a type it passes changes.
inline constexpr uint32_t kArrowPluginAbi = 1;

// The plugin's functions, loading it on the first call (thread-safe). An error says which files
// were tried and why each failed.
Result<const ArrowPluginApi*> ArrowPlugin();

// Whether this process has loaded the plugin (for tests and diagnostics).
bool ArrowPluginLoaded();

// Decompresses a gzip or zstd file's bytes (through the plugin).
Result<std::string> DecompressFile(const std::string& name, const std::string& bytes, bool gzip);

}  // namespace sluice::formats

// The plugin's one entry point.
extern "C" const sluice::formats::ArrowPluginApi* sluice_arrow_plugin();
