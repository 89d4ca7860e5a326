#include "runner.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "cli/pipeline.h"
#include "common/fault.h"

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

// RunnerOptions::replan of the file being run.
decltype(pipeline::RunOptions::replan) g_replan;

// Runs `sql`, capturing standard output into `captured` when asked.
Status RunCapturing(const std::string& sql, int parallelism, int batch_size, bool capture_stdout,
                    const std::string& capture_path) {
  cli::RunOptions options;
  options.parallelism = parallelism;
  options.replan = g_replan;
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

// Compares what a `run` case wrote to `out_path` with its expected lines; "" when they match.
std::string CheckOutput(const Case& c, const std::string& out_path) {
  auto actual = NonEmpty(Lines(ReadFile(out_path)));
  if (c.final_table) {
    std::string error;
    actual = ApplyChangelog(actual, &error);
    return error.empty() ? Diff(NonEmpty(c.expected), actual, false) : error;
  }
  return Diff(NonEmpty(c.expected), actual, c.ordered);
}

// ---------------------------------------------------------------------------------------------
// Kill-restore mode
//
// Both runs of a case happen in child processes (fork, then the engine in-process), so that the
// runner itself never starts a thread (a fork of a multithreaded process may inherit locked
// mutexes) and a crash or a hang of a run cannot take the runner down.

// How a child run ended.
struct ChildRun {
  enum class End { kFinished, kFailed, kKilled, kCrashed, kTimedOut } end = End::kCrashed;
  std::string error;  // kFailed: the status; kCrashed: the signal or exit code
  std::optional<int64_t> restored_from;
  int64_t checkpoints_completed = 0;
  std::string log;  // what the child wrote to stdout and stderr
};

constexpr int kChildTimeoutSeconds = 120;

// Runs `sql` with `options` in a child process, with SLUICE_FAULT set to `fault` there. The
// child's output and result go to files `<tag>.log` and `<tag>.result` under `dir`.
ChildRun RunChild(const std::string& sql, const cli::RunOptions& options, const std::string& fault,
                  const fs::path& dir, const std::string& tag) {
  const std::string log_path = (dir / (tag + ".log")).string();
  const std::string result_path = (dir / (tag + ".result")).string();
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    ChildRun r;
    r.error = fmt::format("fork failed: {}", std::strerror(errno));
    return r;
  }
  if (pid == 0) {
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    if (fault.empty()) {
      unsetenv("SLUICE_FAULT");
    } else {
      setenv("SLUICE_FAULT", fault.c_str(), 1);
    }
    fault::ReloadForTesting();
    cli::RunReport report;
    Status st = cli::RunSql(sql, options, nullptr, &report);
    {
      std::ofstream out(result_path);
      out << (st.ok() ? "ok" : "error") << "\n"
          << (report.restored_from ? *report.restored_from : -1) << "\n"
          << report.checkpoints_completed << "\n"
          << (st.ok() ? "" : st.ToString()) << "\n";
    }
    std::fflush(nullptr);
    _exit(0);  // no exit handlers, no destructors of the parent's objects
  }
  ChildRun r;
  int status = 0;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(kChildTimeoutSeconds);
  bool timed_out = false;
  while (true) {
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) break;
    if (!timed_out && std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      timed_out = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  r.log = ReadFile(log_path);
  if (timed_out) {
    r.end = ChildRun::End::kTimedOut;
  } else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
    r.end = ChildRun::End::kKilled;
  } else if (WIFSIGNALED(status)) {
    r.error = fmt::format("killed by signal {}", WTERMSIG(status));
  } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
    r.error = fmt::format("exited with status {}", WEXITSTATUS(status));
  } else {
    std::vector<std::string> result = Lines(ReadFile(result_path));
    if (result.size() < 3) {
      r.error = "no result file";
      return r;
    }
    r.end = result[0] == "ok" ? ChildRun::End::kFinished : ChildRun::End::kFailed;
    int64_t restored = std::stoll(result[1]);
    if (restored >= 0) r.restored_from = restored;
    r.checkpoints_completed = std::stoll(result[2]);
    for (size_t i = 3; i < result.size(); ++i) r.error += (i > 3 ? "\n" : "") + result[i];
  }
  return r;
}

// The kind (periodic, stop, end) of the newest complete checkpoint in `state_dir`, and its id;
// nullopt when there is none.
std::optional<std::pair<int64_t, std::string>> NewestCheckpoint(const fs::path& state_dir) {
  std::optional<std::pair<int64_t, std::string>> newest;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(state_dir, ec)) {
    std::string name = e.path().filename().string();
    if (name.rfind("chk-", 0) != 0 || !fs::exists(e.path() / "_metadata")) continue;
    int64_t id = std::stoll(name.substr(4));
    if (newest && newest->first > id) continue;
    std::string kind = "?";
    for (const auto& line : Lines(ReadFile((e.path() / "_metadata").string()))) {
      if (line.rfind("kind ", 0) == 0) kind = line.substr(5);
    }
    newest = std::make_pair(id, kind);
  }
  return newest;
}

