#pragma once
// The coordinator's lease and fencing epoch in PostgreSQL (docs/distributed.md, "Leases and
// fencing"; decision 0028).
//
// One row per job in `sluice_job_leases(job PRIMARY KEY, holder, epoch, expires_at,
// latest_checkpoint, updated_at)`, created on first use. Every time is the database's `now()`, so
// the coordinators' clocks never matter.
// - Acquire: one statement inserts the row for a new job, or takes it when it expired or is
//   already ours, always with epoch + 1: `... ON CONFLICT (job) DO UPDATE SET holder = $me,
//   epoch = epoch + 1, expires_at = now() + ttl WHERE expires_at < now() OR holder = $me
//   RETURNING epoch`. No row back: another coordinator holds it (a standby polls).
// - Renew: `UPDATE ... SET expires_at = now() + ttl WHERE job = $j AND epoch = $mine`. Zero rows:
//   deposed.
// - CommitCheckpoint(n), the fenced commit of the latest-checkpoint pointer:
//   `UPDATE ... SET latest_checkpoint = $n WHERE job = $j AND epoch = $mine`. Zero rows: deposed,
//   the checkpoint is not committed and the caller must stop without committing anything else.
//
// Threading: a Lease is used by one thread at a time (the caller serializes); LeaseKeeper runs
// its own renewal thread.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"

namespace sluice::dist {

struct LeaseOptions {
  std::string url;     // libpq connection string or postgresql:// URL (holds a password)
  std::string job;     // the row's key
  std::string holder;  // this coordinator's name (a pod name)
  int64_t ttl_micros = 10'000'000;
};

// The row as it is in the database.
struct LeaseRow {
  std::string holder;
  int64_t epoch = 0;
  bool expired = false;
  double seconds_left = 0;  // until expires_at, by the database's clock
  std::optional<int64_t> latest_checkpoint;
};

class Lease {
 public:
  // Connects and creates the table when missing. The URL is never part of an error message.
  static Result<std::unique_ptr<Lease>> Connect(const LeaseOptions& options);
  ~Lease();
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;

  // One attempt: the new epoch, or nullopt while another holder's lease runs.
  Result<std::optional<int64_t>> TryAcquire();
  // Polls TryAcquire every `poll_micros` until it succeeds (the epoch) or `stop` is set
  // (Cancelled). `standby` is called once per change of the holder seen, with the row.
  Result<int64_t> Acquire(const std::atomic<bool>* stop, int64_t poll_micros,
                          const std::function<void(const LeaseRow&)>& standby);
  // Extends the lease by the TTL. A User error naming the new holder when deposed.
  Status Renew();
  // The fenced commit of the latest-checkpoint pointer; a User error when deposed (nothing
  // changed in the database).
  Status CommitCheckpoint(int64_t checkpoint);
  // The row, or nullopt when the job has none.
  Result<std::optional<LeaseRow>> Read();

  int64_t epoch() const { return epoch_; }
  const LeaseOptions& options() const { return options_; }

 private:
  Lease(void* conn, LeaseOptions options) : conn_(conn), options_(std::move(options)) {}
  Status Deposed(std::string_view doing);
  Status Reconnect();
  Status Ensure();  // reconnects when the last statement broke the connection
  Result<std::vector<std::vector<std::optional<std::string>>>> Run(
      const std::string& sql, const std::vector<std::string>& args, std::string_view doing);

  void* conn_;  // PGconn
  LeaseOptions options_;
  int64_t epoch_ = 0;
  bool broken_ = false;
};

// Keeps a held lease: renews it every TTL/3 on its own thread. When a renewal finds the lease
// taken (deposed), or no renewal succeeded for a whole TTL (the database unreachable: another
// coordinator may hold it by now), it calls `lost` once with the reason, on its thread.
class LeaseKeeper {
 public:
  LeaseKeeper(std::unique_ptr<Lease> lease, std::function<void(const Status&)> lost);
  ~LeaseKeeper();  // stops renewing (the lease runs out by itself)
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  // The fenced commit, serialized with the renewals.
  Status CommitCheckpoint(int64_t checkpoint);
  int64_t epoch() const { return epoch_; }

 private:
  void Loop();

  std::unique_ptr<Lease> lease_;
  std::function<void(const Status&)> lost_;
  const int64_t epoch_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool lost_called_ = false;
  std::thread thread_;
};

}  // namespace sluice::dist
