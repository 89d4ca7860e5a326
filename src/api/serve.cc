#include "api/serve.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "api/api_service.h"
#include "api/http_server.h"
#include "service/job_manager.h"
#include "service/store.h"

namespace sluice::api {

namespace {

// Creates the pipeline "demo" from `path` through the API (its checks and shapes) unless one of
// that name exists, and prints where to watch it.
Status StartDemo(const std::string& path, service::Store* store, ApiService* api,
                 const std::string& host, int port) {
  std::string id;
  std::string job;
  SLUICE_ASSIGN_OR_RETURN(auto pipelines, store->ListPipelines(std::nullopt, 1000));
  for (const auto& p : pipelines) {
    if (p.name != "demo") continue;
    SLUICE_ASSIGN_OR_RETURN(auto jobs, store->JobsOf(p.id));
    id = p.id;
    if (!jobs.empty()) job = jobs.back().id;
  }
  if (id.empty()) {
    std::ifstream in(path);
    if (!in) return Status::Io("cannot read '{}'", path);
    std::stringstream sql;
    sql << in.rdbuf();
    boost::json::object body{{"name", "demo"}, {"query", sql.str()}};
    HttpRequest request;
    request.method = "POST";
    request.target = "/api/v1/pipelines";
    request.body = boost::json::serialize(body);
    HttpResponse response = api->Handle(request);
    boost::json::error_code ec;
    boost::json::value v = boost::json::parse(response.body, ec);
    if (ec || !v.is_object()) return Status::Internal("unexpected answer: {}", response.body);
    if (response.status != 200) {
      auto* error = v.as_object().if_contains("error");
      return Status::User(
          "{}", error && error->is_string() ? std::string(error->as_string()) : response.body);
    }
    id = std::string(v.as_object().at("id").as_string());
    job = std::string(v.as_object().at("jobId").as_string());
  }
  std::printf(
      "sluice serve: the demo pipeline: http://%s:%d/#/pipelines/%s\n"
      "sluice serve: its live rows: curl -N http://%s:%d/api/v1/pipelines/%s/jobs/%s/output\n",
      host.c_str(), port, id.c_str(), host.c_str(), port, id.c_str(), job.c_str());
  return Status::Ok();
}

}  // namespace

Status Serve(const ServeOptions& options, const std::atomic<bool>* stop) {
  HttpServerOptions http;
  auto colon = options.listen.rfind(':');
  if (colon == std::string::npos) {
    return Status::User("--listen takes host:port (e.g. 127.0.0.1:5115), got '{}'", options.listen);
  }
  http.host = options.listen.substr(0, colon);
  if (http.host.size() > 2 && http.host.front() == '[' && http.host.back() == ']') {
    http.host = http.host.substr(1, http.host.size() - 2);
  }
  std::string port_text = options.listen.substr(colon + 1);
  char* end = nullptr;
  long port = std::strtol(port_text.c_str(), &end, 10);
  if (port_text.empty() || *end != '\0' || port < 0 || port > 65535) {
    return Status::User("--listen: '{}' is not a port number (0-65535)", port_text);
  }
  http.port = static_cast<int>(port);
  http.threads = options.http_threads;

  std::string db = options.db;
  std::string state_dir = options.state_dir;
  if (db.empty() || state_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options.data_dir, ec);
    if (ec) {
      return Status::Io("cannot create the data directory '{}': {}", options.data_dir,
                        ec.message());
    }
  }
  if (db.empty()) db = "sqlite:" + (std::filesystem::path(options.data_dir) / "sluice.db").string();
  if (state_dir.empty()) state_dir = (std::filesystem::path(options.data_dir) / "state").string();

  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<service::Store> store, service::Store::Open(db));
  service::JobManagerOptions jm;
  jm.state_root = state_dir;
  jm.threads = options.job_threads;
  service::JobManager jobs(store.get(), jm);
  ApiOptions api_options;
  api_options.default_parallelism = options.default_parallelism;
  api_options.sse_heartbeat_ms = options.sse_heartbeat_ms;
  ApiService api(store.get(), &jobs, api_options);
  HttpServer server(http, [&api](const HttpRequest& r) { return api.Handle(r); });
  SLUICE_RETURN_NOT_OK(server.Listen());
  std::string host = http.host.find(':') != std::string::npos ? "[" + http.host + "]" : http.host;
  std::fprintf(stderr, "sluice serve: metadata in %s, checkpoints in %s\n",
               store->db().description().c_str(), state_dir.c_str());
  if (Status st = jobs.ResumeAll(); !st.ok()) {
    std::fprintf(stderr, "sluice serve: warning: resuming pipelines: %s\n", st.ToString().c_str());
  }
  std::printf("sluice serve: listening on http://%s:%d/ (REST API at http://%s:%d/api/v1)\n",
              host.c_str(), server.port(), host.c_str(), server.port());
  // The demo exists before anyone can ask for it: created through the API handler directly,
  // before the port is announced and before the listener answers.
  if (!options.demo_file.empty()) {
    Status st = StartDemo(options.demo_file, store.get(), &api, host, server.port());
    if (!st.ok()) {
      std::fprintf(stderr, "sluice serve: the demo pipeline: %s\n", st.ToString().c_str());
    }
  }
  if (!options.port_file.empty()) {
    std::ofstream out(options.port_file + ".tmp");
    out << server.port() << "\n";
    out.close();
    std::filesystem::rename(options.port_file + ".tmp", options.port_file);
  }
  server.Start();
  std::fflush(stdout);
  while (!stop->load()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::fprintf(stderr, "sluice serve: stopping: pipelines take a final checkpoint...\n");
  server.Stop();
  jobs.Shutdown();
  std::fprintf(stderr, "sluice serve: stopped\n");
  return Status::Ok();
}

}  // namespace sluice::api
