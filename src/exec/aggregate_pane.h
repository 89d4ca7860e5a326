#pragma once
// The aggregates of one window (or one pane of sliding windows): a group table over the keys
// and one aggregate state per aggregate call, indexed by group.

#include <memory>
#include <vector>

#include "exec/group_table.h"
#include "exec/window_spec.h"

namespace sluice::exec {

class AggregatePane {
 public:
  AggregatePane(int64_t start, int64_t end, const std::vector<types::DataType>& key_types,
                const std::vector<AggregateCall>& aggregates);
  AggregatePane(AggregatePane&&) = default;
  AggregatePane& operator=(AggregatePane&&) = default;

  int64_t start() const { return start_; }
  int64_t end() const { return end_; }
  const GroupTable& groups() const { return groups_; }

  // Adds the rows `rows` (all rows when null) of `input`: keys are its first columns.
  Status Add(const batch::Batch& input, const std::vector<int32_t>* rows);
  // Folds every group of `other` into this pane.
  void MergeFrom(const AggregatePane& other);
  // Removes every group of `other` from this pane (only when invertible()): sliding windows
  // add the newest pane and subtract the oldest instead of re-merging every pane.
  void SubtractFrom(const AggregatePane& other);
  bool invertible() const;
  // Rows currently in the pane (after subtractions, groups may hold none).
  int64_t live_rows() const { return live_rows_; }
  // One row per group that holds rows: window struct, keys, aggregate values; event time
  // end - 1µs.
  Result<batch::BatchPtr> Finish(int64_t start, int64_t end, types::SchemaPtr schema) const;
  int64_t MemoryBytes() const;

  // Checkpoints. True when every aggregate's state can be serialized.
  bool serializable() const;
  // The groups holding rows as a batch: the keys (first), the rows per group, then each
  // aggregate's state per group (BYTEA). Null when no group holds rows.
  Result<batch::BatchPtr> SnapshotGroups() const;
  // Adds the groups of such a batch (or rows `rows` of it) to this pane.
  Status RestoreGroups(const batch::Batch& b, const std::vector<int32_t>& rows);

 private:
  int64_t start_, end_;
  const std::vector<AggregateCall>* aggregates_;
  GroupTable groups_;
  std::vector<std::unique_ptr<expr::AggregateState>> states_;
  std::vector<uint32_t> group_ids_;
  std::vector<int64_t> rows_;  // rows per group
  int64_t live_rows_ = 0;
};

// A window struct column of `n` rows, all [start, end).
batch::ColumnPtr MakeWindowColumn(int64_t start, int64_t end, int64_t n);

}  // namespace sluice::exec
