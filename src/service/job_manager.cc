#include "service/job_manager.h"

#include <chrono>
#include <cstdio>
#include <limits>
#include <regex>

#include <fmt/format.h>

#include "common/time.h"
#include "connectors/stdout_sink.h"
#include "formats/format.h"

namespace sluice::service {

namespace {

// "filter[3]" -> ("filter", 3).
std::pair<std::string, int> SplitSubtask(const std::string& name) {
  auto open = name.rfind('[');
  if (open == std::string::npos || name.back() != ']') return {name, 0};
  return {name.substr(0, open), std::atoi(name.c_str() + open + 1)};
}

}  // namespace

JobManager::JobManager(Store* store, JobManagerOptions options)
    : store_(store), options_(std::move(options)) {}

JobManager::~JobManager() {
  Shutdown();
}

void JobManager::Log(const std::string& message) const {
  if (options_.log) {
    options_.log(message);
  } else {
    std::fprintf(stderr, "sluice serve: %s\n", message.c_str());
  }
}

void JobManager::JobLog(const std::string& job_id, const std::string& level,
                        const std::string& message) {
  LogMessage m;
  m.job_id = job_id;
  m.created_at = NowMicros();
  m.level = level;
  m.message = message;
  // The executor prefixes a task's error with the task: "<chain>[<subtask>/<parallelism>]: ".
  static const std::regex kTask(R"(^(.+?)\[(\d+)/(\d+)\]: )");
  std::smatch match;
  if (std::regex_search(message, match, kTask)) {
    m.operator_id = match[1].str();
    m.task_index = std::stoll(match[2].str()) - 1;
  }
  Status st = store_->AddLog(m);
  if (!st.ok()) Log(fmt::format("job {}: cannot record a log message: {}", job_id, st.ToString()));
  Log(fmt::format("job {}: {}", job_id, message));
}

std::string JobManager::StateDir(const JobRecord& job) const {
  std::string root = options_.state_root;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return fmt::format("{}/{}/gen-{}", root, job.pipeline_id, job.state_generation);
}

Status JobManager::ResumeAll() {
  SLUICE_ASSIGN_OR_RETURN(std::vector<JobRecord> jobs, store_->JobsToResume());
  for (JobRecord job : jobs) {
    SLUICE_ASSIGN_OR_RETURN(auto pipeline, store_->GetPipeline(job.pipeline_id));
    if (!pipeline) continue;
    job.run_id += 1;
    Log(fmt::format("resuming pipeline {} ({}), job {} run {}", pipeline->id, pipeline->name,
                    job.id, job.run_id));
    SLUICE_RETURN_NOT_OK(Start(*pipeline, job));
  }
  return Status::Ok();
}

void JobManager::ReapEnded() {
  for (auto it = active_.begin(); it != active_.end();) {
    if (it->second->ended) {
      ended_.push_back(std::move(it->second));
      it = active_.erase(it);
    } else {
      ++it;
    }
  }
}

Status JobManager::Start(const PipelineRecord& pipeline, const JobRecord& job) {
  std::vector<std::unique_ptr<ActiveJob>> to_join;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shutting_down_) return Status::User("the service is shutting down");
    ReapEnded();
    if (active_.count(job.id)) return Status::User("job {} is already running", job.id);
    auto active = std::make_unique<ActiveJob>();
    active->job_id = job.id;
    ActiveJob* raw = active.get();
    active_[job.id] = std::move(active);
    raw->thread = std::thread([this, raw, pipeline, job] { RunLoop(raw, pipeline, job); });
    to_join.swap(ended_);
  }
  for (auto& a : to_join) {
    if (a->thread.joinable()) a->thread.join();
  }
  return Status::Ok();
}

void JobManager::StartAfterStop(const PipelineRecord& pipeline, const JobRecord& job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = active_.find(job.id);
    if (it != active_.end() && !it->second->ended) {
      it->second->next = std::make_pair(pipeline, job);
      return;
    }
  }
  Status st = Start(pipeline, job);
  if (!st.ok()) Log(fmt::format("job {}: cannot start: {}", job.id, st.ToString()));
}

