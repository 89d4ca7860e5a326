"""`sluice k8s render` (docs/kubernetes.md): the manifests pass `kubernetes-validate --strict`
(offline schemas of Kubernetes 1.37, from PyPI, in build/venv), carry what the options and the
pass-through pod template say (checked by hand-written expectations), name Secrets without
values, and start exactly the processes `--print-commands` prints: this test expands the
manifests' containers itself, as the kubelet does ($(VAR) from env, fieldRef, configMapKeyRef),
and compares. Bad input gets one clear message.

Usage: render_test.py path/to/sluice   (run with build/venv's python: PyYAML, kubernetes-validate)
"""

import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import testlib  # noqa: E402

SLUICE = sys.argv[1]
VALIDATE = os.path.join(os.path.dirname(sys.executable), "kubernetes-validate")
work = tempfile.mkdtemp(prefix="k8s_render.")
checks = testlib.Checks("k8s_render", work=work)


def write(name, text):
    path = os.path.join(work, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def render(*args):
    p = subprocess.run([SLUICE, "k8s", "render", *args], capture_output=True, text=True,
                       timeout=60)
    return p.returncode, p.stdout, p.stderr


def validate(path):
    p = subprocess.run([VALIDATE, "--strict", "--kubernetes-version", "1.37.0", path],
                       capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout + p.stderr


SQL = """CREATE TABLE src (ts TIMESTAMP, k TEXT, WATERMARK FOR ts AS ts) WITH (
  connector = 'single_file', path = '/data/in.json', format = 'json', type = 'source');
CREATE TABLE out WITH (connector = 'single_file', path = '/data/out.json', format = 'json',
  type = 'sink');
INSERT INTO out SELECT k, count(*) AS n FROM src GROUP BY TUMBLE(INTERVAL '1 minute'), k;
"""
sql = write("pipeline.sql", SQL)

template_yaml = write("pod.yaml", """\
# What Arroyo's users ask for (its issue #844): placement and resources of the pods.
metadata:
  labels:
    team: "streaming"
  annotations:
    prometheus.io/scrape: "true"
spec:
  nodeSelector:
    node.kubernetes.io/instance-type: m6i.2xlarge
  tolerations:
  - key: dedicated
    operator: Equal
    value: streaming
    effect: NoSchedule
  serviceAccountName: sluice-jobs
  containers:
  - name: sluice
    resources:
      requests: {cpu: "2", memory: 4Gi}
      limits: {memory: 4Gi}
    env:
    - name: RUST_LOG_STYLE
      value: never
    - name: TZ
      value: UTC
  - name: log-shipper
    image: fluent/fluent-bit:3.0
""")
worker_yaml = write("worker.yaml", """\
spec:
  nodeSelector: {node.kubernetes.io/instance-type: c7i.4xlarge}
  containers:
  - name: sluice
    resources:
      requests: {cpu: "4"}
    env:
    - {name: WORKER_ONLY, value: "1"}
    - {name: TZ, value: Europe/Paris}
""")
coordinator_yaml = write("coordinator.yaml", """\
spec:
  containers:
  - name: sluice
    resources:
      limits: {cpu: 500m}
""")
template_json = write("pod.json", json.dumps({
    "spec": {"nodeSelector": {"pool": "sluice"},
             "containers": [{"name": "sluice", "resources": {"limits": {"cpu": "1"}}}]}}))

# --- Valid renders, validated offline ---------------------------------------------------------
variants = {
    "minimal": ["--job", "minimal"],
    "full": ["--job", "orders-agg", "--namespace", "streams", "--image",
             "registry.example.com/sluice:0.1.0", "--image-pull-policy", "IfNotPresent",
             "--workers", "3", "--slots", "2", "-p", "5", "--state-dir", "s3://ckpt/orders",
             "--checkpoint-interval", "30s", "--s3-secret", "sluice-s3",
             "--postgres-secret", "sluice-pg", "--lease-ttl", "15s", "--set", "batch_size=512",
             "--set", "updating_ttl=1h", "--pod-template", template_yaml],
    "json-template": ["--job", "j2", "--workers", "2", "--pod-template", template_json],
    "roles": ["--job", "roles", "--workers", "2", "--pod-template", template_yaml,
              "--worker-pod-template", worker_yaml, "--coordinator-pod-template",
              coordinator_yaml],
}
docs = {}
for name, args in variants.items():
    rc, out, err = render(sql, *args)
    checks.check(f"{name}: render succeeds", rc == 0, err)
    path = write(f"{name}.yaml", out)
    vrc, vout = validate(path)
    checks.check(f"{name}: kubernetes-validate --strict passes", vrc == 0, vout)
    checks.check(f"{name}: five resources validated", vout.count("passed for resource") == 5,
                 vout)
    docs[name] = [d for d in yaml.safe_load_all(out) if d]

# The validator can fail: an unknown field in a rendered manifest is refused under --strict.
broken = docs["minimal"][4]
broken["spec"]["template"]["spec"]["containers"][0]["resourcez"] = {}
bad_path = write("broken.yaml", yaml.safe_dump(broken))
vrc, vout = validate(bad_path)
checks.check("kubernetes-validate --strict refuses an unknown field", vrc != 0, vout)


def by_kind(ds):
    return {(d["kind"], d["metadata"]["name"]): d for d in ds}


full = by_kind(docs["full"])
cm = full[("ConfigMap", "orders-agg-config")]
dep = full[("Deployment", "orders-agg-coordinator")]
sts = full[("StatefulSet", "orders-agg-worker")]
svc = full[("Service", "orders-agg-workers")]
checks.check("ConfigMap holds the SQL byte for byte", cm["data"]["pipeline.sql"] == SQL,
             cm["data"].get("pipeline.sql"))
checks.check("ConfigMap holds the settings",
             cm["data"]["settings.conf"].splitlines()[1:] == ["batch_size=512", "updating_ttl=1h"],
             cm["data"]["settings.conf"])
checks.check("ConfigMap: parallelism 5, 3 workers, 2 slots, the state dir",
             (cm["data"]["parallelism"], cm["data"]["workers"], cm["data"]["slots"],
              cm["data"]["state-dir"]) == ("5", "3", "2", "s3://ckpt/orders"), cm["data"])
checks.check("every object in namespace streams",
             all(d["metadata"].get("namespace") == "streams" for d in docs["full"]))
checks.check("coordinator Deployment: 2 replicas with a lease", dep["spec"]["replicas"] == 2)
checks.check("worker StatefulSet: 3 replicas behind the headless Service",
             sts["spec"]["replicas"] == 3 and sts["spec"]["serviceName"] == "orders-agg-workers"
             and svc["spec"]["clusterIP"] == "None")
checks.check("minimal: one coordinator without a lease",
             by_kind(docs["minimal"])[("Deployment", "minimal-coordinator")]["spec"]["replicas"]
             == 1)

for kind, obj in (("coordinator", dep), ("worker", sts)):
    pod = obj["spec"]["template"]
    spec = pod["spec"]
    main = [c for c in spec["containers"] if c["name"] == "sluice"][0]
    checks.check(f"{kind}: the image", main["image"] == "registry.example.com/sluice:0.1.0")
    checks.check(f"{kind}: pod template's nodeSelector",
                 spec.get("nodeSelector") == {"node.kubernetes.io/instance-type": "m6i.2xlarge"},
                 spec.get("nodeSelector"))
    checks.check(f"{kind}: pod template's toleration",
                 spec.get("tolerations") == [{"key": "dedicated", "operator": "Equal",
                                              "value": "streaming", "effect": "NoSchedule"}])
    checks.check(f"{kind}: pod template's service account",
                 spec.get("serviceAccountName") == "sluice-jobs")
    checks.check(f"{kind}: pod template's resources on the sluice container",
                 main.get("resources") == {"requests": {"cpu": "2", "memory": "4Gi"},
                                           "limits": {"memory": "4Gi"}}, main.get("resources"))
    names = [e["name"] for e in main["env"]]
    checks.check(f"{kind}: pod template's env appended after Sluice's",
                 names[-2:] == ["RUST_LOG_STYLE", "TZ"] and "POD_NAME" in names, names)
    checks.check(f"{kind}: the sidecar is added",
                 [c["name"] for c in spec["containers"]] == ["sluice", "log-shipper"])
    checks.check(f"{kind}: labels merged, selector labels kept",
                 pod["metadata"]["labels"].get("team") == "streaming"
                 and pod["metadata"]["labels"]["app.kubernetes.io/component"] == kind
                 and pod["metadata"]["annotations"] == {"prometheus.io/scrape": "true"})
    env = {e["name"]: e for e in main["env"]}
    s3 = env.get("AWS_SECRET_ACCESS_KEY", {}).get("valueFrom", {}).get("secretKeyRef")
    checks.check(f"{kind}: S3 credentials come from the Secret",
                 s3 == {"name": "sluice-s3", "key": "AWS_SECRET_ACCESS_KEY"}, s3)
    checks.check(f"{kind}: no value in the manifests is a credential",
                 all("value" not in e for e in main["env"] if e["name"].startswith("AWS_")))
jt = by_kind(docs["json-template"])[("StatefulSet", "j2-worker")]["spec"]["template"]["spec"]
checks.check("JSON pod template: nodeSelector and limits",
             jt.get("nodeSelector") == {"pool": "sluice"}
             and jt["containers"][0].get("resources") == {"limits": {"cpu": "1"}})
roles = by_kind(docs["roles"])
rw = roles[("StatefulSet", "roles-worker")]["spec"]["template"]["spec"]
rc_ = roles[("Deployment", "roles-coordinator")]["spec"]["template"]["spec"]
checks.check("per-role templates: worker resources merged over the common ones",
             rw["containers"][0]["resources"] == {"requests": {"cpu": "4", "memory": "4Gi"},
                                                  "limits": {"memory": "4Gi"}},
             rw["containers"][0]["resources"])
checks.check("per-role templates: the coordinator's limits, not the worker's requests",
             rc_["containers"][0]["resources"] == {"requests": {"cpu": "2", "memory": "4Gi"},
                                                   "limits": {"memory": "4Gi", "cpu": "500m"}},
             rc_["containers"][0]["resources"])
checks.check("per-role templates: the worker's nodeSelector replaces the common value",
             rw["nodeSelector"] == {"node.kubernetes.io/instance-type": "c7i.4xlarge"}
             and rc_["nodeSelector"] == {"node.kubernetes.io/instance-type": "m6i.2xlarge"})
rw_env = {e["name"]: e.get("value") for e in rw["containers"][0]["env"]}
rc_env = {e["name"]: e.get("value") for e in rc_["containers"][0]["env"]}
checks.check("per-role templates: the worker's env only on workers, its TZ replaces the common",
             rw_env.get("WORKER_ONLY") == "1" and rw_env.get("TZ") == "Europe/Paris"
             and "WORKER_ONLY" not in rc_env and rc_env.get("TZ") == "UTC", (rw_env, rc_env))
lease = {e["name"]: e for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}
checks.check("coordinator: the lease URL from the PostgreSQL Secret's key url, not in argv",
             lease["SLUICE_LEASE_URL"]["valueFrom"] == {"secretKeyRef": {"name": "sluice-pg",
                                                                         "key": "url"}}
             and not any("postgres" in a for a in
                         dep["spec"]["template"]["spec"]["containers"][0]["args"]))
checks.check("worker StatefulSet gets no lease credentials",
             all(e["name"] != "SLUICE_LEASE_URL"
                 for e in sts["spec"]["template"]["spec"]["containers"][0]["env"]))

# Text that YAML could misread travels byte for byte (PyYAML is the independent reader): SQL
# with trailing spaces, tabs, blank lines, several or no trailing newlines, a first line that
# starts with a space, a carriage return, quotes and '#', and settings that look like other types.
tricky = {
    "trailing-newlines": "SELECT 1;\n\n\n",
    "no-newline": "SELECT 'a: b' -- # not a comment\nFROM t",
    "leading-space": "  SELECT 1;\n",
    "blank-lines": "SELECT 1;\n\n  \n\tSELECT \"x\" ;   \nSELECT 'é ü';\n",
    "crlf": "SELECT 1;\r\nSELECT 2;\r\n",
}
for name, text in tricky.items():
    path = write(f"tricky-{name}.sql", text)
    rc, out, err = render(path, "--job", "t", "--set", "flag=on", "--set", "n=1.0")
    data = [d for d in yaml.safe_load_all(out) if d][0]["data"] if rc == 0 else {}
    with open(path, "rb") as f:
        original = f.read().decode()
    checks.check(f"SQL '{name}' survives the YAML byte for byte",
                 data.get("pipeline.sql") == original, repr(data.get("pipeline.sql")))
    checks.check(f"SQL '{name}': settings stay strings",
                 data.get("settings.conf", "").endswith("flag=on\nn=1.0\n")
                 and data.get("parallelism") == "1", data)

# --- The manifests start exactly the processes --print-commands prints -------------------------
# Expanded here independently of Sluice's code, from the YAML, as the kubelet would.


def kubelet(container, pod_name, configmap):
    env = {}
    secret_env = {}
    for e in container.get("env", []):
        if "value" in e:
            env[e["name"]] = e["value"]
            continue
        src = e["valueFrom"]
        if "fieldRef" in src:
            env[e["name"]] = {"metadata.name": pod_name, "status.podIP": "0.0.0.0",
                              "metadata.namespace": "streams"}[src["fieldRef"]["fieldPath"]]
        elif "configMapKeyRef" in src:
            env[e["name"]] = configmap["data"][src["configMapKeyRef"]["key"]]
        else:
            ref = src["secretKeyRef"]
            secret_env[e["name"]] = {"secret": ref["name"], "key": ref["key"],
                                     "optional": ref.get("optional", False)}

    def expand(s):
        return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                      lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)), s)
    return [expand(a) for a in container["args"]], env, secret_env


