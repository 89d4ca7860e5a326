#pragma once
// The filesystem source operator (connector = 'filesystem', type = 'source'). See README.md.

#include <memory>

#include "connectors/connector.h"
#include "connectors/filesystem/filesystem_options.h"

namespace sluice::connectors::filesystem {

Result<std::unique_ptr<runtime::SourceOperator>> MakeFilesystemSource(
    const TableSpec& spec, const FilesystemOptions& options, int subtask, int parallelism);

}  // namespace sluice::connectors::filesystem
