#include "api/api_service.h"

#include <regex>
#include <vector>

#include <fmt/format.h>
#include <boost/url/parse.hpp>

#include "api/console_routes.h"
#include "api/json_util.h"
#include "api/streams.h"
#include "connectors/connector.h"
#include "pipeline/runner.h"

namespace sluice::api {

namespace json = boost::json;
using service::JobRecord;
using service::PipelineRecord;

namespace {

constexpr int64_t kMaxParallelism = 1024;
constexpr int64_t kDefaultCheckpointMicros = 10'000'000;

bool Failed(const HttpResponse& r) {
  return r.status >= 400;
}

// A store failure: the database is unreachable or refused; the client may retry.
HttpResponse StoreError(const Status& st) {
  return ErrorResponse(503, "the metadata store failed: " + st.message());
}

// "line 3, column 14: ..." in a planning error -> its position.
json::object Diagnostic(const std::string& message) {
  json::object d;
  d["message"] = message;
  static const std::regex kPos(R"(line (\d+), column (\d+))");
  std::smatch m;
  if (std::regex_search(message, m, kPos)) {
    d["line"] = std::stoll(m[1]);
    d["column"] = std::stoll(m[2]);
  } else {
    d["line"] = nullptr;
    d["column"] = nullptr;
  }
  return d;
}

json::value OptJson(const std::optional<int64_t>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

json::object JobJson(const JobRecord& j, int64_t tasks) {
  json::object o;
  o["id"] = j.id;
  o["runningDesired"] = j.running_desired;
  o["state"] = j.state;
  o["runId"] = j.run_id;
  o["startTime"] = OptJson(j.start_time);
  o["finishTime"] = OptJson(j.finish_time);
  o["tasks"] = tasks > 0 ? json::value(tasks) : json::value(nullptr);
  o["failureMessage"] = j.failure_message ? json::value(*j.failure_message) : json::value(nullptr);
  o["createdAt"] = j.created_at;
  o["stateGeneration"] = j.state_generation;
  return o;
}

bool IsRunningState(const std::string& s) {
  return s == "Created" || s == "Scheduling" || s == "Running";
}

}  // namespace

struct ApiService::Graph {
  json::object graph;  // {nodes, edges}
  int64_t tasks = 0;
  std::string error;  // the query does not plan (any more)
};

ApiService::ApiService(service::Store* store, service::JobManager* jobs, ApiOptions options)
    : store_(store), jobs_(jobs), options_(options) {}

std::shared_ptr<const ApiService::Graph> ApiService::GraphOf(const std::string& query,
                                                             int64_t parallelism, bool preview) {
  auto key = std::make_pair(query, parallelism * 2 + (preview ? 1 : 0));
  {
    std::lock_guard<std::mutex> lock(graph_mu_);
    if (auto it = graphs_.find(key); it != graphs_.end()) return it->second;
  }
  auto g = std::make_shared<Graph>();
  pipeline::RunOptions ro;
  ro.parallelism = static_cast<int>(parallelism);
  ro.preview = preview;
  auto compiled = pipeline::PlanAndCompile(query, ro);
  json::array nodes;
  json::array edges;
  if (!compiled.ok()) {
    g->error = compiled.status().message();
  } else {
    for (const auto& n : compiled->graph.nodes) {
      json::object node;
      node["nodeId"] = std::to_string(n.id);
      node["operator"] = n.name();
      std::string description;
      for (size_t i = 0; i < n.chain.size(); ++i) {
        if (i) description += " -> ";
        description += n.chain[i]->Describe();
      }
      node["description"] = description;
      node["parallelism"] = n.parallelism;
      g->tasks += n.parallelism;
      nodes.push_back(std::move(node));
    }
    for (const auto& e : compiled->graph.edges) {
      json::object edge;
      edge["srcId"] = std::to_string(e.from);
      edge["destId"] = std::to_string(e.to);
      edge["keyType"] = fmt::format("{}", fmt::join(e.key_names, ", "));
      edge["valueType"] = "";
      edge["edgeType"] = runtime::EdgeKindName(e.kind);
      edge["edgeId"] = std::to_string(edges.size());  // its index: GET .../tap?edge=<edgeId>
      edges.push_back(std::move(edge));
    }
  }
  g->graph["nodes"] = std::move(nodes);
  g->graph["edges"] = std::move(edges);
  std::lock_guard<std::mutex> lock(graph_mu_);
  if (graphs_.size() > 1024) graphs_.clear();
  graphs_[key] = g;
  return g;
}

HttpResponse ApiService::Handle(const HttpRequest& request) {
  // The web console's assets at "/" and its catalog routes (console_routes.h) first.
  if (std::optional<HttpResponse> console = HandleConsoleRequest(request)) return *console;
  HttpResponse r = Route(request);
  r.headers.emplace("Access-Control-Allow-Origin", "*");
  return r;
}

}  // namespace sluice::api

namespace sluice::api {

json::object ApiService::PipelineJson(const PipelineRecord& p, const JobRecord* j) {
  json::object o;
  o["id"] = p.id;
  o["name"] = p.name;
  o["query"] = p.query;
  o["udfs"] = json::array();
  o["checkpointIntervalMicros"] = p.checkpoint_interval_micros;
  o["parallelism"] = p.parallelism;
  o["stop"] = p.stop;
  o["createdAt"] = p.created_at;
  o["preview"] = p.preview;
  const std::string state = j ? j->state : "Created";
  const bool active = j && jobs_->Active(j->id);
  o["state"] = state;
  o["jobId"] = j ? json::value(j->id) : json::value(nullptr);
  o["failureReason"] =
      j && j->failure_message ? json::value(*j->failure_message) : json::value(nullptr);
  // What the console's button does next (Arroyo's action fields).
  if (active && IsRunningState(state)) {
    o["action"] = "checkpoint";
    o["actionText"] = "Stop";
    o["actionInProgress"] = false;
  } else if (active) {
    o["action"] = nullptr;
    o["actionText"] = state == "Stopping" ? "Stopping" : state;
    o["actionInProgress"] = true;
  } else {
    o["action"] = "none";
    o["actionText"] = "Start";
    o["actionInProgress"] = false;
  }
  auto g = GraphOf(p.query, p.parallelism, p.preview);
  o["graph"] = g->graph;
  return o;
}

bool ApiService::Load(const std::string& id, PipelineRecordPtr* pipeline, JobRecordPtr* job,
                      HttpResponse* error) {
  auto p = store_->GetPipeline(id);
  if (!p.ok()) {
    *error = StoreError(p.status());
    return false;
  }
  if (!p->has_value()) {
    *error = ErrorResponse(404, fmt::format("no pipeline with id '{}'", id));
    return false;
  }
  *pipeline = std::make_shared<PipelineRecord>(**p);
  auto jobs = store_->JobsOf(id);
  if (!jobs.ok()) {
    *error = StoreError(jobs.status());
    return false;
  }
  if (jobs->empty()) {
    *error = ErrorResponse(404, fmt::format("pipeline '{}' has no job", id));
    return false;
  }
  *job = std::make_shared<JobRecord>(jobs->back());
  return true;
}

HttpResponse ApiService::Connectors() {
  json::array data;
  const auto& registry = connectors::ConnectorRegistry::Get();
  for (const auto& name : registry.Names()) {
    const connectors::Connector* c = registry.Find(name);
    if (c == nullptr) continue;
    json::object o;
    o["id"] = name;
    o["name"] = name;
    o["enabled"] = true;
    o["source"] = c->can_source();
    o["sink"] = c->can_sink();
    json::array options;
    json::object properties;
    json::array required;
    // option_specs(): each key with its description, whether it is required, and whether it is
    // a secret (a password: JSON schema's writeOnly, never echoed).
    for (const auto& spec : c->option_specs()) {
      options.push_back(json::value(spec.name));
      json::object property{{"type", "string"}};
      if (!spec.description.empty()) property["description"] = spec.description;
      if (spec.secret) property["writeOnly"] = true;
      properties[spec.name] = std::move(property);
      if (spec.required) required.push_back(json::value(spec.name));
    }
    if (!c->description().empty()) o["description"] = c->description();
    // Every connector table also takes these (docs/connectors.md).
    for (const char* common : {"type", "format"}) properties[common] = {{"type", "string"}};
    o["options"] = std::move(options);
    json::object table_config{{"type", "object"}, {"properties", std::move(properties)}};
    if (!required.empty()) table_config["required"] = std::move(required);
    o["tableConfig"] = std::move(table_config);
    if (auto fixed = c->fixed_schema()) {
      json::array cols;
      for (size_t i = 0; i < fixed->size(); ++i) {
        cols.push_back(json::object{{"name", fixed->field(i).name},
                                    {"type", fixed->field(i).type.ToString()}});
      }
      o["fixedSchema"] = std::move(cols);
    }
    data.push_back(std::move(o));
  }
  return JsonResponse(200, json::object{{"data", std::move(data)}});
}

HttpResponse ApiService::ValidateQuery(const HttpRequest& request) {
  HttpResponse err;
  auto body = ParseBody(request.body, {"query", "udfs", "parallelism"}, &err);
  if (!body) return err;
  auto query = GetString(*body, "query", &err);
  auto parallelism = GetInt(*body, "parallelism", &err);
  if (Failed(err)) return err;
  if (!query) return ErrorResponse(400, "field 'query' is required");
  if (auto it = body->find("udfs");
      it != body->end() && !it->value().is_null() && !it->value().is_array()) {
    return ErrorResponse(400, "field 'udfs' must be an array");
  }
  int64_t par = parallelism.value_or(options_.default_parallelism);
  if (par < 1 || par > kMaxParallelism) {
    return ErrorResponse(
        400, fmt::format("parallelism must be between 1 and {}, got {}", kMaxParallelism, par));
  }
  auto g = GraphOf(*query, par);
  json::object o;
  if (g->error.empty()) {
    o["graph"] = g->graph;
    o["errors"] = nullptr;
    o["diagnostics"] = json::array();
  } else {
    o["graph"] = nullptr;
    o["errors"] = json::array{json::value(g->error)};
    o["diagnostics"] = json::array{Diagnostic(g->error)};
  }
  return JsonResponse(200, o);
}

HttpResponse ApiService::CreatePipeline(const HttpRequest& request, bool preview_route) {
  HttpResponse err;
  auto body = ParseBody(
      request.body, {"name", "query", "udfs", "preview", "parallelism", "checkpointIntervalMicros"},
      &err);
  if (!body) return err;
  auto name = GetString(*body, "name", &err);
  auto query = GetString(*body, "query", &err);
  auto preview = GetBool(*body, "preview", &err);
  if (preview_route) preview = true;
  auto parallelism = GetInt(*body, "parallelism", &err);
  auto interval = GetInt(*body, "checkpointIntervalMicros", &err);
  if (Failed(err)) return err;
  if (auto it = body->find("udfs");
      it != body->end() &&
      !(it->value().is_null() || (it->value().is_array() && it->value().as_array().empty()))) {
    return ErrorResponse(400, "UDFs are not supported yet; 'udfs' must be empty");
  }
  if (!query) return ErrorResponse(400, "field 'query' is required");
  PipelineRecord p;
  p.id = service::NewId("pl_");
  p.name = name.value_or("");
  if (p.name.empty()) {
    if (!preview.value_or(false)) return ErrorResponse(400, "field 'name' is required");
    p.name = "preview";
  }
  p.query = *query;
  p.preview = preview.value_or(false);
  p.parallelism = parallelism.value_or(options_.default_parallelism);
  if (p.parallelism < 1 || p.parallelism > kMaxParallelism) {
    return ErrorResponse(400, fmt::format("parallelism must be between 1 and {}, got {}",
                                          kMaxParallelism, p.parallelism));
  }
  p.checkpoint_interval_micros = interval.value_or(kDefaultCheckpointMicros);
  if (p.checkpoint_interval_micros < 1000) {
    return ErrorResponse(400, fmt::format("checkpointIntervalMicros must be at least 1000 (1ms), "
                                          "got {}",
                                          p.checkpoint_interval_micros));
  }
  auto g = GraphOf(p.query, p.parallelism, p.preview);
  if (!g->error.empty()) return ErrorResponse(400, g->error);
  p.created_at = p.updated_at = service::NowMicros();
  JobRecord j;
  j.id = service::NewId("job_");
  j.pipeline_id = p.id;
  j.run_id = 1;
  j.state = "Created";
  j.running_desired = true;
  j.created_at = p.created_at;
  if (Status st = store_->CreatePipeline(p, j); !st.ok()) return StoreError(st);
  if (Status st = jobs_->Start(p, j); !st.ok()) return ErrorResponse(409, st.message());
  return JsonResponse(200, PipelineJson(p, &j));
}

HttpResponse ApiService::ListPipelines(const std::map<std::string, std::string>& params) {
  int64_t limit = 1000;
  if (auto it = params.find("limit"); it != params.end()) {
    char* end = nullptr;
    limit = std::strtoll(it->second.c_str(), &end, 10);
    if (it->second.empty() || *end != '\0' || limit < 1 || limit > 1000) {
      return ErrorResponse(400,
                           fmt::format("limit must be between 1 and 1000, got '{}'", it->second));
    }
  }
  for (const auto& [k, v] : params) {
    if (k != "limit" && k != "starting_after") {
      return ErrorResponse(400, fmt::format("unknown query parameter '{}'; the parameters are: "
                                            "starting_after, limit",
                                            k));
    }
  }
  std::optional<std::string> after;
  if (auto it = params.find("starting_after"); it != params.end()) after = it->second;
  auto pipelines = store_->ListPipelines(after, limit + 1);
  if (!pipelines.ok()) return StoreError(pipelines.status());
  bool has_more = static_cast<int64_t>(pipelines->size()) > limit;
  if (has_more) pipelines->pop_back();
  json::array data;
  for (const auto& p : *pipelines) {
    auto jobs = store_->JobsOf(p.id);
    if (!jobs.ok()) return StoreError(jobs.status());
    data.push_back(PipelineJson(p, jobs->empty() ? nullptr : &jobs->back()));
  }
  return JsonResponse(200, json::object{{"data", std::move(data)}, {"hasMore", has_more}});
}

HttpResponse ApiService::GetPipeline(const std::string& id) {
  PipelineRecordPtr p;
  JobRecordPtr j;
  HttpResponse err;
  if (!Load(id, &p, &j, &err)) return err;
  return JsonResponse(200, PipelineJson(*p, j.get()));
}

HttpResponse ApiService::PatchPipeline(const std::string& id, const HttpRequest& request) {
  HttpResponse err;
  auto body = ParseBody(
      request.body,
      {"stop", "parallelism", "checkpointIntervalMicros", "query", "name", "allowNonRestoredState"},
      &err);
  if (!body) return err;
  auto stop = GetString(*body, "stop", &err);
  auto parallelism = GetInt(*body, "parallelism", &err);
  auto interval = GetInt(*body, "checkpointIntervalMicros", &err);
  auto query = GetString(*body, "query", &err);
  auto name = GetString(*body, "name", &err);
  auto allow_drop = GetBool(*body, "allowNonRestoredState", &err);
  if (Failed(err)) return err;
  PipelineRecordPtr p;
  JobRecordPtr j;
  if (!Load(id, &p, &j, &err)) return err;
  const bool active = jobs_->Active(j->id);
  if (stop && *stop != "none" && *stop != "checkpoint" && *stop != "graceful" &&
      *stop != "immediate") {
    return ErrorResponse(400, fmt::format("stop must be none, checkpoint, graceful or immediate, "
                                          "got '{}'",
                                          *stop));
  }
  const bool stopping = stop && *stop != "none";
  if ((query || parallelism || interval) && active && !stopping) {
    return ErrorResponse(409,
                         "the pipeline is running: stop it before changing its query, "
                         "parallelism or checkpoint interval");
  }
  if (parallelism && (*parallelism < 1 || *parallelism > kMaxParallelism)) {
    return ErrorResponse(400, fmt::format("parallelism must be between 1 and {}, got {}",
                                          kMaxParallelism, *parallelism));
  }
  if (interval && *interval < 1000) {
    return ErrorResponse(
        400,
        fmt::format("checkpointIntervalMicros must be at least 1000 (1ms), got {}", *interval));
  }
  if (name) {
    if (name->empty()) return ErrorResponse(400, "name must not be empty");
    p->name = *name;
  }
  if (query || parallelism) {
    auto g = GraphOf(query.value_or(p->query), parallelism.value_or(p->parallelism));
    if (!g->error.empty()) return ErrorResponse(400, g->error);
  }
  if (query) p->query = *query;
  if (parallelism) p->parallelism = *parallelism;
  if (interval) p->checkpoint_interval_micros = *interval;
  if (stop) p->stop = *stop;
  if (stopping && active) {
    jobs_->Stop(j->id, *stop);
  } else if (stop && *stop == "none" && !active) {
    JobRecord next = *j;
    next.run_id += 1;
    next.running_desired = true;
    next.restore_checkpoint.reset();
    next.allow_non_restored_state = allow_drop.value_or(false);
    if (Status st = CheckStateFits(p->query, p->preview, jobs_->StateDir(next), std::nullopt,
                                   next.allow_non_restored_state);
        !st.ok()) {
      return ErrorResponse(409, st.message());
    }
    if (Status st = store_->UpdatePipeline(*p); !st.ok()) return StoreError(st);
    if (Status st = store_->UpdateJob(next); !st.ok()) return StoreError(st);
    if (Status st = jobs_->Start(*p, next); !st.ok()) return ErrorResponse(409, st.message());
    return GetPipeline(id);
  }
  if (Status st = store_->UpdatePipeline(*p); !st.ok()) return StoreError(st);
  return GetPipeline(id);
}

HttpResponse ApiService::DeletePipeline(const std::string& id) {
  PipelineRecordPtr p;
  JobRecordPtr j;
  HttpResponse err;
  if (!Load(id, &p, &j, &err)) return err;
  if (jobs_->Active(j->id)) {
    return ErrorResponse(409,
                         "the pipeline is running: stop it (PATCH {\"stop\": "
                         "\"checkpoint\"}) before deleting it");
  }
  if (Status st = store_->DeletePipeline(id); !st.ok()) return StoreError(st);
  jobs_->Forget(j->id);
  {
    std::lock_guard<std::mutex> lock(graph_mu_);
    last_samples_.erase(j->id);
  }
  return JsonResponse(200, json::object());
}

HttpResponse ApiService::RestartPipeline(const std::string& id, const HttpRequest& request) {
  HttpResponse err;
  auto body = ParseBody(
      request.body, {"force", "checkpoint", "ignoreState", "allowNonRestoredState"}, &err, true);
  if (!body) return err;
  auto force = GetBool(*body, "force", &err);
  auto checkpoint = GetInt(*body, "checkpoint", &err);
  auto ignore_state = GetBool(*body, "ignoreState", &err);
  auto allow_drop = GetBool(*body, "allowNonRestoredState", &err);
  if (Failed(err)) return err;
  if (checkpoint && ignore_state.value_or(false)) {
    return ErrorResponse(400,
                         "give either 'checkpoint' (restore that one) or 'ignoreState' "
                         "(start without state), not both");
  }
  PipelineRecordPtr p;
  JobRecordPtr j;
  if (!Load(id, &p, &j, &err)) return err;
  JobRecord next = *j;
  next.run_id += 1;
  next.running_desired = true;
  next.restore_checkpoint.reset();
  if (ignore_state.value_or(false)) next.state_generation += 1;
  next.allow_non_restored_state = allow_drop.value_or(false);
  if (checkpoint) {
    if (jobs_->Active(j->id)) {
      // Stopping takes a final checkpoint, and retention could remove the chosen one meanwhile.
      return ErrorResponse(409,
                           "stop the pipeline before restarting it from a chosen checkpoint "
                           "(PATCH {\"stop\": \"checkpoint\"}), then pick one of its "
                           "checkpoints");
    }
    auto listed = ListCheckpoints(jobs_->StateDir(*j));
    if (!listed.ok()) return ErrorResponse(409, listed.status().message());
    bool found = false;
    for (const auto& c : *listed) found = found || c.epoch == *checkpoint;
    if (!found) {
      std::vector<int64_t> epochs;
      for (const auto& c : *listed) epochs.push_back(c.epoch);
      return ErrorResponse(
          404, fmt::format("pipeline '{}' has no checkpoint {}; it has: {}", id, *checkpoint,
                           epochs.empty() ? std::string("none")
                                          : fmt::format("{}", fmt::join(epochs, ", "))));
    }
    next.restore_checkpoint = *checkpoint;
  }
  if (!ignore_state.value_or(false) && !jobs_->Active(j->id)) {
    if (Status st = CheckStateFits(p->query, p->preview, jobs_->StateDir(next),
                                   next.restore_checkpoint, next.allow_non_restored_state);
        !st.ok()) {
      return ErrorResponse(409, st.message());
    }
  }
  p->stop = "none";
  if (Status st = store_->UpdatePipeline(*p); !st.ok()) return StoreError(st);
  if (jobs_->Active(j->id)) {
    jobs_->Stop(j->id, force.value_or(false) ? "immediate" : "checkpoint");
    jobs_->StartAfterStop(*p, next);
  } else {
    if (Status st = store_->UpdateJob(next); !st.ok()) return StoreError(st);
    if (Status st = jobs_->Start(*p, next); !st.ok()) return ErrorResponse(409, st.message());
  }
  return GetPipeline(id);
}

HttpResponse ApiService::Jobs(const std::string& id) {
  PipelineRecordPtr p;
  JobRecordPtr j;
  HttpResponse err;
  if (!Load(id, &p, &j, &err)) return err;
  auto g = GraphOf(p->query, p->parallelism, p->preview);
  json::array data;
  data.push_back(JobJson(*j, g->tasks));
  return JsonResponse(200, json::object{{"data", std::move(data)}});
}

HttpResponse ApiService::JobErrors(const std::string& id, const std::string& job,
                                   const std::map<std::string, std::string>& params) {
  PipelineRecordPtr p;
  JobRecordPtr j;
  HttpResponse err;
  if (!Load(id, &p, &j, &err)) return err;
  if (j->id != job)
    return ErrorResponse(404, fmt::format("pipeline '{}' has no job '{}'", id, job));
  std::optional<std::string> level = std::string("error");
  if (auto it = params.find("level"); it != params.end()) {
    if (it->second == "all") {
      level.reset();
    } else if (it->second == "info" || it->second == "warn" || it->second == "error") {
      level = it->second;
    } else {
      return ErrorResponse(
          400, fmt::format("level must be info, warn, error or all, got '{}'", it->second));
    }
  }
  auto logs = store_->LogsOf(job, level, 1001);
  if (!logs.ok()) return StoreError(logs.status());
  bool has_more = logs->size() > 1000;
  if (has_more) logs->pop_back();
  json::array data;
  for (const auto& m : *logs) {
    json::object o;
    o["id"] = m.id;
    o["createdAt"] = m.created_at;
    o["operatorId"] = m.operator_id ? json::value(*m.operator_id) : json::value(nullptr);
    o["taskIndex"] = OptJson(m.task_index);
    o["level"] = m.level;
    o["message"] = m.message;
    o["details"] = m.details;
    data.push_back(std::move(o));
  }
  return JsonResponse(200, json::object{{"data", std::move(data)}, {"hasMore", has_more}});
}

namespace {

std::vector<std::string> Segments(std::string_view path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (end > start) out.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

HttpResponse MethodNotAllowed(const std::string& allow) {
  HttpResponse r = ErrorResponse(405, fmt::format("method not allowed; use {}", allow));
  r.headers["Allow"] = allow;
  return r;
}

}  // namespace

HttpResponse ApiService::Route(const HttpRequest& request) {
  auto url = boost::urls::parse_origin_form(request.target);
  if (!url) return ErrorResponse(400, "malformed request target '" + request.target + "'");
  std::vector<std::string> seg = Segments(url->path());
  std::map<std::string, std::string> params;
  for (const auto& param : url->params()) params[param.key] = param.value;
  const std::string& m = request.method;
  if (m == "OPTIONS") {
    HttpResponse r;
    r.status = 204;
    r.headers["Access-Control-Allow-Methods"] = "GET, POST, PATCH, DELETE, OPTIONS";
    r.headers["Access-Control-Allow-Headers"] = "Content-Type, Last-Event-ID";
    return r;
  }
  auto only = [&](const char* method, auto&& fn) -> HttpResponse {
    if (m != method) return MethodNotAllowed(method);
    return fn();
  };
  if (seg.size() == 1 && seg[0] == "metrics") return only("GET", [&] { return Prometheus(); });
  if (seg.size() < 3 || seg[0] != "api" || seg[1] != "v1") {
    return ErrorResponse(404, fmt::format("no route for {} {}; the API is under /api/v1 "
                                          "(docs/api.md)",
                                          m, std::string(url->path())));
  }
  seg.erase(seg.begin(), seg.begin() + 2);
  const size_t n = seg.size();
  if (n == 1 && seg[0] == "ping") {
    return only("GET", [&] { return JsonResponse(200, json::object{{"status", "ok"}}); });
  }
  if (n == 1 && seg[0] == "metrics") return only("GET", [&] { return Prometheus(); });
  if (n == 1 && seg[0] == "openapi.json") return only("GET", [&] { return OpenApi(); });
  if (n == 1 && seg[0] == "connectors") return only("GET", [&] { return Connectors(); });
  if (seg[0] == "pipelines") {
    if (n == 1) {
      if (m == "GET") return ListPipelines(params);
      if (m == "POST") return CreatePipeline(request);
      return MethodNotAllowed("GET, POST");
    }
    // POST only; other methods treat the word as a pipeline id (there is none: 404).
    if (n == 2 && seg[1] == "validate_query" && m == "POST") return ValidateQuery(request);
    if (n == 2 && seg[1] == "preview" && m == "POST") return Preview(request);
    const std::string& id = seg[1];
    if (n == 2) {
      if (m == "GET") return GetPipeline(id);
      if (m == "PATCH") return PatchPipeline(id, request);
      if (m == "DELETE") return DeletePipeline(id);
      return MethodNotAllowed("GET, PATCH, DELETE");
    }
    if (n == 3 && seg[2] == "restart") {
      return only("POST", [&] { return RestartPipeline(id, request); });
    }
    if (n == 3 && seg[2] == "jobs") return only("GET", [&] { return Jobs(id); });
    if (n == 5 && seg[2] == "jobs") {
      const std::string& job = seg[3];
      if (seg[4] == "errors") return only("GET", [&] { return JobErrors(id, job, params); });
      if (seg[4] == "checkpoints") return only("GET", [&] { return JobCheckpoints(id, job); });
      if (seg[4] == "operator_metric_groups") {
        return only("GET", [&] { return JobMetrics(id, job); });
      }
      if (seg[4] == "output") return only("GET", [&] { return JobOutput(id, job, request); });
      if (seg[4] == "tap") return only("GET", [&] { return JobTap(id, job, request, params); });
    }
  }
  return ErrorResponse(404, fmt::format("no route for {} {} (docs/api.md lists the routes)", m,
                                        std::string(url->path())));
}

}  // namespace sluice::api
