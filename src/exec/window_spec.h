#pragma once
// How a windowed aggregate assigns rows to windows, and which aggregates it computes.

#include <cstdint>
#include <string>
#include <vector>

#include "expr/aggregate.h"
#include "types/data_type.h"

namespace sluice::exec {

struct WindowSpec {
  enum class Kind {
    kTumble,      // [k·width, (k+1)·width), aligned to the Unix epoch
    kHop,         // width `width`, a new window every `slide`; width is a multiple of slide
    kSession,     // per key, closed after `gap` without events
    kFromColumn,  // the window is a struct column of the input (re-aggregation of windows)
  };
  Kind kind = Kind::kTumble;
  int64_t width = 0;  // µs
  int64_t slide = 0;  // µs
  int64_t gap = 0;    // µs
  int column = -1;    // kFromColumn
  std::string ToString() const;
};

// One aggregate call: its bound function, which input columns are its arguments, and the
// boolean column of its FILTER (WHERE ...) clause (-1 when none).
struct AggregateCall {
  expr::BoundAggregate aggregate;
  std::vector<int> arg_columns;
  int filter_column = -1;
  std::string display;  // "count(*)", for EXPLAIN
};

// "count(*), sum(v)": the aggregates of an operator, for EXPLAIN.
std::string DescribeAggregates(const std::vector<AggregateCall>& calls);

// STRUCT<start TIMESTAMP, end TIMESTAMP>: the value of a window in SQL.
types::DataType WindowStructType();

}  // namespace sluice::exec
