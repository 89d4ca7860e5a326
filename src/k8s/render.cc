#include "k8s/render.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>

#include <fmt/format.h>

#include "common/duration.h"
#include "k8s/yaml.h"

namespace sluice::k8s {
namespace json = boost::json;

namespace {

constexpr const char* kContainer = "sluice";
constexpr size_t kConfigMapLimit = 1000 * 1000;  // Kubernetes refuses ConfigMaps past 1 MiB

bool DnsLabel(std::string_view s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return s.front() != '-' && s.back() != '-';
}

// A Secret's name: a DNS subdomain (labels joined by dots).
bool DnsSubdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (start <= s.size()) {
    size_t dot = s.find('.', start);
    if (dot == std::string_view::npos) dot = s.size();
    if (!DnsLabel(s.substr(start, dot - start), 63)) return false;
    start = dot + 1;
  }
  return true;
}

Result<std::string> ReadFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::User("{}: cannot read '{}': {}", what, path, std::strerror(errno));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

EnvVar Field(std::string name, std::string path) {
  return {std::move(name), EnvVar::From::kField, std::move(path), "", "", false};
}
EnvVar FromConfig(const JobSpec& spec, std::string name, std::string key) {
  return {std::move(name),      EnvVar::From::kConfigMap, "",
          spec.ConfigMapName(), std::move(key),           false};
}
EnvVar FromSecret(std::string name, std::string secret, std::string key, bool optional) {
  return {std::move(name), EnvVar::From::kSecret, "", std::move(secret), std::move(key), optional};
}

void AddS3(const JobSpec& spec, Container* c) {
  if (spec.options.s3_secret.empty()) return;
  const std::string& s = spec.options.s3_secret;
  c->env.push_back(FromSecret("AWS_ACCESS_KEY_ID", s, "AWS_ACCESS_KEY_ID", false));
  c->env.push_back(FromSecret("AWS_SECRET_ACCESS_KEY", s, "AWS_SECRET_ACCESS_KEY", false));
  c->env.push_back(FromSecret("AWS_SESSION_TOKEN", s, "AWS_SESSION_TOKEN", true));
  c->env.push_back(FromSecret("AWS_ENDPOINT_URL", s, "AWS_ENDPOINT_URL", true));
  c->env.push_back(FromSecret("AWS_REGION", s, "AWS_REGION", true));
}

// The labels Sluice selects its pods by: a pod template may not change them.
json::object SelectorLabels(const JobSpec& spec, std::string_view component) {
  return {{"app.kubernetes.io/name", "sluice"},
          {"app.kubernetes.io/instance", spec.options.job},
          {"app.kubernetes.io/component", component}};
}

Status CheckStringMap(const json::value& v, std::string_view where) {
  if (!v.is_object()) return Status::User("{} must be a mapping of names to strings", where);
  for (const auto& [k, x] : v.get_object()) {
    if (!x.is_string()) {
      return Status::User("{}.{} must be a string (quote it: \"{}\")", where, std::string(k),
                          json::serialize(x));
    }
  }
  return Status::Ok();
}

// The pass-through pod template: a partial Kubernetes pod template (metadata.labels,
// metadata.annotations, spec) merged into both pod templates. What Sluice owns is refused.
Status CheckPodTemplate(const json::value& t, std::string_view option, const std::string& file) {
  std::string what = fmt::format("{} '{}'", option, file);
  if (!t.is_object()) {
    return Status::User(
        "{}: expected a mapping with `metadata` and/or `spec` (a pod template), "
        "got {}",
        what, t.is_array() ? "a list" : "a scalar");
  }
  for (const auto& [k, v] : t.get_object()) {
    if (k == "metadata") {
      if (!v.is_object()) return Status::User("{}: metadata must be a mapping", what);
      for (const auto& [mk, mv] : v.get_object()) {
        if (mk != "labels" && mk != "annotations") {
          return Status::User(
              "{}: metadata.{} is not supported (only labels and annotations; "
              "the names are Sluice's)",
              what, std::string(mk));
        }
        SLUICE_RETURN_NOT_OK(
            CheckStringMap(mv, fmt::format("{}: metadata.{}", what, std::string(mk))));
        for (const auto& [label, _] : mv.get_object()) {
          if (std::string_view(label).starts_with("app.kubernetes.io/")) {
            return Status::User(
                "{}: metadata.{}.{} is set by Sluice (its pods are selected by "
                "the app.kubernetes.io/ labels); use another label",
                what, std::string(mk), std::string(label));
          }
        }
      }
    } else if (k == "spec") {
      if (!v.is_object()) return Status::User("{}: spec must be a mapping (a PodSpec)", what);
      const json::object& spec = v.get_object();
      if (const json::value* cs = spec.if_contains("containers")) {
        if (!cs->is_array()) return Status::User("{}: spec.containers must be a list", what);
        for (const auto& c : cs->get_array()) {
          const json::value* name = c.is_object() ? c.get_object().if_contains("name") : nullptr;
          if (name == nullptr || !name->is_string()) {
            return Status::User(
                "{}: every entry of spec.containers needs a name ('{}' to "
                "change Sluice's container, another name to add a sidecar)",
                what, kContainer);
          }
          if (name->get_string() != kContainer) continue;
          for (const char* owned : {"image", "command", "args"}) {
            if (c.get_object().contains(owned)) {
              return Status::User("{}: spec.containers[{}].{} is set by `sluice k8s render`{}",
                                  what, kContainer, owned,
                                  std::string_view(owned) == "image" ? " (use --image)" : "");
            }
          }
        }
      }
      if (const json::value* rp = spec.if_contains("restartPolicy")) {
        if (!rp->is_string() || rp->get_string() != "Always") {
          return Status::User(
              "{}: spec.restartPolicy must be Always (Deployments and "
              "StatefulSets restart their pods)",
              what);
        }
      }
    } else {
      return Status::User(
          "{}: unknown key '{}': a pod template has `metadata` (labels, "
          "annotations) and `spec` (nodeSelector, tolerations, affinity, "
          "containers: [{{name: {}, resources: ..., env: ...}}], ...)",
          what, std::string(k), kContainer);
    }
  }
  return Status::Ok();
}

const json::string* NameOf(const json::value& v) {
  if (!v.is_object()) return nullptr;
  const json::value* n = v.get_object().if_contains("name");
  return n != nullptr && n->is_string() ? &n->get_string() : nullptr;
}

// Merges `overlay` into `base`: mappings key by key, lists of named entries (containers, env,
// volumes, volumeMounts, ports...) by name (an entry of the same name is merged, others are
// appended), other lists appended, scalars replaced.
void Merge(json::value& base, const json::value& overlay) {
  if (base.is_object() && overlay.is_object()) {
    for (const auto& [k, v] : overlay.get_object()) {
      json::value* b = base.get_object().if_contains(k);
      if (b == nullptr) {
        base.get_object()[k] = v;
      } else {
        Merge(*b, v);
      }
    }
    return;
  }
  if (base.is_array() && overlay.is_array()) {
    for (const auto& item : overlay.get_array()) {
      const json::string* name = NameOf(item);
      json::value* same = nullptr;
      if (name != nullptr) {
        for (auto& b : base.get_array()) {
          const json::string* bn = NameOf(b);
          if (bn != nullptr && *bn == *name) same = &b;
        }
      }
      if (same == nullptr) {
        base.get_array().push_back(item);
      } else if (item.get_object().contains("value") || item.get_object().contains("valueFrom")) {
        *same = item;  // an env entry replaces Sluice's of the same name
      } else {
        Merge(*same, item);
      }
    }
    return;
  }
  base = overlay;
}

json::array EnvJson(const std::vector<EnvVar>& env) {
  json::array out;
  for (const auto& e : env) {
    json::object o{{"name", e.name}};
    switch (e.from) {
      case EnvVar::From::kValue:
        o["value"] = e.value;
        break;
      case EnvVar::From::kField:
        o["valueFrom"] = {{"fieldRef", {{"fieldPath", e.value}}}};
        break;
      case EnvVar::From::kConfigMap:
        o["valueFrom"] = {{"configMapKeyRef", {{"name", e.object}, {"key", e.key}}}};
        break;
      case EnvVar::From::kSecret: {
        json::object ref{{"name", e.object}, {"key", e.key}};
        if (e.optional) ref["optional"] = true;
        o["valueFrom"] = {{"secretKeyRef", std::move(ref)}};
        break;
      }
    }
    out.push_back(std::move(o));
  }
  return out;
}

json::object Metadata(const JobSpec& spec, const std::string& name, std::string_view component) {
  json::object m{{"name", name}, {"labels", SelectorLabels(spec, component)}};
  if (!spec.options.namespace_.empty()) m["namespace"] = spec.options.namespace_;
  return m;
}

json::object PodTemplate(const JobSpec& spec, const Container& c, std::string_view component,
                         int port, std::string_view port_name) {
  json::array args;
  for (const auto& a : c.args) args.push_back(json::string(a));
  json::object container{
      {"name", kContainer},
      {"image", spec.options.image},
      {"command", json::array{"sluice"}},
      {"args", std::move(args)},
      {"env", EnvJson(c.env)},
      {"ports", json::array{json::object{{"name", port_name}, {"containerPort", port}}}},
      {"volumeMounts",
       json::array{
           json::object{{"name", "config"}, {"mountPath", kConfigMountPath}, {"readOnly", true}}}},
  };
  if (!spec.options.image_pull_policy.empty()) {
    container["imagePullPolicy"] = spec.options.image_pull_policy;
  }
  if (component == "coordinator") {
    // Only the lease holder listens: the Service sends workers to it alone.
    container["readinessProbe"] = {
        {"tcpSocket", {{"port", port}}}, {"periodSeconds", 2}, {"failureThreshold", 1}};
  }
  json::value pod = json::object{
      {"metadata", {{"labels", SelectorLabels(spec, component)}}},
      {"spec",
       {{"containers", json::array{std::move(container)}},
        {"volumes", json::array{json::object{{"name", "config"},
                                             {"configMap", {{"name", spec.ConfigMapName()}}}}}}}},
  };
  if (!spec.pod_template.empty()) Merge(pod, spec.pod_template);
  const json::object& role =
      component == "coordinator" ? spec.coordinator_pod_template : spec.worker_pod_template;
  if (!role.empty()) Merge(pod, role);
  return std::move(pod.get_object());
}

// $(VAR) references expanded as the kubelet does: a defined variable is replaced, $$ escapes,
// anything else is left as written.
std::string Expand(std::string_view s, const std::map<std::string, std::string>& env) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '$' && i + 1 < s.size() && s[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    if (s[i] == '$' && i + 1 < s.size() && s[i + 1] == '(') {
      size_t close = s.find(')', i + 2);
      if (close != std::string_view::npos) {
        auto it = env.find(std::string(s.substr(i + 2, close - i - 2)));
        if (it != env.end()) {
          out += it->second;
          i = close;
          continue;
        }
      }
    }
    out += s[i];
  }
  return out;
}

