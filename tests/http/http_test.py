"""HTTP connectors against real local HTTP and WebSocket servers (tests/http/http_servers.py,
Python's standard library, on loopback ports): sse, websocket and polling_http sources and the
webhook sink. Normal flow, dropped connections and resuming (Last-Event-ID), servers down at
start (a clear error within the timeout), malformed payloads under bad_data, slow and failing
endpoints (retries, bounded concurrency), kill -9 and restore from a checkpoint, and the options
in the service's GET /connectors.

Usage: http_test.py path/to/sluice"""

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "service"))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import http_servers as hs  # noqa: E402
from api_lib import Suite  # noqa: E402
import testlib  # noqa: E402

s = Suite("http")
sluice = s.binary
work = s.work
runner = testlib.Runner(sluice, work, args=("--parallelism", "1"))
write, run = runner.write, runner.run


_runs = itertools.count()


def Running(sql, args=()):
    """A `sluice run` whose stdout rows are collected as they come; stop() sends SIGINT."""
    return testlib.RowsRun(runner.start(f"r{next(_runs)}.sql", sql, args))


def table(connector, options, columns="(id BIGINT, v TEXT)", fmt="json", extra=""):
    fmt_opt = f", format = '{fmt}'" if fmt else ""
    return (f"CREATE TABLE t {columns} WITH (connector = '{connector}', {options}{fmt_opt}"
            f"{extra});\n")


def ev(i):
    return json.dumps({"id": i, "v": "value %d" % i})


# ======================= declarations (errors at CREATE TABLE) =======================
for what, sql, expect in [
    ("sse: typo", table("sse", "endpoint = 'http://x/', event = 'a'"), "did you mean 'events'"),
    ("sse: no endpoint", table("sse", "events = 'a'"), "missing option 'endpoint'"),
    ("sse: ws:// endpoint", table("sse", "endpoint = 'ws://x/'"), "the scheme must be http"),
    ("sse: as a sink", table("sse", "endpoint = 'http://x/', type = 'sink'"), "sink"),
    ("websocket: http endpoint", table("websocket", "endpoint = 'http://x/'"), "ws"),
    ("websocket: bad subscription_messages",
     table("websocket", "endpoint = 'ws://x/', subscription_messages = '{\"a\": 1}'"),
     "JSON array of strings"),
    ("polling_http: bad method", table("polling_http", "endpoint = 'http://x/', method = 'GOT'"),
     "GET, POST, PUT or PATCH"),
    ("polling_http: bad emit_behavior",
     table("polling_http", "endpoint = 'http://x/', emit_behavior = 'some'"), "'all' or 'changed'"),
    ("polling_http: bad poll_interval_ms",
     table("polling_http", "endpoint = 'http://x/', poll_interval_ms = '-5'"), "poll_interval_ms"),
    ("headers without a colon",
     table("sse", "endpoint = 'http://x/', headers = 'Authorization Bearer sekret-token'"),
     "'Name: value'"),
    ("webhook: as a source", table("webhook", "endpoint = 'http://x/', type = 'source'"), "sink"),
]:
    rc, out, err, _ = run(sql + "SELECT * FROM t;\n")
    s.check(f"declaration: {what}", rc != 0 and expect in err and "sekret" not in err, err)

# ======================= sse =======================
N = 300
events = []
for i in range(1, N + 1):
    kind = "update" if i % 3 else "other"
    events.append((kind, ev(i)))
want_update = [json.loads(d) for k, d in events if k == "update"]
want_all = [json.loads(d) for k, d in events]

# Normal flow, every event type, the stream ends with 204: the pipeline finishes by itself.
srv = hs.SseServer(events, require_header=("Authorization", "Bearer sekret-token"))
rc, out, err, _ = run(table("sse", f"endpoint = '{srv.url}', headers = 'Authorization: Bearer "
                                   f"sekret-token,X-Other: 1'") + "SELECT * FROM t;\n")
rows = [json.loads(l) for l in out.splitlines() if l]
s.check("sse: every event in order, headers sent, the pipeline ends at HTTP 204",
        rc == 0 and rows == want_all, f"{rc} {err} {len(rows)}")
srv.stop()

