"""The REST API of `sluice serve` against the real binary (SQLite metadata store): ping,
connectors, validate_query diagnostics, every client error as a JSON 4xx, and a pipeline's life
(create, live rows over Server-Sent Events with Last-Event-ID resume, metrics, checkpoints,
stop checkpoint/immediate, start, restart from the latest checkpoint, a chosen one and without
state, edit, delete), a finite pipeline that finishes, a failing one whose error is listed.

Usage: api_test.py path/to/sluice [--postgres]

With --postgres the metadata store is a new database on the shared test PostgreSQL server
(SLUICE_POSTGRES_DIR) instead of the embedded SQLite."""

import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_lib import Suite, postgres_url  # noqa: E402

s = Suite("service_api")
extra = ["--db", postgres_url(s.name)] if "--postgres" in sys.argv else []
srv = s.server(extra_args=extra)
srv.start()
s.check("the metadata store is the one asked for",
        ("metadata in postgresql://" if extra else "metadata in sqlite:") in srv.log(), srv.log())

IMPULSE = ("CREATE TABLE imp WITH (connector = 'impulse', event_rate = '200');\n"
           "SELECT counter FROM imp;")


def state_of(pid):
    st, p = srv.api("GET", "/pipelines/" + pid)
    return p.get("state") if st == 200 else None


def wait_state(pid, state, timeout=30):
    return s.wait_for("pipeline %s reaches %s" % (pid, state),
                      lambda: state_of(pid) == state, timeout)


def counters(events):
    return [json.loads(json.loads(e["data"])["value"])["counter"]
            for e in events if e.get("event") == "row"]


# --- ping, connectors ---
st, body = srv.api("GET", "/ping")
s.check("ping", st == 200 and body == {"status": "ok"}, (st, body))
st, body = srv.api("GET", "/connectors")
conns = {c["id"]: c for c in body["data"]} if st == 200 else {}
s.check("connectors lists impulse as a source with its options",
        conns.get("impulse", {}).get("source") is True and
        "event_rate" in conns["impulse"]["options"] and
        "event_rate" in conns["impulse"]["tableConfig"]["properties"], body)
s.check("connectors lists kafka and single_file as sources and sinks",
        all(conns.get(c, {}).get("source") and conns.get(c, {}).get("sink")
            for c in ("kafka", "single_file")), list(conns))
pg = conns.get("postgres-cdc", {})
s.check("connectors describes postgres-cdc: required options, descriptions, the password secret",
        pg.get("source") is True and pg.get("sink") is False and "description" in pg and
        set(pg["tableConfig"].get("required", [])) ==
        {"hostname", "username", "database.name", "table.name"} and
        pg["tableConfig"]["properties"]["password"].get("writeOnly") is True and
        "description" in pg["tableConfig"]["properties"]["slot.name"], pg)
nats = conns.get("nats", {})
s.check("connectors describes nats: source and sink, servers required, the password secret",
        nats.get("source") is True and nats.get("sink") is True and
        nats["tableConfig"].get("required") == ["servers"] and
        nats["tableConfig"]["properties"]["auth.password"].get("writeOnly") is True and
        "consumer.ack_wait" in nats["tableConfig"]["properties"], nats)
rabbit = conns.get("rabbitmq", {})
s.check("connectors describes rabbitmq: a source, stream required, the password secret",
        rabbit.get("source") is True and rabbit.get("sink") is False and
        rabbit["tableConfig"].get("required") == ["stream"] and
        rabbit["tableConfig"]["properties"]["password"].get("writeOnly") is True and
        "source.offset" in rabbit["tableConfig"]["properties"], rabbit)

# --- validate_query ---
st, body = srv.api("POST", "/pipelines/validate_query", {"query": IMPULSE})
s.check("validate_query of a good query: 200 with a graph",
        st == 200 and body["errors"] is None and len(body["graph"]["nodes"]) == 1 and
        body["graph"]["nodes"][0]["operator"].startswith("impulse source"), body)
