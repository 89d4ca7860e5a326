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
#include "runtime/checkpoint_metadata.h"
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
  // A checkpoint of an earlier version of the query restores into this one by operator
  // identity (runtime/operator_identity.h); an operator with state and no match in this query
  // refuses the restore unless this is set: then its state is dropped.
  bool allow_non_restored_state = false;
  // Resume from this checkpoint rather than the latest one; the complete checkpoints after it
  // are deleted first, so a crash later never resumes from the history the run abandoned. An
  // error when it is missing or does not verify.
  std::optional<int64_t> restore_checkpoint;
  // Notices and warnings (restores, fallbacks, failed checkpoints); default: standard error.
  std::function<void(const std::string&)> log;
  // One worker of a distributed job (dist/worker.cc, docs/distributed.md): the job's
  // coordinator triggers every checkpoint (Executor::TriggerCheckpoint), writes its metadata once
  // every worker reported its files (`acknowledged`), and then says it is complete
  // (CommitCheckpoint). The run restores exactly `restore_checkpoint` (none: it starts empty)
  // and deletes no checkpoint: the job's coordinator chose it.
  struct Distributed {
    std::function<void(int64_t, std::vector<CheckpointMetadata::File>,
                       std::vector<CheckpointMetadata::OperatorState>)>
        acknowledged;
    std::function<void(int64_t, const Status&)> failed;  // checkpoint n cannot complete here
    std::function<void()> sources_finished;              // every local source has finished
  };
  std::optional<Distributed> distributed;
};

// What a checkpoint's metadata says of the dataflow that wrote it: the operators (numbered in
// node order, then chain order: the order in which the planner creates them, which does not
// depend on the parallelism or the chaining), the nodes with their operator ids, and the
// operators' identities (not yet marked stateful).
struct CheckpointLayout {
  std::vector<std::string> operators;
  std::vector<CheckpointMetadata::Node> nodes;
  std::vector<CheckpointMetadata::Identity> identities;
};
CheckpointLayout CheckpointLayoutOf(const DataflowGraph& graph);

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
  // Build. Its checkpoints are the job's (CheckpointOptions::distributed).
  void Place(Placement placement);
  // A distributed job's worker (CheckpointOptions::distributed), from any thread: start
  // checkpoint `id` at the local sources; checkpoint `id` is complete, commit it. Calls before the
  // run started are kept for it, calls after it ended dropped. (A failed final checkpoint is the
  // job coordinator's to handle: it cancels the run with Abort.)
  void TriggerCheckpoint(int64_t id, CheckpointKind kind);
  void CommitCheckpoint(int64_t id);
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