# A wrong header: 401 is a clear error naming the status, without the header's value.
srv = hs.SseServer(events, require_header=("Authorization", "Bearer right"))
rc, out, err, secs = run(table("sse", f"endpoint = '{srv.url}', headers = 'Authorization: "
                                      "Bearer sekret-token'") + "SELECT * FROM t;\n")
s.check("sse: HTTP 401 fails with the status and no header value",
        rc != 0 and "HTTP 401" in err and "sekret" not in err and secs < 30, err)
srv.stop()

# events filter, dropped connections every 25 events: resumed with Last-Event-ID, nothing
# lost or repeated.
srv = hs.SseServer(events, per_connection=25, retry_ms=50)
rc, out, err, _ = run(table("sse", f"endpoint = '{srv.url}', events = 'update'") +
                      "SELECT * FROM t;\n")
rows = [json.loads(l) for l in out.splitlines() if l]
expected_ids = [None] + [str(k) for k in range(25, N + 1, 25)]
s.check("sse: events = 'update' keeps only those, across 12 dropped connections",
        rc == 0 and rows == want_update, f"{rc} {err} {len(rows)} of {len(want_update)}")
s.check("sse: each reconnect sends Last-Event-ID of the last event read (of any type)",
        srv.last_event_ids == expected_ids, srv.last_event_ids)
srv.stop()

# Multi-line data and raw_string.
srv = hs.SseServer([(None, "line one\nline two"), ("message", "single")])
rc, out, err, _ = run(table("sse", f"endpoint = '{srv.url}'", columns="", fmt="raw_string") +
                      "SELECT value FROM t;\n")
rows = [json.loads(l) for l in out.splitlines() if l]
s.check("sse: raw_string, data lines joined with a newline",
        rc == 0 and rows == [{"value": "line one\nline two"}, {"value": "single"}], (rows, err))
srv.stop()

# Malformed payloads: dropped and counted under bad_data = 'drop', an error naming the event
# under the default 'fail'.
bad = [(None, ev(1)), (None, "{not json"), (None, ev(3)), (None, '{"id": "x"}'), (None, ev(5))]
srv = hs.SseServer(bad)
rc, out, err, _ = run(table("sse", f"endpoint = '{srv.url}'", extra=", bad_data = 'drop'") +
                      "SELECT * FROM t;\n")
rows = [json.loads(l) for l in out.splitlines() if l]
s.check("sse: bad_data = 'drop' skips the malformed events",
        rc == 0 and [r["id"] for r in rows] == [1, 3, 5], (rows, err))
rc, out, err, _ = run(table("sse", f"endpoint = '{srv.url}'") + "SELECT * FROM t;\n")
s.check("sse: bad_data = 'fail' (default) fails naming the event",
        rc != 0 and "sse event 2" in err, err)
srv.stop()

# Server down at start: a clear error within connect.timeout, no header value in it.
port = hs.closed_port()
rc, out, err, secs = run(table("sse", f"endpoint = 'http://127.0.0.1:{port}/e', headers = "
                                      "'Authorization: sekret-token', connect.timeout = '2s'") +
                         "SELECT * FROM t;\n", timeout=60)
s.check("sse: server down at start: 'cannot connect' within connect.timeout",
        rc != 0 and "cannot connect to the SSE endpoint" in err and "connect.timeout" in err and
        secs < 15 and "sekret" not in err, f"{secs:.1f} s {err}")

# A hung server (accepts connections, never answers): an error, not a hang.
hung = socket.socket()
hung.bind(("127.0.0.1", 0))
hung.listen(8)
rc, out, err, secs = run(table("sse", f"endpoint = 'http://127.0.0.1:{hung.getsockname()[1]}/e', "
                                      "connect.timeout = '2s'") + "SELECT * FROM t;\n", timeout=60)
s.check("sse: a server that never answers fails within about connect.timeout",
        rc != 0 and "no answer within connect.timeout" in err and secs < 15, f"{secs:.1f} {err}")
hung.close()

# Server up late (within connect.timeout): retried until it answers.
late = {}
late_port = hs.closed_port()


def bring_up():
    time.sleep(1.5)
    late["srv"] = hs.SseServer(events[:20], port=late_port)


