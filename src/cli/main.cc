// sluice: the command-line entry point.

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>

#include "api/serve.h"
#include "cli/nexmark_command.h"
#include "cli/pipeline.h"
#include "dist/coordinator.h"
#include "dist/leader.h"
#include "dist/worker.h"
#include "k8s/render.h"
#include "k8s/yaml.h"

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

// A settings file (the Kubernetes ConfigMap's settings.conf): key=value per line, '#' comments.
bool ReadSettingsFile(const std::string& path, std::vector<std::string>* sets) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "sluice: cannot read the settings file '%s': %s\n", path.c_str(),
                 std::strerror(errno));
    return false;
  }
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    auto last = line.find_last_not_of(" \t\r");
    line = line.substr(first, last - first + 1);
    if (line.find('=') == std::string::npos || line[0] == '=') {
      std::fprintf(stderr, "sluice: %s:%d: expected key=value, got '%s'\n", path.c_str(), number,
                   line.c_str());
      return false;
    }
    sets->push_back(line);
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
  std::string coord_settings_file;
  coordinator->add_option("--settings-file", coord_settings_file,
                          "Engine options from a file: key=value per line, # comments "
                          "(--set wins)");
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
  // Leases (docs/distributed.md, "Leases and fencing").
  sluice::dist::LeaderOptions leader_options;
  std::string lease_ttl = "10s";
  coordinator
      ->add_option("--lease-url", leader_options.lease.url,
                   "PostgreSQL URL of the job's lease: coordinators compete for it, the holder "
                   "runs the job, the others wait (default: $SLUICE_LEASE_URL; none: no lease)")
      ->envname("SLUICE_LEASE_URL");
  coordinator->add_option("--lease-ttl", lease_ttl,
                          "How long the lease lasts unrenewed: a paused or dead leader's standby "
                          "takes over after this (default 10s)");
  coordinator->add_option("--lease-holder", leader_options.lease.holder,
                          "This coordinator's name in the lease (default: host name and pid)");

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
  worker->add_option("--advertise-host", worker_options.advertise_host,
                     "Host peers connect to, when not --data-plane-host (e.g. a pod's DNS name)");
  std::string worker_connect_timeout = "30s";
  worker->add_option("--connect-timeout", worker_connect_timeout,
                     "How long to try reaching the coordinator and the peers (default 30s)");

  // Kubernetes (docs/kubernetes.md).
  sluice::k8s::RenderOptions k8s_options;
  std::string k8s_output;
  bool k8s_print_commands = false;
  sluice::k8s::LocalOptions k8s_local;
  auto* k8s = app.add_subcommand("k8s", "Kubernetes tools");
  k8s->require_subcommand(1);
  auto* k8s_render = k8s->add_subcommand(
      "render",
      "Write the Kubernetes manifests of a distributed job (coordinator Deployment, "
      "worker StatefulSet, Services, ConfigMap)");
  k8s_render->add_option("file", k8s_options.sql_file, "The pipeline's SQL file")->required();
  k8s_render->add_option("--job", k8s_options.job, "The job's name; names every object")
      ->required();
  k8s_render->add_option("--namespace", k8s_options.namespace_,
                         "Namespace of the objects (default: none, kubectl's)");
  k8s_render->add_option("--image", k8s_options.image, "The Sluice image (default sluice:latest)");
  k8s_render->add_option("--image-pull-policy", k8s_options.image_pull_policy,
                         "Always, IfNotPresent or Never (default: Kubernetes')");
  k8s_render->add_option("--workers", k8s_options.workers, "Worker pods (default 1)");
  k8s_render->add_option("--slots", k8s_options.slots, "Slots per worker (default 1)");
  k8s_render->add_option("-p,--parallelism", k8s_options.parallelism,
                         "Subtasks per operator (default workers x slots)");
  k8s_render->add_option("--coordinator-replicas", k8s_options.coordinator_replicas,
                         "Coordinator pods (default 2 with --postgres-secret, else 1)");
  k8s_render->add_option("--state-dir", k8s_options.state_dir,
                         "Checkpoints: s3://bucket/prefix or a path on a shared volume");
  k8s_render->add_option("--checkpoint-interval", k8s_options.checkpoint_interval,
                         "Time between checkpoints (default: the coordinator's)");
  k8s_render->add_option("--set", k8s_options.settings, "Engine option key=value (repeatable)");
  k8s_render->add_option("--s3-secret", k8s_options.s3_secret,
                         "Secret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (optionally "
                         "AWS_SESSION_TOKEN, AWS_ENDPOINT_URL, AWS_REGION)");
  k8s_render->add_option("--postgres-secret", k8s_options.postgres_secret,
                         "Secret whose key `url` is the PostgreSQL URL of the coordinators' lease");
  k8s_render->add_option("--lease-ttl", k8s_options.lease_ttl,
                         "How long a coordinator's lease lasts unrenewed (default 10s)");
  k8s_render->add_option("--pod-template", k8s_options.pod_template_file,
                         "YAML or JSON pod template merged into every pod (nodeSelector, "
                         "tolerations, affinity, containers[name: sluice] resources and env...)");
  k8s_render->add_option("--coordinator-pod-template", k8s_options.coordinator_pod_template_file,
                         "A pod template merged into the coordinator's pods only (after "
                         "--pod-template)");
  k8s_render->add_option("--worker-pod-template", k8s_options.worker_pod_template_file,
                         "A pod template merged into the workers' pods only (after "
                         "--pod-template)");
  k8s_render->add_option("--control-port", k8s_options.control_port,
                         "The coordinator's port (default 6130)");
  k8s_render->add_option("--data-plane-port", k8s_options.data_plane_port,
                         "The workers' data-plane port (default 6131)");
  k8s_render->add_option("--worker-timeout", k8s_options.worker_timeout,
                         "How long the coordinator waits for its workers (default 5m)");
  k8s_render->add_option("-o,--output", k8s_output, "Write here instead of standard output");
  k8s_render->add_flag("--print-commands", k8s_print_commands,
                       "Print the processes' arguments and environment (JSON) instead of the "
                       "manifests: what the pods run, to run it without a cluster");
  k8s_render->add_option("--local-dir", k8s_local.config_dir,
                         "With --print-commands: write the ConfigMap's files here and point the "
                         "arguments at them");
  k8s_render->add_flag("--loopback", k8s_local.loopback,
                       "With --print-commands: map the pods' addresses and DNS names to "
                       "127.0.0.1 (coordinator) and 127.0.0.2, .3... (workers)");

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

  if (k8s_render->parsed()) {
    auto spec = sluice::k8s::BuildSpec(k8s_options);
    if (!spec.ok()) {
      PrintError(spec.status());
      return 1;
    }
    std::string text;
    if (k8s_print_commands) {
      auto processes = sluice::k8s::LocalProcesses(*spec, k8s_local);
      if (!processes.ok()) {
        PrintError(processes.status());
        return 1;
      }
      text = boost::json::serialize(*processes) + "\n";
    } else {
      if (!k8s_local.config_dir.empty() || k8s_local.loopback) {
        std::fprintf(stderr, "sluice: --local-dir and --loopback go with --print-commands\n");
        return 2;
      }
      text = sluice::k8s::ManifestsYaml(*spec);
    }
    if (k8s_output.empty()) {
      std::cout << text;
      return 0;
    }
    std::ofstream out(k8s_output, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
      std::fprintf(stderr, "sluice: cannot write '%s': %s\n", k8s_output.c_str(),
                   std::strerror(errno));
      return 1;
    }
    return 0;
  }

  if (coordinator->parsed()) {
    if (!ReadSql(coord_file, &coord_options.sql)) return 1;
    coord_options.run.parallelism = coord_parallelism;
    if (coord_interval_option->count() > 0) coord_options.run.checkpoint_interval = coord_interval;
    if (coord_keep_option->count() > 0) coord_options.run.checkpoints_to_keep = coord_keep;
    if (!coord_settings_file.empty()) {
      std::vector<std::string> from_file;
      if (!ReadSettingsFile(coord_settings_file, &from_file)) return 1;
      coord_sets.insert(coord_sets.begin(), from_file.begin(), from_file.end());
    }
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
    sluice::Status st;
    if (!leader_options.lease.url.empty()) {
      auto ttl = sluice::ParseDuration(lease_ttl, "--lease-ttl");
      if (!ttl.ok()) {
        PrintError(ttl.status());
        return 1;
      }
      leader_options.lease.ttl_micros = *ttl;
      leader_options.lease.job = coord_options.job;
      if (leader_options.lease.holder.empty()) {
        char host[256] = {};
        ::gethostname(host, sizeof(host) - 1);
        leader_options.lease.holder = std::string(host) + "-" + std::to_string(::getpid());
      }
      // Deposed: stop now, before anything else is committed; the workers see the control
      // stream end and cancel their part.
      leader_options.lost = [](const sluice::Status& lost) {
        PrintError(lost);
        std::fflush(stderr);
        std::_Exit(3);
      };
      st = sluice::dist::RunElectedCoordinator(coord_options, leader_options, &report);
      if (st.kind() == sluice::ErrorKind::kCancelled && g_stop) {
        std::fprintf(stderr,
                     "sluice: stopped while standing by (this coordinator never led job "
                     "'%s')\n",
                     coord_options.job.c_str());
        return 0;
      }
    } else {
      st = sluice::dist::RunCoordinator(coord_options, &report);
    }
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
