#pragma once
// Fault injection for crash tests: named fault points compiled into every build, doing nothing
// unless armed from the environment.
//
//   SLUICE_FAULT=after_checkpoint:3                  crash right after checkpoint 3 completes
//   SLUICE_FAULT=sink_commit:2                       crash in the middle of the commit of 2
//   SLUICE_FAULT=sink_committed:2                    crash once the commit of 2 is made, before
//                                                    the sink returns (a transactional sink)
//   SLUICE_FAULT='after_rows:single_file sink:5000'  crash once 5000 rows reached that operator
//   SLUICE_FAULT=before_metadata:4,after_rows:filter_project:100   several, comma-separated
//   SLUICE_FAULT='slow:single_file sink:2000'        sleep 2000 µs per batch reaching that
//                                                    operator (gives kill tests time to hit)
//   SLUICE_FAULT=rows_after_checkpoint:watermark:3   crash once 3 rows reached that operator
//                                                    after the first checkpoint completed (a
//                                                    kill in the middle of the input)
//   SLUICE_FAULT=lease_renewals:0                    a leading coordinator renews its lease at
//                                                    most that many times, then silently no
//                                                    more (its lease runs out while it runs)
//   SLUICE_FAULT=pace_sources:1000                   every source task waits 1000 µs after each
//                                                    poll, giving its worker thread back (so
//                                                    that tiny inputs last several checkpoints)
//
// A checkpoint point (`<point>:<n>`) fires when the code passes it with value n. A row point
// names an operator (its factory name, "filter_project", or one subtask, "filter_project[2]")
// and fires once that many rows, summed over the subtasks it names, have reached it;
// rows_after_checkpoint counts only the rows that arrive once a checkpoint's metadata is written
// (any checkpoint of the run), so it never fires before a checkpoint to restore from exists.
// "Crash" means SIGKILL: no destructor, atexit handler or stdio flush runs, as with `kill -9`.
//
// Unarmed, every check is one relaxed atomic load. Thread-safe.

#include <cstdint>
#include <string_view>

namespace sluice::fault {

// Fault points of the checkpoint machinery.
inline constexpr std::string_view kAfterCheckpoint = "after_checkpoint";  // metadata written
inline constexpr std::string_view kBeforeMetadata = "before_metadata";    // files written, no
                                                                          // metadata yet
inline constexpr std::string_view kSinkCommit = "sink_commit";            // half of a commit
inline constexpr std::string_view kSinkCommitted = "sink_committed";      // a commit the external
                                                                          // system made, before the
                                                                          // sink returns from it
inline constexpr std::string_view kAfterRows = "after_rows";
inline constexpr std::string_view kSlow = "slow";
inline constexpr std::string_view kRowsAfterCheckpoint = "rows_after_checkpoint";
inline constexpr std::string_view kPaceSources = "pace_sources";
inline constexpr std::string_view kLeaseRenewals = "lease_renewals";

namespace detail {
bool AnyArmed();
void Hit(std::string_view point, int64_t value);
void Rows(std::string_view op, int64_t rows);
int64_t SourcePaceMicros();
int64_t Value(std::string_view point);
}  // namespace detail

// The value `point` is armed with (`point:N`), or -1 when it is not armed.
inline int64_t Value(std::string_view point) {
  return detail::AnyArmed() ? detail::Value(point) : -1;
}

// True when SLUICE_FAULT arms at least one point.
inline bool AnyArmed() {
  return detail::AnyArmed();
}

// Crashes the process when `point` is armed with `value`.
inline void Hit(std::string_view point, int64_t value) {
  if (detail::AnyArmed()) detail::Hit(point, value);
}

// Counts `rows` reaching operator `op` ("filter_project[2]"); crashes when an armed after_rows
// point reaches its count, sleeps when a slow point names the operator.
inline void Rows(std::string_view op, int64_t rows) {
  if (detail::AnyArmed()) detail::Rows(op, rows);
}

// How long a source task waits after each poll (pace_sources), 0 when not armed. The executor
// schedules the task again after that time instead of sleeping in a worker thread.
inline int64_t SourcePaceMicros() {
  return detail::AnyArmed() ? detail::SourcePaceMicros() : 0;
}

// Re-reads SLUICE_FAULT (tests that change the environment); resets the row counters.
void ReloadForTesting();

}  // namespace sluice::fault
