#pragma once
// The checkpoints of a distributed job, as its coordinator keeps them (docs/distributed.md,
// "Checkpoints and recovery").
//
// Every worker's tasks write their state files into the job's state dir, as in one process, and
// the worker reports them (CheckpointAck). Once every worker did, the coordinator completes the
// checkpoint here: Complete() writes `_metadata` in the format `sluice run` writes (so a
// distributed job's checkpoint restores with `sluice run`, and the reverse), then removes the
// checkpoints no longer kept. Complete() is the one place where a checkpoint of the job becomes
// durable; a leader lease (coordinator high availability, dist/leader.h) fences it there
// (SetFence).
//
// Threading: used by the coordinator's main thread only.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "runtime/checkpoint_store.h"
#include "runtime/executor.h"

namespace sluice::dist {

class JobCheckpoints {
 public:
  JobCheckpoints(runtime::CheckpointOptions options, const runtime::DataflowGraph& graph,
                 std::function<void(const std::string&)> log);

  // Chooses the checkpoint the first deployment restores: `restore_checkpoint` (the complete
  // checkpoints after it are deleted), else the newest that verifies. Refuses one written by
  // another query (unless ignore_state: then the job starts empty).
  Status Prepare();

  // The checkpoint a deployment restores now: the newest completed (or chosen), 0 for none.
  int64_t restore() const { return last_completed_; }
  int64_t NextId() { return next_id_++; }
  int64_t interval_micros() const { return options_.interval_micros; }
  const std::string& fingerprint() const { return options_.fingerprint; }
  std::string location() const { return options_.storage->location(); }

  // With a leader lease (dist/leader.h): the fenced commit of each completed checkpoint's id as
  // the job's latest, called after `_metadata` is written and before anything else (removing old
  // checkpoints, the workers' Commit). An error (deposed) fails Complete.
  void SetFence(std::function<Status(int64_t)> fence) { fence_ = std::move(fence); }

  // Checkpoint `id` of kind `kind` was acknowledged by every worker, with these files and state
  // sizes: write its metadata (completing it) and remove the checkpoints no longer kept.
  // Commit point of the job's checkpoints: nothing else writes `_metadata`.
  Status Complete(int64_t id, runtime::CheckpointKind kind,
                  std::vector<runtime::CheckpointMetadata::File> files,
                  std::vector<runtime::CheckpointMetadata::OperatorState> operator_state);

 private:
  runtime::CheckpointOptions options_;
  runtime::CheckpointLayout layout_;
  std::function<void(const std::string&)> log_;
  std::unique_ptr<runtime::CheckpointStore> store_;
  int64_t next_id_ = 1;
  int64_t last_completed_ = 0;
  std::function<Status(int64_t)> fence_;
};

}  // namespace sluice::dist
