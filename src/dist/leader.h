#pragma once
// `sluice coordinator --lease-url ...`: a coordinator elected by a PostgreSQL lease
// (dist/lease.h; docs/distributed.md, "Leases and fencing").
//
// It waits as a standby (not listening, so a Kubernetes Service sends no worker to it) until it
// holds the job's lease, then runs the coordinator (coordinator.h) while a LeaseKeeper renews the
// lease, with every checkpoint commit fenced by its epoch (CoordinatorOptions::commit_checkpoint).
// When the lease is lost (another coordinator took it after this one paused past its TTL, or
// the database stayed unreachable for a TTL) `lost` is called on the keeper's thread: the caller
// must stop at once without committing anything (the command line exits).
//
// Threading: blocks the calling thread like RunCoordinator.

#include <functional>

#include "dist/coordinator.h"
#include "dist/lease.h"

namespace sluice::dist {

struct LeaderOptions {
  LeaseOptions lease;
  int64_t poll_micros = 0;  // a standby's retry interval; 0: TTL/5 within 100 ms..1 s
  std::function<void(const Status&)> lost;
};

Status RunElectedCoordinator(CoordinatorOptions options, const LeaderOptions& leader,
                             CoordinatorReport* report);

}  // namespace sluice::dist
