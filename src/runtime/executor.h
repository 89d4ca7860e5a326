#pragma once
// Runs a dataflow graph: one task per operator-chain subtask, multiplexed on a fixed pool of
// worker threads. Tasks exchange messages through bounded input queues; a task whose
// downstream queue is full stops until the consumer makes room (backpressure), so memory stays
// flat when a sink is slow.
//
// Threading: Run() is called from one thread and returns when the graph finishes or fails.
// RequestStop() may be called from any thread (or a signal handler's helper thread).

#include <atomic>
#include <memory>
#include <vector>

#include "common/status.h"
#include "runtime/dataflow_graph.h"
#include "runtime/metrics.h"

namespace sluice::runtime {

struct ExecutorOptions {
  int threads = 2;
  // A queue accepts batches until it holds this many rows; control messages always pass.
  int64_t queue_capacity_rows = 64 * 1024;
};

class Executor {
 public:
  Executor(DataflowGraph graph, ExecutorOptions options);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Runs to completion: every source finished (or was stopped) and every row reached the
  // sinks. Returns the first error of any task, after closing every operator.
  Status Run();
  // Asks every source to finish; in-flight rows still reach the sinks. Idempotent.
  void RequestStop();
  // Counters of every operator subtask, valid during and after Run().
  std::vector<const OperatorMetrics*> Metrics() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::runtime
