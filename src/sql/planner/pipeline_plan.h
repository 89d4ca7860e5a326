#pragma once
// Planning a whole SQL file: every INSERT and bare SELECT becomes a sink plan; several
// inserts into one sink are merged by a union.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "sql/planner/logical_plan.h"

namespace sluice::sql {

struct PipelinePlan {
  std::vector<PlanPtr> sinks;
  std::map<std::string, std::string> settings;  // SET name = value
  // True when every source ends by itself, so the pipeline finishes.
  bool finite() const;
  std::string ToString() const;
};

// Engine settings that `SET name = value` and `--set name=value` accept.
const std::vector<std::string>& KnownSettings();

// Parses, binds and optimizes every statement. Errors name the problem, the line and column,
// the statement, and a hint where there is one.
Result<PipelinePlan> PlanSql(std::string_view sql);

// Constant folding, filter pushdown, projection merging and source column pruning.
PipelinePlan Optimize(PipelinePlan plan);

}  // namespace sluice::sql
