#include "exec/aggregate_state_io.h"

#include "batch/column_builder.h"

namespace sluice::exec {

Result<batch::ColumnPtr> SerializeAggregateStates(const expr::AggregateState& state,
                                                  const uint32_t* groups, int64_t n,
                                                  std::string_view name) {
  if (!state.serializable()) {
    return Status::NotSupported("checkpointing {}() is not supported yet", name);
  }
  batch::ColumnBuilder column(types::DataType(types::TypeId::kBinary));
  column.Reserve(n);
  SLUICE_RETURN_NOT_OK(state.SerializeEachGroup(groups, n, &column));
  return column.Finish();
}

Status DeserializeAggregateStates(expr::AggregateState& state, const batch::Column& column,
                                  const int32_t* rows, const uint32_t* groups, int64_t n) {
  return state.DeserializeEachGroup(column, rows, groups, n);
}

}  // namespace sluice::exec
