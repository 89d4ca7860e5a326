"""Bytes and state size per operator: operator_metric_groups gives each operator subtask's bytes
in and out (the in-memory size of the batches it received and emitted) with their rates, and the
bytes of state it wrote into its latest checkpoint; the checkpoints route lists the state bytes
per operator subtask; /metrics exports the same counters.

The oracle for bytes: the source chain emits rows of two BIGINT columns (the key counter % 10
and the counter) plus the hidden event-time column, no NULLs: 24 bytes a row.

Usage: operator_bytes_test.py path/to/sluice"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_lib import Suite  # noqa: E402

s = Suite("service_operator_bytes")
srv = s.server(extra_args=["--job-threads", "2"])
srv.start()

QUERY = ("CREATE TABLE imp WITH (connector = 'impulse', event_rate = '2000');\n"
         "SELECT counter % 10 AS k, sum(counter) AS total FROM imp GROUP BY counter % 10;")
st, p = srv.api("POST", "/pipelines", {"name": "bytes", "query": QUERY, "parallelism": 1,
                                       "checkpointIntervalMicros": 500000})
s.check("create: 200", st == 200, (st, p))
pid, job = p["id"], p["jobId"]
metrics_path = "/pipelines/%s/jobs/%s/operator_metric_groups" % (pid, job)


def groups():
    st, body = srv.api("GET", metrics_path)
    return {g["operator"]: g["subtasks"][0] for g in body.get("data", [])} if st == 200 else {}


def ready():
    g = groups()
    proj = g.get("project")
    agg = next((v for k, v in g.items() if "aggregate" in k), None)
    if proj and agg and proj["rowsOut"] > 2000 and agg.get("stateBytes"):
        return g
    return None


g = s.wait_for("rows flow and a checkpoint records the aggregate's state", ready, timeout=60)
if g:
    proj = g["project"]
    agg = next(v for k, v in g.items() if "aggregate" in k)
    src = next(v for k, v in g.items() if "source" in k)
    # Counters are read while rows flow: allow a batch or two of skew between rows and bytes.
    per_row = proj["bytesOut"] / proj["rowsOut"]
    s.check("project: 24 bytes out per row (two BIGINT columns and the event time)",
            abs(per_row - 24) < 0.5, (proj["bytesOut"], proj["rowsOut"]))
    s.check("aggregate: bytes in, about 24 a row", agg["bytesIn"] > 0 and
            abs(agg["bytesIn"] / agg["rowsIn"] - 24) < 0.5, (agg["bytesIn"], agg["rowsIn"]))
    s.check("source: bytes out", src["bytesOut"] > 0, src)
    s.check("every subtask has byte counters and rates",
            all(set(v) >= {"bytesIn", "bytesOut", "bytesInPerSecond", "bytesOutPerSecond",
                           "stateBytes"} for v in g.values()), g)
    # Ten keys with a BIGINT sum each: some state, far less than the rows seen.
    s.check("aggregate: state bytes of its latest checkpoint, bounded by its ten keys",
            0 < agg["stateBytes"] < 64 * 1024, agg["stateBytes"])
    s.check("project: stateless, no state bytes", proj["stateBytes"] in (None, 0), proj)
    # Rates need two reads, with rows emitted between them: the impulse source emits a batch
    # every few milliseconds, so reads a moment apart may see none; poll (a rate stays
    # positive from the first read that follows a batch).
    def positive_rate():
        g2 = groups()
        rate = g2.get("project", {}).get("bytesOutPerSecond")
        return g2 if rate is not None and rate > 0 else None

    s.check("byte rates once read twice",
            s.wait_for("a positive byte rate", positive_rate, timeout=30, interval=0.3)
            is not None)

st, body = srv.api("GET", "/pipelines/%s/jobs/%s/checkpoints" % (pid, job))
chk = body.get("data", []) if st == 200 else []
s.check("checkpoints listed", len(chk) > 0, (st, body))
if chk:
    last = chk[-1]
    agg_state = [o for o in last.get("operatorState", []) if "aggregate" in o["operator"]]
    s.check("a checkpoint lists the aggregate's state bytes per subtask",
            len(agg_state) == 1 and agg_state[0]["bytes"] > 0 and agg_state[0]["subtask"] == 0,
            last.get("operatorState"))
    s.check("stateless operators are not listed with state",
            not any(o["operator"] == "project" for o in last.get("operatorState", [])),
            last.get("operatorState"))

st, text = srv.request("GET", "/metrics")
s.check("/metrics exports bytes in/out and state bytes", st == 200 and
        "sluice_operator_bytes_in_total{" in text and "sluice_operator_bytes_out_total{" in text
        and "sluice_operator_state_bytes{" in text, text[-1500:])
srv.api("PATCH", "/pipelines/" + pid, {"stop": "immediate"})
s.finish()
