#include "service/store.h"

#include <chrono>
#include <random>

#include <fmt/format.h>

namespace sluice::service {

namespace {

std::string Str(int64_t v) {
  return std::to_string(v);
}
Param Opt(const std::optional<int64_t>& v) {
  return v ? Param(std::to_string(*v)) : Param(std::nullopt);
}
int64_t Int(const std::optional<std::string>& v) {
  return v ? std::stoll(*v) : 0;
}
std::optional<int64_t> OptInt(const std::optional<std::string>& v) {
  return v ? std::optional<int64_t>(std::stoll(*v)) : std::nullopt;
}

constexpr const char* kPipelineColumns =
    "id, name, query, parallelism, checkpoint_interval_micros, preview, stop, created_at, "
    "updated_at";

PipelineRecord PipelineOf(const Row& r) {
  PipelineRecord p;
  p.id = *r[0];
  p.name = *r[1];
  p.query = *r[2];
  p.parallelism = Int(r[3]);
  p.checkpoint_interval_micros = Int(r[4]);
  p.preview = Int(r[5]) != 0;
  p.stop = *r[6];
  p.created_at = Int(r[7]);
  p.updated_at = Int(r[8]);
  return p;
}

constexpr const char* kJobColumns =
    "id, pipeline_id, run_id, state, running_desired, state_generation, restore_checkpoint, "
    "start_time, finish_time, failure_message, created_at";

JobRecord JobOf(const Row& r) {
  JobRecord j;
  j.id = *r[0];
  j.pipeline_id = *r[1];
  j.run_id = Int(r[2]);
  j.state = *r[3];
  j.running_desired = Int(r[4]) != 0;
  j.state_generation = Int(r[5]);
  j.restore_checkpoint = OptInt(r[6]);
  j.start_time = OptInt(r[7]);
  j.finish_time = OptInt(r[8]);
  j.failure_message = r[9];
  j.created_at = Int(r[10]);
  return j;
}

}  // namespace

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string NewId(const std::string& prefix) {
  static const char kAlphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string out = prefix;
  for (int i = 0; i < 10; ++i) out += kAlphabet[rng() % 62];
  return out;
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& url) {
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<Database> db, OpenDatabase(url));
  auto store = std::make_unique<Store>(std::move(db));
  SLUICE_RETURN_NOT_OK(store->Migrate());
  return store;
}

Status Store::Migrate() {
  SLUICE_RETURN_NOT_OK(db_->ExecScript(
      "CREATE TABLE IF NOT EXISTS sluice_schema_migrations (version BIGINT PRIMARY KEY, "
      "description TEXT NOT NULL, applied_at BIGINT NOT NULL)"));
  SLUICE_ASSIGN_OR_RETURN(std::vector<int64_t> applied, AppliedMigrations());
  int64_t current = applied.empty() ? 0 : applied.back();
  int64_t newest = Migrations().empty() ? 0 : Migrations().back().version;
  if (current > newest) {
    return Status::User(
        "the metadata database {} has schema version {}, newer than this sluice knows ({}); "
        "run a newer sluice",
        db_->description(), current, newest);
  }
  const bool pg = db_->dialect() == "postgresql";
  for (const Migration& m : Migrations()) {
    if (m.version <= current) continue;
    SLUICE_RETURN_NOT_OK(db_->Begin());
    Status st = db_->ExecScript(pg ? m.postgresql : m.sqlite);
    if (st.ok()) {
      st = db_->Exec(
                  "INSERT INTO sluice_schema_migrations (version, description, applied_at) "
                  "VALUES ($1, $2, $3)",
                  {Str(m.version), std::string(m.description), Str(NowMicros())})
               .status();
    }
    if (!st.ok()) {
      db_->Rollback();
      return st.WithContext(fmt::format("migration {} ({})", m.version, m.description));
    }
    SLUICE_RETURN_NOT_OK(db_->Commit());
  }
  return Status::Ok();
}

Result<std::vector<int64_t>> Store::AppliedMigrations() {
  SLUICE_ASSIGN_OR_RETURN(
      auto rows, db_->Query("SELECT version FROM sluice_schema_migrations ORDER BY version", {}));
  std::vector<int64_t> out;
  for (const auto& r : rows) out.push_back(Int(r[0]));
  return out;
}

