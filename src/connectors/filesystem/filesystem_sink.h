#pragma once
// The filesystem sink operator (connector = 'filesystem', type = 'sink'). See README.md.

#include <memory>
#include <string>

#include "connectors/connector.h"
#include "connectors/filesystem/filesystem_options.h"
#include "connectors/filesystem/output_store.h"

namespace sluice::connectors::filesystem {

// `run`: a token unique to this run of the pipeline, in every file name it writes.
Result<std::unique_ptr<runtime::Operator>> MakeFilesystemSink(const TableSpec& spec,
                                                              const FilesystemOptions& options,
                                                              std::shared_ptr<OutputStore> store,
                                                              const std::string& run, int subtask,
                                                              int parallelism);

}  // namespace sluice::connectors::filesystem
