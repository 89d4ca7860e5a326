#include "pipeline/runner.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <fmt/format.h>

#include "connectors/connector.h"
#include "runtime/checkpoint_metadata.h"
#include "runtime/checkpoint_storage.h"
#include "sql/planner/logical_plan.h"

namespace sluice::pipeline {

namespace {

Status CheckSettings(const RunOptions& options) {
  const auto& known = sql::KnownSettings();
  for (const auto& [key, value] : options.settings) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      std::string hint = connectors::ClosestMatch(key, known);
      return Status::User("unknown setting '{}' in --set{}", key,
                          hint.empty() ? "" : fmt::format("; did you mean '{}'?", hint));
    }
  }
  return Status::Ok();
}

Result<int> ParallelismOf(const RunOptions& options) {
  SLUICE_RETURN_NOT_OK(CheckSettings(options));
  if (options.parallelism < 1 || options.parallelism > 1024) {
    return Status::User("--parallelism must be between 1 and 1024, got {}", options.parallelism);
  }
  return options.parallelism;
}

// Engine settings from SET statements, overridden by --set.
Result<sql::CompileOptions> CompileOptionsOf(const sql::PipelinePlan& plan,
                                             const RunOptions& options, int parallelism) {
  sql::CompileOptions out;
  out.parallelism = parallelism;
  std::map<std::string, std::string> settings = plan.settings;
  for (const auto& [k, v] : options.settings) settings[k] = v;
  if (auto it = settings.find("batch_size"); it != settings.end()) {
    char* end = nullptr;
    long long n = std::strtoll(it->second.c_str(), &end, 10);
    if (it->second.empty() || *end != '\0' || n < 1 || n > 1000000) {
      return Status::User("batch_size must be a number of rows between 1 and 1000000, got '{}'",
                          it->second);
    }
    out.batch_rows = n;
  }
  return out;
}

}  // namespace

Result<std::optional<runtime::CheckpointOptions>> CheckpointOptionsOf(const RunOptions& options,
                                                                      const Compiled& compiled) {
  if (options.state_dir.empty()) {
    if (options.checkpoint_interval) {
      return Status::User("--checkpoint-interval needs --state-dir");
    }
    if (options.checkpoints_to_keep) return Status::User("--checkpoints-to-keep needs --state-dir");
    if (options.ignore_state) return Status::User("--ignore-state needs --state-dir");
    if (options.allow_non_restored_state) {
      return Status::User("--allow-non-restored-state needs --state-dir");
    }
    if (options.restore_checkpoint) return Status::User("restoring a checkpoint needs a state dir");
    return std::optional<runtime::CheckpointOptions>();
  }
  runtime::CheckpointOptions out;
  if (options.checkpoint_interval) {
    SLUICE_ASSIGN_OR_RETURN(out.interval_micros,
                            ParseDuration(*options.checkpoint_interval, "--checkpoint-interval"));
    if (out.interval_micros < 1000) {
      return Status::User("--checkpoint-interval must be at least 1ms, got '{}'",
                          *options.checkpoint_interval);
    }
  }
  if (options.checkpoints_to_keep) {
    if (*options.checkpoints_to_keep < 1 || *options.checkpoints_to_keep > 1000) {
      return Status::User("--checkpoints-to-keep must be between 1 and 1000, got {}",
                          *options.checkpoints_to_keep);
    }
    out.keep = *options.checkpoints_to_keep;
  }
  out.ignore_state = options.ignore_state;
  out.allow_non_restored_state = options.allow_non_restored_state;
  out.restore_checkpoint = options.restore_checkpoint;
  out.log = options.log;
  // The optimized logical plan names every source, sink, expression and option; it does not
  // depend on the parallelism, which may change between runs.
  out.fingerprint = runtime::QueryFingerprint(compiled.plan.ToString());
  SLUICE_ASSIGN_OR_RETURN(out.storage, runtime::OpenCheckpointStorage(options.state_dir));
  return std::optional<runtime::CheckpointOptions>(std::move(out));
}

Result<Compiled> PlanAndCompile(std::string_view sql, const RunOptions& options) {
  auto parallelism = ParallelismOf(options);
  if (!parallelism.ok()) return parallelism.status();
  auto plan = sql::PlanSql(sql);
  if (!plan.ok()) return plan.status();
  if (options.preview) {
    for (auto& sink : plan->sinks) {
      if (sink->table == nullptr || sink->table->connector == "preview") continue;
      auto spec = std::make_shared<connectors::TableSpec>(*sink->table);
      spec->connector = "preview";
      spec->options.clear();
      // A changelog stays a changelog; everything else previews as JSON.
      formats::FormatOptions format;
      format.format = spec->format.format == "debezium_json" ? "debezium_json" : "json";
      spec->format = format;
      sink = sql::MakeSink(sink->inputs[0], std::move(spec));
    }
  }
  auto compile = CompileOptionsOf(*plan, options, *parallelism);
  if (!compile.ok()) return compile.status();
  if (options.replan) {
    auto replanned = options.replan(*plan, *compile);
    if (!replanned.ok()) return replanned.status();
    plan = replanned.MoveValue();
  }
  auto graph = sql::Compile(*plan, *compile);
  if (!graph.ok()) return graph.status();
  return Compiled{plan.MoveValue(), graph.MoveValue()};
}

