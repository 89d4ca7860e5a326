#pragma once
// Session windows: per key, a window grows while events arrive less than `gap` apart and closes
// when the watermark passes its last event + gap. A row that falls within the gap of two
// sessions merges them. Output as for other windows: window STRUCT<start, end> (end = last
// event + gap), keys, aggregates; event time end - 1µs. Late rows are dropped and counted.

#include <memory>
#include <vector>

#include "exec/window_spec.h"
#include "runtime/operator.h"
#include "types/schema.h"

namespace sluice::exec {

class SessionAggregateFactory : public runtime::OperatorFactory {
 public:
  SessionAggregateFactory(WindowSpec window, std::vector<types::DataType> key_types,
                          std::vector<AggregateCall> aggregates, types::SchemaPtr output_schema);
  std::string name() const override { return "session_aggregate"; }
  // When every aggregate's state can be serialized (see expr::AggregateState::serializable).
  bool checkpointable() const override;
  std::string Describe() const override;
  Result<std::unique_ptr<runtime::Operator>> Create(int subtask, int parallelism) const override;

 private:
  WindowSpec window_;
  std::vector<types::DataType> key_types_;
  std::vector<AggregateCall> aggregates_;
  types::SchemaPtr output_schema_;
};

}  // namespace sluice::exec
