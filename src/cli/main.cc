// sluice: the command-line entry point.

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>

#include "api/serve.h"
#include "cli/nexmark_command.h"
#include "cli/pipeline.h"
#include "dist/coordinator.h"
#include "dist/worker.h"

namespace {

constexpr const char* kVersion = "0.1.0";

std::atomic<bool> g_stop{false};

// Signals are blocked in every thread; one thread waits for them and asks for a clean stop.
// A second SIGINT/SIGTERM exits at once.
void StartSignalThread(bool checkpointing) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set, checkpointing] {
    int count = 0;
    while (true) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      if (++count > 1) _exit(130);
      std::fprintf(stderr, "sluice: stopping (signal %d): %s...\n", sig,
                   checkpointing ? "taking a final checkpoint" : "draining in-flight rows");
      g_stop = true;
    }
  }).detach();
}

bool ReadSql(const std::string& path, std::string* out) {
  if (path == "-") {
    std::stringstream ss;
    ss << std::cin.rdbuf();
    *out = ss.str();
    return true;
  }
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "sluice: cannot read '%s': %s\n", path.c_str(), std::strerror(errno));
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

bool ParseSettings(const std::vector<std::string>& sets, sluice::cli::RunOptions* options) {
  for (const auto& kv : sets) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "sluice: --set takes key=value, got '%s'\n", kv.c_str());
      return false;
    }
    options->settings[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return true;
}

