#pragma once
// Drives checkpoints of one running dataflow: triggers a barrier at every source task on the
// interval, collects each task's acknowledgement (its state file's bytes), writes the files and
// then the metadata that completes the checkpoint, removes old checkpoints, and tells the tasks
// to commit. When every source has finished (end of input, or a stop), it triggers the final
// checkpoint.
//
// At most one periodic checkpoint is in flight; the final one may follow it at once (barriers
// stay in order on every channel). A checkpoint whose files cannot be written fails alone, with
// a warning: the pipeline keeps running and the next checkpoint covers its data. Checkpoints
// complete in id order because every task acknowledges them in order.
//
// Distributed jobs (Options::external, docs/distributed.md): one coordinator runs per worker,
// for the tasks placed there. It triggers nothing by itself: the job's coordinator calls
// Trigger(); when every local task acknowledged and its file is written, the `acknowledged` hook
// reports the files instead of writing the metadata (the job's coordinator writes it once every
// worker acknowledged), and Committed() tells the tasks to commit. When its local sources have
// finished it reports so (`sources_finished`); the job's coordinator triggers the final
// checkpoint. A checkpoint whose files cannot be written is reported with `failed`.
//
// Threading: one background thread owns every write (tasks never wait for storage);
// Acknowledge(), SourceFinished(), Trigger() and Committed() may be called from any thread; the
// hooks are called from the coordinator's thread (Trigger's from the caller's).

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "runtime/checkpoint_store.h"
#include "runtime/message.h"

namespace sluice::runtime {

class CheckpointCoordinator {
 public:
  struct Options {
    int64_t interval_micros = 10'000'000;
    int keep = 3;
    int64_t first_id = 1;  // ids continue after every checkpoint already in the state dir
    std::string fingerprint;
    std::vector<std::string> operators;           // by operator id
    std::vector<CheckpointMetadata::Node> nodes;  // every node, with its operator ids
    // By operator id: stateful marks operators whose restored state was non-empty; the
    // coordinator marks every operator that writes a piece, and the metadata lists them.
    std::vector<CheckpointMetadata::Identity> identities;
    int source_tasks = 0;
    const std::atomic<bool>* stop_requested = nullptr;
    // One worker of a distributed job (see above); `tasks` is the number of its tasks.
    bool external = false;
    size_t tasks = 0;
  };
  struct Hooks {
    std::function<void(Barrier)> trigger;             // start a barrier at every source task
    std::function<void(int64_t)> complete;            // checkpoint n is complete: commit
    std::function<void(const Status&)> final_failed;  // the final checkpoint cannot complete
    std::function<void(const std::string&)> log;      // warnings
    // External mode only: every local task acknowledged checkpoint n and its files are written;
    std::function<void(int64_t, std::vector<CheckpointMetadata::File>,
                       std::vector<CheckpointMetadata::OperatorState>)>
        acknowledged;
    std::function<void(int64_t, const Status&)> failed;  // checkpoint n cannot complete here
    std::function<void()> sources_finished;              // every local source has finished
  };

  CheckpointCoordinator(CheckpointStore* store, Options options, Hooks hooks);
  ~CheckpointCoordinator();
  CheckpointCoordinator(const CheckpointCoordinator&) = delete;
  CheckpointCoordinator& operator=(const CheckpointCoordinator&) = delete;

  void Start();
  // Stops the thread after the write in progress (idempotent). Checkpoints in flight are
  // abandoned: their directories stay incomplete and are removed by a later run.
  void Stop();

  // A task has snapshotted checkpoint state.checkpoint; `state` holds its operators' pieces.
  // `chain_from` > 0: the file extends the task's files of checkpoints chain_from .. checkpoint-1
  // (incremental snapshots), which the metadata then lists too.
  // The state is encoded, compressed and written in the coordinator's thread.
  void Acknowledge(int64_t checkpoint, TaskState state, int64_t chain_from = 0);
  // A source task has finished (its input ended, or it was stopped).
  void SourceFinished();

  // External mode: start checkpoint `barrier` at the local source tasks.
  void Trigger(Barrier barrier);
  // External mode: checkpoint n is complete (its metadata written): the tasks commit it.
  void Committed(int64_t checkpoint);

  int64_t completed() const { return completed_count_.load(); }
  int64_t last_completed() const { return last_completed_.load(); }

 private:
  struct Ack {
    TaskState state;
    int64_t chain_from;
  };
  struct Pending {
    CheckpointKind kind = CheckpointKind::kPeriodic;
    size_t acks = 0;
    bool failed = false;
    std::vector<CheckpointMetadata::File> files;
    std::vector<CheckpointMetadata::OperatorState> operator_state;
  };

  void Loop();
  void LoopExternal();
  void TriggerLocked(CheckpointKind kind);
  void HandleAck(Ack ack);
  void Complete(int64_t id, Pending& p);
  void Fail(int64_t id, Pending& p, const Status& st);

  CheckpointStore* store_;
  Options options_;
  Hooks hooks_;
  size_t total_tasks_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Ack> acks_;
  int finished_sources_ = 0;
  bool stop_ = false;
  bool final_triggered_ = false;
  int64_t next_id_;
  int64_t in_flight_periodic_ = 0;  // id of the periodic checkpoint in flight, or 0
  std::thread thread_;

  // Coordinator thread only.
  std::map<int64_t, Pending> pending_;
  std::set<int64_t> failed_;  // external mode: checkpoints that failed here
  // The files each task wrote, by checkpoint, as long as a later file may extend them.
  std::map<std::pair<int, int>, std::map<int64_t, CheckpointMetadata::File>> written_;

  std::atomic<int64_t> completed_count_{0};
  std::atomic<int64_t> last_completed_{0};
};

}  // namespace sluice::runtime
