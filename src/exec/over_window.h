#pragma once
// Window functions over the rows of a stream (Flink's OVER aggregation): LAG, LEAD,
// FIRST_VALUE, LAST_VALUE and count/sum/avg/min/max OVER (PARTITION BY keys ORDER BY event time
// ROWS|RANGE BETWEEN ... AND ...).
//
// Rows are buffered until the watermark passes them (event time < watermark: no row of that
// time can still arrive), then processed per partition in event-time order, ties in arrival
// order, and emitted once each, append-only, with one new column per call. A row whose values
// need following rows (LEAD, `ROWS ... N FOLLOWING`) waits until they are processed, or until
// the input ends; the output watermark is held back to the earliest such row, so downstream
// windows do not see it late.
//
// State per partition: the processed rows the frames still need (the last N rows of ROWS N
// PRECEDING and LAG N, the rows within a RANGE interval, and the rows waiting for LEAD), plus
// the rows already dropped folded into one accumulator per call with an UNBOUNDED PRECEDING
// frame (count, sum, extreme value, first value). The buffered rows, the kept rows and the
// accumulators are checkpointed; a restore at another parallelism keeps each subtask's keys.
// The input is hash-partitioned by the partition keys (one subtask without keys).
//
// At a watermark, the kept rows of the partitions with new rows and those rows are sorted into
// one batch by partition and time, and every call is computed over it in one pass (prefix
// sums, a monotone deque for min/max, gathers for the value functions): the work follows the
// new rows and their partitions' kept rows, with a few allocations per column, not per
// partition. Called from its task's thread only.

#include <memory>
#include <string>
#include <vector>

#include "runtime/operator.h"
#include "types/schema.h"

namespace sluice::exec {

enum class OverFunction {
  kLag,
  kLead,
  kFirstValue,
  kLastValue,
  kCountStar,
  kCount,
  kSum,
  kAvg,
  kMin,
  kMax
};
const char* OverFunctionName(OverFunction f);

// The frame of one call, relative to the current row.
struct OverFrame {
  bool rows = false;             // ROWS (offsets count rows), else RANGE (offsets in µs)
  bool unbounded_start = false;  // UNBOUNDED PRECEDING
  int64_t start = 0;             // ROWS: -N PRECEDING, 0 CURRENT ROW, +N FOLLOWING;
                                 // RANGE: -µs PRECEDING or 0 (CURRENT ROW: its first peer)
  int64_t end = 0;               // ROWS: like start; RANGE: always 0 (the last peer)
  std::string ToString() const;
};

struct OverCall {
  OverFunction function = OverFunction::kCountStar;
  int argument = -1;       // input column (-1 for count(*))
  int default_value = -1;  // LAG/LEAD: input column holding the default
  int64_t offset = 1;      // LAG/LEAD
  OverFrame frame;
  types::DataType type;  // result type
};

struct OverSpec {
  std::vector<int> partition;  // partition key columns of the input
  std::vector<OverCall> calls;
  types::SchemaPtr output_schema;  // the input's columns, then one per call
  std::string Describe() const;
};

// The result type of `f` over an argument of type `arg`, or an error naming what it accepts.
Result<types::DataType> OverResultType(OverFunction f, const types::DataType& arg);

class OverWindowFactory : public runtime::OperatorFactory {
 public:
  explicit OverWindowFactory(OverSpec spec) : spec_(std::move(spec)) {}
  std::string name() const override { return "over_window"; }
  std::string Describe() const override { return "over_window " + spec_.Describe(); }
  Result<std::unique_ptr<runtime::Operator>> Create(int subtask, int parallelism) const override;

 private:
  OverSpec spec_;
};

}  // namespace sluice::exec
