// Robustness: planning mutated versions of every SQL logic test's statements never crashes.
// Each mutation (a token dropped, two tokens swapped, a token duplicated) must plan or fail
// with a Status; a crash or a sanitizer report fails the test binary.

#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "sql/planner/pipeline_plan.h"

#ifndef SLUICE_SQL_TEST_DIR
#error "SLUICE_SQL_TEST_DIR must name tests/sql"
#endif

namespace sluice::sql {
namespace {

// The SQL of every run/error/explain block, with $names replaced by an existing path.
std::vector<std::string> CorpusStatements() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(SLUICE_SQL_TEST_DIR)) {
    if (e.path().extension() != ".test") continue;
    std::ifstream in(e.path());
    std::string line, sql;
    bool in_sql = false;
    while (std::getline(in, line)) {
      if (!in_sql && (line.rfind("run", 0) == 0 || line.rfind("error", 0) == 0 ||
                      line.rfind("explain", 0) == 0)) {
        in_sql = true;
        sql.clear();
      } else if (in_sql && line == "----") {
        in_sql = false;
        size_t pos;
        // $name → an existing path, so tables validate and planning reaches the queries.
        while ((pos = sql.find('$')) != std::string::npos) {
          size_t end = pos + 1;
          while (end < sql.size() &&
                 (std::isalnum(static_cast<unsigned char>(sql[end])) || sql[end] == '_')) {
            ++end;
          }
          sql.replace(pos, end - pos, "/dev/null");
        }
        out.push_back(sql);
      } else if (in_sql) {
        sql += line + "\n";
      }
    }
  }
  return out;
}

std::vector<std::string> Tokens(const std::string& sql) {
  std::vector<std::string> tokens;
  std::istringstream ss(sql);
  std::string t;
  while (ss >> t) tokens.push_back(t);
  return tokens;
}

std::string Join(const std::vector<std::string>& tokens) {
  std::string s;
  for (const auto& t : tokens) s += t + " ";
  return s;
}

TEST(PlannerRobustness, MutatedCorpusNeverCrashes) {
  auto corpus = CorpusStatements();
  ASSERT_GT(corpus.size(), 50u);
  std::mt19937 rng(1234);
  int planned = 0, failed = 0;
  for (const auto& sql : corpus) {
    auto tokens = Tokens(sql);
    if (tokens.size() < 2) continue;
    for (int m = 0; m < 40; ++m) {
      auto t = tokens;
      size_t i = rng() % t.size(), j = rng() % t.size();
      switch (m % 3) {
        case 0:
          t.erase(t.begin() + static_cast<std::ptrdiff_t>(i));
          break;
        case 1:
          std::swap(t[i], t[j]);
          break;
        case 2:
          t.insert(t.begin() + static_cast<std::ptrdiff_t>(i), t[j]);
          break;
      }
      auto plan = PlanSql(Join(t));
      (plan.ok() ? planned : failed)++;
      if (!plan.ok()) {
        EXPECT_FALSE(plan.status().message().empty());
      }
    }
  }
  // Both outcomes occur: the mutations reach the binder, not only the parser.
  EXPECT_GT(planned, 0);
  EXPECT_GT(failed, 0);
}

}  // namespace
}  // namespace sluice::sql
