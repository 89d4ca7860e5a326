#pragma once
// Aggregation without a window: a GROUP BY whose results change as rows arrive. The output is
// an updating stream: a key's first result is an insert; a later change is an update (its old
// row, then its new row); a key whose rows are all retracted, or whose state expired, is a
// delete of its last row. Changes are folded and emitted on a flush interval and at the end of
// input, so a key that changes many times in one interval produces one update, and a key that
// changes and changes back produces none. Input columns: the keys first (columns
// [0, num_keys)), then the aggregate arguments and filters; the input edge is hash-partitioned
// by the keys.
//
// The input may itself be updating (it has a change-kind column): inserts and update-afters
// are added to their group, deletes and update-befores retracted from it, so every aggregate
// must be bound with AggregateBindInput::retracting. Each group counts its rows (added minus
// retracted, whatever the FILTER clauses); when the count returns to 0 the key is forgotten
// and emitted as a delete. A retraction that reaches a key with no rows (one forgotten by the
// TTL, or never seen) is dropped, as Flink does. A global aggregate (no keys) keeps its one
// row even when it holds no rows (count(*) = 0), once its first row arrived; over an input
// that ends without a row it emits that row at the end (SQL answers one row).
//
// State time-to-live (ttl_micros > 0, keyed aggregates only): each group remembers the largest
// event time of the rows that changed it; a watermark W forgets every group whose last change
// is before W - ttl (its row is deleted from the output). A returning key starts afresh, with
// an insert. The final watermark of a finite input (Watermark::Max) expires nothing. Expiry is
// event-time driven, hence deterministic, and costs O(log groups) per expiring group: groups
// wait in a heap ordered by change time, re-queued lazily when they changed since.

#include <memory>
#include <vector>

#include "exec/window_spec.h"
#include "runtime/operator.h"
#include "types/schema.h"

namespace sluice::exec {

class UpdatingAggregateFactory : public runtime::OperatorFactory {
 public:
  // ttl_micros <= 0 keeps every key forever.
  UpdatingAggregateFactory(std::vector<types::DataType> key_types,
                           std::vector<AggregateCall> aggregates, types::SchemaPtr output_schema,
                           int64_t flush_interval_micros, int64_t ttl_micros);
  std::string name() const override { return "updating_aggregate"; }
  // When every aggregate's state can be serialized (see expr::AggregateState::serializable).
  bool checkpointable() const override;
  std::string Describe() const override;
  Result<std::unique_ptr<runtime::Operator>> Create(int subtask, int parallelism) const override;

 private:
  std::vector<types::DataType> key_types_;
  std::vector<AggregateCall> aggregates_;
  types::SchemaPtr output_schema_;
  int64_t flush_interval_micros_;
  int64_t ttl_micros_;
};

}  // namespace sluice::exec
