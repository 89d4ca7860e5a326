#pragma once
// `sluice worker`: runs the subtasks a coordinator gives it (docs/distributed.md, "Coordinator
// and workers").
//
// It listens on its data plane, registers with the coordinator over the control RPC (its name,
// slots and data-plane address), heartbeats, and on Deploy rebuilds the job's dataflow graph from
// the serialized plan (plan_codec.h: refused, with the first difference, if it would compile to
// another graph), takes the deployment's generation on its data plane and reports Deployed; on
// Start it connects to its peers and runs its subtasks (runtime::Executor with a placement),
// then reports how they finished and leaves when the coordinator says so.
//
// Threading: RunWorker blocks the calling thread; `stop` may be set from any thread.

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "common/status.h"

namespace sluice::dist {

struct WorkerOptions {
  std::string coordinator;  // host:port of the coordinator's control RPC
  int slots = 1;
  std::string name;  // unique per job; default host:port of the data plane
  // The data plane listens here; peers connect to this host (so it must be reachable by them).
  std::string data_plane_host = "127.0.0.1";
  int data_plane_port = 0;  // 0: any free port
  // The host peers connect to when it differs from the one listened on (a Kubernetes pod listens
  // on its IP and is reached by its StatefulSet DNS name); empty: data_plane_host.
  std::string advertise_host;
  int64_t connect_timeout_micros = 30'000'000;  // reaching the coordinator and the peers
  int64_t heartbeat_interval_micros = 1'000'000;
  const std::atomic<bool>* stop = nullptr;  // set: cancel what runs and leave
  std::function<void(const std::string&)> log;
};

Status RunWorker(const WorkerOptions& options);

}  // namespace sluice::dist
