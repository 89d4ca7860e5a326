"""Pipelines survive restarts of `sluice serve`: a finite file-to-file pipeline (200k rows, slowed
so a run lasts a few seconds, checkpoints every 100 ms) is interrupted by SIGINT of the service
(a stop with a final checkpoint) and, in a second pipeline, by kill -9 of the service twice;
each time a new `sluice serve` on the same data directory resumes it, and its output file must
hold every expected row exactly once (expected ids computed here from the generated input).

Usage: serve_restart_test.py path/to/sluice [--postgres]

With --postgres the metadata store is a new database on the shared test PostgreSQL server
(SLUICE_POSTGRES_DIR) instead of the embedded SQLite."""

import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_lib import Suite, postgres_url  # noqa: E402

s = Suite("service_restart")
extra = ["--db", postgres_url(s.name)] if "--postgres" in sys.argv else []
data_dir = os.path.join(s.work, "data")
os.makedirs(data_dir)
# 15 ms per batch of 1000 rows at the watermark: a run of 200k rows lasts about 3 s.
env = {"SLUICE_FAULT": "slow:watermark:15000"}

N = 200000
src = os.path.join(s.work, "in.json")
expected = set()
with open(src, "w") as f:
    for i in range(N):
        amount = (i * 37) % 1000 / 10.0
        f.write(json.dumps({"id": i, "amount": amount}) + "\n")
        if amount > 20:
            expected.add(i)


def query(out):
    return ("SET batch_size = 1000;\n"
            "CREATE TABLE src (id BIGINT, amount DOUBLE) WITH (connector = 'single_file', "
            "path = '%s', format = 'json', type = 'source');\n"
            "CREATE TABLE out WITH (connector = 'single_file', path = '%s', format = 'json', "
            "type = 'sink');\n"
            "INSERT INTO out SELECT id FROM src WHERE amount > 20;" % (src, out))


def check_output(what, out):
    ids = []
    with open(out) as f:
        for line in f:
            ids.append(json.loads(line)["id"])
    s.check("%s: %d rows, each expected id exactly once" % (what, len(expected)),
            len(ids) == len(expected) and set(ids) == expected,
            "got %d rows, %d distinct, %d missing, %d unexpected" %
            (len(ids), len(set(ids)), len(expected - set(ids)), len(set(ids) - expected)))


# --- SIGINT: the service stops the pipeline with a final checkpoint; the next one resumes ---
srv = s.server(data_dir=data_dir, extra_args=extra, env=env)
srv.start()
out1 = os.path.join(s.work, "out1.json")
st, p = srv.api("POST", "/pipelines", {"name": "sigint", "query": query(out1),
                                       "checkpointIntervalMicros": 100000})
s.check("create", st == 200, p)
pid1, job1 = p["id"], p["jobId"]
s.wait_for("a checkpoint of the first pipeline", lambda: srv.checkpoints(pid1, job1))
rc = srv.stop(signal.SIGINT)
s.check("SIGINT: serve exits 0", rc == 0, srv.log()[-2000:])
s.check("SIGINT: the log says the run stopped for a shutdown",
        "stopped for a service shutdown" in srv.log(), srv.log()[-2000:])
srv.start()
j = srv.job_of(pid1)
s.check("after the restart the job is desired running in run 2",
        j.get("runningDesired") is True and j.get("runId") == 2, j)
s.wait_for("the resumed pipeline finishes", lambda: srv.job_of(pid1).get("state") == "Finished",
           timeout=60)
logs = srv.api("GET", "/pipelines/%s/jobs/%s/errors?level=all" % (pid1, job1))[1]["data"]
s.check("run 2 resumed from the stop checkpoint",
        any("taken when the previous run was stopped" in m["message"] for m in logs),
        [m["message"] for m in logs])
check_output("SIGINT and restart", out1)

# --- kill -9 twice: each new service resumes from the latest periodic checkpoint ---
out2 = os.path.join(s.work, "out2.json")
st, p = srv.api("POST", "/pipelines", {"name": "kill9", "query": query(out2),
                                       "checkpointIntervalMicros": 100000})
pid2, job2 = p["id"], p["jobId"]
for attempt in (1, 2):
    seen = len(srv.checkpoints(pid2, job2))
    s.wait_for("checkpoint before kill %d" % attempt,
               lambda: len(srv.checkpoints(pid2, job2)) > seen or
               srv.job_of(pid2).get("state") == "Finished")
    if srv.job_of(pid2).get("state") == "Finished":
        s.check("the pipeline was still running at kill %d" % attempt, False)
        break
    srv.stop(signal.SIGKILL)
    srv.start()
    j = srv.job_of(pid2)
    s.check("after kill %d the job is resumed (run %d)" % (attempt, attempt + 1),
            j.get("runningDesired") is True and j.get("runId") == attempt + 1, j)
s.wait_for("the twice-killed pipeline finishes",
           lambda: srv.job_of(pid2).get("state") == "Finished", timeout=60)
logs = srv.api("GET", "/pipelines/%s/jobs/%s/errors?level=all" % (pid2, job2))[1]["data"]
s.check("the runs after kill -9 resumed from checkpoints",
        sum("resuming from checkpoint" in m["message"] for m in logs) == 2,
        [m["message"] for m in logs])
check_output("kill -9 twice and restarts", out2)
# The first pipeline finished before: it is not started again.
s.check("a finished pipeline is not resumed", srv.job_of(pid1).get("runId") == 2,
        srv.job_of(pid1))

rc = srv.stop(signal.SIGINT)
s.check("SIGINT with nothing running: exit 0", rc == 0, srv.log()[-1000:])
s.finish()
