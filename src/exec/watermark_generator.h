#pragma once
// Assigns event times and generates watermarks, chained right after a source. Each row's event
// time becomes the value of the event-time column (rows where it is NULL are dropped and
// counted as bad rows); the watermark is the largest value of the watermark expression seen so
// far (by default event time - 1 second), emitted after each batch when it advances. It never
// goes backwards. A source whose batches say which split (Kafka partition) each row came from
// gets a watermark per split: the subtask's watermark is the minimum over its live splits, a
// split idle for idle_micros dropping out (SplitWatermarks in the .cc). In processing time,
// rows are stamped with the wall clock and the watermark follows it.

#include <algorithm>
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
  //
  // With `processing_time`, the rows' time is processing time instead: every row of a batch is
  // stamped (column `event_time_column` and its event time) with the wall clock when the batch
  // passes, never below the watermark so far, and the watermark follows the wall clock: after
  // each batch and every kTickMicros while the source has no data (OnTick), so windows close on
  // time. No row is ever late; `watermark` and `drop_late` are unused.
  WatermarkGeneratorFactory(int event_time_column, expr::BoundExprPtr watermark,
                            std::optional<int64_t> idle_micros, bool drop_late,
                            bool processing_time = false);
  static constexpr int64_t kTickMicros = 100000;
  std::string name() const override { return "watermark"; }
  std::string Describe() const override;
  Result<std::unique_ptr<runtime::Operator>> Create(int subtask, int parallelism) const override;
  std::optional<int64_t> idle_timeout_micros() const override { return idle_micros_; }
  // Processing time: every kTickMicros. Event time with idle_micros: often enough that an idle
  // split (a Kafka partition) stops holding the watermark back within a tenth of idle_micros.
  std::optional<int64_t> tick_interval_micros() const override {
    if (processing_time_) return kTickMicros;
    if (idle_micros_) return std::max<int64_t>(*idle_micros_ / 10, 1000);
    return std::nullopt;
  }

 private:
  int event_time_column_;
  expr::BoundExprPtr watermark_;
  std::optional<int64_t> idle_micros_;
  bool drop_late_;
  bool processing_time_;
};

}  // namespace sluice::exec
