#pragma once
// Plans and runs one SQL file in this process: the engine behind `sluice run` and the SQL
// logic tests (a thin front of pipeline/runner.h, which the service shares).

#include <atomic>
#include <string>
#include <string_view>

#include "common/status.h"
#include "pipeline/runner.h"

namespace sluice::cli {

using RunOptions = pipeline::RunOptions;
using RunReport = pipeline::RunReport;
using pipeline::Explain;
using sluice::ParseDuration;

// Runs to completion (finite sources) or until `stop` becomes true (then drains and returns).
Status RunSql(std::string_view sql, const RunOptions& options, const std::atomic<bool>* stop,
              RunReport* report);

}  // namespace sluice::cli
