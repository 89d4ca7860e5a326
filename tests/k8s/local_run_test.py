"""The processes of `sluice k8s render`'s manifests, run on one machine (docs/kubernetes.md):
`--print-commands --loopback --local-dir` gives the coordinator's and the three workers' argv and
environment exactly as the pods get them (render_test.py checks that against the manifests),
with the pods' addresses and DNS names mapped to 127.0.0.1 (coordinator) and 127.0.0.2..4
(workers, all on the manifests' data-plane port) and the ConfigMap's files written locally. This
test starts them as they are and compares the sink's output with `sluice run`'s at the same
parallelism. No Kubernetes cluster runs here: the kubelet's part (expanding $(VAR), mounting the
ConfigMap, resolving DNS) is what --print-commands emulates.

With --lease (needs SLUICE_POSTGRES_DIR, the postgres_server fixture): the job is rendered with
--postgres-secret, so the manifests have two coordinator replicas electing a leader through the
PostgreSQL lease; the test supplies the Secret's `url` (the fixture's conninfo) as the kubelet
would, starts both replicas with the same arguments on the same address and port, and checks
that exactly one leads (the other stands by without listening) and the output is still exact.

Usage: local_run_test.py path/to/sluice [--lease]
"""

import json
import os
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import testlib  # noqa: E402

SLUICE = sys.argv[1]
LEASE = "--lease" in sys.argv[2:]
work = tempfile.mkdtemp(prefix="k8s_local_run.")
checks = testlib.Checks("k8s_local_run" + ("_lease" if LEASE else ""), work=work)
JOB = f"lease{os.getpid()}" if LEASE else "local"
secrets = {}
if LEASE:
    with open(os.path.join(os.environ["SLUICE_POSTGRES_DIR"], "conninfo")) as f:
        secrets[("sluice-pg", "url")] = f.read().strip()
WORKERS = 3


def port_free_everywhere(port):
    for i in range(1, WORKERS + 2):
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((f"127.0.0.{i}", port))
            except OSError:
                return False
    return True


def two_free_ports():
    for _ in range(50):
        a, b = testlib.free_port(), testlib.free_port()
        if a != b and port_free_everywhere(a) and port_free_everywhere(b):
            return a, b
    raise RuntimeError("no free port pair on 127.0.0.1..4")


with open(os.path.join(work, "in.json"), "w") as f:
    for i in range(20000):
        f.write(json.dumps({"ts": f"2023-01-01T00:{(i // 400) % 60:02d}:{(i // 7) % 60:02d}",
                            "k": f"k{(i * 7) % 41}", "v": i % 100}) + "\n")
SQL = f"""CREATE TABLE src (ts TIMESTAMP, k TEXT, v INT,
  WATERMARK FOR ts AS ts - INTERVAL '1 minute') WITH (
  connector = 'single_file', path = '{work}/in.json', format = 'json', type = 'source');
CREATE TABLE out WITH (connector = 'single_file', path = '{work}/out.json', format = 'json',
  type = 'sink');
INSERT INTO out SELECT window.start AS minute, k, n, total FROM (
  SELECT TUMBLE(INTERVAL '1 minute') AS window, k, count(*) AS n, sum(v) AS total
  FROM src GROUP BY 1, 2);
"""
sql = os.path.join(work, "pipeline.sql")
with open(sql, "w") as f:
    f.write(SQL)
out_path = os.path.join(work, "out.json")

# The reference: one process.
p = subprocess.run([SLUICE, "run", sql, "--parallelism", str(WORKERS)], capture_output=True,
                   text=True, timeout=300)
checks.check("sluice run -p 3", p.returncode == 0, p.stderr)
with open(out_path) as f:
    expected = sorted(f.read().splitlines())
os.remove(out_path)
checks.check(f"reference output has rows ({len(expected)})", len(expected) > 100)

