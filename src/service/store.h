#pragma once
// The service's metadata: pipelines, their jobs and the jobs' state transitions, log messages
// (errors), and connection tables; kept in a Database (SQLite or PostgreSQL) whose schema
// comes from versioned migrations (migrations.cc), applied in order at open and recorded in
// `sluice_schema_migrations`.
//
// Threading: every method may be called from any thread (the Database serializes).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "service/database.h"

namespace sluice::service {

// Microseconds since the epoch.
int64_t NowMicros();
// A new id: `prefix` then 10 random base62 characters ("pl_4fT0aZk1Qe").
std::string NewId(const std::string& prefix);

struct PipelineRecord {
  std::string id;
  std::string name;
  std::string query;
  int64_t parallelism = 1;
  int64_t checkpoint_interval_micros = 10'000'000;
  bool preview = false;
  // The stop the user asked for last: none (run), checkpoint, graceful, immediate.
  std::string stop = "none";
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

struct JobRecord {
  std::string id;
  std::string pipeline_id;
  int64_t run_id = 1;  // 1 for the first run, +1 for each start or restart
  std::string state;   // Created, Running, Stopping, Stopped, Finished, Failed
  bool running_desired = true;
  // Checkpoints go to <state root>/<pipeline id>/gen-<generation>; a restart without state
  // begins a new generation.
  int64_t state_generation = 1;
  // A restart from a chosen checkpoint: its epoch, until the run has restored it.
  std::optional<int64_t> restore_checkpoint;
  // The next run may drop the state of operators an edited query no longer has
  // (allowNonRestoredState). Not stored: it holds until that run has restored its checkpoint;
  // a service restart before then resumes without it (and refuses such a checkpoint again).
  bool allow_non_restored_state = false;
  std::optional<int64_t> start_time;
  std::optional<int64_t> finish_time;
  std::optional<std::string> failure_message;
  int64_t created_at = 0;
};

struct LogMessage {
  std::string id;
  std::string job_id;
  int64_t created_at = 0;
  std::string level;  // info, warn, error
  std::optional<std::string> operator_id;
  std::optional<int64_t> task_index;
  std::string message;
  std::string details;
};

struct StateTransition {
  std::string job_id;
  int64_t run_id = 0;
  std::string from_state;
  std::string to_state;
  int64_t at = 0;
};

class Store {
 public:
  // Opens the database at `url` (database.h) and applies the pending migrations.
  static Result<std::unique_ptr<Store>> Open(const std::string& url);
  explicit Store(std::unique_ptr<Database> db) : db_(std::move(db)) {}

  Database& db() { return *db_; }
  // Applies every migration newer than the database's version, each in a transaction.
  Status Migrate();
  // The versions applied, ascending.
  Result<std::vector<int64_t>> AppliedMigrations();

  // Pipelines and their job: created together (one job per pipeline, as in Arroyo; its run_id
  // counts the runs).
  Status CreatePipeline(const PipelineRecord& pipeline, const JobRecord& job);
  Result<std::vector<PipelineRecord>> ListPipelines(
      const std::optional<std::string>& starting_after, int64_t limit);
  Result<std::optional<PipelineRecord>> GetPipeline(const std::string& id);
  Status UpdatePipeline(const PipelineRecord& pipeline);
  // Deletes the pipeline, its job and everything recorded of them.
  Status DeletePipeline(const std::string& id);

  Result<std::vector<JobRecord>> JobsOf(const std::string& pipeline_id);
  Result<std::optional<JobRecord>> GetJob(const std::string& job_id);
  // Every job whose pipeline should be running (resumed when the service starts).
  Result<std::vector<JobRecord>> JobsToResume();
  // Writes the job; records a state transition when the state changed.
  Status UpdateJob(const JobRecord& job);
  Result<std::vector<StateTransition>> TransitionsOf(const std::string& job_id);

  Status AddLog(const LogMessage& message);
  Result<std::vector<LogMessage>> LogsOf(const std::string& job_id,
                                         const std::optional<std::string>& level, int64_t limit);

 private:
  std::unique_ptr<Database> db_;
};

// One migration: its version, what it does, and its SQL for each dialect.
struct Migration {
  int64_t version;
  const char* description;
  const char* sqlite;
  const char* postgresql;
};
const std::vector<Migration>& Migrations();

}  // namespace sluice::service