// The pod template's env of the sluice container joins the container's own (an entry of the same
// name replaces Sluice's), so the manifests and LocalProcesses see the same environment.
Status TakeTemplateEnv(json::object* tpl, std::string_view option, const std::string& file,
                       std::initializer_list<Container*> targets) {
  json::value* spec_v = tpl->if_contains("spec");
  if (spec_v == nullptr) return Status::Ok();
  json::value* cs = spec_v->get_object().if_contains("containers");
  if (cs == nullptr) return Status::Ok();
  for (auto& c : cs->get_array()) {
    if (*NameOf(c) != kContainer) continue;
    json::value* env = c.get_object().if_contains("env");
    if (env == nullptr) continue;
    std::string what = fmt::format("{} '{}': spec.containers[{}].env", option, file, kContainer);
    if (!env->is_array()) return Status::User("{} must be a list", what);
    for (const auto& e : env->get_array()) {
      const json::string* name = NameOf(e);
      if (name == nullptr) return Status::User("{}: every entry needs a name", what);
      const json::object& o = e.get_object();
      EnvVar var;
      var.name = std::string(*name);
      const json::value* from = o.if_contains("valueFrom");
      if (const json::value* v = o.if_contains("value")) {
        if (!v->is_string()) {
          return Status::User("{}: {} must be a string (quote it: \"{}\")", what, var.name,
                              json::serialize(*v));
        }
        var.value = std::string(v->get_string());
      } else if (from != nullptr && from->is_object()) {
        const json::object& f = from->get_object();
        auto str = [](const json::object& ref, const char* key) {
          const json::value* v = ref.if_contains(key);
          return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
        };
        auto flag = [](const json::object& ref) {
          const json::value* v = ref.if_contains("optional");
          return v != nullptr && v->is_bool() && v->get_bool();
        };
        if (const json::value* r = f.if_contains("fieldRef"); r && r->is_object()) {
          var.from = EnvVar::From::kField;
          var.value = str(r->get_object(), "fieldPath");
        } else if (const json::value* r = f.if_contains("configMapKeyRef"); r && r->is_object()) {
          var.from = EnvVar::From::kConfigMap;
          var.object = str(r->get_object(), "name");
          var.key = str(r->get_object(), "key");
          var.optional = flag(r->get_object());
        } else if (const json::value* r = f.if_contains("secretKeyRef"); r && r->is_object()) {
          var.from = EnvVar::From::kSecret;
          var.object = str(r->get_object(), "name");
          var.key = str(r->get_object(), "key");
          var.optional = flag(r->get_object());
        } else {
          return Status::User(
              "{}: {}: valueFrom must be a fieldRef, configMapKeyRef or "
              "secretKeyRef",
              what, var.name);
        }
        if ((var.from == EnvVar::From::kField && var.value.empty()) ||
            (var.from != EnvVar::From::kField && (var.object.empty() || var.key.empty()))) {
          return Status::User("{}: {}: the reference needs a name and a key (or a fieldPath)", what,
                              var.name);
        }
      } else {
        return Status::User("{}: {} needs a value or a valueFrom", what, var.name);
      }
      for (Container* target : targets) {
        bool replaced = false;
        for (auto& mine : target->env) {
          if (mine.name == var.name) {
            mine = var;
            replaced = true;
          }
        }
        if (!replaced) target->env.push_back(var);
      }
    }
    c.get_object().erase("env");
  }
  return Status::Ok();
}

}  // namespace