threading.Thread(target=bring_up, daemon=True).start()
rc, out, err, secs = run(table("sse", f"endpoint = 'http://127.0.0.1:{late_port}/events', "
                                      "connect.timeout = '20s'") + "SELECT * FROM t;\n")
rows = [json.loads(l) for l in out.splitlines() if l]
s.check("sse: a server that comes up within connect.timeout is waited for",
        rc == 0 and rows == want_all[:20], (rc, err, len(rows)))
if "srv" in late:
    late["srv"].stop()

# kill -9 and restore: the last event id is in the checkpoint; the restored run reconnects with
# it and the exactly-once single_file sink ends with every event once.
srv = hs.SseServer(events, delay=0.01)
out_path = os.path.join(work, "sse_out.json")
state = os.path.join(work, "sse_state")
kill_sql = (table("sse", f"endpoint = '{srv.url}'") +
            f"CREATE TABLE o WITH (connector = 'single_file', path = '{out_path}', "
            "format = 'json', type = 'sink');\nINSERT INTO o SELECT * FROM t;\n")
path = write("kill.sql", kill_sql)
args = [sluice, "run", path, "--parallelism", "1", "--state-dir", state,
        "--checkpoint-interval", "200ms"]
p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
time.sleep(1.5)
p.send_signal(signal.SIGKILL)
p.wait()
first_requests = len(srv.last_event_ids)
p = subprocess.run(args, capture_output=True, text=True, timeout=120)
resumed_from = srv.last_event_ids[first_requests] if len(srv.last_event_ids) > first_requests \
    else None
got = [json.loads(l) for l in open(out_path)] if os.path.exists(out_path) else []
s.check("sse: kill -9 then restore reconnects with the checkpoint's Last-Event-ID",
        resumed_from is not None and 0 < int(resumed_from) < N, srv.last_event_ids)
s.check("sse: kill -9 and restore: every event exactly once in the output",
        p.returncode == 0 and got == want_all, f"{p.stderr} {len(got)}")
srv.stop()

# ======================= polling_http =======================
bodies = [ev(1), ev(1), ev(2), ev(2), ev(2), ev(3)]
srv = hs.PollServer(bodies, expect=("POST", '{"q": 1}', "X-Key", "k1"))
sql = (table("polling_http", f"endpoint = '{srv.url}', method = 'post', body = '{{\"q\": 1}}', "
             "headers = 'X-Key: k1', poll_interval_ms = '20', emit_behavior = 'changed'") +
       "SELECT * FROM t;\n")
r = Running(sql)
r.wait_rows(3)
s.wait_for("polling_http: polled past the changes", lambda: srv.served >= len(bodies) + 10)
r.stop()
s.check("polling_http changed: POST with body and headers, only changed responses",
        [x["id"] for x in r.rows] == [1, 2, 3], (r.rows, r.err))

srv2 = hs.PollServer([ev(7)], fail_every=3)
r = Running(table("polling_http", f"endpoint = '{srv2.url}', poll_interval_ms = '10'") +
            "SELECT * FROM t;\n")
ok = r.wait_rows(20)
r.stop()
s.check("polling_http all: every response, also across 503 answers (retried)",
        ok and all(x["id"] == 7 for x in r.rows) and srv2.requests > len(r.rows), (len(r.rows),
                                                                                    r.err))
srv.stop()
srv2.stop()

srv = hs.PollServer([ev(1), "{broken", ev(2)])
r = Running(table("polling_http", f"endpoint = '{srv.url}', poll_interval_ms = '10', "
                  "emit_behavior = 'changed'", extra=", bad_data = 'drop'") + "SELECT * FROM t;\n")
r.wait_rows(2)
r.stop()
s.check("polling_http: a malformed response is dropped under bad_data = 'drop'",
        [x["id"] for x in r.rows] == [1, 2], (r.rows, r.err))
srv.stop()

port = hs.closed_port()
rc, out, err, secs = run(table("polling_http", f"endpoint = 'http://127.0.0.1:{port}/p', "
                                               "connect.timeout = '2s'") + "SELECT * FROM t;\n",
                         timeout=60)
