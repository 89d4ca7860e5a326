"""Live output over Server-Sent Events: the preview route, 16 concurrent clients each reading the
rows without gaps or duplicates, Last-Event-ID resume under load, heartbeats on a quiet stream,
and a slow client (a tiny receive window that stops reading) told it lagged and dropped while
the pipeline keeps its pace and the API keeps answering.

Usage: sse_test.py path/to/sluice"""

import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_lib import Suite  # noqa: E402

s = Suite("service_sse")
srv = s.server()
srv.start()


def query(rate, where=""):
    return ("CREATE TABLE imp WITH (connector = 'impulse', event_rate = '%d');\n"
            "SELECT counter FROM imp%s;" % (rate, where))


def counters(events):
    return [json.loads(json.loads(e["data"])["value"])["counter"]
            for e in events if e.get("event") == "row"]


def source_rows(pid, job):
    st, body = srv.api("GET", "/pipelines/%s/jobs/%s/operator_metric_groups" % (pid, job))
    for g in body.get("data", []):
        if g["operator"] == "impulse source":
            return sum(x["rowsOut"] for x in g["subtasks"])
    return 0


# --- the preview route ---
st, p = srv.api("POST", "/pipelines/preview", {"query": query(5000)})
s.check("preview: 200, a preview pipeline", st == 200 and p["preview"] is True and
        p["name"] == "preview", p)
pid, job = p["id"], p["jobId"]
out = "/pipelines/%s/jobs/%s/output" % (pid, job)
ev = srv.events(out, max_events=50)
s.check("preview: rows arrive", counters(ev)[:50] == list(range(50)), counters(ev)[:10])

# A preview of a query that writes to a file: its rows show, named after the sink table, and the
# file is never written.
target = os.path.join(s.work, "never_written.json")
st, pv = srv.api("POST", "/pipelines/preview", {"query": (
    "CREATE TABLE imp WITH (connector = 'impulse', event_rate = '1000');\n"
    "CREATE TABLE out WITH (connector = 'single_file', path = '%s', format = 'json', "
    "type = 'sink');\nINSERT INTO out SELECT counter * 10 AS tens FROM imp;" % target)})
s.check("preview of an INSERT: 200, its graph ends in a preview sink",
        st == 200 and pv["graph"]["nodes"][-1]["operator"].endswith("preview sink"), pv)
if st == 200:
    ev = srv.events("/pipelines/%s/jobs/%s/output" % (pv["id"], pv["jobId"]), max_events=5)
    rows = [json.loads(e["data"]) for e in ev if e.get("event") == "row"]
    s.check("preview of an INSERT: the rows it would write, named after the sink table",
            [json.loads(r["value"])["tens"] for r in rows] == [0, 10, 20, 30, 40] and
            all(r["operatorId"] == "out" for r in rows), rows)
    srv.api("PATCH", "/pipelines/" + pv["id"], {"stop": "immediate"})
    s.check("preview of an INSERT: the sink's file was never written",
            not os.path.exists(target), target)

# --- 16 concurrent clients, each from a different point ---
results = {}


def client(i):
    try:
        start = i * 37
        ev = srv.events(out, last_event_id=start, max_events=400, timeout=60)
        results[i] = (start, ev)
    except Exception as e:  # noqa: BLE001 (reported as a failed check)
        results[i] = (None, repr(e))


threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
t0 = time.time()
for t in threads:
    t.start()
# The API answers while 16 streams are open.
latencies = []
for _ in range(20):
    a = time.time()
    st, _ = srv.api("GET", "/pipelines")
    latencies.append(time.time() - a)
for t in threads:
    t.join()
s.check("16 clients: every one finished", len(results) == 16 and
        all(r[0] is not None for r in results.values()), results)
for i, (start, ev) in sorted(results.items()):
    if start is None:
        continue
    rows = [e for e in ev if e.get("event") == "row"]
    ids = [int(e["id"]) for e in rows]
    s.check("client %d: 400 rows with ids %d.. without gaps" % (i, start + 1),
            ids == list(range(start + 1, start + 401)), ids[:5])
    s.check("client %d: counters match ids (no duplicate, no loss)" % i,
            counters(rows) == [x - 1 for x in ids], counters(rows)[:5])
s.check("GET /pipelines answered while 16 streams were open (max %.1f ms)" %
        (max(latencies) * 1000), max(latencies) < 2.0, latencies)

# --- heartbeats on a quiet stream ---
st, quiet = srv.api("POST", "/pipelines", {"name": "quiet", "query": query(100, " WHERE counter < 0")})
ev = srv.events("/pipelines/%s/jobs/%s/output" % (quiet["id"], quiet["jobId"]),
                timeout=1.5)
beats = [e for e in ev if e.get("comment") == "heartbeat"]
s.check("a quiet stream gets heartbeats (every 300 ms here)", len(beats) >= 2, ev)

# --- a slow client: lagged and dropped; the pipeline does not wait ---
st, fast = srv.api("POST", "/pipelines", {"name": "fast", "query": query(20000)})
fpid, fjob = fast["id"], fast["jobId"]
s.wait_for("the fast pipeline runs", lambda: source_rows(fpid, fjob) > 1000)
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
sock.connect(("127.0.0.1", srv.port))
sock.sendall(("GET /api/v1/pipelines/%s/jobs/%s/output HTTP/1.1\r\nHost: x\r\n"
              "Last-Event-ID: %d\r\n\r\n" % (fpid, fjob, 1)).encode())
first = sock.recv(256)
s.check("the slow client's stream opened", first.startswith(b"HTTP/1.1 200"), first)
before = source_rows(fpid, fjob)
time.sleep(3)  # not reading: 60k rows at 20k/s, far more than the 16384-row ring
during = source_rows(fpid, fjob) - before
s.check("the pipeline kept its pace while the client did not read (%d rows in 3 s)" % during,
        during > 30000, during)
a = time.time()
st, _ = srv.api("GET", "/pipelines/" + fpid)
s.check("the API answers meanwhile", st == 200 and time.time() - a < 2.0)
sock.settimeout(30)
data = b""
while True:
    try:
        chunk = sock.recv(65536)
    except socket.timeout:
        break
    if not chunk:
        break
    data += chunk
sock.close()
s.check("the slow client is told it lagged, then the stream closes",
        b"event: lagged" in data and data.rstrip().endswith(b"}"), data[-300:])
# A reconnect without Last-Event-ID starts at the oldest row held and reads on.
ev = srv.events("/pipelines/%s/jobs/%s/output" % (fpid, fjob), max_events=100)
ids = [int(e["id"]) for e in ev if e.get("event") == "row"]
s.check("a reconnect reads on without gaps", len(ids) == 100 and
        ids == list(range(ids[0], ids[0] + 100)), ids[:3])

for p in (pid, quiet["id"], fpid):
    srv.api("PATCH", "/pipelines/" + p, {"stop": "immediate"})
rc = srv.stop()
s.check("SIGINT: exit 0", rc == 0, srv.log()[-1000:])
s.finish()