Result<std::string> Explain(std::string_view sql, const RunOptions& options) {
  auto compiled = PlanAndCompile(sql, options);
  if (!compiled.ok()) return compiled.status();
  return fmt::format("== logical plan ==\n{}\n== dataflow graph ==\n{}", compiled->plan.ToString(),
                     compiled->graph.ToString());
}

Result<std::unique_ptr<Runner>> Runner::Prepare(std::string_view sql, const RunOptions& options) {
  auto compiled = PlanAndCompile(sql, options);
  if (!compiled.ok()) return compiled.status();
  SLUICE_ASSIGN_OR_RETURN(auto checkpoints, CheckpointOptionsOf(options, *compiled));
  int threads = options.threads > 0
                    ? options.threads
                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::unique_ptr<Runner>(new Runner(compiled.MoveValue(), std::move(checkpoints), threads));
}

Runner::Runner(Compiled compiled, std::optional<runtime::CheckpointOptions> checkpoints,
               int threads)
    : compiled_(std::move(compiled)), checkpoints_(std::move(checkpoints)), threads_(threads) {}

Runner::~Runner() = default;

Status Runner::Build() {
  std::lock_guard<std::mutex> lock(mu_);
  if (executor_ != nullptr) return Status::Ok();
  runtime::ExecutorOptions exec_options;
  exec_options.threads = threads_;
  auto executor =
      std::make_unique<runtime::Executor>(compiled_.graph, exec_options, std::move(checkpoints_));
  SLUICE_RETURN_NOT_OK(executor->Build());
  if (stop_requested_) executor->RequestStop();
  if (abort_reason_) executor->Abort(*abort_reason_);
  executor_ = std::move(executor);
  return Status::Ok();
}

void Runner::RequestStop() {
  std::lock_guard<std::mutex> lock(mu_);
  stop_requested_ = true;
  if (executor_) executor_->RequestStop();
}

void Runner::Abort(const std::string& reason) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!abort_reason_) abort_reason_ = reason;
  if (executor_) executor_->Abort(reason);
}

std::vector<const runtime::OperatorMetrics*> Runner::Metrics() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (executor_ == nullptr) return {};
  return executor_->Metrics();
}

std::shared_ptr<runtime::EdgeTap> Runner::Tap(size_t edge) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (executor_ == nullptr) return nullptr;
  return executor_->Tap(edge);
}

Status Runner::Run(const std::atomic<bool>* stop) {
  SLUICE_RETURN_NOT_OK(Build());
  runtime::Executor& executor = *executor_;
  // A watcher turns the stop flag into a graceful stop of the sources.
  std::atomic<bool> done{false};
  std::thread watcher;
  if (stop != nullptr) {
    watcher = std::thread([&] {
      // Also logs late rows every 10 seconds while the count grows.
      int64_t logged_late = 0;
      auto next_log = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (!done.load()) {
        if (stop->load()) {
          executor.RequestStop();
          return;
        }
        if (std::chrono::steady_clock::now() >= next_log) {
          next_log += std::chrono::seconds(10);
          int64_t late = 0;
          for (const auto* m : executor.Metrics()) late += m->late_rows_dropped;
          if (late > logged_late) {
            std::fprintf(stderr, "sluice: %lld late rows dropped so far\n",
                         static_cast<long long>(late));
            logged_late = late;
          }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
  }
  Status st = executor.Run();
  done = true;
  if (watcher.joinable()) watcher.join();
  return st;
}

RunReport Runner::Report() const {
  RunReport report;
  std::lock_guard<std::mutex> lock(mu_);
  if (executor_ == nullptr) return report;
  runtime::CheckpointSummary checkpoints = executor_->Checkpoints();
  report.checkpoints_completed = checkpoints.completed;
  report.restored_from = checkpoints.restored_from;
  for (const auto* m : executor_->Metrics()) {
    report.bad_rows_dropped += m->bad_rows_dropped;
    report.late_rows_dropped += m->late_rows_dropped;
    if (m->name.find("sink") != std::string::npos) report.rows_written += m->rows_out;
    report.summary += fmt::format(
        "{}: {} rows in, {} rows out{}\n", m->name, m->rows_in.load(), m->rows_out.load(),
        m->bad_rows_dropped ? fmt::format(", {} bad rows dropped", m->bad_rows_dropped.load())
                            : "");
  }
  return report;
}

}  // namespace sluice::pipeline
