#pragma once
// Top-N over a whole unbounded stream: ROW_NUMBER() OVER (PARTITION BY keys ORDER BY ...)
// with an outer `rank <= N`, as an updating result (Flink's and Arroyo's updating top-N;
// Nexmark q18 and q19).
//
// For each partition key the operator keeps the N best rows seen so far, in rank order; a row
// that ties with a kept one ranks after it (arrival order, as window_top_n does). The input is
// append-only (or updating: see below) and hash-partitioned by the partition keys (spec.partition);
// spec.window_end is unused (-1). The output has the input's columns, then the rank (BIGINT), and
// is an updating stream that keeps the downstream table equal to the current top N of every key:
//   - with `emit_rank`, the table holds (row, rank): a rank whose row changed is an update
//     (old row with that rank, new row with it), a rank filled for the first time an insert;
//   - without, the table holds the rows only (the rank column of the output is the row's rank
//     when the change was made, and means nothing downstream): a row that leaves the top N is
//     a delete, one that enters it an insert, and rows that move within it emit nothing.
// Without an order (spec.order empty: LIMIT without ORDER BY) every row ties, so over an
// append-only input the first N rows to arrive stay and rows only enter: the output is then
// append-only (no change kinds).
// Changes are folded per input batch: a row that enters and leaves the top N within one batch
// emits nothing, and each touched key emits the difference between its top N before and after
// the batch.
//
// State: per key a sorted vector of up to N row references; the rows stay in copies of their
// input batches holding only the rows that entered a top N, and all kept rows are compacted into
// one batch when dead rows outnumber live ones. Snapshot writes the kept rows of every key in
// rank order; Restore keeps those whose partition key hashes to its subtask, emitting nothing.
//
// An updating input (`retracting`: an aggregate or an updating join below) has change kinds:
// inserts and update-afters are added, deletes and update-befores remove one kept row equal
// to them in every column (dropped when there is none). A removed row may have to be replaced
// by the next best, so in this mode every row of every key is kept, not just N (Flink's
// retracting rank does the same), and the changes are the differences of the first N.

#include <memory>
#include <string>

#include "exec/window_top_n.h"
#include "runtime/operator.h"

namespace sluice::exec {

class UpdatingTopNFactory : public runtime::OperatorFactory {
 public:
  // spec.function must be kRowNumber and spec.limit > 0. `retracting`: the input is updating.
  UpdatingTopNFactory(TopNSpec spec, bool emit_rank, bool retracting = false)
      : spec_(std::move(spec)), emit_rank_(emit_rank), retracting_(retracting) {}
  std::string name() const override { return "updating_top_n"; }
  std::string Describe() const override;
  Result<std::unique_ptr<runtime::Operator>> Create(int subtask, int parallelism) const override;

 private:
  TopNSpec spec_;
  bool emit_rank_;
  bool retracting_;
};

}  // namespace sluice::exec
