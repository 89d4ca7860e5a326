// The API's views of running jobs: checkpoints, operator metrics, live output (Server-Sent
// Events), Prometheus metrics.

#include <algorithm>
#include <chrono>
#include <limits>
#include <tuple>

#include <fmt/format.h>

#include "api/api_service.h"
#include "api/json_util.h"
#include "api/streams.h"

namespace sluice::api {

namespace json = boost::json;

HttpResponse ApiService::JobCheckpoints(const std::string& id, const std::string& job) {
  PipelineRecordPtr p;
  JobRecordPtr j;
  HttpResponse err;
  if (!Load(id, &p, &j, &err)) return err;
  if (j->id != job)
    return ErrorResponse(404, fmt::format("pipeline '{}' has no job '{}'", id, job));
  auto listed = ListCheckpoints(jobs_->StateDir(*j));
  if (!listed.ok()) {
    return ErrorResponse(409,
                         "cannot read the pipeline's checkpoints: " + listed.status().message());
  }
  const std::string state_dir = jobs_->StateDir(*j);
  json::array data;
  for (const auto& c : *listed) {
    json::object o;
    o["epoch"] = c.epoch;
    o["kind"] = c.kind;
    o["backend"] = state_dir.rfind("s3://", 0) == 0 ? "s3" : "file";
    o["startTime"] = nullptr;
    o["finishTime"] = c.finish_time;
    o["bytes"] = c.bytes;
    json::array ops;
    for (const auto& part : c.parts) {
      ops.push_back(json::object{{"nodeId", std::to_string(part.node)},
                                 {"operator", part.operators},
                                 {"subtask", part.subtask},
                                 {"bytes", part.bytes}});
    }
    o["operators"] = std::move(ops);
    json::array state;
    for (const auto& s : c.operator_state) {
      state.push_back(json::object{{"operatorId", s.operator_id},
                                   {"operator", s.name},
                                   {"nodeId", std::to_string(s.node)},
                                   {"subtask", s.subtask},
                                   {"bytes", s.bytes}});
    }
    o["operatorState"] = std::move(state);
    data.push_back(std::move(o));
  }
  return JsonResponse(200, json::object{{"data", std::move(data)}});
}

HttpResponse ApiService::JobMetrics(const std::string& id, const std::string& job) {
  PipelineRecordPtr p;
  JobRecordPtr j;
  HttpResponse err;
  if (!Load(id, &p, &j, &err)) return err;
  if (j->id != job)
    return ErrorResponse(404, fmt::format("pipeline '{}' has no job '{}'", id, job));
  std::vector<service::OperatorSample> samples = jobs_->Metrics(job);
  const int64_t now = service::NowMicros();
  // Rates: against this job's previous sample (kept per job by the service).
  std::vector<service::OperatorSample> before;
  int64_t before_at = 0;
  {
    std::lock_guard<std::mutex> lock(graph_mu_);
    auto& slot = last_samples_[job];
    before_at = slot.first;
    before = slot.second;
    slot = {now, samples};
  }
  const double dt = before_at > 0 ? static_cast<double>(now - before_at) / 1e6 : 0;
  // By operator (in graph order: node, then place in its chain), then subtask.
  std::map<std::tuple<int, int, std::string>, json::array> by_operator;
  for (size_t i = 0; i < samples.size(); ++i) {
    const auto& s = samples[i];
    json::object sub;
    sub["index"] = s.subtask;
    sub["rowsIn"] = s.rows_in;
    sub["rowsOut"] = s.rows_out;
    sub["badRowsDropped"] = s.bad_rows_dropped;
    sub["lateRowsDropped"] = s.late_rows_dropped;
    bool comparable = dt > 0 && before.size() == samples.size() &&
                      before[i].operator_name == s.operator_name && before[i].subtask == s.subtask;
    sub["rowsInPerSecond"] =
        comparable ? json::value(static_cast<double>(s.rows_in - before[i].rows_in) / dt)
                   : json::value(nullptr);
    sub["rowsOutPerSecond"] =
        comparable ? json::value(static_cast<double>(s.rows_out - before[i].rows_out) / dt)
                   : json::value(nullptr);
    // Bytes: the in-memory size of the batches received and emitted (runtime/metrics.h).
    sub["bytesIn"] = s.bytes_in;
    sub["bytesOut"] = s.bytes_out;
    sub["bytesInPerSecond"] =
        comparable ? json::value(static_cast<double>(s.bytes_in - before[i].bytes_in) / dt)
                   : json::value(nullptr);
    sub["bytesOutPerSecond"] =
        comparable ? json::value(static_cast<double>(s.bytes_out - before[i].bytes_out) / dt)
                   : json::value(nullptr);
    // The bytes of state the subtask wrote into its latest checkpoint.
    sub["stateBytes"] = s.state_bytes ? json::value(*s.state_bytes) : json::value(nullptr);
    // Watermark: event time; its lag behind the wall clock (meaningful for sources whose event
    // time is about now, such as Kafka's record timestamps or the impulse generator).
    sub["watermark"] = s.watermark ? json::value(*s.watermark) : json::value(nullptr);
    sub["watermarkLagMicros"] =
        s.watermark ? json::value(now - *s.watermark) : json::value(nullptr);
    sub["backpressureMicros"] = s.backpressure_micros;
    // The share of the time since the previous read that the task was blocked on a full queue.
    sub["backpressure"] =
        comparable
            ? json::value(std::clamp(
                  static_cast<double>(s.backpressure_micros - before[i].backpressure_micros) /
                      (dt * 1e6),
                  0.0, 1.0))
            : json::value(nullptr);
    by_operator[{s.node, s.chain_index, s.operator_name}].push_back(std::move(sub));
  }
  json::array data;
  for (auto& [key, subtasks] : by_operator) {
    const auto& [node, chain_index, name] = key;
    data.push_back(json::object{{"operator", name},
                                {"nodeId", std::to_string(node)},
                                {"chainIndex", chain_index},
                                {"subtasks", std::move(subtasks)}});
  }
  return JsonResponse(
      200, json::object{{"data", std::move(data)}, {"time", now}, {"running", jobs_->Active(job)}});
}

HttpResponse ApiService::JobOutput(const std::string& id, const std::string& job,
                                   const HttpRequest& request) {
  PipelineRecordPtr p;
  JobRecordPtr j;
  HttpResponse err;
  if (!Load(id, &p, &j, &err)) return err;
  if (j->id != job)
    return ErrorResponse(404, fmt::format("pipeline '{}' has no job '{}'", id, job));
  int64_t after = -1;
  if (auto it = request.headers.find("last-event-id"); it != request.headers.end()) {
    char* end = nullptr;
    after = std::strtoll(it->second.c_str(), &end, 10);
    if (it->second.empty() || *end != '\0' || after < 0) {
      return ErrorResponse(
          400, fmt::format("Last-Event-ID must be a row id (a number), got '{}'", it->second));
    }
  }
  HttpResponse r;
  r.stream = MakeOutputEventStream(jobs_->Output(job), after, options_.sse_batch_events);
  r.heartbeat_ms = options_.sse_heartbeat_ms;
  return r;
}

HttpResponse ApiService::JobTap(const std::string& id, const std::string& job,
                                const HttpRequest& request,
                                const std::map<std::string, std::string>& params) {
  PipelineRecordPtr p;
  JobRecordPtr j;
  HttpResponse err;
  if (!Load(id, &p, &j, &err)) return err;
  if (j->id != job)
    return ErrorResponse(404, fmt::format("pipeline '{}' has no job '{}'", id, job));
  auto e = params.find("edge");
  if (e == params.end() || e->second.empty()) {
    return ErrorResponse(400,
                         "missing query parameter 'edge': the index of an edge in the pipeline's "
                         "graph (its edgeId), e.g. .../tap?edge=0");
  }
  char* end = nullptr;
  long long edge = std::strtoll(e->second.c_str(), &end, 10);
  if (*end != '\0' || edge < 0) {
    return ErrorResponse(
        400, fmt::format("query parameter 'edge' must be an edge's index (its edgeId, a number "
                         "from 0), got '{}'",
                         e->second));
  }
  int64_t after = -1;
  if (auto it = request.headers.find("last-event-id"); it != request.headers.end()) {
    char* last = nullptr;
    after = std::strtoll(it->second.c_str(), &last, 10);
    if (it->second.empty() || *last != '\0' || after < 0) {
      return ErrorResponse(
          400, fmt::format("Last-Event-ID must be a row id (a number), got '{}'", it->second));
    }
  }
  auto session = jobs_->OpenTap(job, static_cast<size_t>(edge));
  if (!session.ok()) {
    const bool running = jobs_->Active(job);
    return ErrorResponse(running ? 404 : 409, session.status().message());
  }
  HttpResponse r;
  std::shared_ptr<service::TapSession> held = session.MoveValue();
  auto rows = held->rows;
  r.stream =
      MakeOutputEventStream(std::move(rows), after, options_.sse_batch_events, std::move(held));
  r.heartbeat_ms = options_.sse_heartbeat_ms;
  return r;
}

namespace {

std::string Label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

HttpResponse ApiService::Prometheus() {
  std::string text;
  text +=
      "# HELP sluice_operator_rows_in_total Rows an operator subtask received.\n"
      "# TYPE sluice_operator_rows_in_total counter\n";
  std::string out_text =
      "# HELP sluice_operator_rows_out_total Rows an operator subtask emitted.\n"
      "# TYPE sluice_operator_rows_out_total counter\n";
  std::string bad_text =
      "# HELP sluice_operator_bad_rows_dropped_total Malformed rows dropped (bad_data = 'drop').\n"
      "# TYPE sluice_operator_bad_rows_dropped_total counter\n";
  std::string watermark_text =
      "# HELP sluice_operator_watermark_micros The last watermark a subtask received (event "
      "time).\n# TYPE sluice_operator_watermark_micros gauge\n";
  std::string backpressure_text =
      "# HELP sluice_operator_backpressure_seconds_total Time the subtask's task spent blocked on "
      "a full downstream queue.\n# TYPE sluice_operator_backpressure_seconds_total counter\n";
  std::string late_text =
      "# HELP sluice_operator_late_rows_dropped_total Rows behind the watermark dropped.\n"
      "# TYPE sluice_operator_late_rows_dropped_total counter\n";
  std::string bytes_text =
      "# HELP sluice_operator_bytes_in_total Bytes (in-memory batch size) an operator subtask "
      "received.\n# TYPE sluice_operator_bytes_in_total counter\n";
  std::string bytes_out_text =
      "# HELP sluice_operator_bytes_out_total Bytes (in-memory batch size) an operator subtask "
      "emitted.\n# TYPE sluice_operator_bytes_out_total counter\n";
  std::string state_text =
      "# HELP sluice_operator_state_bytes State bytes the subtask wrote into its latest "
      "checkpoint.\n# TYPE sluice_operator_state_bytes gauge\n";
  int64_t running = 0;
  for (const auto& job : jobs_->ActiveJobs()) {
    auto record = store_->GetJob(job);
    if (!record.ok() || !record->has_value()) continue;
    ++running;
    for (const auto& s : jobs_->Metrics(job)) {
      std::string labels =
          fmt::format("pipeline=\"{}\",job=\"{}\",operator=\"{}\",subtask=\"{}\"",
                      Label((*record)->pipeline_id), Label(job), Label(s.operator_name), s.subtask);
      text += fmt::format("sluice_operator_rows_in_total{{{}}} {}\n", labels, s.rows_in);
      out_text += fmt::format("sluice_operator_rows_out_total{{{}}} {}\n", labels, s.rows_out);
      bad_text += fmt::format("sluice_operator_bad_rows_dropped_total{{{}}} {}\n", labels,
                              s.bad_rows_dropped);
      late_text += fmt::format("sluice_operator_late_rows_dropped_total{{{}}} {}\n", labels,
                               s.late_rows_dropped);
      bytes_text += fmt::format("sluice_operator_bytes_in_total{{{}}} {}\n", labels, s.bytes_in);
      bytes_out_text +=
          fmt::format("sluice_operator_bytes_out_total{{{}}} {}\n", labels, s.bytes_out);
      if (s.state_bytes) {
        state_text += fmt::format("sluice_operator_state_bytes{{{}}} {}\n", labels, *s.state_bytes);
      }
      if (s.watermark) {
        watermark_text +=
            fmt::format("sluice_operator_watermark_micros{{{}}} {}\n", labels, *s.watermark);
      }
      backpressure_text += fmt::format("sluice_operator_backpressure_seconds_total{{{}}} {:.6f}\n",
                                       labels, static_cast<double>(s.backpressure_micros) / 1e6);
    }
  }
  text += out_text + bad_text + late_text + watermark_text + backpressure_text + bytes_text +
          bytes_out_text + state_text;
  text += fmt::format(
      "# HELP sluice_running_jobs Jobs with a run in this service.\n# TYPE sluice_running_jobs "
      "gauge\nsluice_running_jobs {}\n",
      running);
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = std::move(text);
  return r;
}

}  // namespace sluice::api
