#pragma once
// Assigns event times and generates watermarks, chained right after a source. Each row's event
// time becomes the value of the event-time column (rows where it is NULL are dropped and
// counted as bad rows); the watermark is the largest value of the watermark expression seen so
// far (by default event time - 1 second), emitted after each batch when it advances. It never
// goes backwards.

#include <optional>

#include "expr/bound_expr.h"
#include "runtime/operator.h"

namespace sluice::exec {

class WatermarkGeneratorFactory : public runtime::OperatorFactory {
 public:
  // `event_time_column` < 0 keeps the event time the source assigned.
  // With `drop_late` (set when the rows feed a windowed operator), a row whose event time is
  // behind the watermark of the rows before it is late: dropped and counted here, where the
  // order of rows is known, so the result does not depend on batching or parallelism.
  WatermarkGeneratorFactory(int event_time_column, expr::BoundExprPtr watermark,
                            std::optional<int64_t> idle_micros, bool drop_late);
  std::string name() const override { return "watermark"; }
  std::string Describe() const override;
  Result<std::unique_ptr<runtime::Operator>> Create(int subtask, int parallelism) const override;
  std::optional<int64_t> idle_timeout_micros() const override { return idle_micros_; }

 private:
  int event_time_column_;
  expr::BoundExprPtr watermark_;
  std::optional<int64_t> idle_micros_;
  bool drop_late_;
};

}  // namespace sluice::exec
