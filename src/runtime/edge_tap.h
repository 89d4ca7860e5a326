#pragma once
// A live tap on one edge of a running dataflow graph (the service's "tap" route): a sample of
// the batches producers route over the edge, handed to a consumer, at most `rows_per_second`
// rows a second (a token bucket holding one second of rows), the rows of a batch spread evenly
// over it. With no consumer attached, a producer pays one relaxed atomic load per batch.
//
// Threading: Offer from any producer task (consumers are called one at a time, under the tap's
// mutex, on the producer's thread: they must be quick and must not block); Attach and Detach
// from any thread.

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>

#include "batch/batch.h"

namespace sluice::runtime {

class EdgeTap {
 public:
  // `sample` holds rows of one routed batch; `subtask` is the producer's subtask.
  using Consumer = std::function<void(const batch::BatchPtr& sample, int subtask)>;

  explicit EdgeTap(int64_t rows_per_second = 100) : rows_per_second_(rows_per_second) {}

  bool active() const { return active_.load(std::memory_order_relaxed); }
  // Sets (or replaces) the consumer; it starts with a full bucket. Returns its attachment's
  // number, for Detach.
  uint64_t Attach(Consumer consumer);
  // Removes the consumer of attachment `attachment` (nothing when another replaced it); when
  // Detach returns, that consumer is not running and will not be called again.
  void Detach(uint64_t attachment);
  // A producer routes `b` over the edge.
  void Offer(const batch::BatchPtr& b, int subtask);

  int64_t rows_per_second() const { return rows_per_second_; }

 private:
  const int64_t rows_per_second_;
  std::atomic<bool> active_{false};
  std::mutex mu_;
  Consumer consumer_;        // under mu_
  uint64_t attachment_ = 0;  // under mu_
  double tokens_ = 0;        // under mu_
  int64_t refilled_at_ = 0;  // steady-clock microseconds, under mu_
};

}  // namespace sluice::runtime