Result<JobSpec> BuildSpec(const RenderOptions& o) {
  if (!DnsLabel(o.job, 40)) {
    return Status::User(
        "--job '{}': a job name must be 1 to 40 lowercase letters, digits or '-', "
        "starting and ending with a letter or digit (it names the Kubernetes "
        "objects)",
        o.job);
  }
  if (!o.namespace_.empty() && !DnsLabel(o.namespace_, 63)) {
    return Status::User("--namespace '{}' is not a valid namespace name", o.namespace_);
  }
  if (o.image.empty() || o.image.find_first_of(" \t\n") != std::string::npos) {
    return Status::User("--image '{}' is not an image reference (e.g. registry/sluice:0.1.0)",
                        o.image);
  }
  if (!o.image_pull_policy.empty() && o.image_pull_policy != "Always" &&
      o.image_pull_policy != "IfNotPresent" && o.image_pull_policy != "Never") {
    return Status::User("--image-pull-policy must be Always, IfNotPresent or Never, got '{}'",
                        o.image_pull_policy);
  }
  if (o.workers < 1) {
    return Status::User("--workers must be at least 1, got {}", o.workers);
  }
  if (o.slots < 1) return Status::User("--slots must be at least 1, got {}", o.slots);
  int total = o.workers * o.slots;
  int parallelism = o.parallelism == 0 ? total : o.parallelism;
  if (parallelism < 1 || parallelism > total) {
    return Status::User(
        "--parallelism {} needs {} slots, but {} workers x {} slots give {}: "
        "raise --workers or --slots, or lower --parallelism",
        parallelism, parallelism, o.workers, o.slots, total);
  }
  int replicas =
      o.coordinator_replicas == 0 ? (o.postgres_secret.empty() ? 1 : 2) : o.coordinator_replicas;
  if (replicas < 1) {
    return Status::User("--coordinator-replicas must be at least 1, got {}", replicas);
  }
  if (replicas > 1 && o.postgres_secret.empty()) {
    return Status::User(
        "--coordinator-replicas {}: more than one coordinator needs the "
        "PostgreSQL lease that elects one of them; give --postgres-secret, or "
        "--coordinator-replicas 1",
        replicas);
  }
  for (const auto* s : {&o.s3_secret, &o.postgres_secret}) {
    if (!s->empty() && !DnsSubdomain(*s)) {
      return Status::User("{} '{}' is not a valid Secret name",
                          s == &o.s3_secret ? "--s3-secret" : "--postgres-secret", *s);
    }
  }
  if (!o.checkpoint_interval.empty()) {
    SLUICE_RETURN_NOT_OK(ParseDuration(o.checkpoint_interval, "--checkpoint-interval").status());
    if (o.state_dir.empty()) {
      return Status::User("--checkpoint-interval needs --state-dir (where checkpoints go)");
    }
  }
  SLUICE_RETURN_NOT_OK(ParseDuration(o.lease_ttl, "--lease-ttl").status());
  SLUICE_RETURN_NOT_OK(ParseDuration(o.worker_timeout, "--worker-timeout").status());
  for (int port : {o.control_port, o.data_plane_port}) {
    if (port < 1 || port > 65535) return Status::User("port {} is not in 1..65535", port);
  }
  if (o.control_port == o.data_plane_port) {
    return Status::User("--control-port and --data-plane-port must differ (both {})",
                        o.control_port);
  }
  std::string settings;
  for (const auto& kv : o.settings) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0 || kv.find('\n') != std::string::npos) {
      return Status::User("--set takes key=value, got '{}'", kv);
    }
    settings += kv + "\n";
  }

  JobSpec spec;
  spec.options = o;
  spec.parallelism = parallelism;
  spec.coordinator_replicas = replicas;
  if (o.sql_file.empty()) return Status::User("the pipeline's SQL file is missing");
  SLUICE_ASSIGN_OR_RETURN(std::string sql, ReadFile(o.sql_file, "SQL file"));
  if (sql.find_first_not_of(" \t\r\n") == std::string::npos) {
    return Status::User("SQL file '{}' is empty", o.sql_file);
  }
  if (sql.size() > kConfigMapLimit) {
    return Status::User("SQL file '{}' has {} bytes; a ConfigMap holds at most {}", o.sql_file,
                        sql.size(), kConfigMapLimit);
  }
  struct Template {
    const char* option;
    const std::string& file;
    json::object* into;
  };
  const Template templates[] = {
      {"--pod-template", o.pod_template_file, &spec.pod_template},
      {"--coordinator-pod-template", o.coordinator_pod_template_file,
       &spec.coordinator_pod_template},
      {"--worker-pod-template", o.worker_pod_template_file, &spec.worker_pod_template}};
  for (const Template& t : templates) {
    if (t.file.empty()) continue;
    SLUICE_ASSIGN_OR_RETURN(std::string text, ReadFile(t.file, t.option));
    SLUICE_ASSIGN_OR_RETURN(json::value v,
                            ParseYaml(text, fmt::format("{} '{}'", t.option, t.file)));
    SLUICE_RETURN_NOT_OK(CheckPodTemplate(v, t.option, t.file));
    *t.into = std::move(v.get_object());
  }

  spec.config["pipeline.sql"] = sql;
  spec.config["settings.conf"] =
      "# Engine options of the job (sluice coordinator --settings-file), key=value per line.\n" +
      settings;
  spec.config["parallelism"] = std::to_string(parallelism);
  spec.config["workers"] = std::to_string(o.workers);
  spec.config["slots"] = std::to_string(o.slots);
  if (!o.state_dir.empty()) spec.config["state-dir"] = o.state_dir;
  if (!o.checkpoint_interval.empty()) spec.config["checkpoint-interval"] = o.checkpoint_interval;

  const std::string mount = kConfigMountPath;
  Container& c = spec.coordinator;
  c.env = {Field("POD_NAME", "metadata.name"), Field("POD_IP", "status.podIP"),
           FromConfig(spec, "SLUICE_PARALLELISM", "parallelism"),
           FromConfig(spec, "SLUICE_WORKERS", "workers")};
  c.args = {"coordinator",
            mount + "/pipeline.sql",
            "--job",
            o.job,
            "--parallelism",
            "$(SLUICE_PARALLELISM)",
            "--workers",
            "$(SLUICE_WORKERS)",
            "--settings-file",
            mount + "/settings.conf",
            "--listen",
            fmt::format("$(POD_IP):{}", o.control_port),
            "--worker-timeout",
            o.worker_timeout};
  if (!o.state_dir.empty()) {
    c.env.push_back(FromConfig(spec, "SLUICE_STATE_DIR", "state-dir"));
    c.args.insert(c.args.end(), {"--state-dir", "$(SLUICE_STATE_DIR)"});
    if (!o.checkpoint_interval.empty()) {
      c.env.push_back(FromConfig(spec, "SLUICE_CHECKPOINT_INTERVAL", "checkpoint-interval"));
      c.args.insert(c.args.end(), {"--checkpoint-interval", "$(SLUICE_CHECKPOINT_INTERVAL)"});
    }
  }
  if (!o.postgres_secret.empty()) {
    // The URL holds a password: the coordinator reads it from its environment, never argv.
    c.env.push_back(FromSecret("SLUICE_LEASE_URL", o.postgres_secret, "url", false));
    c.args.insert(c.args.end(), {"--lease-ttl", o.lease_ttl, "--lease-holder", "$(POD_NAME)"});
  }
  AddS3(spec, &c);

  Container& w = spec.worker;
  w.env = {Field("POD_NAME", "metadata.name"), Field("POD_IP", "status.podIP"),
           FromConfig(spec, "SLUICE_SLOTS", "slots")};
  w.args = {"worker",
            "--coordinator",
            fmt::format("{}:{}", spec.CoordinatorName(), o.control_port),
            "--slots",
            "$(SLUICE_SLOTS)",
            "--name",
            "$(POD_NAME)",
            "--data-plane-host",
            "$(POD_IP)",
            "--data-plane-port",
            std::to_string(o.data_plane_port),
            "--advertise-host",
            "$(POD_NAME)." + spec.WorkerServiceName(),
            "--connect-timeout",
            o.worker_timeout};
  AddS3(spec, &w);
  SLUICE_RETURN_NOT_OK(TakeTemplateEnv(&spec.pod_template, "--pod-template", o.pod_template_file,
                                       {&spec.coordinator, &spec.worker}));
  SLUICE_RETURN_NOT_OK(TakeTemplateEnv(&spec.coordinator_pod_template, "--coordinator-pod-template",
                                       o.coordinator_pod_template_file, {&spec.coordinator}));
  SLUICE_RETURN_NOT_OK(TakeTemplateEnv(&spec.worker_pod_template, "--worker-pod-template",
                                       o.worker_pod_template_file, {&spec.worker}));
  return spec;
}