for variant, job in (("full", "orders-agg"), ("roles", "roles")):
    rc, out, err = render(sql, *variants[variant], "--print-commands")
    checks.check(f"{variant}: --print-commands succeeds", rc == 0, err)
    printed = json.loads(out) if rc == 0 else []
    objs = by_kind(docs[variant])
    v_dep = objs[("Deployment", f"{job}-coordinator")]
    v_sts = objs[("StatefulSet", f"{job}-worker")]
    v_cm = objs[("ConfigMap", f"{job}-config")]
    expected = []
    for r in range(v_dep["spec"]["replicas"]):
        args, env, secret_env = kubelet(v_dep["spec"]["template"]["spec"]["containers"][0],
                                        f"{job}-coordinator-{r}", v_cm)
        expected.append({"pod": f"{job}-coordinator-{r}", "role": "coordinator", "replica": r,
                         "args": args, "env": env, "secret_env": secret_env})
    for i in range(v_sts["spec"]["replicas"]):
        args, env, secret_env = kubelet(v_sts["spec"]["template"]["spec"]["containers"][0],
                                        f"{job}-worker-{i}", v_cm)
        expected.append({"pod": f"{job}-worker-{i}", "role": "worker", "replica": i,
                         "args": args, "env": env, "secret_env": secret_env})
    checks.check(f"{variant}: --print-commands equals the manifests' containers expanded by the "
                 f"kubelet's rules ({len(expected)} processes)", printed == expected,
                 json.dumps(printed, indent=1)[:1500] + "\nvs\n"
                 + json.dumps(expected, indent=1)[:1500])
    if variant == "full":
        full_printed = printed
