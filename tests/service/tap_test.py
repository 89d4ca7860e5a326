"""Live taps on the edges of a running pipeline (GET /pipelines/{id}/jobs/{job}/tap?edge=N):
the rows crossing an edge as Server-Sent Events while the pipeline runs, sampled at no more than
100 rows a second whatever the pipeline's rate, two readers of one edge at once, the updating
edge after an aggregate as change events, the end of the stream when the pipeline stops, and a
clear 4xx for a missing, malformed or unknown edge and for a job that is not running.

Usage: tap_test.py path/to/sluice"""

import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_lib import Suite  # noqa: E402

s = Suite("service_tap")
srv = s.server(extra_args=["--job-threads", "2"])
srv.start()

# 5000 rows/s from two source subtasks, hashed on counter % 4 to an aggregate (the max counter
# per key), whose updating rows are hashed on max % 2 to a second aggregate chained to the sink.
QUERY = ("CREATE TABLE imp WITH (connector = 'impulse', event_rate = '5000');\n"
         "SELECT n % 2 AS parity, count(*) AS c FROM (SELECT counter % 4 AS k, max(counter) AS n "
         "FROM imp GROUP BY counter % 4) GROUP BY n % 2;")
st, p = srv.api("POST", "/pipelines", {"name": "tapped", "query": QUERY, "parallelism": 2})
s.check("create: 200", st == 200, (st, p))
pid, job = p["id"], p["jobId"]
s.wait_for("the pipeline runs", lambda: srv.api("GET", "/pipelines/" + pid)[1].get("state") ==
           "Running")
graph = srv.api("GET", "/pipelines/" + pid)[1]["graph"]
nodes = {n["nodeId"]: n for n in graph["nodes"]}
edges = graph["edges"]
s.check("graph edges carry their index as edgeId",
        [e.get("edgeId") for e in edges] == [str(i) for i in range(len(edges))], edges)
source_edge = next((e for e in edges if "source" in nodes[e["srcId"]]["operator"]), None)
after_agg = next((e for e in edges if "aggregate" in nodes[e["srcId"]]["operator"]), None)
s.check("the graph has an edge out of the source and one out of the aggregate",
        source_edge is not None and after_agg is not None, graph)
tap = "/pipelines/%s/jobs/%s/tap?edge=" % (pid, job)


def rows_of(events):
    return [json.loads(e["data"]) for e in events if e.get("event") == "row"]


# --- the source edge: rows with the source's columns, labelled with the edge ---
if source_edge is not None:
    label = "edge %s -> %s" % (source_edge["srcId"], source_edge["destId"])
    ev = srv.events(tap + source_edge["edgeId"], max_events=20, timeout=30)
    rows = rows_of(ev)
    values = [json.loads(r["value"]) for r in rows]
    s.check("source edge: rows arrive, named after the edge, from both producer subtasks or one",
            len(rows) == 20 and all(r["operatorId"] == label for r in rows) and
            {r["subtask"] for r in rows} <= {0, 1}, rows[:3])
    # The edge carries what the aggregate reads: the grouping key counter % 4 and the counter
    # (named __c0 and __c1 by the planner).
    s.check("source edge: each row is a JSON object with the counter and its key counter % 4",
            values and all(isinstance(v.get("__c1"), int) and v.get("__c0") == v["__c1"] % 4
                           for v in values), values[:3])
    ids = [int(e["id"]) for e in ev if e.get("event") == "row"]
    s.check("source edge: event ids consecutive", ids == list(range(ids[0], ids[0] + len(ids))),
            ids)

    # Sampled: over a few seconds a reader gets at most 100 rows a second (plus the first
    # second's burst), far fewer than the 5000 rows a second crossing the edge.
    start = time.time()
    ev = srv.events(tap + source_edge["edgeId"], timeout=3)
    secs = time.time() - start
    n = len(rows_of(ev))
    print("tap: %d rows in %.1f s on an edge carrying 5000 rows/s" % (n, secs))
    s.check("source edge: sampled to at most 100 rows/s", 0 < n <= 100 * (secs + 1) + 20,
            (n, secs))

    # Two readers of one edge at once both get rows.
    got = [None, None]

    def read(i):
        got[i] = rows_of(srv.events(tap + source_edge["edgeId"], max_events=10, timeout=30))

    threads = [threading.Thread(target=read, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    s.check("two readers of one edge each get rows", all(g and len(g) == 10 for g in got),
            [len(g or []) for g in got])

# --- the edge after the aggregate: updating rows as change events ---
if after_agg is not None:
    rows = rows_of(srv.events(tap + after_agg["edgeId"], max_events=6, timeout=30))
    values = [json.loads(r["value"]) for r in rows]
    # The first aggregate's updates of max(counter), projected to the second one's key, n % 2.
    s.check("aggregate edge: change events of the updating rows (key n % 2)",
            len(values) == 6 and all(v.get("op") in ("c", "u", "d") and
                                     (v.get("after") or v.get("before")).get("__c0") in (0, 1)
                                     for v in values), values[:3])

# --- refusals ---
for what, path, status, text in [
        ("missing edge", "/pipelines/%s/jobs/%s/tap" % (pid, job), 400, "missing query parameter"),
        ("edge not a number", tap + "x", 400, "must be an edge's index"),
        ("edge out of range", tap + "99", 404, "has %d edges" % len(edges)),
        ("unknown job", "/pipelines/%s/jobs/job_nope/tap?edge=0" % pid, 404, "has no job"),
        ("POST", None, 405, "method not allowed")]:
    if path is None:
        st, body = srv.api("POST", tap[:-len("?edge=")] + "?edge=0", {})
    else:
        st, body = srv.api("GET", path)
    s.check("tap, %s: %d with a clear message" % (what, status),
            st == status and isinstance(body, dict) and text in body.get("error", ""),
            (st, body))

# --- a reader connected while the pipeline stops gets the end of the stream ---
result = {}


def read_to_end():
    result["events"] = srv.events(tap + "0", timeout=60)


t = threading.Thread(target=read_to_end)
t.start()
time.sleep(0.5)
st, body = srv.api("PATCH", "/pipelines/" + pid, {"stop": "immediate"})
s.check("stop: 200", st == 200, (st, body))
t.join()
kinds = [e.get("event") for e in result.get("events", [])]
s.check("a tap reader gets `end` when the pipeline stops", kinds and kinds[-1] == "end", kinds[-5:])
s.wait_for("the pipeline stops", lambda: srv.api("GET", "/pipelines/" + pid)[1].get("state") ==
           "Stopped")
st, body = srv.api("GET", tap + "0")
s.check("tap of a stopped job: 409 saying it is not running",
        st == 409 and "is not running" in body.get("error", ""), (st, body))
s.finish()
