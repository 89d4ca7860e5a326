#pragma once
// Plans and runs one SQL file in this process: the engine behind `sluice run` and the SQL
// logic tests.

#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/duration.h"
#include "common/status.h"

namespace sluice::cli {

struct RunOptions {
  int parallelism = 1;
  std::map<std::string, std::string> settings;  // --set key=value
  // Checkpoints (docs/fault-tolerance.md): the state dir (a path or file:// URL; empty: no
  // checkpoints) and its options, validated by RunSql.
  std::string state_dir;
  std::optional<std::string> checkpoint_interval;  // a duration: 500ms, 10s, 2m
  std::optional<int> checkpoints_to_keep;
  bool ignore_state = false;
};

struct RunReport {
  int64_t rows_written = 0;       // rows that reached sinks
  int64_t bad_rows_dropped = 0;   // bad_data = 'drop'
  int64_t late_rows_dropped = 0;  // behind the watermark at a windowed operator
  std::string summary;            // per-operator counters, one line each
  int64_t checkpoints_completed = 0;
  std::optional<int64_t> restored_from;  // the checkpoint the run resumed from
};

// Durations with a unit (common/duration.h).
using sluice::ParseDuration;

// Explains the plan: the bound and optimized logical plan, then the dataflow graph.
Result<std::string> Explain(std::string_view sql, const RunOptions& options);

// Runs to completion (finite sources) or until `stop` becomes true (then drains and returns).
Status RunSql(std::string_view sql, const RunOptions& options, const std::atomic<bool>* stop,
              RunReport* report);

}  // namespace sluice::cli
