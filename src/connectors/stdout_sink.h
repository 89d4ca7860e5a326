#pragma once
// The sink that writes encoded lines to the process's standard output, shared by the `stdout`
// connector and the `preview` connector of bare SELECTs.

#include <memory>
#include <string>

#include "connectors/connector.h"

namespace sluice::connectors {

// `connector_name` names the factory ("stdout sink", "preview sink").
std::shared_ptr<const runtime::OperatorFactory> MakeStdoutSinkFactory(
    const TableSpec& spec, const std::string& connector_name);

}  // namespace sluice::connectors
