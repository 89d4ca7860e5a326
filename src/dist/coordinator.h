#pragma once
// `sluice coordinator`: runs one SQL pipeline on a set of `sluice worker` processes
// (docs/distributed.md, "Coordinator and workers").
//
// It plans the pipeline, serializes it (plan_codec.h), serves the control RPC (control.proto)
// and waits for the expected number of workers to register, with a timeout and a message naming
// who is missing. It then places every subtask on a worker slot (placement.h), deploys the plan
// and the placement to every worker at a new generation, starts them once all are deployed, and
// watches them: heartbeats, a broken stream or a worker's failure fail the job (the others are
// cancelled) with the worker named; when every worker finished, it tells them to leave.
// With a state dir it drives the job's checkpoints (job_checkpoints.h) and restarts the job
// from the latest one when a worker is lost or fails (docs/distributed.md).
//
// Threading: RunCoordinator blocks the calling thread; `stop` may be set from any thread.

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "common/status.h"
#include "pipeline/runner.h"

namespace sluice::dist {

// The control protocol's version (control.proto); a worker states its own in Register.
// Version 2 added the job's checkpoints (TriggerCheckpoint, CheckpointAck, SourcesFinished,
// Commit) and Cancel: a version-1 worker cannot take part in them.
inline constexpr uint32_t kControlVersion = 2;
inline constexpr uint32_t kControlMinVersion = 2;

struct CoordinatorOptions {
  std::string sql;
  // Parallelism, settings and checkpoints (state dir, interval, to keep, --ignore-state,
  // restore_checkpoint: the options of `sluice run`).
  pipeline::RunOptions run;
  std::string listen = "127.0.0.1:0";  // the control RPC's host:port (port 0: any free port)
  std::string port_file;               // the port is written here once listening
  std::string job = "sluice-job";
  int workers = 1;                                // workers to wait for
  int64_t worker_timeout_micros = 30'000'000;     // registering and deploying
  int64_t heartbeat_timeout_micros = 10'000'000;  // a worker silent this long is lost
  int threads = 0;                                // executor threads per worker (0: its cores)
  // With checkpoints, a lost or failed worker restarts the job from the latest checkpoint, at
  // most this many times in all (then the job fails).
  int max_restarts = 10;
  const std::atomic<bool>* stop = nullptr;      // set: stop the job (draining) and return
  std::function<void(const std::string&)> log;  // progress; default standard error
  // The fenced commit of a completed checkpoint's number as the job's latest (dist/lease.h,
  // set by RunElectedCoordinator): called before the checkpoint is committed to the workers;
  // an error (this coordinator was deposed) means: commit nothing, stop. Empty: no lease.
  std::function<Status(int64_t checkpoint)> commit_checkpoint;
};

struct CoordinatorReport {
  int64_t rows_written = 0;  // by every worker's sinks
  int workers = 0;
  int restarts = 0;  // of the job, after lost or failed workers
};

Status RunCoordinator(const CoordinatorOptions& options, CoordinatorReport* report);

}  // namespace sluice::dist
