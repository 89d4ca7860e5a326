"""Throughput of the sse source: a local server (Python's standard library) sends N
pre-rendered JSON events with ids in large writes, so the server costs little; Sluice reads them
into a blackhole and ends at the server's HTTP 204. Prints events/s of wall time and of Sluice's
CPU time (user + system, so a busy machine shows in the first, less in the second).

Usage: sse_source_bench.py path/to/sluice [events]"""

import os
import resource
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "tests", "http"))
import http.server  # noqa: E402

import http_servers as hs  # noqa: E402

sluice = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
body = "".join('id: %d\ndata: {"id": %d, "v": "value %d", "x": %d.5}\n\n' % (i, i, i, i)
               for i in range(1, n + 1)).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        if self.headers.get("Last-Event-ID"):
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        for i in range(0, len(body), 1 << 20):
            self.wfile.write(body[i:i + (1 << 20)])
        self.close_connection = True


srv = hs.start(hs.Threaded(("127.0.0.1", 0), Handler))
work = tempfile.mkdtemp(prefix="sluice-sse-bench-")
q = os.path.join(work, "q.sql")
with open(q, "w") as f:
    f.write("CREATE TABLE t (id BIGINT, v TEXT, x DOUBLE) WITH (connector = 'sse', endpoint = "
            "'http://127.0.0.1:%d/e', format = 'json');\n"
            "CREATE TABLE b WITH (connector = 'blackhole');\nINSERT INTO b SELECT * FROM t;\n"
            % srv.server_address[1])
before = resource.getrusage(resource.RUSAGE_CHILDREN)
start = time.time()
subprocess.run([sluice, "run", q, "--parallelism", "1"], check=True)
wall = time.time() - start
after = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
print("sse source: %d events (%.1f MB) in %.2f s wall: %.0f events/s; Sluice CPU %.2f s: "
      "%.0f events per CPU-second" % (n, len(body) / 1e6, wall, n / wall, cpu, n / cpu))
srv.shutdown()
