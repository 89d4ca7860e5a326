#pragma once
// `sluice serve`: the metadata store, the job manager and the HTTP API in one process.

#include <atomic>
#include <string>

#include "common/status.h"

namespace sluice::api {

struct ServeOptions {
  std::string listen = "127.0.0.1:5115";  // host:port; port 0 picks a free one
  std::string data_dir = "sluice-data";   // default home of the database and the state
  std::string db;         // sqlite:PATH or postgresql://...; default sqlite:<data dir>/sluice.db
  std::string state_dir;  // a directory or s3://...; default <data dir>/state
  int default_parallelism = 1;
  int job_threads = 0;  // worker threads per job; 0: one per core
  int http_threads = 2;
  int sse_heartbeat_ms = 15000;
  // Written once listening: the port (for scripts and tests that ask for port 0).
  std::string port_file;
  // A SQL file started as the pipeline "demo" unless a pipeline of that name exists (`make run`).
  std::string demo_file;
};

// Runs until `stop` becomes true; then stops the pipelines with a final checkpoint (they resume
// at the next start) and returns.
Status Serve(const ServeOptions& options, const std::atomic<bool>* stop);

}  // namespace sluice::api
