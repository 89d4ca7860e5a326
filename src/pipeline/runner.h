#pragma once
// Plans, compiles and runs one SQL pipeline in this process: the engine shared by `sluice run`
// (cli/pipeline.h), the SQL logic tests and the service's job manager (service/).
//
// Threading: Prepare, graph() and Build are called from one thread before Run; Run blocks in
// the thread that calls it; RequestStop, Abort, Metrics (after Build) and Checkpoints may be
// called from any thread.

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/duration.h"
#include "common/status.h"
#include "runtime/dataflow_graph.h"
#include "runtime/executor.h"
#include "sql/planner/compiler.h"

namespace sluice::pipeline {

struct RunOptions {
  int parallelism = 1;
  std::map<std::string, std::string> settings;  // --set key=value
  // Checkpoints (docs/fault-tolerance.md): the state dir (a path or file:// URL; empty: no
  // checkpoints) and its options, validated by Prepare.
  std::string state_dir;
  std::optional<std::string> checkpoint_interval;  // a duration: 500ms, 10s, 2m
  std::optional<int> checkpoints_to_keep;
  bool ignore_state = false;
  // Restoring a checkpoint of an earlier version of the query: drop the state of operators the
  // edited query no longer has (instead of refusing the restore).
  bool allow_non_restored_state = false;
  // Resume from this checkpoint of the state dir instead of the latest (the service's restart).
  std::optional<int64_t> restore_checkpoint;
  // Notices and warnings of the checkpoint machinery; default: standard error.
  std::function<void(const std::string&)> log;
  // Worker threads; 0: one per core.
  int threads = 0;
  // A preview: every sink becomes a preview sink (named after its table), so the rows a query
  // would write show in the service's live output and nothing is written anywhere.
  bool preview = false;
  // Called with the planned pipeline and its compile options before compiling; what it returns
  // is compiled instead. The SQL logic tests' --graph-roundtrip passes every plan through its
  // serialized form here (src/dist/plan_codec.h).
  std::function<Result<sql::PipelinePlan>(const sql::PipelinePlan&, const sql::CompileOptions&)>
      replan;
};

struct RunReport {
  int64_t rows_written = 0;       // rows that reached sinks
  int64_t bad_rows_dropped = 0;   // bad_data = 'drop'
  int64_t late_rows_dropped = 0;  // behind the watermark at a windowed operator
  std::string summary;            // per-operator counters, one line each
  int64_t checkpoints_completed = 0;
  std::optional<int64_t> restored_from;  // the checkpoint the run resumed from
};

// Durations with a unit (common/duration.h).
using sluice::ParseDuration;

// A planned and compiled query.
struct Compiled {
  sql::PipelinePlan plan;
  runtime::DataflowGraph graph;
};

// Plans and compiles `sql` with the options' parallelism and settings (no state dir needed).
Result<Compiled> PlanAndCompile(std::string_view sql, const RunOptions& options);

// The executor's checkpoint options from the run options (validated, the state dir opened);
// nullopt without a state dir. `sluice coordinator` takes the same options.
Result<std::optional<runtime::CheckpointOptions>> CheckpointOptionsOf(const RunOptions& options,
                                                                      const Compiled& compiled);

// Explains the plan: the bound and optimized logical plan, then the dataflow graph.
Result<std::string> Explain(std::string_view sql, const RunOptions& options);

class Runner {
 public:
  // Plans and compiles `sql` and checks the checkpoint options (opening the state dir).
  static Result<std::unique_ptr<Runner>> Prepare(std::string_view sql, const RunOptions& options);
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  const sql::PipelinePlan& plan() const { return compiled_.plan; }
  // The graph to run; callers may swap operator factories (e.g. redirect sinks) before Build.
  runtime::DataflowGraph& graph() { return compiled_.graph; }

  // Creates the executor and its tasks; Run() calls it when not done yet.
  Status Build();
  // Runs to completion (finite sources) or until `stop` becomes true or RequestStop/Abort is
  // called (then drains, or not for Abort, and returns).
  Status Run(const std::atomic<bool>* stop = nullptr);
  void RequestStop();
  void Abort(const std::string& reason);

  // Counters of every operator subtask; empty before Build.
  std::vector<const runtime::OperatorMetrics*> Metrics() const;
  // The live tap of edge `edge` of graph() (its index in graph().edges); null before Build or
  // for an index out of range.
  std::shared_ptr<runtime::EdgeTap> Tap(size_t edge) const;
  // The report of the run so far (final after Run returned).
  RunReport Report() const;

 private:
  Runner(Compiled compiled, std::optional<runtime::CheckpointOptions> checkpoints, int threads);

  Compiled compiled_;
  std::optional<runtime::CheckpointOptions> checkpoints_;
  int threads_;
  mutable std::mutex mu_;
  std::unique_ptr<runtime::Executor> executor_;  // set by Build, under mu_
  bool stop_requested_ = false;                  // under mu_
  std::optional<std::string> abort_reason_;      // under mu_
};

}  // namespace sluice::pipeline