Status Store::CreatePipeline(const PipelineRecord& p, const JobRecord& j) {
  SLUICE_RETURN_NOT_OK(db_->Begin());
  Status st =
      db_->Exec(fmt::format("INSERT INTO pipelines ({}) VALUES ($1, $2, $3, $4, $5, $6, "
                            "$7, $8, $9)",
                            kPipelineColumns),
                {p.id, p.name, p.query, Str(p.parallelism), Str(p.checkpoint_interval_micros),
                 Str(p.preview ? 1 : 0), p.stop, Str(p.created_at), Str(p.updated_at)})
          .status();
  if (st.ok()) {
    st = db_->Exec(fmt::format("INSERT INTO jobs ({}, updated_at) VALUES ($1, $2, $3, $4, $5, $6, "
                               "$7, $8, $9, $10, $11, $12)",
                               kJobColumns),
                   {j.id, j.pipeline_id, Str(j.run_id), j.state, Str(j.running_desired ? 1 : 0),
                    Str(j.state_generation), Opt(j.restore_checkpoint), Opt(j.start_time),
                    Opt(j.finish_time), j.failure_message, Str(j.created_at), Str(NowMicros())})
             .status();
  }
  if (!st.ok()) {
    db_->Rollback();
    return st;
  }
  return db_->Commit();
}

Result<std::vector<PipelineRecord>> Store::ListPipelines(
    const std::optional<std::string>& starting_after, int64_t limit) {
  std::vector<Row> rows;
  if (starting_after) {
    // Newest first; the page after `starting_after` holds older pipelines.
    SLUICE_ASSIGN_OR_RETURN(
        rows, db_->Query(fmt::format("SELECT {} FROM pipelines p WHERE (created_at, id) < "
                                     "(SELECT created_at, id FROM pipelines WHERE id = $1) "
                                     "ORDER BY created_at DESC, id DESC LIMIT CAST($2 AS INTEGER)",
                                     kPipelineColumns),
                         {*starting_after, Str(limit)}));
  } else {
    SLUICE_ASSIGN_OR_RETURN(
        rows, db_->Query(fmt::format("SELECT {} FROM pipelines ORDER BY created_at DESC, id DESC "
                                     "LIMIT CAST($1 AS INTEGER)",
                                     kPipelineColumns),
                         {Str(limit)}));
  }
  std::vector<PipelineRecord> out;
  for (const auto& r : rows) out.push_back(PipelineOf(r));
  return out;
}

Result<std::optional<PipelineRecord>> Store::GetPipeline(const std::string& id) {
  SLUICE_ASSIGN_OR_RETURN(
      auto rows,
      db_->Query(fmt::format("SELECT {} FROM pipelines WHERE id = $1", kPipelineColumns), {id}));
  if (rows.empty()) return std::optional<PipelineRecord>();
  return std::optional<PipelineRecord>(PipelineOf(rows[0]));
}

Status Store::UpdatePipeline(const PipelineRecord& p) {
  return db_
      ->Exec(
          "UPDATE pipelines SET name = $2, query = $3, parallelism = $4, "
          "checkpoint_interval_micros = $5, preview = $6, stop = $7, updated_at = $8 "
          "WHERE id = $1",
          {p.id, p.name, p.query, Str(p.parallelism), Str(p.checkpoint_interval_micros),
           Str(p.preview ? 1 : 0), p.stop, Str(NowMicros())})
      .status();
}

Status Store::DeletePipeline(const std::string& id) {
  return db_->Exec("DELETE FROM pipelines WHERE id = $1", {id}).status();
}

Result<std::vector<JobRecord>> Store::JobsOf(const std::string& pipeline_id) {
  SLUICE_ASSIGN_OR_RETURN(
      auto rows, db_->Query(fmt::format("SELECT {} FROM jobs WHERE pipeline_id = $1 ORDER BY "
                                        "created_at",
                                        kJobColumns),
                            {pipeline_id}));
  std::vector<JobRecord> out;
  for (const auto& r : rows) out.push_back(JobOf(r));
  return out;
}

