#!/usr/bin/env python3
"""Async C++ UDFs end to end (docs/udf.md, "Async functions"), against a real local HTTP service
this test starts: Python's http.server (threaded) on a free loopback port, with slow calls
(/v?x=N&ms=M answers "v<2N>" after M ms), failing calls (/fail: HTTP 500), missing rows
(/missing: 404, which the UDF maps to NULL) and calls that never answer in time (/hang).
The UDF is tests/udf/http_get.cc (libcurl multi on its own thread).

Checks: results in input order (ordered) and as a set (unordered); a failing call and a timeout
fail the pipeline with the function's name; on_timeout = 'null' gives NULL; windows over the
results lose no row (the watermark waits for rows in flight); kill -9 with calls in flight and a
restart from the checkpoint give the uninterrupted run's output exactly.

Usage: async_test.py path/to/sluice
"""
import http.server
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

SLUICE = sys.argv[1]
HERE = os.path.dirname(os.path.abspath(__file__))
work = tempfile.mkdtemp(prefix="sluice-async-")
os.environ.setdefault("SLUICE_UDF_CACHE_DIR", os.path.join(work, "cache"))
failures = []
hits = {"n": 0}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle(self):
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout, a killed run)

    def reply(self, code, body):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        hits["n"] += 1
        url = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(url.query)
        ms = int(q.get("ms", ["0"])[0])
        if url.path == "/v":
            time.sleep(ms / 1000.0)
            self.reply(200, "v%d" % (2 * int(q["x"][0])))
        elif url.path == "/fail":
            self.reply(500, "the service failed")
        elif url.path == "/missing":
            self.reply(404, "")
        elif url.path == "/hang":
            time.sleep(3)
            self.reply(200, "late")
        else:
            self.reply(400, "bad path")


class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 4096  # hundreds of connections open at once


server = Server(("127.0.0.1", 0), Handler)
server.daemon_threads = True
port = server.server_address[1]
threading.Thread(target=server.serve_forever, daemon=True).start()
BASE = "http://127.0.0.1:%d" % port
with open(os.path.join(HERE, "http_get.cc")) as f:
    UDF_SOURCE = f.read()


def check(cond, name, detail=""):
    print(("PASS: " if cond else "FAIL: ") + name + ("" if cond else " -- " + detail))
    if not cond:
        failures.append(name)


def write_input(rows):
    path = os.path.join(work, "in.json")
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    return path


def query(select, options="", extra_columns=""):
    return """
CREATE TABLE t (id BIGINT, path TEXT, ms INT, ts TIMESTAMP{extra},
  WATERMARK FOR ts AS ts) WITH (
  connector = 'single_file', path = '{work}/in.json', format = 'json', type = 'source');
CREATE TABLE out WITH (connector = 'single_file', path = '{work}/out.json', format = 'json',
  type = 'sink');
CREATE ASYNC FUNCTION http_get(url TEXT) RETURNS TEXT {options} LANGUAGE cpp AS $$
{udf}
$$;
INSERT INTO out {select};
""".format(work=work, options=options, udf=UDF_SOURCE, select=select, extra=extra_columns)


URL = "'{}' || path || '?x=' || CAST(id AS TEXT) || '&ms=' || CAST(ms AS TEXT)".format(BASE)


# Ordered results keep the order of each parallel subtask's input (as Flink's orderedWait):
# parallelism 1 keeps the input's order.
PARALLELISM = "1"


def run(sql, *args, timeout=120):
    path = os.path.join(work, "q.sql")
    with open(path, "w") as f:
        f.write(sql)
    out = os.path.join(work, "out.json")
    if os.path.exists(out):
        os.remove(out)
    p = subprocess.run([SLUICE, "run", path, "--set", "batch_size=16", "--parallelism",
                        PARALLELISM, *args],
                       capture_output=True, text=True, timeout=timeout)
    rows = []
    if os.path.exists(out):
        with open(out) as f:
            rows = [json.loads(line) for line in f if line.strip()]
    return p.returncode, rows, p.stderr