control, data = two_free_ports()
config = os.path.join(work, "config")
lease_args = ["--postgres-secret", "sluice-pg", "--lease-ttl", "60s"] if LEASE else []
p = subprocess.run([SLUICE, "k8s", "render", sql, "--job", JOB, "--workers", str(WORKERS),
                    "--control-port", str(control), "--data-plane-port", str(data),
                    "--worker-timeout", "60s", "--set", "batch_size=256", *lease_args,
                    "--print-commands", "--loopback", "--local-dir", config],
                   capture_output=True, text=True, timeout=60)
checks.check("render --print-commands --loopback", p.returncode == 0, p.stderr)
processes = json.loads(p.stdout)
coordinators = 2 if LEASE else 1
checks.check(f"{coordinators} coordinator(s) and three workers",
             [x["role"] for x in processes] == ["coordinator"] * coordinators
             + ["worker"] * WORKERS)
with open(os.path.join(config, "pipeline.sql")) as f:
    checks.check("the ConfigMap's SQL written to the local dir", f.read() == SQL)

procs = []
logs = {}


def log_of(pod):
    with open(logs[pod]) as f:
        return f.read()


leader = f"{JOB}-coordinator-0"
try:
    for x in processes:
        log = open(os.path.join(work, x["pod"] + ".log"), "w")
        logs[x["pod"]] = log.name
        # The pod's environment: the manifests' variables and the Secrets' values, nothing else.
        env = {"PATH": os.environ.get("PATH", ""), **x["env"]}
        wanted = {(r["secret"], r["key"]) for r in x["secret_env"].values()}
        if x["role"] == "coordinator" and LEASE:
            checks.check(f"{x['pod']}: the lease URL comes from the Secret",
                         wanted == {("sluice-pg", "url")}, x["secret_env"])
        else:
            checks.check(f"{x['pod']}: no Secret to supply", wanted == set(), x["secret_env"])
        for name, ref in x["secret_env"].items():
            env[name] = secrets[(ref["secret"], ref["key"])]
        procs.append((x["pod"], subprocess.Popen([SLUICE, *x["args"]], env=env,
                                                 stdout=log, stderr=subprocess.STDOUT)))
    if LEASE:
        # Whichever replica got the lease runs the job; the other stands by, not listening.
        names = [f"{JOB}-coordinator-{r}" for r in range(2)]
        testlib.wait_until(lambda: any("leader of job" in log_of(n) for n in names), 120)
        leaders = [n for n in names if f"coordinator '{n}': leader of job '{JOB}' at epoch 1"
                   in log_of(n)]
        checks.check("exactly one coordinator replica leads, at epoch 1", len(leaders) == 1,
                     [log_of(n)[-1000:] for n in names])
        leader = leaders[0] if leaders else names[0]
        standby = [n for n in names if n != leader][0]
        testlib.wait_until(lambda: "standby for job" in log_of(standby), 120)
        checks.check("the other stands by, naming the leader",
                     f"standby for job '{JOB}': the lease is held by '{leader}' at epoch 1"
                     in log_of(standby), log_of(standby)[-1000:])
    for pod, proc in procs:
        if LEASE and pod == standby:
            continue
        try:
            rc = proc.wait(timeout=240)
        except subprocess.TimeoutExpired:
            rc = "timeout"
        checks.check(f"{pod} exits 0", rc == 0, log_of(pod)[-2000:])
    if LEASE:
        # The job is done; the standby is stopped as Kubernetes would (SIGTERM).
        rc, _, _ = testlib.stop(dict(procs)[standby])
        checks.check("the standby stops cleanly on SIGTERM",
                     rc == 0 and "stopped while standing by" in log_of(standby),
                     log_of(standby)[-1000:])
finally:
    for _, proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

coordinator_log = log_of(leader)
checks.check("the workers registered under their pod names",
             all(f"{JOB}-worker-{i}" in coordinator_log for i in range(WORKERS)),
             coordinator_log[-2000:])
checks.check("subtasks on all three workers", "workers 0 1 2" in coordinator_log,
             coordinator_log[-2000:])
actual = []
if os.path.exists(out_path):
    with open(out_path) as f:
        actual = sorted(f.read().splitlines())
checks.check(f"the output on 3 workers equals sluice run's ({len(actual)} lines)",
             actual == expected)

checks.finish()
