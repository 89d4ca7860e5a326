#pragma once
// The SQL logic test runner: reads tests/sql/**/*.test files (format in tests/sql/README.md),
// runs each case through the engine at every configured parallelism, and compares outputs.
//
// In kill-restore mode each `run` case instead runs once in a child process that takes
// checkpoints and is killed (SIGKILL) in the middle of its input, after a checkpoint completed;
// a second child resumes from the state dir and runs to completion, and the output must be the
// case's expected output, compared exactly as in the normal mode.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "pipeline/runner.h"

namespace sluice::testing {

struct RunnerOptions {
  std::vector<int> parallelisms = {1, 4};
  // Each `run` case also runs once with batches of this many rows (0: not), at the last
  // parallelism: a result must not depend on how rows are batched.
  int small_batch = 1;
  bool verbose = false;
  std::string filter;  // run only files whose path contains this
  // Checkpoint, kill and restore each `run` case (see the top of this file) instead of the
  // configurations above.
  bool kill_restore = false;
  // Shifts which variant (parallelisms, kill point, restore batches) each case gets; 0 in CI,
  // others to explore.
  int kill_restore_variant = 0;
  // Passed to every run as pipeline::RunOptions::replan (--graph-roundtrip: each plan goes
  // through its serialized form, src/dist/plan_codec.h, and the rebuilt plan runs).
  decltype(pipeline::RunOptions::replan) replan;
};

// What kill-restore mode did with the cases ("path:line" names a case).
struct KillRestoreStats {
  int killed = 0;        // killed after a checkpoint, then restored (counted as passed or failed)
  int killed_twice = 0;  // of which killed again in the middle of the resumed run
  std::vector<std::string> restored_at_other_parallelism;  // "path:line (1 -> 4)"
  // Killed at a parallelism the restore refused to change: restored at the same one instead.
  std::vector<std::string> other_parallelism_refused;  // "path:line: message"
  // Ran to the end before the kill could land, even with the slowest pacing: the output was
  // checked, but nothing was restored (neither passed nor failed for kill-restore).
  std::vector<std::string> finished_before_kill;
  std::map<std::string, int> not_applicable;  // reason -> cases
  std::vector<std::string> refused;           // "path:line: message" (checkpointing refused)
};

struct RunnerResult {
  int passed = 0;
  int failed = 0;
  std::vector<std::string> failures;
  KillRestoreStats kill_restore;
};

RunnerResult RunTestFile(const std::string& path, const RunnerOptions& options);

}  // namespace sluice::testing
