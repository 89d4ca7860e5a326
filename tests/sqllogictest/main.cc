// sqllogictest: runs the SQL logic tests under a directory (or single files).
//   sqllogictest [--verbose] [--parallelism 1,4] [--small-batch N] [--filter substring]
//                [--kill-restore [--kill-restore-variant N]] [--graph-roundtrip] PATH...
//
// --kill-restore runs every `run` case once under "checkpoint, kill in the middle, restore"
// instead of the parallelism and batch configurations (see runner.h), and reports how many
// cases were killed and restored, finished before the kill, or do not apply.
// --kill-restore-variant N shifts which parallelisms and kill point each case gets (CI: 0).

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "dist/plan_codec.h"
#include "runner.h"

namespace {

void PrintList(const char* title, const std::vector<std::string>& items) {
  if (items.empty()) return;
  std::printf("  %s:\n", title);
  for (const auto& item : items) std::printf("    %s\n", item.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  sluice::testing::RunnerOptions options;
  std::vector<std::string> roots;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--verbose" || a == "-v") {
      options.verbose = true;
    } else if (a == "--parallelism" && i + 1 < argc) {
      options.parallelisms.clear();
      std::stringstream ss(argv[++i]);
      std::string p;
      while (std::getline(ss, p, ',')) options.parallelisms.push_back(std::stoi(p));
    } else if (a == "--small-batch" && i + 1 < argc) {
      options.small_batch = std::stoi(argv[++i]);
    } else if (a == "--filter" && i + 1 < argc) {
      options.filter = argv[++i];
    } else if (a == "--graph-roundtrip") {
      // Every plan is serialized, read back (functions bound again, the graph compiled and
      // checked against the recorded one) and the rebuilt plan is what runs.
      options.replan = [](const sluice::sql::PipelinePlan& plan,
                          const sluice::sql::CompileOptions& compile) {
        return sluice::dist::RoundTripPlan(plan, compile);
      };
    } else if (a == "--kill-restore") {
      options.kill_restore = true;
    } else if (a == "--kill-restore-variant" && i + 1 < argc) {
      options.kill_restore_variant = std::stoi(argv[++i]);
    } else {
      roots.push_back(a);
    }
  }
  std::vector<std::string> files;
  for (const auto& root : roots) {
    if (fs::is_directory(root)) {
      for (const auto& e : fs::recursive_directory_iterator(root)) {
        if (e.is_regular_file() && e.path().extension() == ".test")
          files.push_back(e.path().string());
      }
    } else {
      files.push_back(root);
    }
  }
  std::sort(files.begin(), files.end());
  int passed = 0, failed = 0;
  sluice::testing::KillRestoreStats kr;
  auto append = [](std::vector<std::string>* to, const std::vector<std::string>& from) {
    to->insert(to->end(), from.begin(), from.end());
  };
  for (const auto& f : files) {
    if (!options.filter.empty() && f.find(options.filter) == std::string::npos) continue;
    auto r = sluice::testing::RunTestFile(f, options);
    passed += r.passed;
    failed += r.failed;
    for (const auto& msg : r.failures) {
      if (msg.find("malformed") != std::string::npos) std::printf("FAIL  %s\n", msg.c_str());
    }
    kr.killed += r.kill_restore.killed;
    kr.killed_twice += r.kill_restore.killed_twice;
    append(&kr.restored_at_other_parallelism, r.kill_restore.restored_at_other_parallelism);
    append(&kr.other_parallelism_refused, r.kill_restore.other_parallelism_refused);
    append(&kr.finished_before_kill, r.kill_restore.finished_before_kill);
    append(&kr.refused, r.kill_restore.refused);
    for (const auto& [reason, n] : r.kill_restore.not_applicable) kr.not_applicable[reason] += n;
  }
  if (files.empty()) {
    std::printf("no test files found\n");
    return 1;
  }
  if (options.kill_restore) {
    int not_applicable = 0;
    for (const auto& [reason, n] : kr.not_applicable) not_applicable += n;
    std::printf(
        "sqllogictest --kill-restore: %d cases killed after a checkpoint and restored (%d killed "
        "again after the restore, %zu restored at another parallelism): %d passed, %d failed; "
        "%zu finished before the kill; %d not applicable\n",
        kr.killed, kr.killed_twice, kr.restored_at_other_parallelism.size(), passed, failed,
        kr.finished_before_kill.size(), not_applicable);
    for (const auto& [reason, n] : kr.not_applicable) {
      std::printf("  not applicable: %d %s\n", n, reason.c_str());
    }
    PrintList("checkpointing refused", kr.refused);
    PrintList("finished before the kill (output checked, nothing restored)",
              kr.finished_before_kill);
    PrintList("restore at another parallelism refused (restored at the same)",
              kr.other_parallelism_refused);
    if (options.verbose) {
      PrintList("restored at another parallelism", kr.restored_at_other_parallelism);
    }
    return failed == 0 ? 0 : 1;
  }
  std::printf("sqllogictest: %d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