bad = "CREATE TABLE imp WITH (connector = 'impulse', event_rate = '200');\nSELECT countr FROM imp;"
st, body = srv.api("POST", "/pipelines/validate_query", {"query": bad})
diag = (body.get("diagnostics") or [{}])[0] if st == 200 else {}
s.check("validate_query of a bad column: diagnostics at line 2, column 8",
        st == 200 and body["graph"] is None and diag.get("line") == 2 and
        diag.get("column") == 8 and 'countr' in diag.get("message", ""), body)
st, body = srv.api("POST", "/pipelines/validate_query", {"query": "SELEC 1"})
s.check("validate_query of a syntax error: line 1, column 1",
        st == 200 and body["diagnostics"][0]["line"] == 1 and
        body["diagnostics"][0]["column"] == 1, body)

# --- client errors: a JSON 4xx each, never a 5xx ---
cases = [
    ("bad JSON", "POST", "/pipelines", None, '{"name": "x", ', 400, "not valid JSON"),
    ("body not an object", "POST", "/pipelines", None, "[1, 2]", 400, "JSON object"),
    ("empty body", "POST", "/pipelines", None, "", 400, "JSON object body"),
    ("unknown field with a hint", "POST", "/pipelines", {"name": "x", "qeury": IMPULSE}, None,
     400, "did you mean 'query'"),
    ("missing query", "POST", "/pipelines", {"name": "x"}, None, 400, "'query' is required"),
    ("missing name", "POST", "/pipelines", {"query": IMPULSE}, None, 400, "'name' is required"),
    ("wrong type", "POST", "/pipelines", {"name": "x", "query": IMPULSE, "parallelism": "2"},
     None, 400, "must be an integer"),
    ("parallelism 0", "POST", "/pipelines", {"name": "x", "query": IMPULSE, "parallelism": 0},
     None, 400, "between 1 and 1024"),
    ("checkpoint interval too small", "POST", "/pipelines",
     {"name": "x", "query": IMPULSE, "checkpointIntervalMicros": 5}, None, 400, "at least 1000"),
    ("SQL error", "POST", "/pipelines", {"name": "x", "query": bad}, None, 400,
     'line 2, column 8: column "countr" does not exist'),
    ("unknown connector option", "POST", "/pipelines",
     {"name": "x", "query": "CREATE TABLE imp WITH (connector = 'impulse', event_rat = '1');\n"
                            "SELECT counter FROM imp;"}, None, 400, "event_rate"),
    ("udfs", "POST", "/pipelines", {"name": "x", "query": IMPULSE, "udfs": [{"a": 1}]}, None,
     400, "UDFs are not supported"),
    ("unknown pipeline", "GET", "/pipelines/pl_nope", None, None, 404, "no pipeline with id"),
    ("unknown pipeline's jobs", "GET", "/pipelines/pl_nope/jobs", None, None, 404,
     "no pipeline"),
    ("unknown pipeline patch", "PATCH", "/pipelines/pl_nope", {"stop": "checkpoint"}, None, 404,
     "no pipeline"),
    ("unknown pipeline delete", "DELETE", "/pipelines/pl_nope", None, None, 404, "no pipeline"),
    ("unknown pipeline restart", "POST", "/pipelines/pl_nope/restart", {}, None, 404,
     "no pipeline"),
    ("unknown route", "GET", "/nothing", None, None, 404, "no route"),
    ("wrong method", "PUT", "/pipelines", {}, None, 405, "method not allowed"),
    ("bad limit", "GET", "/pipelines?limit=0", None, None, 400, "limit must be"),
    ("unknown query parameter", "GET", "/pipelines?limt=3", None, None, 400, "unknown query"),
]
for name, method, path, body, raw, want, text in cases:
    st, resp = srv.api(method, path, body, raw=raw)
    s.check("%s: %d with a JSON error" % (name, want),
            st == want and isinstance(resp, dict) and text in resp.get("error", ""),
            (st, resp))
