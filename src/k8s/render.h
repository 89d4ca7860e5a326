#pragma once
// `sluice k8s render` (docs/kubernetes.md): one job's Kubernetes manifests and, from the same
// spec, the command lines and environment of the processes those manifests start.
//
// A JobSpec describes the processes of a distributed job (coordinator replicas and worker pods)
// as Kubernetes containers: arguments with $(VAR) references, environment from literal values,
// the pod's fields, the job's ConfigMap and Secrets. RenderManifests turns it into the
// ConfigMap, the two Services, the coordinator Deployment and the worker StatefulSet;
// LocalProcesses expands the same containers the way the kubelet does, for each replica, into
// plain argv/environment a test (or a person without a cluster) runs on one machine, with the
// pods' DNS names and IPs mapped to loopback addresses on request. Neither reads secrets: a
// Secret's value is only ever named (secret name and key), never written.
//
// Pure functions apart from reading the SQL and pod template files.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "common/status.h"

namespace sluice::k8s {

struct RenderOptions {
  std::string sql_file;    // the pipeline
  std::string job;         // DNS label: names every object (<job>-coordinator, <job>-worker, ...)
  std::string namespace_;  // empty: the objects carry no namespace (kubectl -n decides)
  std::string image = "sluice:latest";
  std::string image_pull_policy;  // empty: Kubernetes' default
  int workers = 1;                // worker pods (StatefulSet replicas)
  int slots = 1;                  // slots per worker
  int parallelism = 0;            // 0: workers * slots
  int coordinator_replicas = 0;   // 0: 2 with a lease (postgres_secret), else 1
  std::string state_dir;          // a path on a shared volume or s3://bucket/prefix
  std::string checkpoint_interval;
  std::vector<std::string> settings;  // key=value engine options (--set)
  std::string s3_secret;              // Secret with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
                                      // (and optionally AWS_ENDPOINT_URL, AWS_REGION)
  std::string postgres_secret;        // Secret whose key `url` is the lease store's libpq URL
  std::string lease_ttl = "10s";
  std::string pod_template_file;  // YAML or JSON, merged into both pod templates
  // Merged after it into one role's pods only (e.g. workers' resources).
  std::string coordinator_pod_template_file;
  std::string worker_pod_template_file;
  int control_port = 6130;
  int data_plane_port = 6131;
  std::string worker_timeout = "5m";  // the coordinator waits this long for its workers
};

// An environment variable of a container, as Kubernetes sources it.
struct EnvVar {
  enum class From { kValue, kField, kConfigMap, kSecret };
  std::string name;
  From from = From::kValue;
  std::string value;      // kValue: the value; kField: the field path (metadata.name, status.podIP)
  std::string object;     // kConfigMap / kSecret: the object's name
  std::string key;        // kConfigMap / kSecret: the key
  bool optional = false;  // kSecret: the key may be absent
};

struct Container {
  std::vector<std::string> args;  // after the image's `sluice`; may hold $(VAR) references
  std::vector<EnvVar> env;
};

struct JobSpec {
  RenderOptions options;
  int parallelism = 1;
  int coordinator_replicas = 1;
  std::map<std::string, std::string> config;  // the ConfigMap's data
  Container coordinator;
  Container worker;
  // The user's pass-through pod templates ({} when none), their containers' env already
  // folded into `coordinator` and `worker`.
  boost::json::object pod_template;
  boost::json::object coordinator_pod_template;
  boost::json::object worker_pod_template;

  std::string ConfigMapName() const { return options.job + "-config"; }
  std::string CoordinatorName() const { return options.job + "-coordinator"; }
  std::string WorkerName() const { return options.job + "-worker"; }
  std::string WorkerServiceName() const { return options.job + "-workers"; }
  // The DNS name of worker pod `i` in the headless Service (resolvable in the namespace).
  std::string WorkerHost(int i) const {
    return WorkerName() + "-" + std::to_string(i) + "." + WorkerServiceName();
  }
};

inline constexpr const char* kConfigMountPath = "/etc/sluice";

// Checks the options, reads the SQL file and the pod template, builds the containers.
Result<JobSpec> BuildSpec(const RenderOptions& options);

// The manifests in apply order: ConfigMap, coordinator Service, worker Service, coordinator
// Deployment, worker StatefulSet.
std::vector<boost::json::object> RenderManifests(const JobSpec& spec);

// Multi-document YAML of the manifests.
std::string ManifestsYaml(const JobSpec& spec);

struct LocalOptions {
  // Non-empty: the ConfigMap's files are written here and paths under /etc/sluice point here.
  std::string config_dir;
  // Map the pods' IPs and DNS names to loopback addresses: the coordinator Service and its pods
  // to 127.0.0.1, worker pod i to 127.0.0.(2+i), so every process listens on its own address
  // with the manifests' ports.
  bool loopback = false;
};

// The processes the manifests start (coordinator replicas, then worker pods), as JSON:
// [{"pod", "role", "replica", "args": [...], "env": {NAME: value},
//   "secret_env": {NAME: {"secret", "key", "optional"}}}], $(VAR) references expanded as the
// kubelet does, ConfigMap values resolved; Secret values are left for the runner to supply.
Result<boost::json::array> LocalProcesses(const JobSpec& spec, const LocalOptions& local);

}  // namespace sluice::k8s
