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

// The splits of a source subtask: each row's split (a Kafka partition id, >= 0), and every split
// assigned to the subtask that has not ended: each holds the watermark back until it has rows or
// goes idle (the watermark generator's idle_micros).
struct SourceSplits {
  ColumnPtr row_split;                               // kInt32, one per row of the batch
  std::shared_ptr<const std::vector<int32_t>> live;  // shared by batches while it is unchanged
};

struct Batch {
  types::SchemaPtr schema;
  std::vector<ColumnPtr> columns;
  ColumnPtr event_time;  // kTimestamp, never NULL, one per row
  // Updating streams only: one kInt8 ChangeKind per row; null on append-only streams.
  ColumnPtr change_kind;
  // Sources that keep a watermark per split (the Kafka source: one per partition) say which
  // split each row came from; the watermark generator chained after the source consumes it and
  // never passes it on, so it never crosses a channel. Null otherwise.
  std::shared_ptr<const SourceSplits> splits;
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