std::vector<json::object> RenderManifests(const JobSpec& spec) {
  const RenderOptions& o = spec.options;
  std::vector<json::object> out;

  json::object data;
  for (const auto& [k, v] : spec.config) data[k] = v;
  out.push_back({{"apiVersion", "v1"},
                 {"kind", "ConfigMap"},
                 {"metadata", Metadata(spec, spec.ConfigMapName(), "config")},
                 {"data", std::move(data)}});

  out.push_back({{"apiVersion", "v1"},
                 {"kind", "Service"},
                 {"metadata", Metadata(spec, spec.CoordinatorName(), "coordinator")},
                 {"spec",
                  {{"selector", SelectorLabels(spec, "coordinator")},
                   {"ports", json::array{json::object{{"name", "control"},
                                                      {"port", o.control_port},
                                                      {"targetPort", o.control_port}}}}}}});

  // Headless: a DNS name per worker pod (<pod>.<job>-workers), published before the pods are
  // ready so peers find each other while the job is being deployed.
  out.push_back({{"apiVersion", "v1"},
                 {"kind", "Service"},
                 {"metadata", Metadata(spec, spec.WorkerServiceName(), "worker")},
                 {"spec",
                  {{"clusterIP", "None"},
                   {"publishNotReadyAddresses", true},
                   {"selector", SelectorLabels(spec, "worker")},
                   {"ports", json::array{json::object{{"name", "data-plane"},
                                                      {"port", o.data_plane_port},
                                                      {"targetPort", o.data_plane_port}}}}}}});

  out.push_back({{"apiVersion", "apps/v1"},
                 {"kind", "Deployment"},
                 {"metadata", Metadata(spec, spec.CoordinatorName(), "coordinator")},
                 {"spec",
                  {{"replicas", spec.coordinator_replicas},
                   {"selector", {{"matchLabels", SelectorLabels(spec, "coordinator")}}},
                   {"template", PodTemplate(spec, spec.coordinator, "coordinator", o.control_port,
                                            "control")}}}});

  out.push_back({{"apiVersion", "apps/v1"},
                 {"kind", "StatefulSet"},
                 {"metadata", Metadata(spec, spec.WorkerName(), "worker")},
                 {"spec",
                  {{"replicas", o.workers},
                   {"serviceName", spec.WorkerServiceName()},
                   {"podManagementPolicy", "Parallel"},
                   {"selector", {{"matchLabels", SelectorLabels(spec, "worker")}}},
                   {"template",
                    PodTemplate(spec, spec.worker, "worker", o.data_plane_port, "data-plane")}}}});
  return out;
}

