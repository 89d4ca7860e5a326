#pragma once
// Building blocks shared by the join operators: gathering the two rows of each joined pair into
// output batches, the residual condition over pairs, and rows whose keys hold a NULL (which
// match nothing).

#include <cstdint>
#include <vector>

#include "batch/batch.h"
#include "exec/join.h"

namespace sluice::exec {

// Rows of one side, column by column, with their event times.
struct GatheredRows {
  std::vector<batch::ColumnPtr> columns;
  batch::ColumnPtr event_time;
  int64_t num_rows = 0;
};

// Rows `indices` of `batch`.
GatheredRows TakeRows(const batch::Batch& batch, const std::vector<int32_t>& indices);
// `n` rows of NULLs shaped like `schema` (the missing side of an outer join's row).
GatheredRows NullRows(const types::Schema& schema, int64_t n);

// Pairs (left row, right row) that satisfy the residual: indexes into the gathered rows.
// All pairs when there is no residual.
Result<std::vector<int32_t>> SelectPairs(const JoinSpec& spec, const GatheredRows& left,
                                         const GatheredRows& right);
// Keeps `selected` of gathered rows.
GatheredRows SelectRows(const GatheredRows& rows, const std::vector<int32_t>& selected);

// The output batch of joined rows: left's columns then right's; event time the larger of
// the two; `kind` set on every row unless the output is append-only (`updating` false).
batch::BatchPtr JoinedBatch(const JoinSpec& spec, const GatheredRows& left,
                            const GatheredRows& right, bool updating, batch::ChangeKind kind);

// mask[i] = 1 when any key column of row i is NULL.
std::vector<uint8_t> NullKeyRows(const batch::Batch& batch, const std::vector<int>& keys);

// The key columns of a batch.
std::vector<batch::ColumnPtr> KeyColumns(const batch::Batch& batch, const std::vector<int>& keys);

// True when row i of `a` equals row j of `b` in every column (NULL equals NULL).
bool RowsEqual(const batch::Batch& a, int64_t i, const batch::Batch& b, int64_t j);

}  // namespace sluice::exec
