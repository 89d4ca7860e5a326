#pragma once
// Runs the service's pipelines in this process: one pipeline::Runner per running job, on its
// own thread, with its checkpoints under <state root>/<pipeline id>/gen-<generation>. Every
// state change is written to the Store first, so a restarted service resumes what should run
// (from the latest checkpoint).
//
// Stops: `checkpoint` and `graceful` stop the sources, drain in-flight rows and take a final
// checkpoint; `immediate` aborts the tasks at once (no drain, no final checkpoint: a restart
// resumes from the latest periodic checkpoint, and exactly-once sinks roll back the rest).
//
// Threading: every public method may be called from any thread (one mutex over the table of
// active jobs; the Store serializes itself). Job threads only touch their own ActiveJob.

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "pipeline/runner.h"
#include "service/output_stream.h"
#include "service/store.h"

namespace sluice::service {

struct JobManagerOptions {
  std::string state_root;  // a directory or s3://bucket/prefix
  int threads = 0;         // worker threads per job; 0: one per core
  // Notices for the service's log (standard error by default).
  std::function<void(const std::string&)> log;
};

// One operator subtask's counters, read while the job runs.
struct OperatorSample {
  std::string operator_name;  // "filter", "window aggregate"... as in EXPLAIN
  int subtask = 0;
  int64_t rows_in = 0;
  int64_t rows_out = 0;
  int64_t bytes_in = 0;
  int64_t bytes_out = 0;
  std::optional<int64_t> state_bytes;  // in its latest checkpoint; nullopt before the first
  int64_t bad_rows_dropped = 0;
  int64_t late_rows_dropped = 0;
  int node = -1;        // its node (operator chain) in the pipeline's graph
  int chain_index = 0;  // its place in that chain
  // The last watermark the subtask received (event-time microseconds); nullopt before the first
  // and once its input ended.
  std::optional<int64_t> watermark;
  // Microseconds its task has spent blocked on a full downstream queue, up to now.
  int64_t backpressure_micros = 0;
};

// A live tap on one edge of a job's running run (GET .../tap?edge=N): the sampled rows of the
// edge (runtime/edge_tap.h) as JSON in a bounded ring with the job output's rules. Readers of one
// edge share a session; the last one to let go detaches the tap, and the run's end closes the
// ring (its readers get `end`).
struct TapSession {
  std::shared_ptr<OutputStream> rows;
  std::string label;  // "edge 0 -> 1"
  std::shared_ptr<runtime::EdgeTap> tap;
  uint64_t attachment = 0;
  ~TapSession();
};

class JobManager {
 public:
  JobManager(Store* store, JobManagerOptions options);
  ~JobManager();  // Shutdown()

  // Starts every job whose pipeline should be running (after a restart of the service).
  Status ResumeAll();
  // Starts a run of `job` (the pipeline must not have an active run).
  Status Start(const PipelineRecord& pipeline, const JobRecord& job);
  // Stops the job's active run and records the job as Stopping and not desired running; false
  // when it has none.
  bool Stop(const std::string& job_id, const std::string& mode);
  // After the active run ends (now, when there is none), starts `job` as the next run.
  void StartAfterStop(const PipelineRecord& pipeline, const JobRecord& job);
  // True while the job has a run that has not ended.
  bool Active(const std::string& job_id) const;
  // Waits until the job has no active run (true) or `timeout_ms` passed (false).
  bool WaitInactive(const std::string& job_id, int timeout_ms);

  // The job's live rows (created on first use; kept for the process's life).
  std::shared_ptr<OutputStream> Output(const std::string& job_id);
  // A tap on edge `edge` (its index in the graph's edges) of the job's active run: the session
  // of the edge's other readers, or a new one. A user error when the job has no active run or
  // the graph no such edge.
  Result<std::shared_ptr<TapSession>> OpenTap(const std::string& job_id, size_t edge);

  // Counters of the active run; empty without one.
  std::vector<OperatorSample> Metrics(const std::string& job_id) const;
  // Job ids with an active run.
  std::vector<std::string> ActiveJobs() const;
  // Drops what the manager keeps of a job without an active run (its live rows): the pipeline
  // was deleted.
  void Forget(const std::string& job_id);

  // The state dir of a job's generation.
  std::string StateDir(const JobRecord& job) const;

  // Stops every run with a final checkpoint and waits; their pipelines stay desired-running,
  // so the next service start resumes them.
  void Shutdown();

 private:
  struct ActiveJob {
    std::string job_id;
    std::unique_ptr<pipeline::Runner> runner;  // set once prepared (under mu_)
    std::thread thread;
    bool ended = false;                                        // under mu_
    std::optional<std::string> stop_mode;                      // under mu_
    std::optional<std::pair<PipelineRecord, JobRecord>> next;  // under mu_
  };

  void RunLoop(ActiveJob* active, PipelineRecord pipeline, JobRecord job);
  // One run; returns after it ended, with the job's final record (stored by RunLoop under mu_,
  // so a concurrent Stop never overwrites it); nullopt when the pipeline was deleted.
  std::optional<JobRecord> RunOnce(ActiveJob* active, const PipelineRecord& pipeline,
                                   JobRecord job);
  void StoreJob(const JobRecord& job);
  void Log(const std::string& message) const;
  // Records a log message; a task's error ("chain[2/4]: ...") names its operator and subtask.
  void JobLog(const std::string& job_id, const std::string& level, const std::string& message);
  void ReapEnded();  // joins threads of ended runs (under mu_)
  // The run of `job_id` ended: its taps' readers get the end of their streams.
  void CloseTaps(const std::string& job_id);

  Store* store_;
  JobManagerOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::unique_ptr<ActiveJob>> active_;  // by job id
  std::vector<std::unique_ptr<ActiveJob>> ended_;             // threads to join
  std::map<std::string, std::shared_ptr<OutputStream>> outputs_;
  // Live taps by job and edge (under mu_); closed when the run ends.
  std::map<std::pair<std::string, size_t>, std::weak_ptr<TapSession>> taps_;
  bool shutting_down_ = false;
};

}  // namespace sluice::service