def rows_of(n, slow_every=7, slow_ms=120, fast_ms=2, path="/v"):
    base = 1672531200  # 2023-01-01T00:00:00Z
    return [{"id": i, "path": path, "ms": slow_ms if i % slow_every == 0 else fast_ms,
             "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(base + i))}
            for i in range(n)]


try:
    # Ordered (the default): each row's result, in input order, although calls finish out of
    # order (every 7th call is slow).
    write_input(rows_of(300))
    rc, rows, err = run(query("SELECT id, http_get({}) AS v FROM t".format(URL)))
    check(rc == 0, "ordered: the pipeline succeeds", err)
    check([r["id"] for r in rows] == list(range(300)), "ordered: rows in input order",
          str([r["id"] for r in rows][:20]))
    check(all(r["v"] == "v%d" % (2 * r["id"]) for r in rows) and len(rows) == 300,
          "ordered: every row has its own result", str(rows[:3]))

    # Unordered: the same rows and results (in any order).
    rc, rows, err = run(query("SELECT id, http_get({}) AS v FROM t".format(URL),
                              "WITH (ordered = false, max_concurrency = 64)"))
    check(rc == 0, "unordered: the pipeline succeeds", err)
    check(sorted((r["id"], r["v"]) for r in rows) == [(i, "v%d" % (2 * i)) for i in range(300)],
          "unordered: the same results as a set", str(rows[:3]))

    # Windows over the results, ordered and unordered: the watermark (ts, no slack) waits for
    # the rows in flight, so no row is late and every minute has its 60 rows.
    for mode in ("true", "false"):
        rc, rows, err = run(query(
            "SELECT count(*) AS n, count(v) AS nv FROM (SELECT ts, http_get({}) AS v "
            "FROM t) GROUP BY TUMBLE(INTERVAL '1 minute')".format(URL),
            "WITH (ordered = {}, max_concurrency = 32)".format(mode)))
        check(rc == 0, "windows (ordered = %s): the pipeline succeeds" % mode, err)
        check(sorted((r["n"], r["nv"]) for r in rows) == [(60, 60)] * 5,
              "windows (ordered = %s): no row late, 5 windows of 60" % mode, str(rows))

    # 404: the UDF completes with NULL.
    write_input(rows_of(20, path="/missing"))
    rc, rows, err = run(query("SELECT id, http_get({}) AS v FROM t".format(URL)))
    check(rc == 0 and len(rows) == 20 and all(r.get("v") is None for r in rows),
          "a NULL completion is a NULL result", err + str(rows[:3]))

    # A failing call fails the pipeline, naming the function and the service's answer.
    rows = rows_of(20)
    rows[11]["path"] = "/fail"
    write_input(rows)
    rc, _, err = run(query("SELECT id, http_get({}) AS v FROM t".format(URL)))
    check(rc != 0 and "user-defined function http_get() failed: HTTP 500" in err and
          "the service failed" in err, "a failing call fails the pipeline with its message", err)

    # A call that outlives the timeout: an error by default...
    rows = rows_of(20)
    rows[5]["path"] = "/hang"
    write_input(rows)
    rc, _, err = run(query("SELECT id, http_get({}) AS v FROM t".format(URL),
                           "WITH (timeout = '300ms')"))
    check(rc != 0 and "user-defined function http_get() timed out" in err and "300ms" in err,
          "a timeout fails the pipeline (on_timeout = 'error')", err)
    # ... and NULL with on_timeout = 'null'; the late answer is ignored.
    rc, rows, err = run(query("SELECT id, http_get({}) AS v FROM t".format(URL),
                              "WITH (timeout = '300ms', on_timeout = 'null')"))
    check(rc == 0 and [r["id"] for r in rows] == list(range(20)) and rows[5].get("v") is None and
          all(r["v"] == "v%d" % (2 * r["id"]) for r in rows if r["id"] != 5),
          "on_timeout = 'null': NULL for the call that timed out", err + str(rows[:7]))

    # Bad options: one message saying what and how.
    rc, _, err = run(query("SELECT id, http_get({}) AS v FROM t".format(URL),
                           "WITH (max_concurrency = 0)"))
    check(rc != 0 and "max_concurrency of async function http_get() must be a whole number" in err,
          "max_concurrency = 0 is refused", err)
    rc, _, err = run(query("SELECT id, http_get({}) AS v FROM t".format(URL),
                           "WITH (timeout = 'soon')"))
    check(rc != 0 and "timeout of async function http_get() must be a positive duration" in err,
          "a bad timeout is refused", err)
    rc, _, err = run(query("SELECT count(*) AS n FROM t WHERE http_get({}) = 'v2'".format(URL)))
    check(rc != 0 and "can be called only in the select list" in err,
          "an async call in WHERE is refused with the way out", err)

    # Python async functions (async def, on the operator's same paths): an HTTP GET written
    # with asyncio streams against the same service, ordered and unordered, a 404 as NULL, a
    # NULL argument as NULL without a call, a failing call with its line, a wrong result type.
    py_udf = """
import asyncio, urllib.parse
async def py_get(url: str) -> str:
    u = urllib.parse.urlsplit(url)
    reader, writer = await asyncio.open_connection(u.hostname, u.port)
    writer.write(('GET %s?%s HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n' % (u.path, u.query)).encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    head, _, body = data.partition(b'\\r\\n\\r\\n')
    status = int(head.split()[1])
    if status == 404:
        return None
    if status != 200:
        raise RuntimeError('HTTP %d: %s' % (status, body.decode()))
    return body.decode()
"""

    def py_query(select, options=""):
        return query(select, options).replace(
            "CREATE ASYNC FUNCTION http_get(url TEXT) RETURNS TEXT {} LANGUAGE cpp AS $$\n{}\n$$;"
            .format(options, UDF_SOURCE),
            "CREATE ASYNC FUNCTION py_get {} LANGUAGE python AS $$\n{}\n$$;".format(options, py_udf))

    PY_URL = URL
    write_input(rows_of(120, slow_every=7, slow_ms=80, fast_ms=2))
    rc, rows, err = run(py_query("SELECT id, py_get({}) AS v FROM t".format(PY_URL)))
    check(rc == 0 and [r["id"] for r in rows] == list(range(120)) and
          all(r["v"] == "v%d" % (2 * r["id"]) for r in rows),
          "python async def, ordered: every row's result in input order", err + str(rows[:3]))
    rc, rows, err = run(py_query("SELECT id, py_get({}) AS v FROM t".format(PY_URL),
                                 "WITH (ordered = false, max_concurrency = 50)"))
    check(rc == 0 and sorted((r["id"], r["v"]) for r in rows) ==
          [(i, "v%d" % (2 * i)) for i in range(120)],
          "python async def, unordered: the same results as a set", err + str(rows[:3]))
    rows = rows_of(20)
    rows[4]["path"] = "/missing"
    write_input(rows)
    rc, rows, err = run(py_query(
        "SELECT id, py_get(CASE WHEN id = 7 THEN NULL ELSE {} END) AS v FROM t".format(PY_URL)))
    check(rc == 0 and len(rows) == 20 and rows[4].get("v") is None and rows[7].get("v") is None
          and all(r["v"] == "v%d" % (2 * r["id"]) for r in rows if r["id"] not in (4, 7)),
          "python async def: 404 and a NULL argument give NULL", err + str(rows[:8]))
    rows = rows_of(20)
    rows[11]["path"] = "/fail"
    write_input(rows)
    rc, _, err = run(py_query("SELECT id, py_get({}) AS v FROM t".format(PY_URL)))
    check(rc != 0 and "user-defined function py_get() failed: RuntimeError: HTTP 500: the service "
          "failed (line 16 of the body)" in err,
          "python async def: a raising call fails the pipeline with its message and line", err)
    write_input(rows_of(5))
    rc, _, err = run(query("SELECT id, twice(id) AS v FROM t").replace(
        "CREATE ASYNC FUNCTION http_get(url TEXT) RETURNS TEXT  LANGUAGE cpp AS $$\n{}\n$$;"
        .format(UDF_SOURCE),
        "CREATE ASYNC FUNCTION twice LANGUAGE python AS $$\n"
        "async def twice(x: int) -> int:\n    return str(x)\n$$;"))
    check(rc != 0 and "user-defined function twice() failed: returned str, not int (RETURNS "
          "BIGINT)" in err, "python async def: a result of the wrong type fails the pipeline", err)

    # Kill -9 with calls in flight, restart from the checkpoint: the output equals the
    # uninterrupted run's, row for row (no row lost, none twice).
    write_input(rows_of(1500, slow_every=5, slow_ms=60, fast_ms=20))
    sql = query("SELECT id, http_get({}) AS v FROM t".format(URL),
                "WITH (max_concurrency = 100)")
    rc, expected, err = run(sql)
    check(rc == 0 and len(expected) == 1500, "kill/restore: the uninterrupted run", err)
    state = os.path.join(work, "state")
    out = os.path.join(work, "out.json")
    for attempt_set, parallelism in enumerate(("1", "2")):
        shutil.rmtree(state, ignore_errors=True)
        if os.path.exists(out):
            os.remove(out)
        kills = 0
        for attempt in range(12):
            args = [SLUICE, "run", os.path.join(work, "q.sql"), "--set", "batch_size=16",
                    "--state-dir", state, "--checkpoint-interval", "100ms",
                    "--parallelism", parallelism]
            p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if kills < 3:
                # Kill once a checkpoint exists and calls are in flight.
                deadline = time.time() + 60
                while time.time() < deadline and p.poll() is None:
                    if os.path.isdir(state) and any("checkpoint" in f or f.isdigit() or
                                                    f.startswith("chk")
                                                    for f in os.listdir(state)):
                        break
                    time.sleep(0.02)
                time.sleep(random.uniform(0.1, 0.4))
                if p.poll() is None:
                    p.send_signal(signal.SIGKILL)
                    kills += 1
                p.wait()
                continue
            _, err = p.communicate(timeout=120)
            if p.returncode == 0:
                break
        with open(out) as f:
            got = [json.loads(line) for line in f if line.strip()]
        if parallelism != "1":  # rows of two subtasks interleave in any order
            got.sort(key=lambda r: r["id"])
        check(kills > 0 and got == expected,
              "kill/restore at parallelism %s: %d kills, output equals the uninterrupted run's "
              "(%d rows)" % (parallelism, kills, len(got)),
              "got %d rows, first differences: %s" % (len(got), [
                  (a, b) for a, b in zip(got, expected) if a != b][:3]) + err[-2000:])
finally:
    server.shutdown()
    shutil.rmtree(work, ignore_errors=True)

if failures:
    print("%d FAILED: %s" % (len(failures), ", ".join(failures)))
    sys.exit(1)
print("PASS: udf async")
