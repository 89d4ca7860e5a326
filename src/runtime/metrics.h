#pragma once
// Counters an operator keeps; read by the runtime for logs and the end-of-run report, and by the
// service for its metrics (rates, backpressure, watermarks per subtask).

#include <atomic>
#include <cstdint>
#include <limits>
#include <string>

#include "batch/batch.h"

namespace sluice::runtime {

struct OperatorMetrics {
  std::string name;
  int node = -1;        // the dataflow graph's node (operator chain) it belongs to
  int chain_index = 0;  // its place in that chain
  std::atomic<int64_t> rows_in{0};
  std::atomic<int64_t> rows_out{0};
  // Bytes of the batches the operator received and emitted to the next operator of its chain
  // or downstream (their columns' in-memory size: BatchBytes). Sinks emit none.
  std::atomic<int64_t> bytes_in{0};
  std::atomic<int64_t> bytes_out{0};
  // The bytes of state this subtask wrote into its latest checkpoint (before compression; an
  // incremental snapshot's increment); -1 before its first checkpoint.
  std::atomic<int64_t> state_bytes{-1};
  std::atomic<int64_t> bad_rows_dropped{0};  // bad_data = 'drop'
  std::atomic<int64_t> late_rows_dropped{0};
  // The last watermark this subtask received (a source's: the one it emitted), event-time
  // microseconds; INT64_MIN before the first, INT64_MAX once its input ended.
  std::atomic<int64_t> watermark{std::numeric_limits<int64_t>::min()};
  // Backpressure: the microseconds its task spent unable to hand its output on because a
  // consumer's queue was full (counted when the task gets going again), and since when it is
  // blocked now (processing-time microseconds; 0 when not). Every operator of a chained task
  // shares its task's figures. BackpressureMicros adds the two.
  std::atomic<int64_t> backpressure_micros{0};
  std::atomic<int64_t> blocked_since{0};
};

// The in-memory size of a batch's columns (event time and change kinds included): buffer
// sizes, children too.
int64_t BatchBytes(const batch::Batch& b);

// The backpressured microseconds of `m` up to `now` (processing-time microseconds): a rate of
// change of 1e6 per second means blocked all the time.
inline int64_t BackpressureMicros(const OperatorMetrics& m, int64_t now) {
  int64_t total = m.backpressure_micros.load(std::memory_order_relaxed);
  int64_t since = m.blocked_since.load(std::memory_order_relaxed);
  return since > 0 && now > since ? total + (now - since) : total;
}

}  // namespace sluice::runtime