bool JobManager::Stop(const std::string& job_id, const std::string& mode) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = active_.find(job_id);
  if (it == active_.end() || it->second->ended) return false;
  ActiveJob& a = *it->second;
  if (auto job = store_->GetJob(job_id); job.ok() && job->has_value()) {
    JobRecord j = **job;
    j.running_desired = false;
    if (j.state == "Running" || j.state == "Scheduling") j.state = "Stopping";
    StoreJob(j);
  }
  // An immediate stop overrides a graceful one in progress; nothing overrides an immediate one.
  if (a.stop_mode == "immediate") return true;
  a.stop_mode = mode;
  a.next.reset();
  if (a.runner) {
    if (mode == "immediate") {
      a.runner->Abort("stopped immediately on request");
    } else {
      a.runner->RequestStop();
    }
  }
  return true;
}

bool JobManager::Active(const std::string& job_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = active_.find(job_id);
  return it != active_.end() && !it->second->ended;
}

bool JobManager::WaitInactive(const std::string& job_id, int timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
    auto it = active_.find(job_id);
    return it == active_.end() || it->second->ended;
  });
}

std::shared_ptr<OutputStream> JobManager::Output(const std::string& job_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& out = outputs_[job_id];
  if (out == nullptr) out = std::make_shared<OutputStream>();
  return out;
}

std::vector<OperatorSample> JobManager::Metrics(const std::string& job_id) const {
  std::vector<OperatorSample> out;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = active_.find(job_id);
  if (it == active_.end() || it->second->runner == nullptr) return out;
  for (const auto* m : it->second->runner->Metrics()) {
    OperatorSample s;
    std::tie(s.operator_name, s.subtask) = SplitSubtask(m->name);
    s.rows_in = m->rows_in.load();
    s.rows_out = m->rows_out.load();
    s.bytes_in = m->bytes_in.load(std::memory_order_relaxed);
    s.bytes_out = m->bytes_out.load(std::memory_order_relaxed);
    if (int64_t st = m->state_bytes.load(std::memory_order_relaxed); st >= 0) s.state_bytes = st;
    s.bad_rows_dropped = m->bad_rows_dropped.load();
    s.late_rows_dropped = m->late_rows_dropped.load();
    s.node = m->node;
    s.chain_index = m->chain_index;
    int64_t wm = m->watermark.load();
    if (wm != std::numeric_limits<int64_t>::min() && wm != std::numeric_limits<int64_t>::max()) {
      s.watermark = wm;
    }
    s.backpressure_micros = runtime::BackpressureMicros(*m, sluice::Now().value);
    out.push_back(std::move(s));
  }
  return out;
}

TapSession::~TapSession() {
  if (tap) tap->Detach(attachment);
}

namespace {

// Encodes a tap's sampled batches as JSON lines (Debezium change events on updating edges)
// into the session's ring. Called under the tap's mutex, one call at a time.
class TapWriter {
 public:
  TapWriter(std::shared_ptr<OutputStream> rows, std::string label)
      : rows_(std::move(rows)), label_(std::move(label)) {}

  void Write(const batch::BatchPtr& b, int subtask) {
    // Columns no consumer reads may be left out (null) of a batch: not shown.
    batch::Batch shown = *b;
    std::vector<types::Field> fields;
    shown.columns.clear();
    for (size_t i = 0; i < b->columns.size(); ++i) {
      if (b->columns[i] == nullptr) continue;
      fields.push_back(b->schema->field(i));
      shown.columns.push_back(b->columns[i]);
    }
    const bool changes = b->change_kind != nullptr;
    if (b->schema != schema_ || changes != changes_ || encoder_ == nullptr) {
      shown_schema_ = std::make_shared<const types::Schema>(std::move(fields));
      formats::FormatOptions format;
      format.format = changes ? "debezium_json" : "json";
      auto encoder = formats::MakeEncoder(format, *shown_schema_);
      if (!encoder.ok()) {
        rows_->Write(label_, subtask,
                     fmt::format("{{\"error\": \"rows of this edge cannot be shown: {}\"}}\n",
                                 encoder.status().message()),
                     1);
        return;
      }
      encoder_ = encoder.MoveValue();
      schema_ = b->schema;
      changes_ = changes;
    }
    shown.schema = shown_schema_;
    lines_.clear();
    if (Status st = encoder_->Encode(shown, &lines_); !st.ok()) return;
    rows_->Write(label_, subtask, lines_, shown.num_rows);
  }