printed = full_printed
checks.check("the coordinator's command line: the job's options",
             printed and printed[0]["args"][:8] == ["coordinator", "/etc/sluice/pipeline.sql",
                                                    "--job", "orders-agg", "--parallelism", "5",
                                                    "--workers", "3"], printed[:1])
checks.check("worker 2's command line: its name and DNS name",
             len(printed) == 5 and "orders-agg-worker-2.orders-agg-workers" in printed[4]["args"]
             and printed[4]["args"][printed[4]["args"].index("--name") + 1]
             == "orders-agg-worker-2")

# --- Bad input --------------------------------------------------------------------------------


def refused(what, args, message):
    rc, out, err = render(*args)
    checks.check(f"{what}: refused with '{message}'", rc != 0 and message in err and out == "",
                 f"exit {rc}, stderr: {err}")


refused("missing SQL file", [os.path.join(work, "nope.sql"), "--job", "j"],
        f"SQL file: cannot read '{work}/nope.sql': No such file or directory")
refused("worker count 0", [sql, "--job", "j", "--workers", "0"],
        "--workers must be at least 1, got 0")
refused("parallelism above the slots", [sql, "--job", "j", "--workers", "2", "-p", "3"],
        "--parallelism 3 needs 3 slots, but 2 workers x 1 slots give 2")