st, resp = srv.request("GET", "/")
s.check("the web console (or its stub page) is served at /", st == 200 and "<html" in resp.lower(),
        str(resp)[:300])
st, resp = srv.request("GET", "/elsewhere")
s.check("outside /api/v1: 404 JSON", st == 404 and "error" in resp, (st, resp))
# A declared body over the 1 MiB limit is refused when the header arrives (413, then close).
with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
    sock.sendall(b"POST /api/v1/pipelines HTTP/1.1\r\nHost: x\r\nContent-Type: "
                 b"application/json\r\nContent-Length: 2097152\r\n\r\n")
    reply = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        reply += chunk
s.check("a body over 1 MiB: 413", reply.startswith(b"HTTP/1.1 413") and b"larger than" in reply,
        reply[:300])

# --- a running pipeline ---
st, p = srv.api("POST", "/pipelines", {"name": "counter", "query": IMPULSE, "parallelism": 1,
                                       "checkpointIntervalMicros": 200000})
s.check("create: 200 with id, job and graph",
        st == 200 and p["id"].startswith("pl_") and p["jobId"] and p["graph"]["nodes"] and
        p["stop"] == "none" and p["checkpointIntervalMicros"] == 200000, (st, p))
pid, job = p["id"], p["jobId"]
wait_state(pid, "Running")
st, body = srv.api("GET", "/pipelines")
s.check("list: the pipeline, hasMore false",
        st == 200 and [x["id"] for x in body["data"]] == [pid] and body["hasMore"] is False, body)
st, body = srv.api("GET", "/pipelines/%s/jobs" % pid)
s.check("jobs: one, running, run 1",
        st == 200 and len(body["data"]) == 1 and body["data"][0]["id"] == job and
        body["data"][0]["runId"] == 1 and body["data"][0]["runningDesired"] is True and
        body["data"][0]["state"] == "Running", body)

out = "/pipelines/%s/jobs/%s/output" % (pid, job)
ev = srv.events(out, max_events=20)
rows = [e for e in ev if e.get("event") == "row"]
s.check("output: 20 rows with ids 1..20", [int(e["id"]) for e in rows] == list(range(1, 21)),
        ev[:5])
s.check("output: the counter of row id n is n - 1", counters(ev) == list(range(0, 20)), ev[:5])
s.check("output: rows name their sink", json.loads(rows[0]["data"])["operatorId"] != "", rows[0])
ev = srv.events(out, last_event_id=10, max_events=5)
s.check("output with Last-Event-ID 10 resumes at id 11",
        [int(e["id"]) for e in ev if e.get("event") == "row"] == [11, 12, 13, 14, 15] and
        counters(ev) == [10, 11, 12, 13, 14], ev)
st, body = srv.api("GET", out, headers={"Last-Event-ID": "x"})
s.check("output with a bad Last-Event-ID: 400", st == 400, (st, body))

st, body = srv.api("GET", "/pipelines/%s/jobs/%s/operator_metric_groups" % (pid, job))
ops = {g["operator"]: g for g in body.get("data", [])} if st == 200 else {}
s.check("metrics: the source's subtask 0 emitted rows",
        ops.get("impulse source", {}).get("subtasks", [{}])[0].get("rowsOut", 0) > 0, body)
time.sleep(0.3)
st, body = srv.api("GET", "/pipelines/%s/jobs/%s/operator_metric_groups" % (pid, job))
rate = body["data"][0]["subtasks"][0]["rowsOutPerSecond"] if st == 200 else None
s.check("metrics: a rate on the second read", isinstance(rate, (int, float)), body)
proj = ops.get("project", {}).get("subtasks", [{}])[0] if st == 200 else {}
lag = proj.get("watermarkLagMicros")
s.check("metrics: the project operator's watermark trails the wall clock by about the 1 s "
        "bound of the impulse source's watermark",
        proj.get("watermark") and lag is not None and 900000 <= lag <= 30000000, proj)