 private:
  std::shared_ptr<OutputStream> rows_;
  std::string label_;
  types::SchemaPtr schema_;  // of the batches the encoder was made for
  types::SchemaPtr shown_schema_;
  bool changes_ = false;
  std::unique_ptr<formats::Encoder> encoder_;
  std::string lines_;
};

}  // namespace

Result<std::shared_ptr<TapSession>> JobManager::OpenTap(const std::string& job_id, size_t edge) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = active_.find(job_id);
  if (it == active_.end() || it->second->ended || it->second->runner == nullptr) {
    return Status::User("job '{}' is not running; a tap shows the rows of a running job", job_id);
  }
  pipeline::Runner& runner = *it->second->runner;
  const auto& edges = runner.graph().edges;
  std::shared_ptr<runtime::EdgeTap> tap = runner.Tap(edge);
  if (edge >= edges.size() || tap == nullptr) {
    return Status::User(
        "the job's dataflow graph has {} edges (numbered 0 to {} in the pipeline's graph); there "
        "is no edge {}",
        edges.size(), static_cast<int64_t>(edges.size()) - 1, edge);
  }
  const auto key = std::make_pair(job_id, edge);
  if (auto existing = taps_[key].lock()) return existing;
  auto session = std::make_shared<TapSession>();
  // Sampled rows are few (EdgeTap's rate): a small ring.
  session->rows = std::make_shared<OutputStream>(1024, 4 << 20);
  session->label = fmt::format("edge {} -> {}", edges[edge].from, edges[edge].to);
  session->tap = tap;
  auto writer = std::make_shared<TapWriter>(session->rows, session->label);
  session->attachment =
      tap->Attach([writer](const batch::BatchPtr& b, int subtask) { writer->Write(b, subtask); });
  taps_[key] = session;
  return session;
}

void JobManager::CloseTaps(const std::string& job_id) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = taps_.begin(); it != taps_.end();) {
    if (it->first.first != job_id) {
      ++it;
      continue;
    }
    if (auto session = it->second.lock()) {
      session->tap->Detach(session->attachment);
      session->rows->Close();
    }
    it = taps_.erase(it);
  }
}

void JobManager::Forget(const std::string& job_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = active_.find(job_id);
  if (it != active_.end() && !it->second->ended) return;
  outputs_.erase(job_id);
}

std::vector<std::string> JobManager::ActiveJobs() const {
  std::vector<std::string> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [id, a] : active_) {
    if (!a->ended) out.push_back(id);
  }
  return out;
}

void JobManager::Shutdown() {
  std::vector<std::unique_ptr<ActiveJob>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shutting_down_ && active_.empty() && ended_.empty()) return;
    shutting_down_ = true;
    for (auto& [id, a] : active_) {
      a->next.reset();
      if (!a->stop_mode) a->stop_mode = "shutdown";
      if (a->runner) a->runner->RequestStop();
    }
  }
  // Threads end on their own; join them without the lock (they take it to finish).
  while (true) {
    std::unique_ptr<ActiveJob> next;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!ended_.empty()) {
        next = std::move(ended_.back());
        ended_.pop_back();
      } else if (!active_.empty()) {
        next = std::move(active_.begin()->second);
        active_.erase(active_.begin());
      } else {
        break;
      }
    }
    if (next->thread.joinable()) next->thread.join();
  }
}

void JobManager::StoreJob(const JobRecord& j) {
  Status st = store_->UpdateJob(j);
  if (!st.ok()) Log(fmt::format("job {}: cannot record its state: {}", j.id, st.ToString()));
}

void JobManager::RunLoop(ActiveJob* active, PipelineRecord pipeline, JobRecord job) {
  while (true) {
    std::optional<JobRecord> final_record = RunOnce(active, pipeline, job);
    std::lock_guard<std::mutex> lock(mu_);
    if (final_record) StoreJob(*final_record);
    active->runner.reset();
    if (active->next && !shutting_down_) {
      std::tie(pipeline, job) = *active->next;
      active->next.reset();
      active->stop_mode.reset();
      continue;
    }
    active->ended = true;
    cv_.notify_all();
    return;
  }
}