refused("two coordinators without a lease", [sql, "--job", "j", "--coordinator-replicas", "2"],
        "more than one coordinator needs the PostgreSQL lease")
refused("a job name that is not a DNS label", [sql, "--job", "Orders_Agg"],
        "--job 'Orders_Agg': a job name must be 1 to 40 lowercase letters")
refused("an empty SQL file", [write("empty.sql", "\n"), "--job", "j"], "is empty")
bad_yaml = write("bad.yaml", "spec:\n  nodeSelector: {pool: a\n  tolerations: []\n")
refused("pod template that is not YAML", [sql, "--job", "j", "--pod-template", bad_yaml],
        f"--pod-template '{bad_yaml}': not valid YAML or JSON at line")
a_list = write("list.yaml", "- nodeSelector: {}\n")
refused("pod template that is a list", [sql, "--job", "j", "--pod-template", a_list],
        "expected a mapping with `metadata` and/or `spec` (a pod template), got a list")
unknown = write("unknown.yaml", "nodeSelector: {pool: a}\n")
refused("pod template key outside metadata/spec", [sql, "--job", "j", "--pod-template", unknown],
        "unknown key 'nodeSelector': a pod template has `metadata`")
image = write("image.yaml", "spec:\n  containers:\n  - name: sluice\n    image: other:1\n")
refused("pod template setting the image", [sql, "--job", "j", "--pod-template", image],
        "spec.containers[sluice].image is set by `sluice k8s render` (use --image)")
selector = write("sel.yaml", "metadata:\n  labels:\n    app.kubernetes.io/component: x\n")
refused("pod template changing a selector label",
        [sql, "--job", "j", "--pod-template", selector],
        "metadata.labels.app.kubernetes.io/component is set by Sluice")
number = write("num.yaml", "metadata:\n  labels:\n    tier: 1\n")
refused("pod template with a non-string label", [sql, "--job", "j", "--pod-template", number],
        "metadata.labels.tier must be a string (quote it: \"1\")")
refused("missing pod template file",
        [sql, "--job", "j", "--pod-template", os.path.join(work, "none.yaml")],
        "--pod-template: cannot read")

checks.finish()
