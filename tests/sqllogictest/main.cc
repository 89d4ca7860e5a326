// sqllogictest: runs the SQL logic tests under a directory (or single files).
//   sqllogictest [--verbose] [--parallelism 1,4] [--small-batch N] [--filter substring] PATH...

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "runner.h"

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
  for (const auto& f : files) {
    if (!options.filter.empty() && f.find(options.filter) == std::string::npos) continue;
    auto r = sluice::testing::RunTestFile(f, options);
    passed += r.passed;
    failed += r.failed;
    for (const auto& msg : r.failures) {
      if (msg.find("malformed") != std::string::npos) std::printf("FAIL  %s\n", msg.c_str());
    }
  }
  if (files.empty()) {
    std::printf("no test files found\n");
    return 1;
  }
  std::printf("sqllogictest: %d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
