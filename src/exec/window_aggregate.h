#pragma once
// Windowed aggregation for tumbling and sliding (hop) windows, and re-aggregation of windows
// that arrive as a column. Input columns: the group keys first (columns [0, num_keys)), then
// the aggregate arguments and filters; the input edge is hash-partitioned by the keys.
//
// Tumbling windows keep one pane per open window. Sliding windows keep one pane per slide and
// build each window from its width/slide panes when it closes, so an event is stored once,
// not width/slide times. A pane's state is freed once no open window needs it.
//
// Output: window STRUCT<start, end>, the keys, one column per aggregate; one row per window and
// key, emitted when the watermark passes the window's end, with event time end - 1µs. Rows
// whose event time is behind the watermark are late: dropped and counted.

#include <memory>
#include <vector>

#include "exec/window_spec.h"
#include "runtime/operator.h"
#include "types/schema.h"

namespace sluice::exec {

class WindowAggregateFactory : public runtime::OperatorFactory {
 public:
  WindowAggregateFactory(WindowSpec window, std::vector<types::DataType> key_types,
                         std::vector<AggregateCall> aggregates, types::SchemaPtr output_schema);
  std::string name() const override;
  // When every aggregate's state can be serialized. Sliding windows resume at the same
  // parallelism only.
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
