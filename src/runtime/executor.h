#pragma once
// Runs a dataflow graph: one task per operator-chain subtask, multiplexed on a fixed pool of
// worker threads. Tasks exchange messages through bounded input queues; a task whose
// downstream queue is full stops until the consumer makes room (backpressure), so memory stays
// flat when a sink is slow.
//
// With checkpoints (CheckpointOptions), Run() first restores the latest usable
// checkpoint of the state dir, then a CheckpointCoordinator takes aligned barrier snapshots on
// the interval; a stop or the end of every source takes a final checkpoint before Run() returns.
// See docs/fault-tolerance.md.
//
// Threading: Run() is called from one thread and returns when the graph finishes or fails.
// RequestStop() may be called from any thread (or a signal handler's helper thread).

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "runtime/checkpoint_storage.h"
#include "runtime/dataflow_graph.h"
#include "runtime/edge_tap.h"
#include "runtime/metrics.h"
#include "runtime/remote_edges.h"

namespace sluice::runtime {

struct CheckpointOptions {
  std::shared_ptr<CheckpointStorage> storage;
  int64_t interval_micros = 10'000'000;
  int keep = 3;  // completed checkpoints kept
  // Identifies the query; a state dir written by another query is refused...
  std::string fingerprint;
  // ...unless this is set: then the run starts from the beginning.
  bool ignore_state = false;
  // Resume from this checkpoint rather than the latest one; the complete checkpoints after it
  // are deleted first, so a crash later never resumes from the history the run abandoned. An
  // error when it is missing or does not verify.
  std::optional<int64_t> restore_checkpoint;
  // Notices and warnings (restores, fallbacks, failed checkpoints); default: standard error.
  std::function<void(const std::string&)> log;
};

struct ExecutorOptions {
  int threads = 2;
  // A queue accepts batches until it holds this many rows; control messages always pass. While
  // a task aligns a checkpoint barrier it also holds back up to this many rows per sender.
  int64_t queue_capacity_rows = 64 * 1024;
};

struct CheckpointSummary {
  int64_t completed = 0;                 // checkpoints completed by this run
  int64_t last_completed = 0;            // its newest, or 0
  std::optional<int64_t> restored_from;  // the checkpoint this run resumed from
};

class Executor {
 public:
  // Without `checkpoints` the run takes none (and keeps no state).
  Executor(DataflowGraph graph, ExecutorOptions options,
           std::optional<CheckpointOptions> checkpoints = std::nullopt);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // One worker of a distributed job: run only the subtasks placed on `placement.worker`; edges
  // to and from the others go through `placement.remote` (runtime/remote_edges.h). Before
  // Build. Checkpoints are not supported with a placement yet.
  void Place(Placement placement);
  // Creates the tasks (Run() does it when not done yet). After it, Metrics() is stable.
  Status Build();
  // Runs to completion: every source finished (or was stopped) and every row reached the
  // sinks. Returns the first error of any task, after closing every operator.
  Status Run();
  // Asks every source to finish; in-flight rows still reach the sinks. Idempotent.
  void RequestStop();
  // Stops every task at its next step, without draining or a final checkpoint: Run() returns
  // a kCancelled status naming `reason`. Idempotent; may be called from any thread.
  void Abort(const std::string& reason);
  // Counters of every operator subtask, valid after Build() (or during and after Run()).
  std::vector<const OperatorMetrics*> Metrics() const;
  // After Run() returned.
  CheckpointSummary Checkpoints() const;
  // The live tap of graph edge `edge` (its index in DataflowGraph::edges), valid after Build();
  // null for an index out of range or before Build.
  std::shared_ptr<EdgeTap> Tap(size_t edge) const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::runtime
