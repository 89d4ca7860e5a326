#include "common/fault.h"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace sluice::fault {

namespace {

struct Point {
  std::string name;   // after_checkpoint, sink_commit, after_rows...
  std::string op;     // after_rows: the operator
  int64_t value = 0;  // checkpoint id, or row count
  std::atomic<int64_t> rows{0};
};

struct Config {
  std::vector<std::unique_ptr<Point>> points;
};

std::mutex g_mu;
std::atomic<bool> g_loaded{false};
std::atomic<bool> g_armed{false};
std::atomic<Config*> g_config{nullptr};  // replaced only by ReloadForTesting, which leaks
// Set once an after_checkpoint point is passed (a checkpoint's metadata is written): arms the
// rows_after_checkpoint points.
std::atomic<bool> g_checkpoint_completed{false};

bool ParseInt(std::string_view text, int64_t* out) {
  if (text.empty()) return false;
  int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
    if (v > (int64_t{1} << 56)) return false;
  }
  *out = v;
  return true;
}

[[noreturn]] void Crash(std::string_view what) {
  std::string msg = "sluice: fault injected: ";
  msg += what;
  msg += ": killing the process\n";
  (void)!write(STDERR_FILENO, msg.data(), msg.size());
  std::raise(SIGKILL);
  _exit(137);
}

Config* Parse(const char* env) {
  auto* config = new Config();
  if (env == nullptr) return config;
  std::string_view rest(env);
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (item.empty()) continue;
    auto p = std::make_unique<Point>();
    size_t first = item.find(':');
    size_t last = item.rfind(':');
    if (first == std::string_view::npos) {
      std::fprintf(stderr, "sluice: warning: ignoring SLUICE_FAULT entry '%.*s' (want point:N)\n",
                   static_cast<int>(item.size()), item.data());
      continue;
    }
    p->name = std::string(item.substr(0, first));
    if (p->name == kAfterRows || p->name == kSlow || p->name == kRowsAfterCheckpoint) {
      if (last == first) {
        std::fprintf(stderr,
                     "sluice: warning: ignoring SLUICE_FAULT entry '%.*s' (want "
                     "%s:OPERATOR:N)\n",
                     static_cast<int>(item.size()), item.data(), p->name.c_str());
        continue;
      }
      p->op = std::string(item.substr(first + 1, last - first - 1));
    }
    if (!ParseInt(item.substr(last + 1), &p->value)) {
      std::fprintf(stderr, "sluice: warning: ignoring SLUICE_FAULT entry '%.*s' (bad number)\n",
                   static_cast<int>(item.size()), item.data());
      continue;
    }
    config->points.push_back(std::move(p));
  }
  return config;
}

void LoadLocked() {
  Config* config = Parse(std::getenv("SLUICE_FAULT"));
  g_checkpoint_completed.store(false, std::memory_order_relaxed);
  g_armed.store(!config->points.empty(), std::memory_order_relaxed);
  g_config.store(config);
  g_loaded.store(true, std::memory_order_release);
}

}  // namespace

namespace detail {

bool AnyArmed() {
  if (!g_loaded.load(std::memory_order_acquire)) {
    std::lock_guard<std::mutex> lock(g_mu);
    if (!g_loaded.load(std::memory_order_relaxed)) LoadLocked();
  }
  return g_armed.load(std::memory_order_relaxed);
}

void Hit(std::string_view point, int64_t value) {
  if (point == kAfterCheckpoint) g_checkpoint_completed.store(true, std::memory_order_release);
  for (const auto& p : g_config.load()->points) {
    if (p->name == point && p->value == value) {
      Crash(std::string(point) + ":" + std::to_string(value));
    }
  }
}

int64_t Value(std::string_view point) {
  for (const auto& p : g_config.load()->points) {
    if (p->name == point && p->op.empty()) return p->value;
  }
  return -1;
}

void Rows(std::string_view op, int64_t rows) {
  // "filter_project[2]" matches both "filter_project[2]" and "filter_project".
  std::string_view base = op.substr(0, op.find('['));
  for (const auto& p : g_config.load()->points) {
    if (p->op != op && p->op != base) continue;
    if (p->name == kSlow) {
      usleep(static_cast<useconds_t>(p->value));
      continue;
    }
    if (p->name == kRowsAfterCheckpoint) {
      if (!g_checkpoint_completed.load(std::memory_order_acquire)) continue;
    } else if (p->name != kAfterRows) {
      continue;
    }
    int64_t before = p->rows.fetch_add(rows);
    if (before < p->value && before + rows >= p->value) {
      Crash(p->name + ":" + p->op + ":" + std::to_string(p->value));
    }
  }
}

int64_t SourcePaceMicros() {
  for (const auto& p : g_config.load()->points) {
    if (p->name == kPaceSources) return p->value;
  }
  return 0;
}

}  // namespace detail

void ReloadForTesting() {
  std::lock_guard<std::mutex> lock(g_mu);
  LoadLocked();
}

}  // namespace sluice::fault
