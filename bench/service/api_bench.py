"""Benchmark of the service's API and live-output path (docs/performance.md, "Service").

Starts `sluice serve` on a free port and measures:
  1. its idle resident memory (VmRSS) with no pipeline;
  2. GET /api/v1/pipelines latency (p50/p99 over --requests sequential requests, 20 pipelines
     stored) with no stream open, then while 16 clients read the live output of a pipeline
     producing --rate rows a second;
  3. the service's CPU per second (utime + stime of the process) for that pipeline with its rows
     going to a blackhole sink, to the preview ring with no reader, with 1 reader, and with 16
     readers.

Usage: api_bench.py path/to/sluice [--rate 20000] [--seconds 5] [--requests 500]"""

import argparse
import http.client
import json
import os
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests",
                                "service"))
from api_lib import Suite  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("sluice")
parser.add_argument("--rate", type=int, default=20000)
parser.add_argument("--seconds", type=float, default=5)
parser.add_argument("--requests", type=int, default=500)
args = parser.parse_args()
sys.argv = [sys.argv[0], args.sluice]

s = Suite("service_bench")
srv = s.server(extra_args=["--job-threads", "2"])
srv.start()
pid = srv.proc.pid
tick = os.sysconf("SC_CLK_TCK")


def rss_mb():
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return 0.0


def cpu_seconds():
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick


def latencies(n):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    out = []
    for _ in range(n):
        a = time.perf_counter()
        conn.request("GET", "/api/v1/pipelines")
        r = conn.getresponse()
        r.read()
        out.append((time.perf_counter() - a) * 1000)
    conn.close()
    out.sort()
    return statistics.median(out), out[int(len(out) * 0.99) - 1]


time.sleep(1)
results = {"idle_rss_mb": round(rss_mb(), 1)}

# 20 stored, stopped pipelines for the list.
for i in range(20):
    st, p = srv.api("POST", "/pipelines", {"name": "p%d" % i, "query":
                                           "CREATE TABLE imp WITH (connector = 'impulse', "
                                           "event_rate = '1');\nSELECT counter FROM imp;"})
    srv.api("PATCH", "/pipelines/" + p["id"], {"stop": "immediate"})
time.sleep(1)
results["list_p50_ms_idle"], results["list_p99_ms_idle"] = [round(x, 2) for x in
                                                            latencies(args.requests)]


def run_pipeline(sink):
    q = "CREATE TABLE imp WITH (connector = 'impulse', event_rate = '%d');\n" % args.rate
    if sink == "blackhole":
        q += ("CREATE TABLE out WITH (connector = 'blackhole');\n"
              "INSERT INTO out SELECT counter, counter % 7 AS k FROM imp;")
    else:
        q += "SELECT counter, counter % 7 AS k FROM imp;"
    st, p = srv.api("POST", "/pipelines", {"name": sink, "query": q})
    assert st == 200, p
    time.sleep(1.5)
    return p


def stop(p):
    srv.api("PATCH", "/pipelines/" + p["id"], {"stop": "immediate"})
    time.sleep(0.5)


def reader(p, stop_flag, counts, i):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    conn.request("GET", "/api/v1/pipelines/%s/jobs/%s/output" % (p["id"], p["jobId"]))
    r = conn.getresponse()
    n = 0
    while not stop_flag.is_set():
        chunk = r.read1(1 << 16)  # whole chunks: the client must not be the bottleneck
        if not chunk:
            break
        n += chunk.count(b"event: row")
        if b"event: lagged" in chunk:
            lagged[i] = True
            break
    counts[i] = n
    conn.close()


lagged = {}


def measure(p, readers, with_latency=False):
    stop_flag = threading.Event()
    counts = [0] * readers
    threads = [threading.Thread(target=reader, args=(p, stop_flag, counts, i), daemon=True)
               for i in range(readers)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    c0, t0 = cpu_seconds(), time.time()
    lat = latencies(args.requests) if with_latency else None
    remaining = args.seconds - (time.time() - t0)
    if remaining > 0:
        time.sleep(remaining)
    cpu = (cpu_seconds() - c0) / (time.time() - t0)
    stop_flag.set()
    for t in threads:
        t.join(5)
    return cpu, lat, counts


p = run_pipeline("blackhole")
results["cpu_per_s_blackhole"] = round(measure(p, 0)[0], 3)
stop(p)
p = run_pipeline("preview")
results["cpu_per_s_preview_0_readers"] = round(measure(p, 0)[0], 3)
cpu, _, counts = measure(p, 1)
results["cpu_per_s_preview_1_reader"] = round(cpu, 3)
cpu, lat, counts = measure(p, 16, with_latency=True)
results["cpu_per_s_preview_16_readers"] = round(cpu, 3)
results["list_p50_ms_16_streams"], results["list_p99_ms_16_streams"] = [round(x, 2) for x in lat]
results["rows_per_reader_16_min"] = min(counts)
results["readers_lagged"] = len(lagged)
stop(p)
results["rate_rows_per_s"] = args.rate
results["busy_rss_mb"] = round(rss_mb(), 1)
srv.stop()
print(json.dumps(results, indent=2))
s.finish()
