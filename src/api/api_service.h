#pragma once
// The REST API of `sluice serve` (`/api/v1`, Arroyo's paths and shapes; docs/api.md): routes
// requests to the metadata Store and the JobManager and turns their results into JSON. Every
// error is `{"error": "..."}` with a 4xx status saying whose fault it is; a 500 is a bug.
//
// Threading: Handle may be called from several server threads at once.

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <boost/json/object.hpp>

#include "api/http_server.h"
#include "service/job_manager.h"
#include "service/store.h"

namespace sluice::api {

using PipelineRecordPtr = std::shared_ptr<service::PipelineRecord>;
using JobRecordPtr = std::shared_ptr<service::JobRecord>;

struct ApiOptions {
  int default_parallelism = 1;
  int sse_heartbeat_ms = 15000;
  size_t sse_batch_events = 512;  // most events written per poll to one client
};

class ApiService {
 public:
  ApiService(service::Store* store, service::JobManager* jobs, ApiOptions options);
  HttpResponse Handle(const HttpRequest& request);

 private:
  struct Graph;
  HttpResponse Route(const HttpRequest& request);
  // The planned graph of a query (cached by query, parallelism and preview).
  std::shared_ptr<const Graph> GraphOf(const std::string& query, int64_t parallelism,
                                       bool preview = false);

  HttpResponse Connectors();
  HttpResponse ValidateQuery(const HttpRequest& request);
  HttpResponse CreatePipeline(const HttpRequest& request, bool preview_route = false);
  HttpResponse Preview(const HttpRequest& request) { return CreatePipeline(request, true); }
  HttpResponse OpenApi();
  HttpResponse ListPipelines(const std::map<std::string, std::string>& params);
  HttpResponse GetPipeline(const std::string& id);
  HttpResponse PatchPipeline(const std::string& id, const HttpRequest& request);
  HttpResponse DeletePipeline(const std::string& id);
  HttpResponse RestartPipeline(const std::string& id, const HttpRequest& request);
  HttpResponse Jobs(const std::string& id);
  HttpResponse JobErrors(const std::string& id, const std::string& job,
                         const std::map<std::string, std::string>& params);
  HttpResponse JobCheckpoints(const std::string& id, const std::string& job);
  HttpResponse JobMetrics(const std::string& id, const std::string& job);
  HttpResponse JobOutput(const std::string& id, const std::string& job, const HttpRequest& request);
  HttpResponse JobTap(const std::string& id, const std::string& job, const HttpRequest& request,
                      const std::map<std::string, std::string>& params);
  HttpResponse Prometheus();
  // The pipeline and its job, or a 404 in *error.
  bool Load(const std::string& id, PipelineRecordPtr* pipeline, JobRecordPtr* job,
            HttpResponse* error);
  boost::json::object PipelineJson(const service::PipelineRecord& p, const service::JobRecord* j);

  service::Store* store_;
  service::JobManager* jobs_;
  ApiOptions options_;
  std::mutex graph_mu_;
  std::map<std::pair<std::string, int64_t>, std::shared_ptr<const Graph>> graphs_;  // cache
  // The previous metrics sample of each job (for rates), under graph_mu_.
  std::map<std::string, std::pair<int64_t, std::vector<service::OperatorSample>>> last_samples_;
};

}  // namespace sluice::api