void PrintError(const sluice::Status& st) {
  std::fprintf(stderr, "sluice: %s\n", st.ToString().c_str());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Sluice: streaming SQL over unbounded data", "sluice"};
  app.set_version_flag("--version", std::string("sluice ") + kVersion);
  app.require_subcommand(0, 1);

  int default_parallelism = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  std::string run_file;
  int run_parallelism = default_parallelism;
  std::vector<std::string> run_sets;
  auto* run = app.add_subcommand("run", "Plan and run every statement of a SQL file");
  run->add_option("file", run_file, "SQL file, or - for standard input")->required();
  run->add_option("-p,--parallelism", run_parallelism, "Subtasks per operator (default: cores)");
  run->add_option("--set", run_sets, "Engine option key=value (repeatable)");
  sluice::cli::RunOptions run_options;
  std::string checkpoint_interval;
  int checkpoints_to_keep = 0;
  run->add_option("--state-dir", run_options.state_dir,
                  "Take checkpoints into this directory (a path, file:// URL or "
                  "s3://bucket/prefix) and resume from the latest one");
  auto* interval_option = run->add_option("--checkpoint-interval", checkpoint_interval,
                                          "Time between checkpoints: 500ms, 10s, 2m (default 10s)");
  auto* keep_option = run->add_option("--checkpoints-to-keep", checkpoints_to_keep,
                                      "Completed checkpoints kept (default 3)");
  run->add_flag("--ignore-state", run_options.ignore_state,
                "Start from the beginning when the state dir holds another query's checkpoints");
  run->add_flag("--allow-non-restored-state", run_options.allow_non_restored_state,
                "Resuming an edited query: drop the state of operators it no longer has "
                "(changed or removed) instead of refusing");

  std::string explain_file;
  int explain_parallelism = default_parallelism;
  auto* explain = app.add_subcommand("explain", "Show the logical plan and the dataflow graph");
  explain->add_option("file", explain_file, "SQL file, or - for standard input")->required();
  explain->add_option("-p,--parallelism", explain_parallelism, "Subtasks per operator");

  sluice::cli::NexmarkGenerateOptions nexmark_options;
  auto* nexmark = app.add_subcommand("nexmark", "Nexmark benchmark tools");
  nexmark->require_subcommand(1);
  auto* nexmark_generate = nexmark->add_subcommand(
      "generate", "Write the nexmark source's events as JSON lines to standard output");
  nexmark_generate->add_option("--events", nexmark_options.events, "Number of events")->required();
  nexmark_generate
      ->add_option("--rate", nexmark_options.rate,
                   "Nominal events per second for the timestamps (default 10000)")
      ->check(CLI::NonNegativeNumber);
  nexmark_generate->add_option("--seed", nexmark_options.seed, "Generator seed (default 0)");

  sluice::api::ServeOptions serve_options;
  auto* serve = app.add_subcommand(
      "serve", "Run the service: the REST API and the job manager that runs pipelines");
  serve->add_option("--listen", serve_options.listen,
                    "host:port to serve on (default 127.0.0.1:5115; port 0 picks a free one)");
  serve->add_option("--data-dir", serve_options.data_dir,
                    "Where the default database and checkpoints live (default sluice-data)");
  serve->add_option("--db", serve_options.db,
                    "Metadata store: sqlite:PATH or postgresql://user@host:port/db "
                    "(default sqlite:<data dir>/sluice.db)");
  serve->add_option("--state-dir", serve_options.state_dir,
                    "Checkpoints of the pipelines: a directory or s3://bucket/prefix "
                    "(default <data dir>/state)");
  serve->add_option("-p,--parallelism", serve_options.default_parallelism,
                    "Parallelism of pipelines created without one (default 1)");
  serve->add_option("--job-threads", serve_options.job_threads,
                    "Worker threads per running pipeline (default: one per core)");
  serve->add_option("--sse-heartbeat-ms", serve_options.sse_heartbeat_ms,
                    "Milliseconds between heartbeats of quiet event streams (default 15000)");
  serve->add_option("--port-file", serve_options.port_file,
                    "Write the port to this file once listening");
  serve->add_option("--demo", serve_options.demo_file,
                    "Start this SQL file as the pipeline 'demo' unless one exists (make run)");

  // Beyond one machine (docs/distributed.md).
  sluice::dist::CoordinatorOptions coord_options;
  std::string coord_file;
  int coord_parallelism = default_parallelism;
  std::vector<std::string> coord_sets;
  std::string coord_worker_timeout = "30s";
  std::string coord_heartbeat_timeout = "10s";
  auto* coordinator = app.add_subcommand(
      "coordinator", "Run a SQL file on `sluice worker` processes (one coordinator per job)");
  coordinator->add_option("file", coord_file, "SQL file, or - for standard input")->required();
  coordinator->add_option("-p,--parallelism", coord_parallelism,
                          "Subtasks per operator (default: cores)");
  coordinator->add_option("--set", coord_sets, "Engine option key=value (repeatable)");
  coordinator->add_option("--listen", coord_options.listen,
                          "host:port of the control RPC (default 127.0.0.1:0, any free port)");
  coordinator->add_option("--port-file", coord_options.port_file,
                          "Write the control RPC's port to this file once listening");
  coordinator->add_option("--job", coord_options.job, "The job's name (default sluice-job)");
  coordinator->add_option("--workers", coord_options.workers,
                          "Workers to wait for before deploying (default 1)");
  coordinator->add_option("--worker-timeout", coord_worker_timeout,
                          "How long to wait for the workers to register and deploy (default 30s)");
  coordinator->add_option("--heartbeat-timeout", coord_heartbeat_timeout,
                          "A worker silent this long is lost (default 10s)");
  coordinator->add_option("--threads", coord_options.threads,
                          "Executor threads per worker (default: the worker's cores)");
  std::string coord_interval;
  int coord_keep = 0;
  coordinator->add_option("--state-dir", coord_options.run.state_dir,
                          "Take the job's checkpoints into this directory, shared by every worker "
                          "(a path or s3://bucket/prefix); resume from the latest one");
  auto* coord_interval_option =
      coordinator->add_option("--checkpoint-interval", coord_interval,
                              "Time between checkpoints: 500ms, 10s, 2m (default 10s)");
  auto* coord_keep_option = coordinator->add_option("--checkpoints-to-keep", coord_keep,
                                                    "Completed checkpoints kept (default 3)");
  coordinator->add_flag("--ignore-state", coord_options.run.ignore_state,
                        "Start from the beginning when the state dir holds another query's "
                        "checkpoints");
  coordinator->add_option("--max-restarts", coord_options.max_restarts,
                          "With a state dir: restarts from the latest checkpoint after a lost or "
                          "failed worker before the job fails (default 10)");

  sluice::dist::WorkerOptions worker_options;
  auto* worker = app.add_subcommand("worker", "Run the subtasks a `sluice coordinator` assigns");
  worker->add_option("--coordinator", worker_options.coordinator, "host:port of the coordinator")
      ->required();
  worker->add_option("--slots", worker_options.slots,
                     "Subtasks of each operator this worker runs (default 1)");
  worker->add_option("--name", worker_options.name,
                     "The worker's name, unique in the job (default host:port of its data plane)");
  worker->add_option("--data-plane-host", worker_options.data_plane_host,
                     "Address the data plane listens on and peers connect to (default 127.0.0.1)");
  worker->add_option("--data-plane-port", worker_options.data_plane_port,
                     "Port of the data plane (default 0: any free port)");
  std::string worker_connect_timeout = "30s";
  worker->add_option("--connect-timeout", worker_connect_timeout,
                     "How long to try reaching the coordinator and the peers (default 30s)");

  auto* help = app.add_subcommand("help", "Show this help");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  if (help->parsed() || app.get_subcommands().empty()) {
    // app.help() would describe the `help` subcommand itself once it is parsed.
    std::cout << app.get_formatter()->make_help(&app, "sluice", CLI::AppFormatMode::Normal);
    return help->parsed() ? 0 : 2;
  }

  if (explain->parsed()) {
    std::string sql;
    if (!ReadSql(explain_file, &sql)) return 1;
    sluice::cli::RunOptions options;
    options.parallelism = explain_parallelism;
    auto text = sluice::cli::Explain(sql, options);
    if (!text.ok()) {
      PrintError(text.status());
      return 1;
    }
    std::cout << *text;
    return 0;
  }

  if (nexmark_generate->parsed()) {
    sluice::Status st = sluice::cli::NexmarkGenerate(nexmark_options, stdout);
    if (!st.ok()) {
      PrintError(st);
      return 1;
    }
    return 0;
  }

  if (serve->parsed()) {
    StartSignalThread(true);
    sluice::Status st = sluice::api::Serve(serve_options, &g_stop);
    if (!st.ok()) {
      PrintError(st);
      return 1;
    }
    return 0;
  }

  if (coordinator->parsed()) {
    if (!ReadSql(coord_file, &coord_options.sql)) return 1;
    coord_options.run.parallelism = coord_parallelism;
    if (coord_interval_option->count() > 0) coord_options.run.checkpoint_interval = coord_interval;
    if (coord_keep_option->count() > 0) coord_options.run.checkpoints_to_keep = coord_keep;
    if (!ParseSettings(coord_sets, &coord_options.run)) return 1;
    auto worker_timeout = sluice::ParseDuration(coord_worker_timeout, "--worker-timeout");
    auto heartbeat_timeout = sluice::ParseDuration(coord_heartbeat_timeout, "--heartbeat-timeout");
    if (!worker_timeout.ok() || !heartbeat_timeout.ok()) {
      PrintError(!worker_timeout.ok() ? worker_timeout.status() : heartbeat_timeout.status());
      return 1;
    }
    coord_options.worker_timeout_micros = *worker_timeout;
    coord_options.heartbeat_timeout_micros = *heartbeat_timeout;
    coord_options.stop = &g_stop;
    StartSignalThread(false);
    sluice::dist::CoordinatorReport report;
    sluice::Status st = sluice::dist::RunCoordinator(coord_options, &report);
    if (!st.ok()) {
      PrintError(st);
      return 1;
    }
    const std::string restarts =
        report.restarts > 0
            ? " (by the last generation; restarts: " + std::to_string(report.restarts) + ")"
            : std::string();
    std::fprintf(stderr, "sluice: finished on %d workers: %lld rows written%s\n", report.workers,
                 static_cast<long long>(report.rows_written), restarts.c_str());
    return 0;
  }

  if (worker->parsed()) {
    auto connect_timeout = sluice::ParseDuration(worker_connect_timeout, "--connect-timeout");
    if (!connect_timeout.ok()) {
      PrintError(connect_timeout.status());
      return 1;
    }
    worker_options.connect_timeout_micros = *connect_timeout;
    worker_options.stop = &g_stop;
    StartSignalThread(false);
    sluice::Status st = sluice::dist::RunWorker(worker_options);
    if (!st.ok()) {
      PrintError(st);
      return 1;
    }
    return 0;
  }

  if (run->parsed()) {
    std::string sql;
    if (!ReadSql(run_file, &sql)) return 1;
    sluice::cli::RunOptions options = run_options;
    options.parallelism = run_parallelism;
    if (interval_option->count() > 0) options.checkpoint_interval = checkpoint_interval;
    if (keep_option->count() > 0) options.checkpoints_to_keep = checkpoints_to_keep;
    if (!ParseSettings(run_sets, &options)) return 1;
    StartSignalThread(!options.state_dir.empty());
    sluice::cli::RunReport report;
    sluice::Status st = sluice::cli::RunSql(sql, options, &g_stop, &report);
    if (!st.ok()) {
      PrintError(st);
      return 1;
    }
    std::string extra;
    if (report.bad_rows_dropped) {
      extra += ", " + std::to_string(report.bad_rows_dropped) + " bad rows dropped";
    }
    if (report.late_rows_dropped) {
      extra += ", " + std::to_string(report.late_rows_dropped) + " late rows dropped";
    }
    if (!options.state_dir.empty()) {
      extra += ", " + std::to_string(report.checkpoints_completed) + " checkpoint" +
               (report.checkpoints_completed == 1 ? "" : "s") + " completed";
      if (report.restored_from) {
        extra += " (resumed from checkpoint " + std::to_string(*report.restored_from) + ")";
      }
    }
    std::fprintf(stderr, "sluice: finished: %lld rows written%s\n",
                 static_cast<long long>(report.rows_written), extra.c_str());
    return 0;
  }
  return 0;
}