bp = body["data"][0]["subtasks"][0].get("backpressure") if st == 200 else None
s.check("metrics: backpressure is a share of the time between 0 and 1",
        isinstance(bp, (int, float)) and 0 <= bp <= 1, body["data"][0])
st, text = srv.request("GET", "/metrics")
s.check("prometheus: watermark and backpressure series",
        'sluice_operator_watermark_micros{pipeline="%s"' % pid in text and
        "sluice_operator_backpressure_seconds_total{" in text, text[-800:])
s.check("prometheus: rows out of the pipeline's source",
        st == 200 and ('sluice_operator_rows_out_total{pipeline="%s",job="%s",'
                       'operator="impulse source",subtask="0"}' % (pid, job)) in text, text[:500])

ckpts = "/pipelines/%s/jobs/%s/checkpoints" % (pid, job)
got = s.wait_for("a periodic checkpoint is listed",
                 lambda: [c for c in srv.api("GET", ckpts)[1]["data"] if c["kind"] == "periodic"])
if got:
    c = got[0]
    s.check("checkpoint: epoch, bytes and an operator part",
            c["epoch"] >= 1 and c["bytes"] > 0 and c["operators"] and
            c["operators"][0]["bytes"] > 0 and "impulse source" in c["operators"][0]["operator"],
            c)

# Illegal transitions.
st, body = srv.api("PATCH", "/pipelines/" + pid, {"query": IMPULSE})
s.check("edit the query while running: 409", st == 409 and "stop it" in body["error"], body)
st, body = srv.api("DELETE", "/pipelines/" + pid)
s.check("delete while running: 409", st == 409 and "stop it" in body["error"], body)
st, body = srv.api("PATCH", "/pipelines/" + pid, {"stop": "pause"})
s.check("an unknown stop mode: 400", st == 400 and "checkpoint" in body["error"], body)
st, body = srv.api("POST", "/pipelines/%s/restart" % pid, {"checkpoint": 1, "ignoreState": True})
s.check("restart from a checkpoint and without state at once: 400", st == 400, body)

# Stop with a checkpoint; the stream ends; start resumes after the last row.
st, body = srv.api("PATCH", "/pipelines/" + pid, {"stop": "checkpoint"})
s.check("stop checkpoint: 200", st == 200 and body["stop"] == "checkpoint", body)
wait_state(pid, "Stopped")
st, body = srv.api("GET", "/pipelines/%s/jobs" % pid)
s.check("stopped: not desired running", body["data"][0]["runningDesired"] is False, body)
st, body = srv.api("GET", ckpts)
s.check("a stop checkpoint is listed", any(c["kind"] == "stop" for c in body["data"]), body)
ev = srv.events(out, last_event_id=0, timeout=10)
s.check("the stream of a stopped run ends with event end", ev and ev[-1].get("event") == "end",
        ev[-3:])
run1 = counters(ev)
last_id = max(int(e["id"]) for e in ev if e.get("event") == "row")
s.check("run 1's rows are 0..n without gaps", run1 == list(range(len(run1))), run1[-5:])
st, body = srv.api("PATCH", "/pipelines/" + pid, {"stop": "checkpoint"})
s.check("stopping a stopped pipeline again: 200", st == 200, body)

st, body = srv.api("PATCH", "/pipelines/" + pid, {"stop": "none"})
s.check("start: 200", st == 200 and body["stop"] == "none", body)
wait_state(pid, "Running")
ev = srv.events(out, last_event_id=last_id, max_events=5)
s.check("run 2 resumes after run 1's last row: exactly once",
        counters(ev) == list(range(len(run1), len(run1) + 5)) and
        [int(e["id"]) for e in ev if e.get("event") == "row"][:1] == [last_id + 1],
        (len(run1), ev[:3]))