std::string ManifestsYaml(const JobSpec& spec) {
  std::string out = fmt::format(
      "# Sluice job '{}', rendered by `sluice k8s render` (docs/kubernetes.md).\n"
      "# Secrets referenced, not included: {}.\n",
      spec.options.job,
      spec.options.s3_secret.empty() && spec.options.postgres_secret.empty()
          ? std::string("none")
          : fmt::format(
                "{}{}{}", spec.options.s3_secret,
                spec.options.s3_secret.empty() || spec.options.postgres_secret.empty() ? "" : ", ",
                spec.options.postgres_secret));
  for (const auto& m : RenderManifests(spec)) {
    out += "---\n";
    out += ToYaml(m);
  }
  return out;
}

Result<json::array> LocalProcesses(const JobSpec& spec, const LocalOptions& local) {
  const std::string mount = kConfigMountPath;
  if (!local.config_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(local.config_dir, ec);
    if (ec) {
      return Status::Io("--local-dir '{}': cannot create it: {}", local.config_dir, ec.message());
    }
    for (const auto& [k, v] : spec.config) {
      std::string path = local.config_dir + "/" + k;
      std::ofstream f(path, std::ios::binary | std::ios::trunc);
      f << v;
      if (!f.good()) return Status::Io("--local-dir: cannot write '{}'", path);
    }
  }
  if (local.loopback && spec.options.workers > 250) {
    return Status::User("--loopback maps worker pods to 127.0.0.2..; at most 250 workers");
  }
  std::map<std::string, std::string> hosts;  // DNS name -> address, with --loopback
  if (local.loopback) {
    hosts[spec.CoordinatorName()] = "127.0.0.1";
    for (int i = 0; i < spec.options.workers; ++i) {
      hosts[spec.WorkerHost(i)] = fmt::format("127.0.0.{}", 2 + i);
    }
  }
  json::array out;
  auto process = [&](const Container& c, std::string_view role, int replica, const std::string& pod,
                     const std::string& ip) -> Status {
    std::map<std::string, std::string> env;
    json::object env_json;
    json::object secret_env;
    for (const auto& e : c.env) {
      std::string v;
      switch (e.from) {
        case EnvVar::From::kValue:
          v = Expand(e.value, env);
          break;
        case EnvVar::From::kField:
          if (e.value == "metadata.name") {
            v = pod;
          } else if (e.value == "metadata.namespace") {
            v = spec.options.namespace_.empty() ? "default" : spec.options.namespace_;
          } else if (e.value == "status.podIP") {
            v = ip;
          } else {
            return Status::User("no local value for the pod field {} (env {})", e.value, e.name);
          }
          break;
        case EnvVar::From::kConfigMap:
          if (e.object != spec.ConfigMapName()) {
            // Another ConfigMap (from the pod template): the runner supplies it like a Secret.
            secret_env[e.name] = {
                {"configmap", e.object}, {"key", e.key}, {"optional", e.optional}};
            continue;
          }
          v = spec.config.at(e.key);
          break;
        case EnvVar::From::kSecret:
          secret_env[e.name] = {{"secret", e.object}, {"key", e.key}, {"optional", e.optional}};
          continue;
      }
      env[e.name] = v;
      env_json[e.name] = v;
    }
    json::array args;
    for (const auto& a : c.args) {
      std::string x = Expand(a, env);
      if (!local.config_dir.empty() && x.starts_with(mount + "/")) {
        x = local.config_dir + x.substr(mount.size());
      }
      for (const auto& [name, addr] : hosts) {
        if (x == name) {
          x = addr;
        } else if (x.starts_with(name + ":")) {
          x = addr + x.substr(name.size());
        }
      }
      args.push_back(json::string(x));
    }
    out.push_back({{"pod", pod},
                   {"role", role},
                   {"replica", replica},
                   {"args", std::move(args)},
                   {"env", std::move(env_json)},
                   {"secret_env", std::move(secret_env)}});
    return Status::Ok();
  };
  for (int r = 0; r < spec.coordinator_replicas; ++r) {
    SLUICE_RETURN_NOT_OK(process(spec.coordinator, "coordinator", r,
                                 fmt::format("{}-{}", spec.CoordinatorName(), r),
                                 local.loopback ? "127.0.0.1" : "0.0.0.0"));
  }
  for (int i = 0; i < spec.options.workers; ++i) {
    SLUICE_RETURN_NOT_OK(process(spec.worker, "worker", i,
                                 fmt::format("{}-{}", spec.WorkerName(), i),
                                 local.loopback ? fmt::format("127.0.0.{}", 2 + i) : "0.0.0.0"));
  }
  return out;
}

}  // namespace sluice::k8s
