#pragma once
// Aggregation without a window: a GROUP BY whose results change as rows arrive. The output is
// an updating stream: a key's first result is an insert; a later change is an update (its old
// row, then its new row). Changes are folded and emitted on a flush interval and at the end of
// input, so a key that changes many times in one interval produces one update. Input columns:
// the keys first (columns [0, num_keys)), then the aggregate arguments and filters; the input
// edge is hash-partitioned by the keys. Append-only input only (retractions arrive with
// updating inputs).

#include <memory>
#include <vector>

#include "exec/window_spec.h"
#include "runtime/operator.h"
#include "types/schema.h"

namespace sluice::exec {

class UpdatingAggregateFactory : public runtime::OperatorFactory {
 public:
  UpdatingAggregateFactory(std::vector<types::DataType> key_types,
                           std::vector<AggregateCall> aggregates, types::SchemaPtr output_schema,
                           int64_t flush_interval_micros);
  std::string name() const override { return "updating_aggregate"; }
  std::string Describe() const override;
  Result<std::unique_ptr<runtime::Operator>> Create(int subtask, int parallelism) const override;

 private:
  std::vector<types::DataType> key_types_;
  std::vector<AggregateCall> aggregates_;
  types::SchemaPtr output_schema_;
  int64_t flush_interval_micros_;
};

}  // namespace sluice::exec
