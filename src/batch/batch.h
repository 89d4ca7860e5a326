#pragma once
// A batch: a few thousand rows of a stream, column by column, plus the hidden event-time column
// every row carries.

#include <memory>
#include <string>
#include <vector>

#include "batch/column.h"
#include "types/schema.h"

namespace sluice::batch {

// What a row of an updating stream says about the result it describes (Flink's RowKind).
enum class ChangeKind : int8_t {
  kInsert = 0,
  kDelete = 1,
  kUpdateBefore = 2,  // the old row of an update; the new row follows it
  kUpdateAfter = 3,
};

struct Batch {
  types::SchemaPtr schema;
  std::vector<ColumnPtr> columns;
  ColumnPtr event_time;  // kTimestamp, never NULL, one per row
  // Updating streams only: one kInt8 ChangeKind per row; null on append-only streams.
  ColumnPtr change_kind;
  int64_t num_rows = 0;

  const ColumnPtr& column(size_t i) const { return columns[i]; }
  // Rows `selected` (ascending indices) of every column, event time included.
  std::shared_ptr<Batch> Select(const std::vector<int32_t>& selected) const;
  // Debug rendering, one row per line.
  std::string ToString() const;
};

using BatchPtr = std::shared_ptr<const Batch>;

// Concatenates batches of one schema.
BatchPtr ConcatBatches(const std::vector<BatchPtr>& batches);

}  // namespace sluice::batch