st, body = srv.api("GET", "/pipelines/%s/jobs" % pid)
s.check("run 2", body["data"][0]["runId"] == 2, body)

# Restart while running: a checkpoint stop, then run 3 from it.
st, body = srv.api("POST", "/pipelines/%s/restart" % pid, {})
s.check("restart: 200", st == 200, body)
s.wait_for("run 3 running", lambda: srv.api("GET", "/pipelines/%s/jobs" % pid)[1]["data"][0]
           ["runId"] == 3 and state_of(pid) == "Running")

# Restart without state: a new generation, the counter starts again at 0.
before = srv.api("GET", "/pipelines/%s/jobs" % pid)[1]["data"][0]
mark = srv.events(out, max_events=1)
st, body = srv.api("POST", "/pipelines/%s/restart" % pid, {"ignoreState": True})
s.check("restart without state: 200", st == 200, body)
s.wait_for("run 4 running", lambda: srv.api("GET", "/pipelines/%s/jobs" % pid)[1]["data"][0]
           ["runId"] == 4 and state_of(pid) == "Running")
after = srv.api("GET", "/pipelines/%s/jobs" % pid)[1]["data"][0]
s.check("a new state generation", after["stateGeneration"] == before["stateGeneration"] + 1,
        (before, after))
ev = srv.events(out, until=lambda e: e.get("event") == "row" and
                json.loads(json.loads(e["data"])["value"])["counter"] == 0, timeout=15)
s.check("without state the counter starts at 0 again", counters(ev)[-1:] == [0], counters(ev)[-5:])

# Restart from a chosen (older) checkpoint of this generation: refused while running, then from
# the oldest one retained after a stop.
s.wait_for("two checkpoints in the new generation", lambda: len(srv.api("GET", ckpts)[1]["data"]) >= 2)
st, body = srv.api("POST", "/pipelines/%s/restart" % pid,
                   {"checkpoint": srv.api("GET", ckpts)[1]["data"][-1]["epoch"]})
s.check("restart from a chosen checkpoint while running: 409", st == 409 and
        "stop the pipeline" in body.get("error", ""), body)
srv.api("PATCH", "/pipelines/" + pid, {"stop": "checkpoint"})
wait_state(pid, "Stopped")
ckpt = srv.api("GET", ckpts)[1]["data"]
s.check("after the stop, the newest checkpoint is the stop's", ckpt and ckpt[-1]["kind"] == "stop",
        ckpt)
chosen = ckpt[0]["epoch"]
st, body = srv.api("POST", "/pipelines/%s/restart" % pid, {"checkpoint": 999999})
s.check("restart from a missing checkpoint: 404 listing the ones there",
        st == 404 and "no checkpoint 999999" in body["error"] and
        str(chosen) in body["error"], body)
st, body = srv.api("POST", "/pipelines/%s/restart" % pid, {"checkpoint": chosen})
s.check("restart from checkpoint %d: 200" % chosen, st == 200, body)
s.wait_for("run 5 running", lambda: srv.api("GET", "/pipelines/%s/jobs" % pid)[1]["data"][0]
           ["runId"] == 5 and state_of(pid) == "Running")
s.wait_for("the log says run 5 resumed from checkpoint %d" % chosen,
           lambda: any("resuming from checkpoint %d " % chosen in m["message"] for m in
                       srv.api("GET", "/pipelines/%s/jobs/%s/errors?level=all" % (pid, job))[1]
                       ["data"]))
epochs = [c["epoch"] for c in srv.api("GET", ckpts)[1]["data"]]
s.check("the checkpoints after %d were removed; new ones continue after %d" %
        (chosen, ckpt[-1]["epoch"]),
        all(e == chosen or e > ckpt[-1]["epoch"] for e in epochs), (chosen, ckpt, epochs))

