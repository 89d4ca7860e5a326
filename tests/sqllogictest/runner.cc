#include "runner.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "cli/pipeline.h"

namespace sluice::testing {

namespace fs = std::filesystem;

namespace {

struct Case {
  std::string kind;  // run | error | explain
  int line = 0;
  bool ordered = false;
  bool final_table = false;  // output is a Debezium changelog; compare the table it describes
  bool stdout_output = false;
  std::vector<int> parallelisms;
  std::string sql;
  std::vector<std::string> expected;
};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string line;
  while (std::getline(ss, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(line);
  }
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> NonEmpty(const std::vector<std::string>& lines) {
  std::vector<std::string> out;
  for (const auto& l : lines) {
    if (!l.empty()) out.push_back(l);
  }
  return out;
}

std::string Substitute(std::string sql, const std::map<std::string, std::string>& vars) {
  // Longest names first so $input10 is not replaced as $input1 + "0".
  std::vector<std::pair<std::string, std::string>> sorted(vars.begin(), vars.end());
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  for (const auto& [name, value] : sorted) {
    std::string key = "$" + name;
    size_t pos = 0;
    while ((pos = sql.find(key, pos)) != std::string::npos) {
      sql.replace(pos, key.size(), value);
      pos += value.size();
    }
  }
  return sql;
}

// Runs `sql`, capturing standard output into `captured` when asked.
Status RunCapturing(const std::string& sql, int parallelism, int batch_size, bool capture_stdout,
                    const std::string& capture_path) {
  cli::RunOptions options;
  options.parallelism = parallelism;
  if (batch_size > 0) options.settings["batch_size"] = std::to_string(batch_size);
  int saved = -1;
  if (capture_stdout) {
    std::fflush(stdout);
    saved = dup(1);
    int fd = open(capture_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    close(fd);
  }
  Status st = cli::RunSql(sql, options, nullptr, nullptr);
  if (capture_stdout) {
    std::fflush(stdout);
    dup2(saved, 1);
    close(saved);
  }
  return st;
}

std::string Diff(std::vector<std::string> expected, std::vector<std::string> actual, bool ordered) {
  if (!ordered) {
    std::sort(expected.begin(), expected.end());
    std::sort(actual.begin(), actual.end());
  }
  if (expected == actual) return "";
  std::string s = fmt::format("expected {} rows, got {}\n", expected.size(), actual.size());
  size_t n = std::max(expected.size(), actual.size());
  int shown = 0;
  for (size_t i = 0; i < n && shown < 20; ++i) {
    std::string e = i < expected.size() ? expected[i] : "<none>";
    std::string a = i < actual.size() ? actual[i] : "<none>";
    if (e != a) {
      s += fmt::format("  row {}: expected {}\n          got      {}\n", i + 1, e, a);
      ++shown;
    }
  }
  return s;
}

// Reads one JSON value (null, or an object/array with nested strings) starting at `pos`.
std::string ReadJsonValue(const std::string& s, size_t* pos) {
  size_t start = *pos;
  if (s.compare(start, 4, "null") == 0) {
    *pos += 4;
    return "null";
  }
  int depth = 0;
  bool in_string = false;
  for (size_t i = start; i < s.size(); ++i) {
    char c = s[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') in_string = true;
    if (c == '{' || c == '[') ++depth;
    if (c == '}' || c == ']') {
      if (--depth == 0) {
        *pos = i + 1;
        return s.substr(start, i + 1 - start);
      }
    }
  }
  *pos = s.size();
  return "";
}

// The table a Debezium changelog describes: inserts add their `after` row, deletes remove their
// `before` row, updates do both. A change that removes a row not in the table is an error.
std::vector<std::string> ApplyChangelog(const std::vector<std::string>& lines, std::string* error) {
  std::map<std::string, int> rows;
  for (const auto& l : lines) {
    size_t pos = l.find("{\"before\":");
    if (pos != 0) {
      *error = "not a change event: " + l;
      return {};
    }
    pos = 10;
    std::string before = ReadJsonValue(l, &pos);
    if (l.compare(pos, 9, ",\"after\":") != 0) {
      *error = "not a change event: " + l;
      return {};
    }
    pos += 9;
    std::string after = ReadJsonValue(l, &pos);
    std::string op = l.substr(pos);
    if (before != "null") {
      if (--rows[before] < 0) *error = "change removes a row that is not in the table: " + l;
    }
    if (after != "null") ++rows[after];
    bool shape_ok = (op == ",\"op\":\"c\"}" && before == "null" && after != "null") ||
                    (op == ",\"op\":\"d\"}" && before != "null" && after == "null") ||
                    (op == ",\"op\":\"u\"}" && before != "null" && after != "null");
    if (!shape_ok) *error = "malformed change event: " + l;
  }
  std::vector<std::string> out;
  for (const auto& [row, n] : rows) {
    for (int i = 0; i < n; ++i) out.push_back(row);
  }
  return out;
}

}  // namespace

RunnerResult RunTestFile(const std::string& path, const RunnerOptions& options) {
  RunnerResult result;
  std::vector<std::string> lines = Lines(ReadFile(path));
  fs::path dir = fs::temp_directory_path() /
                 fmt::format("sluice-sqltest-{}-{}", getpid(), fs::path(path).stem().string());
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::map<std::string, std::string> vars;
  std::vector<Case> cases;
  auto fail_parse = [&](size_t i, const std::string& why) {
    result.failed++;
    result.failures.push_back(fmt::format("{}:{}: malformed test: {}", path, i + 1, why));
  };

  size_t i = 0;
  int case_index = 0;
  while (i < lines.size()) {
    std::string line = lines[i];
    if (line.empty() || line[0] == '#') {
      ++i;
      continue;
    }
    std::stringstream head(line);
    std::string word;
    head >> word;
    if (word == "input") {
      // input NAME [file=relative/path]: the lines up to 'end' become a file; $NAME is its path.
      std::string name, arg;
      head >> name >> arg;
      if (name.empty()) {
        fail_parse(i, "input needs a name");
        return result;
      }
      std::string file = (dir / (name + ".data")).string();
      if (arg.rfind("file=", 0) == 0) {
        file = (fs::path(path).parent_path() / arg.substr(5)).string();
        ++i;
      } else {
        std::ofstream out(file);
        ++i;
        while (i < lines.size() && lines[i] != "end") out << lines[i++] << "\n";
        if (i >= lines.size()) {
          fail_parse(i, "input without 'end'");
          return result;
        }
        ++i;
      }
      vars[name] = file;
      continue;
    }
    if (word != "run" && word != "error" && word != "explain") {
      fail_parse(i, "unknown directive '" + word + "'");
      return result;
    }
    Case c;
    c.kind = word;
    c.line = static_cast<int>(i + 1);
    c.parallelisms = word == "run" ? options.parallelisms : std::vector<int>{1};
    while (head >> word) {
      if (word == "ordered") {
        c.ordered = true;
      } else if (word == "final") {
        c.final_table = true;
      } else if (word == "stdout") {
        c.stdout_output = true;
      } else if (word.rfind("parallelism=", 0) == 0) {
        c.parallelisms.clear();
        std::stringstream ps(word.substr(12));
        std::string p;
        while (std::getline(ps, p, ',')) c.parallelisms.push_back(std::stoi(p));
      } else {
        fail_parse(i, "unknown option '" + word + "'");
        return result;
      }
    }
    ++i;
    while (i < lines.size() && lines[i] != "----") c.sql += lines[i++] + "\n";
    if (i >= lines.size()) {
      fail_parse(i, "case without '----'");
      return result;
    }
    ++i;
    while (i < lines.size() && lines[i] != "end") c.expected.push_back(lines[i++]);
    if (i >= lines.size()) {
      fail_parse(i, "case without 'end'");
      return result;
    }
    ++i;
    cases.push_back(std::move(c));
  }

  for (const auto& c : cases) {
    ++case_index;
    std::vector<std::pair<int, int>> configs;  // (parallelism, batch size; 0 = default)
    for (int p : c.parallelisms) configs.push_back({p, 0});
    if (c.kind == "run" && options.small_batch > 0) {
      configs.push_back({c.parallelisms.back(), options.small_batch});
    }
    for (auto [p, batch_size] : configs) {
      std::string label =
          fmt::format("{}:{} ({} at parallelism {}{})", path, c.line, c.kind, p,
                      batch_size ? fmt::format(", batches of {} rows", batch_size) : "");
      std::string out_path =
          (dir / fmt::format("out-{}-{}-{}.txt", case_index, p, batch_size)).string();
      auto case_vars = vars;
      case_vars["output"] = out_path;
      std::string sql = Substitute(c.sql, case_vars);
      std::string failure;
      if (c.kind == "explain") {
        cli::RunOptions ro;
        ro.parallelism = p;
        auto text = cli::Explain(sql, ro);
        if (!text.ok()) {
          failure = "explain failed: " + text.status().ToString();
        } else {
          for (const auto& want : NonEmpty(c.expected)) {
            if (text->find(want) == std::string::npos) {
              failure += fmt::format("explain output lacks '{}'\n", want);
            }
          }
          if (!failure.empty()) failure += "explain output:\n" + *text;
        }
      } else {
        std::remove(out_path.c_str());
        Status st = RunCapturing(sql, p, batch_size, c.stdout_output, out_path);
        if (c.kind == "error") {
          if (st.ok()) {
            failure = "expected an error, but the pipeline succeeded";
          } else {
            std::string msg = st.ToString();
            for (const auto& want : NonEmpty(c.expected)) {
              if (msg.find(want) == std::string::npos) {
                failure += fmt::format("error message lacks '{}'\n", want);
              }
            }
            if (!failure.empty()) failure += "actual error: " + msg + "\n";
          }
        } else if (!st.ok()) {
          failure = "pipeline failed: " + st.ToString();
        } else {
          auto actual = NonEmpty(Lines(ReadFile(out_path)));
          if (c.final_table) {
            std::string error;
            actual = ApplyChangelog(actual, &error);
            failure = error.empty() ? Diff(NonEmpty(c.expected), actual, false) : error;
          } else {
            failure = Diff(NonEmpty(c.expected), actual, c.ordered);
          }
        }
      }
      if (failure.empty()) {
        ++result.passed;
        if (options.verbose) std::printf("ok    %s\n", label.c_str());
      } else {
        ++result.failed;
        result.failures.push_back(label + "\n" + failure);
        std::printf("FAIL  %s\n%s\n", label.c_str(), failure.c_str());
      }
    }
  }
  fs::remove_all(dir);
  return result;
}

}  // namespace sluice::testing
