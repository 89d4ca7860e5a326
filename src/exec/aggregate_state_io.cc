#include "exec/aggregate_state_io.h"

#include <string>

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
  std::string bytes;  // reused: no allocation per group once it has grown
  for (int64_t i = 0; i < n; ++i) {
    bytes.clear();
    SLUICE_RETURN_NOT_OK(state.SerializeGroups(&groups[i], 1, &bytes));
    column.AppendString(bytes);
  }
  return column.Finish();
}

Status DeserializeAggregateStates(expr::AggregateState& state, const batch::Column& column,
                                  const int32_t* rows, const uint32_t* groups, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const int64_t row = rows ? rows[i] : i;
    SLUICE_RETURN_NOT_OK(state.DeserializeGroups(column.GetString(row), &groups[i], 1));
  }
  return Status::Ok();
}

}  // namespace sluice::exec
