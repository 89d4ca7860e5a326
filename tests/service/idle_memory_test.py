"""The service's idle memory and the Arrow plugin loaded on demand (formats/parquet/arrow_plugin.h):
`sluice serve` with no pipeline stays under 50 MB resident (issue 13) with none of Arrow's
libraries mapped; the first query that touches Parquet loads the plugin into the running service;
a binary that cannot find the plugin runs queries without Parquet and refuses Parquet ones with a
message naming the plugin and where it looked.

Under AddressSanitizer (the sanitizer build) resident memory is dominated by shadow memory, so
the 50 MB bound is checked in the release build only; the mapping checks run in both.

Usage: idle_memory_test.py path/to/sluice"""

import os
import subprocess
import time

from api_lib import Suite

s = Suite("service_idle_memory")
sanitized = b"libasan" in subprocess.run(["ldd", s.binary], capture_output=True).stdout

srv = s.server(extra_args=["--job-threads", "2"])
srv.start()


def status_kb(pid, field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return None


def mapped(pid):
    """The file names mapped into the process."""
    names = set()
    for line in open(f"/proc/{pid}/maps"):
        parts = line.split()
        if len(parts) >= 6:
            names.add(os.path.basename(parts[5]))
    return names


def arrow_files(names):
    return sorted(n for n in names if n.startswith(("libarrow", "libparquet", "libsluice_arrow")))


pid = srv.proc.pid
# Idle: the API answered (start() waited for /ping); a few requests, then a quiet second.
for _ in range(5):
    srv.api("GET", "/pipelines")
time.sleep(1)
rss_mb = status_kb(pid, "VmRSS") / 1024
print(f"idle VmRSS {rss_mb:.1f} MB{' (sanitizer build: bound not checked)' if sanitized else ''}")
if not sanitized:
    s.check("idle sluice serve is under 50 MB resident", rss_mb < 50, f"{rss_mb:.1f} MB")
s.check("idle sluice serve maps none of Arrow's libraries", arrow_files(mapped(pid)) == [],
        arrow_files(mapped(pid)))

# The first Parquet query loads the plugin (planning checks the table's columns have Parquet
# types).
parquet_dir = os.path.join(s.work, "pq")
os.makedirs(parquet_dir)
query = (f"CREATE TABLE old_bids (auction BIGINT, price BIGINT, channel TEXT) WITH ("
         f"connector = 'filesystem', type = 'source', format = 'parquet', "
         f"path = '{parquet_dir}');\nSELECT auction, price FROM old_bids;")
st, body = srv.api("POST", "/pipelines/validate_query", {"query": query})
s.check("a Parquet query validates in the service", st == 200 and not body.get("errors"),
        (st, body))
after = arrow_files(mapped(pid))
s.check("after it, the Arrow plugin and Arrow are mapped",
        "libsluice_arrow.so" in after and any(n.startswith("libarrow.so") for n in after), after)
srv.stop()

# A binary without its plugin: queries without Parquet run, Parquet ones get a clear error.
missing = os.path.join(s.work, "nowhere", "libsluice_arrow.so")
env = dict(os.environ, SLUICE_ARROW_PLUGIN=missing)
plain = os.path.join(s.work, "plain.sql")
with open(plain, "w") as f:
    f.write("CREATE TABLE imp WITH (connector = 'impulse', event_rate = '1000', "
            "message_count = '2');\nSELECT counter + 1 AS y FROM imp;\n")
p = subprocess.run([s.binary, "run", plain], env=env, capture_output=True, text=True, timeout=60)
s.check("without the plugin, a query without Parquet runs", p.returncode == 0 and
        sorted(p.stdout.split()) == ['{"y":1}', '{"y":2}'], (p.returncode, p.stdout, p.stderr))
pq = os.path.join(s.work, "pq.sql")
with open(pq, "w") as f:
    f.write(query + "\n")
p = subprocess.run([s.binary, "run", pq], env=env, capture_output=True, text=True, timeout=60)
s.check("without the plugin, a Parquet query fails naming the plugin and where it looked",
        p.returncode != 0 and "need Sluice's Arrow plugin (libsluice_arrow.so)" in p.stderr and
        f"{missing}: no such file" in p.stderr and "SLUICE_ARROW_PLUGIN" in p.stderr,
        (p.returncode, p.stderr))
s.finish()