# An immediate stop.
st, body = srv.api("PATCH", "/pipelines/" + pid, {"stop": "immediate"})
s.check("stop immediate: 200", st == 200, body)
wait_state(pid, "Stopped")

# Edit the stopped pipeline.
st, body = srv.api("PATCH", "/pipelines/" + pid, {"query": bad})
s.check("edit to a bad query: 400 with the position", st == 400 and "line 2" in body["error"],
        body)
st, body = srv.api("PATCH", "/pipelines/" + pid, {"name": "renamed", "parallelism": 2})
s.check("edit name and parallelism", st == 200 and body["name"] == "renamed" and
        body["parallelism"] == 2 and body["graph"]["nodes"][0]["parallelism"] == 2, body)

# An edit that keeps the plan (a comment) keeps the state: the next run resumes.
# (Back at parallelism 1: an impulse source resumes only at its checkpoint's parallelism.)
st, body = srv.api("PATCH", "/pipelines/" + pid, {"query": "-- same plan\n" + IMPULSE,
                                                   "parallelism": 1})
s.check("edit with the same plan: 200", st == 200, body)
n_logs = len(srv.api("GET", "/pipelines/%s/jobs/%s/errors?level=all" % (pid, job))[1]["data"])
st, body = srv.api("PATCH", "/pipelines/" + pid, {"stop": "none"})
s.check("start after an edit with the same plan: 200", st == 200, body)
wait_state(pid, "Running")
s.wait_for("it resumed from a checkpoint",
           lambda: any("resuming from checkpoint" in m["message"] for m in
                       srv.api("GET", "/pipelines/%s/jobs/%s/errors?level=all" % (pid, job))[1]
                       ["data"][:-n_logs]))
srv.api("PATCH", "/pipelines/" + pid, {"stop": "checkpoint"})
wait_state(pid, "Stopped")
# An edit that changes the plan: the old state does not fit; starting says so; without state runs.
changed = IMPULSE.replace("SELECT counter FROM imp", "SELECT counter * 2 AS doubled FROM imp")
st, body = srv.api("PATCH", "/pipelines/" + pid, {"query": changed})
s.check("edit to another plan while stopped: 200", st == 200 and body["query"] == changed, body)
st, body = srv.api("PATCH", "/pipelines/" + pid, {"stop": "none"})
s.check("starting it over the old state: 409 saying why and what to do",
        st == 409 and "query changed since checkpoint" in body.get("error", "") and
        "ignoreState" in body.get("error", ""), body)
st, body = srv.api("POST", "/pipelines/%s/restart" % pid, {})
s.check("restarting it over the old state: 409 too", st == 409, body)
st, body = srv.api("POST", "/pipelines/%s/restart" % pid, {"ignoreState": True})
s.check("restart without state: 200", st == 200, body)
wait_state(pid, "Running")
ev = srv.events(out, until=lambda e: e.get("event") == "row" and
                "doubled" in json.loads(e["data"])["value"], timeout=15)
s.check("the new query's rows arrive", ev and "doubled" in ev[-1].get("data", ""), ev[-2:])
srv.api("PATCH", "/pipelines/" + pid, {"stop": "immediate"})
wait_state(pid, "Stopped")

st, body = srv.api("DELETE", "/pipelines/" + pid)
s.check("delete a stopped pipeline: 200", st == 200, body)
st, body = srv.api("GET", "/pipelines/" + pid)
s.check("deleted: 404", st == 404, body)
st, body = srv.api("GET", ckpts)
s.check("deleted: its checkpoints 404", st == 404, body)

# --- a finite pipeline finishes; a failing one lists its error ---
finite = ("CREATE TABLE imp WITH (connector = 'impulse', message_count = '100', "
          "event_rate = '100000');\nSELECT counter FROM imp;")
