// The metadata schema, as versioned migrations. Never edit a released migration: add the next
// version. Both dialects keep the same tables and columns (integers are BIGINT, booleans 0/1,
// times microseconds since the epoch), so the store's statements serve both.

#include "service/store.h"

namespace sluice::service {

namespace {

// Version 1: pipelines, jobs, their transitions and log messages, connection tables.
constexpr const char* kV1 = R"sql(
CREATE TABLE pipelines (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  query TEXT NOT NULL,
  parallelism BIGINT NOT NULL,
  checkpoint_interval_micros BIGINT NOT NULL,
  preview BIGINT NOT NULL DEFAULT 0,
  stop TEXT NOT NULL DEFAULT 'none',
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX pipelines_created_at ON pipelines (created_at, id);
CREATE TABLE jobs (
  id TEXT PRIMARY KEY,
  pipeline_id TEXT NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
  run_id BIGINT NOT NULL,
  state TEXT NOT NULL,
  running_desired BIGINT NOT NULL,
  state_generation BIGINT NOT NULL,
  restore_checkpoint BIGINT,
  start_time BIGINT,
  finish_time BIGINT,
  failure_message TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX jobs_pipeline ON jobs (pipeline_id);
CREATE TABLE job_state_transitions (
  id TEXT PRIMARY KEY,
  job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  run_id BIGINT NOT NULL,
  from_state TEXT NOT NULL,
  to_state TEXT NOT NULL,
  at BIGINT NOT NULL
);
CREATE INDEX job_state_transitions_job ON job_state_transitions (job_id, at);
CREATE TABLE job_log_messages (
  id TEXT PRIMARY KEY,
  job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  created_at BIGINT NOT NULL,
  level TEXT NOT NULL,
  operator_id TEXT,
  task_index BIGINT,
  message TEXT NOT NULL,
  details TEXT NOT NULL
);
CREATE INDEX job_log_messages_job ON job_log_messages (job_id, created_at);
CREATE TABLE connection_tables (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  connector TEXT NOT NULL,
  config TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
)sql";

}  // namespace

const std::vector<Migration>& Migrations() {
  static const std::vector<Migration> migrations = {
      {1, "pipelines, jobs, state transitions, log messages, connection tables", kV1, kV1},
  };
  return migrations;
}

}  // namespace sluice::service
