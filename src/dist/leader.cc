#include "dist/leader.h"

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

namespace sluice::dist {

Status RunElectedCoordinator(CoordinatorOptions options, const LeaderOptions& leader,
                             CoordinatorReport* report) {
  auto log = options.log ? options.log
                         : [](const std::string& m) { std::fprintf(stderr, "%s\n", m.c_str()); };
  const LeaseOptions& lo = leader.lease;
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<Lease> lease, Lease::Connect(lo));
  int64_t poll = leader.poll_micros > 0
                     ? leader.poll_micros
                     : std::clamp<int64_t>(lo.ttl_micros / 5, 100'000, 1'000'000);
  auto standby = [&](const LeaseRow& row) {
    if (row.epoch < 0) {
      log(fmt::format("coordinator '{}': standby for job '{}': {}; retrying", lo.holder, lo.job,
                      row.holder));
      return;
    }
    log(fmt::format(
        "coordinator '{}': standby for job '{}': the lease is held by '{}' at epoch "
        "{} ({:.1f} s left); retrying every {} ms",
        lo.holder, lo.job, row.holder, row.epoch, std::max(0.0, row.seconds_left), poll / 1000));
  };
  SLUICE_ASSIGN_OR_RETURN(int64_t epoch, lease->Acquire(options.stop, poll, standby));
  log(
      fmt::format("coordinator '{}': leader of job '{}' at epoch {} (lease {} ms, renewed every "
                  "{} ms)",
                  lo.holder, lo.job, epoch, lo.ttl_micros / 1000, lo.ttl_micros / 3000));
  // The job resumes from the checkpoint the lease says was committed last: a newer one in the
  // state dir was written by a leader that was deposed before it could commit it (JobCheckpoints
  // deletes it).
  SLUICE_ASSIGN_OR_RETURN(std::optional<LeaseRow> row, lease->Read());
  if (row && row->latest_checkpoint && !options.run.restore_checkpoint) {
    options.run.restore_checkpoint = *row->latest_checkpoint;
    log(
        fmt::format("coordinator '{}': job '{}' resumes from checkpoint {}, the latest committed "
                    "under the lease",
                    lo.holder, lo.job, *row->latest_checkpoint));
  }
  auto lost = leader.lost ? leader.lost : [log](const Status& st) { log(st.ToString()); };
  LeaseKeeper keeper(std::move(lease), lost);
  options.commit_checkpoint = [&keeper, lost](int64_t checkpoint) {
    Status st = keeper.CommitCheckpoint(checkpoint);
    // Refused: deposed. Stop before the workers hear of this checkpoint.
    if (!st.ok() && st.kind() == ErrorKind::kUser) lost(st);
    return st;
  };
  return RunCoordinator(options, report);
}

}  // namespace sluice::dist