st, p = srv.api("POST", "/pipelines", {"name": "finite", "query": finite})
wait_state(p["id"], "Finished")
ev = srv.events("/pipelines/%s/jobs/%s/output" % (p["id"], p["jobId"]), timeout=10)
s.check("a finite pipeline: 100 rows then end",
        counters(ev) == list(range(100)) and ev[-1].get("event") == "end", ev[-2:])
st, body = srv.api("GET", "/pipelines/%s/jobs" % p["id"])
s.check("finished: not desired running, a finish time",
        body["data"][0]["runningDesired"] is False and body["data"][0]["finishTime"], body)

numbers = os.path.join(s.work, "numbers.json")
with open(numbers, "w") as f:
    f.write('{"id": 2}\n{"id": 1}\n{"id": 3}\n')
failing = ("CREATE TABLE src (id BIGINT) WITH (connector = 'single_file', path = '%s', "
           "format = 'json', type = 'source');\nSELECT 10 / (id - 1) AS v FROM src;" % numbers)
st, p = srv.api("POST", "/pipelines", {"name": "failing", "query": failing})
s.check("a pipeline that divides by zero on its second row is accepted", st == 200, p)
if st == 200:
    wait_state(p["id"], "Failed")
    st, body = srv.api("GET", "/pipelines/%s/jobs/%s/errors" % (p["id"], p["jobId"]))
    e = body["data"][0] if st == 200 and body["data"] else {}
    s.check("its error is listed, with its operator and subtask",
            e.get("level") == "error" and e["message"].endswith("division by zero") and
            e["operatorId"] == "single_file source -> watermark -> project -> preview sink" and
            e["taskIndex"] == 0, body)
    st, body = srv.api("GET", "/pipelines/" + p["id"])
    s.check("the pipeline shows the failure", body["state"] == "Failed" and
            "division by zero" in (body["failureReason"] or ""), body)

# Pagination: two pipelines exist now (finite, then failing), newest first.
st, page = srv.api("GET", "/pipelines?limit=1")
s.check("limit 1: the newest pipeline, hasMore", st == 200 and len(page["data"]) == 1 and
        page["data"][0]["name"] == "failing" and page["hasMore"] is True, page)
st, rest = srv.api("GET", "/pipelines?limit=10&starting_after=" + page["data"][0]["id"])
s.check("starting_after: the older one", st == 200 and len(rest["data"]) == 1 and
        rest["data"][0]["name"] == "finite" and rest["hasMore"] is False, rest)

rc = srv.stop()
s.check("SIGINT stops the service with exit 0", rc == 0, srv.log()[-2000:])

# --- `make run`: serve --demo starts the demo pipeline once and prints where to watch it ---
demo_sql = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples",
                        "demo.sql")
demo = s.server(extra_args=extra + ["--demo", demo_sql])
for attempt in (1, 2):
    demo.start()
    st, body = demo.api("GET", "/pipelines")
    demos = [p for p in body.get("data", []) if p["name"] == "demo"]
    s.check("--demo, start %d: one pipeline named demo" % attempt, len(demos) == 1, body)
    if demos:
        s.wait_for("the demo runs", lambda: demo.api("GET", "/pipelines/" + demos[0]["id"])[1]
                   ["state"] == "Running")
        s.check("--demo prints the curl line of its live rows",
                "its live rows: curl -N http://127.0.0.1:%d/api/v1/pipelines/%s/jobs/%s/output" %
                (demo.port, demos[0]["id"], demos[0]["jobId"]) in demo.log(), demo.log()[-1500:])
        ev = demo.events("/pipelines/%s/jobs/%s/output" % (demos[0]["id"], demos[0]["jobId"]),
                         max_events=1, timeout=15)
        s.check("the demo's rows stream", any(e.get("event") == "row" for e in ev), ev)
    s.check("Ctrl-C stops it cleanly (exit 0)", demo.stop() == 0, demo.log()[-1500:])
s.finish()