s.check("polling_http: server down at start: a clear error within connect.timeout",
        rc != 0 and "cannot connect to the polled endpoint" in err and secs < 15,
        f"{secs:.1f} {err}")
srv = hs.PollServer(["x"], expect=("GET", "", "X-Key", "right"))
rc, out, err, secs = run(table("polling_http", f"endpoint = '{srv.url}'") + "SELECT * FROM t;\n",
                         timeout=60)
s.check("polling_http: HTTP 400 fails at once naming the status", rc != 0 and "HTTP 400" in err,
        err)
srv.stop()

# ======================= websocket =======================
msgs = [ev(i) for i in range(1, 201)]
srv = hs.WebsocketServer(msgs, expect_subscriptions=3, per_connection=120)
r = Running(table("websocket", f"endpoint = '{srv.url}', subscription_message = 'hello', "
                  "subscription_messages = '[\"{\\\"subscribe\\\": \\\"a\\\"}\", \"b\"]', "
                  "headers = 'X-Token: t1'") + "SELECT * FROM t;\n")
ok = r.wait_rows(200)
r.stop()
s.check("websocket: every message across a dropped connection (reconnected)",
        ok and [x["id"] for x in r.rows] == list(range(1, 201)), (len(r.rows), r.err))
s.check("websocket: subscription messages sent in order on each connection",
        srv.subscriptions[:2] == [["hello", '{"subscribe": "a"}', "b"]] * 2, srv.subscriptions)
s.check("websocket: the request has the path, query and headers",
        srv.request_headers and srv.request_headers[0][0] == "GET /stream?x=1 HTTP/1.1" and
        srv.request_headers[0][1].get("x-token") == "t1", srv.request_headers[:1])
srv.stop()

srv = hs.WebsocketServer([ev(1), "{oops", ev(3)])
r = Running(table("websocket", f"endpoint = '{srv.url}'", extra=", bad_data = 'drop'") +
            "SELECT * FROM t;\n")
r.wait_rows(2)
r.stop()
s.check("websocket: a malformed message is dropped under bad_data = 'drop'",
        [x["id"] for x in r.rows] == [1, 3], (r.rows, r.err))
srv.stop()

port = hs.closed_port()
rc, out, err, secs = run(table("websocket", f"endpoint = 'ws://127.0.0.1:{port}/', "
                                            "connect.timeout = '2s'") + "SELECT * FROM t;\n",
                         timeout=60)
s.check("websocket: server down at start: a clear error within connect.timeout",
        rc != 0 and "cannot connect to the WebSocket server" in err and secs < 15,
        f"{secs:.1f} {err}")

# wss://: TLS with the server's certificate checked against tls.ca (and its name, localhost).
cert, key = os.path.join(work, "ws.crt"), os.path.join(work, "ws.key")
other_ca = os.path.join(work, "other.crt")
for c, k, cn in [(cert, key, "localhost"), (other_ca, os.path.join(work, "other.key"), "other")]:
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", k,
                    "-out", c, "-days", "1", "-subj", "/CN=" + cn, "-addext",
                    "subjectAltName=DNS:" + cn], check=True, capture_output=True)
srv = hs.WebsocketServer(msgs[:50], tls=(cert, key))
r = Running(table("websocket", f"endpoint = '{srv.url}', tls.ca = '{cert}'") +
            "SELECT * FROM t;\n")
ok = r.wait_rows(50)
r.stop()
s.check("websocket: wss:// with tls.ca reads every message",
        ok and [x["id"] for x in r.rows] == list(range(1, 51)), (len(r.rows), r.err))
rc, out, err, secs = run(table("websocket", f"endpoint = '{srv.url}', tls.ca = '{other_ca}', "
                                            "connect.timeout = '2s'") + "SELECT * FROM t;\n",
                         timeout=60)
s.check("websocket: wss:// with a CA that did not sign the server's certificate is refused",
        rc != 0 and "cannot connect to the WebSocket server" in err and secs < 15,
        f"{secs:.1f} {err}")
srv.stop()

# ======================= webhook =======================
rows_in = [{"id": i, "v": "value %d" % i} for i in range(500)]
src_file = write("rows.json", "\n".join(json.dumps(x) for x in rows_in) + "\n")
src = (f"CREATE TABLE src (id BIGINT, v TEXT) WITH (connector = 'single_file', path = "
       f"'{src_file}', format = 'json', type = 'source');\n")


