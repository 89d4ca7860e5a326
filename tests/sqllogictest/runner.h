#pragma once
// The SQL logic test runner: reads tests/sql/**/*.test files (format in tests/sql/README.md),
// runs each case through the engine at every configured parallelism, and compares outputs.

#include <string>
#include <vector>

namespace sluice::testing {

struct RunnerOptions {
  std::vector<int> parallelisms = {1, 4};
  // Each `run` case also runs once with batches of this many rows (0: not), at the last
  // parallelism: a result must not depend on how rows are batched.
  int small_batch = 1;
  bool verbose = false;
  std::string filter;  // run only files whose path contains this
};

struct RunnerResult {
  int passed = 0;
  int failed = 0;
  std::vector<std::string> failures;
};

RunnerResult RunTestFile(const std::string& path, const RunnerOptions& options);

}  // namespace sluice::testing
