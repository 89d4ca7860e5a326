"""The boundary of C++ UDFs in the service, as it is today (docs/udf.md "Errors", decision
0027): `sluice serve` runs every pipeline in one process, and C++ UDFs run in that process, so a
UDF that segfaults ends the service and every pipeline in it, not only its own. This test pins
that behaviour down so that a change to it (a UDF host process) is deliberate: a steady pipeline
runs, a second pipeline whose UDF dereferences a null pointer is created, and the service dies
by SIGSEGV with the function named in its log; the steady pipeline's output so far holds no row
twice (it resumes from its last checkpoint when a service starts again, serve_restart_test.py).

Usage: serve_crash_test.py path/to/sluice"""

import json
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "service"))
from api_lib import Suite  # noqa: E402

s = Suite("udf_serve_crash")
data_dir = os.path.join(s.work, "data")
os.makedirs(data_dir)
env = {"SLUICE_FAULT": "slow:watermark:15000",
       "SLUICE_UDF_CACHE_DIR": os.environ.get("SLUICE_UDF_CACHE_DIR",
                                              os.path.join(s.work, "udf-cache"))}
N = 200000
src = os.path.join(s.work, "in.json")
with open(src, "w") as f:
    for i in range(N):
        f.write(json.dumps({"id": i}) + "\n")
small = os.path.join(s.work, "small.json")
with open(small, "w") as f:
    for i in range(1, 4):
        f.write(json.dumps({"id": i}) + "\n")


def steady(out):
    return ("SET batch_size = 1000;\n"
            "CREATE TABLE src (id BIGINT) WITH (connector = 'single_file', path = '%s', "
            "format = 'json', type = 'source');\n"
            "CREATE TABLE out WITH (connector = 'single_file', path = '%s', format = 'json', "
            "type = 'sink');\n"
            "INSERT INTO out SELECT id FROM src;" % (src, out))


def crashing(out):
    return ("CREATE TABLE t (id BIGINT) WITH (connector = 'single_file', path = '%s', "
            "format = 'json', type = 'source');\n"
            "CREATE TABLE out WITH (connector = 'single_file', path = '%s', format = 'json', "
            "type = 'sink');\n"
            "CREATE FUNCTION boom(x BIGINT) RETURNS BIGINT LANGUAGE cpp AS $$\n"
            "int64_t boom(int64_t x) {\n"
            "  volatile int64_t* p = nullptr;\n"
            "  if (x == 2) return *p;\n"
            "  return x;\n"
            "}\n$$;\n"
            "INSERT INTO out SELECT boom(id) AS b FROM t;" % (small, out))


srv = s.server(data_dir=data_dir, env=env)
srv.start()
out1 = os.path.join(s.work, "steady.json")
st, p = srv.api("POST", "/pipelines", {"name": "steady", "query": steady(out1),
                                       "checkpointIntervalMicros": 100000})
s.check("create the steady pipeline", st == 200, p)
pid1, job1 = p["id"], p["jobId"]
s.wait_for("a checkpoint of the steady pipeline", lambda: srv.checkpoints(pid1, job1))

st, p = srv.api("POST", "/pipelines", {"name": "boom", "query": crashing(
    os.path.join(s.work, "boom.json"))})
# The process may already be dying while it answers; either way it must die by the signal.
try:
    rc = srv.proc.wait(120)
except Exception as e:  # noqa: BLE001
    rc = None
    s.check("the service dies when the UDF segfaults", False, e)
srv.proc = None
s.check("today: the whole service dies by SIGSEGV (exit -11), taking the steady pipeline "
        "with it", rc == -signal.SIGSEGV, "exit %s\n%s" % (rc, srv.log()[-2000:]))
s.check("the log names the crashing function",
        "segmentation fault (SIGSEGV) in user-defined function boom()" in srv.log(),
        srv.log()[-2000:])
rows = []
with open(out1) as f:
    for line in f:
        rows.append(json.loads(line)["id"])
s.check("the steady pipeline had made progress and wrote no row twice",
        len(rows) > 0 and len(rows) == len(set(rows)), "%d rows" % len(rows))
s.finish()