std::optional<JobRecord> JobManager::RunOnce(ActiveJob* active, const PipelineRecord& pipeline,
                                             JobRecord job) {
  auto store_job = [&](const JobRecord& j) { StoreJob(j); };
  auto fail = [&](const Status& st) {
    job.state = "Failed";
    job.running_desired = false;
    job.failure_message = st.message();
    job.finish_time = NowMicros();
    JobLog(job.id, "error", st.message());
    return std::optional<JobRecord>(job);
  };
  job.state = "Scheduling";
  job.start_time = NowMicros();
  job.finish_time.reset();
  job.failure_message.reset();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!active->stop_mode) store_job(job);  // else Stop recorded Stopping
  }

  pipeline::RunOptions ro;
  ro.parallelism = static_cast<int>(pipeline.parallelism);
  ro.state_dir = StateDir(job);
  ro.checkpoint_interval = fmt::format("{}us", pipeline.checkpoint_interval_micros);
  ro.restore_checkpoint = job.restore_checkpoint;
  ro.allow_non_restored_state = job.allow_non_restored_state;
  ro.threads = options_.threads;
  ro.preview = pipeline.preview;
  const std::string job_id = job.id;
  ro.log = [this, job_id](const std::string& m) {
    JobLog(job_id, m.rfind("warning", 0) == 0 ? "warn" : "info", m);
  };
  auto prepared = pipeline::Runner::Prepare(pipeline.query, ro);
  if (!prepared.ok()) return fail(prepared.status());
  std::unique_ptr<pipeline::Runner> runner = prepared.MoveValue();
  std::shared_ptr<OutputStream> output = Output(job.id);
  connectors::RedirectStdoutSinks(&runner->graph(), output);
  if (Status st = runner->Build(); !st.ok()) return fail(st);
  pipeline::Runner* run = runner.get();
  output->Open();
  job.state = "Running";
  job.restore_checkpoint.reset();
  job.allow_non_restored_state = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    active->runner = std::move(runner);
    if (active->stop_mode == "immediate") {
      run->Abort("stopped immediately on request");
    } else if (active->stop_mode) {
      run->RequestStop();
    } else {
      store_job(job);
    }
  }
  JobLog(job.id, "info", fmt::format("run {} started", job.run_id));

  Status st = run->Run();
  output->Close();
  CloseTaps(job.id);
  pipeline::RunReport report = run->Report();
  std::optional<std::string> mode;
  {
    std::lock_guard<std::mutex> lock(mu_);
    mode = active->stop_mode;
  }
  // The record may have changed meanwhile (a stop sets running_desired); re-read it.
  auto fresh = store_->GetJob(job.id);
  if (fresh.ok() && !fresh->has_value()) return std::nullopt;  // the pipeline was deleted
  if (fresh.ok()) {
    job.running_desired = (*fresh)->running_desired;
    job.state_generation = (*fresh)->state_generation;
  }
  job.finish_time = NowMicros();
  std::string summary = fmt::format(
      "{} rows written, {} checkpoints completed{}", report.rows_written,
      report.checkpoints_completed,
      report.restored_from ? fmt::format(", resumed from checkpoint {}", *report.restored_from)
                           : "");
  if (mode == "shutdown") {
    job.state = st.ok() ? "Stopped" : "Failed";
    if (!st.ok()) job.failure_message = st.message();
    JobLog(job.id, "info",
           fmt::format("run {} stopped for a service shutdown ({}); it resumes when "
                       "the service starts",
                       job.run_id, summary));
    return job;
  }
  if (mode) {
    if (!st.ok() && !(mode == "immediate" && st.kind() == ErrorKind::kCancelled)) return fail(st);
    job.state = "Stopped";
    job.running_desired = false;
    JobLog(job.id, "info", fmt::format("run {} stopped ({} stop): {}", job.run_id, *mode, summary));
    return job;
  }
  if (!st.ok()) return fail(st);
  job.state = "Finished";
  job.running_desired = false;
  JobLog(job.id, "info", fmt::format("run {} finished: {}", job.run_id, summary));
  return job;
}

}  // namespace sluice::service