Result<std::optional<JobRecord>> Store::GetJob(const std::string& job_id) {
  SLUICE_ASSIGN_OR_RETURN(
      auto rows,
      db_->Query(fmt::format("SELECT {} FROM jobs WHERE id = $1", kJobColumns), {job_id}));
  if (rows.empty()) return std::optional<JobRecord>();
  return std::optional<JobRecord>(JobOf(rows[0]));
}

Result<std::vector<JobRecord>> Store::JobsToResume() {
  SLUICE_ASSIGN_OR_RETURN(
      auto rows, db_->Query(fmt::format("SELECT {} FROM jobs WHERE running_desired = 1 ORDER BY "
                                        "created_at",
                                        kJobColumns),
                            {}));
  std::vector<JobRecord> out;
  for (const auto& r : rows) out.push_back(JobOf(r));
  return out;
}

Status Store::UpdateJob(const JobRecord& j) {
  SLUICE_RETURN_NOT_OK(db_->Begin());
  auto before = db_->Query("SELECT state FROM jobs WHERE id = $1", {j.id});
  Status st = before.status();
  if (st.ok()) {
    st = db_->Exec(
                "UPDATE jobs SET run_id = $2, state = $3, running_desired = $4, "
                "state_generation = $5, restore_checkpoint = $6, start_time = $7, "
                "finish_time = $8, failure_message = $9, updated_at = $10 WHERE id = $1",
                {j.id, Str(j.run_id), j.state, Str(j.running_desired ? 1 : 0),
                 Str(j.state_generation), Opt(j.restore_checkpoint), Opt(j.start_time),
                 Opt(j.finish_time), j.failure_message, Str(NowMicros())})
             .status();
  }
  if (st.ok() && !before->empty() && (*before)[0][0] != j.state) {
    st = db_->Exec(
                "INSERT INTO job_state_transitions (id, job_id, run_id, from_state, to_state, "
                "at) VALUES ($1, $2, $3, $4, $5, $6)",
                {NewId("tr_"), j.id, Str(j.run_id), (*before)[0][0].value_or(""), j.state,
                 Str(NowMicros())})
             .status();
  }
  if (!st.ok()) {
    db_->Rollback();
    return st;
  }
  return db_->Commit();
}

Result<std::vector<StateTransition>> Store::TransitionsOf(const std::string& job_id) {
  SLUICE_ASSIGN_OR_RETURN(auto rows,
                          db_->Query("SELECT job_id, run_id, from_state, to_state, at FROM "
                                     "job_state_transitions WHERE job_id = $1 ORDER BY at, id",
                                     {job_id}));
  std::vector<StateTransition> out;
  for (const auto& r : rows) out.push_back({*r[0], Int(r[1]), *r[2], *r[3], Int(r[4])});
  return out;
}

Status Store::AddLog(const LogMessage& m) {
  return db_
      ->Exec(
          "INSERT INTO job_log_messages (id, job_id, created_at, level, operator_id, "
          "task_index, message, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
          {m.id.empty() ? NewId("log_") : m.id, m.job_id, Str(m.created_at), m.level, m.operator_id,
           Opt(m.task_index), m.message, m.details})
      .status();
}

Result<std::vector<LogMessage>> Store::LogsOf(const std::string& job_id,
                                              const std::optional<std::string>& level,
                                              int64_t limit) {
  SLUICE_ASSIGN_OR_RETURN(
      auto rows,
      db_->Query("SELECT id, job_id, created_at, level, operator_id, task_index, message, "
                 "details FROM job_log_messages WHERE job_id = $1 AND (CAST($2 AS TEXT) IS NULL OR "
                 "level = $2) ORDER BY created_at DESC, id DESC LIMIT CAST($3 AS INTEGER)",
                 {job_id, level, Str(limit)}));
  std::vector<LogMessage> out;
  for (const auto& r : rows) {
    out.push_back({*r[0], *r[1], Int(r[2]), *r[3], r[4], OptInt(r[5]), *r[6], *r[7]});
  }
  return out;
}

}  // namespace sluice::service
