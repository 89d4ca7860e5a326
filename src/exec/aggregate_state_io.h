#pragma once
// Aggregate states in checkpoints: one BINARY column per aggregate, one value per group, in the
// form AggregateState::SerializeGroups writes. Shared by every operator that keeps aggregate
// states (windows, sessions, updating aggregates), so they write and read states one way.

#include <cstdint>
#include <string_view>

#include "batch/column.h"
#include "common/status.h"
#include "expr/aggregate.h"

namespace sluice::exec {

// The states of groups[0..n) as a BINARY column. `name` (the aggregate's) is for the message
// when the aggregate cannot be checkpointed.
Result<batch::ColumnPtr> SerializeAggregateStates(const expr::AggregateState& state,
                                                  const uint32_t* groups, int64_t n,
                                                  std::string_view name);

// Sets groups[i] (which exist: Resize first) to the state in row rows[i] of `column` (row i
// when `rows` is null), for i in [0, n).
Status DeserializeAggregateStates(expr::AggregateState& state, const batch::Column& column,
                                  const int32_t* rows, const uint32_t* groups, int64_t n);

}  // namespace sluice::exec