def hook(options):
    return f"CREATE TABLE out WITH (connector = 'webhook', {options});\n"


srv = hs.WebhookServer(fail_every=7)
rc, out, err, _ = run(src + hook(f"endpoint = '{srv.url}', headers = 'X-Key: k1'") +
                      "INSERT INTO out SELECT * FROM src;\n")
got = [json.loads(b) for b in srv.bodies]
s.check("webhook: one row per POST, every row delivered across 503 answers (retried)",
        rc == 0 and sorted(got, key=lambda x: x["id"]) == rows_in and len(got) == len(rows_in),
        f"{err} {len(got)}")
s.check("webhook: headers and Content-Type: application/json sent",
        srv.headers and srv.headers[0].get("X-Key") == "k1" and
        srv.headers[0].get("Content-Type") == "application/json", srv.headers[:1])
srv.stop()

srv = hs.WebhookServer(delay=0.05)
rc, out, err, secs = run(src + hook(f"endpoint = '{srv.url}', batch.max_rows = '50', "
                                    "max_inflight = '3'") +
                         "INSERT INTO out SELECT * FROM src;\n")
batches = [json.loads(b) for b in srv.bodies]
flat = sorted((x for b in batches for x in b), key=lambda x: x["id"])
s.check("webhook: batch.max_rows = 50 POSTs JSON arrays of up to 50 rows, all delivered",
        rc == 0 and flat == rows_in and all(isinstance(b, list) and len(b) <= 50
                                            for b in batches), f"{err} {len(batches)}")
s.check("webhook: a slow endpoint sees at most max_inflight = 3 requests at once",
        1 <= srv.max_inflight <= 3, srv.max_inflight)
srv.stop()

srv = hs.WebhookServer(status=404)
rc, out, err, secs = run(src + hook(f"endpoint = '{srv.url}'") +
                         "INSERT INTO out SELECT * FROM src;\n")
s.check("webhook: HTTP 404 fails at once naming the status and the endpoint",
        rc != 0 and "HTTP 404" in err and srv.url in err and secs < 30, err)
srv.stop()
srv = hs.WebhookServer(status=500)
rc, out, err, secs = run(src + hook(f"endpoint = '{srv.url}', retry.max_attempts = '3'") +
                         "INSERT INTO out SELECT * FROM src;\n")
s.check("webhook: HTTP 500 on every attempt fails after retry.max_attempts",
        rc != 0 and "failed 3 attempts" in err and srv.attempts >= 3, (err, srv.attempts))
srv.stop()
port = hs.closed_port()
rc, out, err, secs = run(src + hook(f"endpoint = 'http://127.0.0.1:{port}/h', "
                                    "retry.max_attempts = '3', headers = 'X: sekret-token'") +
                         "INSERT INTO out SELECT * FROM src;\n", timeout=60)
s.check("webhook: endpoint down: a clear error after the retries, no header value",
        rc != 0 and "failed 3 attempts" in err and secs < 30 and "sekret" not in err,
        f"{secs:.1f} {err}")

# ======================= GET /connectors =======================
api = s.server()
api.start()
st, body = api.api("GET", "/connectors")
conns = {c["id"]: c for c in body["data"]} if st == 200 else {}
for name, source, sink, opts in [
        ("sse", True, False, {"endpoint", "headers", "events"}),
        ("websocket", True, False, {"endpoint", "headers", "subscription_message",
                                    "subscription_messages"}),
        ("polling_http", True, False, {"endpoint", "method", "body", "headers",
                                       "poll_interval_ms", "emit_behavior"}),
        ("webhook", False, True, {"endpoint", "headers", "max_inflight", "batch.max_rows"})]:
    c = conns.get(name, {})
    props = c.get("tableConfig", {}).get("properties", {})
    s.check(f"GET /connectors lists {name} with its options",
            c.get("source") is source and c.get("sink") is sink and opts <= set(props) and
            c["tableConfig"].get("required") == ["endpoint"] and
            props["headers"].get("writeOnly") is True, c)
api.stop()

s.finish()