std::string Tail(const std::string& text, size_t max_chars = 2000) {
  return text.size() <= max_chars ? text : "..." + text.substr(text.size() - max_chars);
}

// Pacing of the killed run: every source waits this long after each batch (of one row), without
// holding a worker thread, so that checkpoints (every millisecond) complete while the sources
// still have rows to read. A run that ends before the kill is retried slower.
constexpr int kPacingMicros[] = {1000, 4000, 16000};

// Checkpoints, kills and restores case `c` (a `run` case not printing to stdout); updates
// `result`. `index` picks the variant: the parallelisms of the two runs, where the kill lands,
// and the batch size of the restored run.
void KillRestoreCase(const Case& c, int index, const std::string& label_prefix,
                     const std::map<std::string, std::string>& vars, const fs::path& dir,
                     const RunnerOptions& options, RunnerResult* result) {
  KillRestoreStats& stats = result->kill_restore;
  const std::string where = label_prefix;
  // Parallelisms, for a case listing several: both runs at the first, kill at the first and
  // restore at the second, both at the second, kill at the second and restore at the first.
  int p_kill = c.parallelisms.front();
  int p_restore = p_kill;
  if (c.parallelisms.size() > 1) {
    int other = c.parallelisms[1];
    switch (index % 4) {
      case 1:
        p_restore = other;
        break;
      case 2:
        p_kill = p_restore = other;
        break;
      case 3:
        p_kill = other;
        break;
      default:
        break;
    }
  }
  // Where the kill lands (alternating with the parallelisms, so that every pair meets every
  // kill): at the first or second row the sources emit once the first checkpoint completed
  // (its commit may or may not have happened), or right after checkpoint 2 or 3 completed,
  // before the sinks commit it.
  static constexpr const char* kKills[] = {
      "rows_after_checkpoint:watermark:1", "after_checkpoint:2",
      "rows_after_checkpoint:watermark:2", "after_checkpoint:3"};
  std::string kill = kKills[(index / 2) % 4];
  // Half of the restores read their input in batches of the default size.
  const bool restore_default_batches = (index / 8) % 2 == 1;
  std::string label =
      fmt::format("{} (kill-restore at parallelism {}, restore at {})", where, p_kill, p_restore);
  auto fail = [&](const std::string& why) {
    ++result->failed;
    result->failures.push_back(label + "\n" + why);
    std::printf("FAIL  %s\n%s\n", label.c_str(), why.c_str());
  };

  cli::RunOptions ro;
  ro.settings["batch_size"] = "1";
  ro.checkpoint_interval = "1ms";
  bool killed = false;         // in the middle: after a periodic checkpoint
  bool killed_at_end = false;  // after_checkpoint:N hit the final checkpoint
  ChildRun first;
  std::string out_path, sql;
  fs::path state_dir;
  for (size_t attempt = 0; attempt < std::size(kPacingMicros) && !killed; ++attempt) {
    fs::path work = dir / fmt::format("kr-{}-{}", index, attempt);
    fs::create_directories(work);
    state_dir = work / "state";
    out_path = (work / "out.txt").string();
    auto case_vars = vars;
    case_vars["output"] = out_path;
    sql = Substitute(c.sql, case_vars);
    ro.parallelism = p_kill;
    ro.state_dir = state_dir.string();
    // A retry kills at the first row after the first checkpoint: the input may be too short
    // for a later kill. (The watermark generator is chained to every source: it counts the
    // rows they emit.)
    if (attempt > 0) kill = kKills[0];
    std::string fault = fmt::format("pace_sources:{},{}", kPacingMicros[attempt], kill);
    first = RunChild(sql, ro, fault, work, "killed");
    switch (first.end) {
      case ChildRun::End::kKilled: {
        // In the middle only when the checkpoint to restore is not the final one.
        auto newest = NewestCheckpoint(state_dir);
        if (!newest) {
          fail("killed before any checkpoint completed\n" + Tail(first.log));
          return;
        }
        killed = newest->second == "periodic";
        killed_at_end = !killed;
        if (!killed && options.verbose) {
          std::printf("      %s: %s killed after the final checkpoint (%d us pacing)\n",
                      where.c_str(), kill.c_str(), kPacingMicros[attempt]);
        }
        break;
      }
      case ChildRun::End::kFinished:
        killed_at_end = false;
        if (options.verbose) {
          std::printf("      %s: %s: finished before the kill (%lld checkpoints, %d us pacing)\n",
                      where.c_str(), kill.c_str(),
                      static_cast<long long>(first.checkpoints_completed), kPacingMicros[attempt]);
        }
        break;  // too fast for the kill: again, slower
      case ChildRun::End::kFailed:
        if (first.error.find("checkpointing") != std::string::npos &&
            first.error.find("not supported yet") != std::string::npos) {
          ++stats.not_applicable["checkpointing refused"];
          stats.refused.push_back(where + ": " + first.error);
          if (options.verbose) std::printf("n/a   %s: %s\n", where.c_str(), first.error.c_str());
          return;
        }
        fail("the run to kill failed: " + first.error + "\n" + Tail(first.log));
        return;
      case ChildRun::End::kCrashed:
        fail("the run to kill crashed (" + first.error + ")\n" + Tail(first.log));
        return;
      case ChildRun::End::kTimedOut:
        fail(fmt::format("the run to kill did not end within {} s\n{}", kChildTimeoutSeconds,
                         Tail(first.log)));
        return;
    }
  }
  // Resume (after a kill) or run again over the end checkpoint (nothing left to read; after a
  // kill there, the sinks' commit is finished). A restore at another parallelism that is
  // refused goes back to the killed run's.
  ro.parallelism = p_restore;
  if (restore_default_batches) ro.settings.erase("batch_size");
  fs::path work = state_dir.parent_path();
  auto restore = [&](const std::string& fault, const std::string& tag) {
    ChildRun run = RunChild(sql, ro, fault, work, tag);
    if (run.end == ChildRun::End::kFailed && p_restore != p_kill &&
        run.error.find("parallelism") != std::string::npos &&
        run.error.find("not supported yet") != std::string::npos) {
      stats.other_parallelism_refused.push_back(where + ": " + run.error);
      p_restore = p_kill;
      ro.parallelism = p_restore;
      label = fmt::format("{} (kill-restore at parallelism {}, restore at {})", where, p_kill,
                          p_restore);
      run = RunChild(sql, ro, fault, work, tag + "-again");
    }
    return run;
  };
  // Every third case is killed once more, in the middle of the resumed run, and resumed again:
  // the checkpoints of a resumed run (numbered on, extending restored state) must restore too.
  bool killed_twice = false;
  if (killed && index % 3 == 2) {
    ChildRun again =
        restore(fmt::format("pace_sources:{},rows_after_checkpoint:watermark:1", kPacingMicros[1]),
                "killed-again");
    if (again.end == ChildRun::End::kKilled) {
      killed_twice = true;
    } else if (again.end != ChildRun::End::kFinished) {
      fail("the resumed run to kill again failed: " + again.error + "\n" + Tail(again.log));
      return;
    }
  }
  ro.checkpoint_interval.reset();
  ChildRun second = restore("", "restored");
  if (second.end != ChildRun::End::kFinished) {
    std::string why = second.end == ChildRun::End::kFailed     ? second.error
                      : second.end == ChildRun::End::kTimedOut ? std::string("timed out")
                                                               : "crashed: " + second.error;
    fail("the restored run failed: " + why + "\n" + Tail(second.log));
    return;
  }
  if (!second.restored_from) {
    fail("the restored run did not resume from a checkpoint\n" + Tail(second.log));
    return;
  }
  std::string failure = CheckOutput(c, out_path);
  if (!killed) {
    stats.finished_before_kill.push_back(where + (killed_at_end ? " (killed at the end)" : ""));
    if (!failure.empty()) fail("(finished before the kill) " + failure);
    return;
  }
  ++stats.killed;
  if (killed_twice) ++stats.killed_twice;
  if (p_restore != p_kill) {
    stats.restored_at_other_parallelism.push_back(
        fmt::format("{} ({} -> {})", where, p_kill, p_restore));
  }
  if (!failure.empty()) {
    fail(fmt::format("killed ({}){} and restored from checkpoint {}{}: wrong output\n{}", kill,
                     killed_twice ? ", restored, killed again" : "", *second.restored_from,
                     restore_default_batches ? " in batches of the default size" : "", failure));
    return;
  }
  ++result->passed;
  if (options.verbose) {
    std::printf("ok    %s, killed after checkpoint %lld\n", label.c_str(),
                static_cast<long long>(*second.restored_from));
  }
}

// Where kill-restore mode keeps its files: a RAM disk when there is one, because checkpoints
// every millisecond fsync their files.
fs::path ScratchRoot(bool kill_restore) {
  std::error_code ec;
  if (kill_restore && fs::is_directory("/dev/shm", ec) && access("/dev/shm", W_OK) == 0) {
    return "/dev/shm";
  }
  return fs::temp_directory_path();
}

}  // namespace

RunnerResult RunTestFile(const std::string& path, const RunnerOptions& options) {
  RunnerResult result;
  g_replan = options.replan;
  std::vector<std::string> lines = Lines(ReadFile(path));
  fs::path dir = ScratchRoot(options.kill_restore) /
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
    if (options.kill_restore) {
      const std::string where = fmt::format("{}:{}", path, c.line);
      if (c.kind != "run") {
        ++result.kill_restore.not_applicable[c.kind + " cases (nothing to restore)"];
      } else if (c.stdout_output) {
        ++result.kill_restore.not_applicable["stdout cases (the stdout sink is at-least-once)"];
      } else {
        KillRestoreCase(c, case_index + options.kill_restore_variant, where, vars, dir, options,
                        &result);
      }
      continue;
    }
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
          failure = CheckOutput(c, out_path);
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
