#!/usr/bin/env python3
"""The watermark closing a time partition's file while files span checkpoints
(tests/files/README.md).

A JSON sink partitioned by minute of event time (`partitioning.time_pattern`), with no rolling
policy that could fire during the run (no size, interval and inactivity of an hour), reads rows
whose event times advance 10 ms per row (one minute every 6 000 rows) with checkpoints every
100 ms, and is crashed once 20 000 rows reached the sink (minutes 0-2 whole, minute 3 begun). At that moment the
files of minutes the watermark passed must be visible — only the watermark can have closed them
— and each must hold exactly that minute's rows. The restored run then finishes, and every row
is in its minute's directory exactly once.

Usage: time_partition_test.py SLUICE
"""
import datetime
import glob
import json
import os
import subprocess
import sys
import tempfile
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import testlib  # noqa: E402

SLUICE = sys.argv[1]
ROWS = 30000
BASE = datetime.datetime(2024, 3, 1, 12, 0, 0)
work = tempfile.mkdtemp(prefix="sluice-files-time-")
checks = testlib.Checks("files_time_partition", work=work, quiet=True)
check = checks.check


def minute_of(i):
    return (BASE + datetime.timedelta(milliseconds=10 * i)).strftime("%Y/%m/%d/%H/%M")


with open(f"{work}/in.json", "w") as f:
    for i in range(ROWS):
        ts = BASE + datetime.timedelta(milliseconds=10 * i)
        f.write(json.dumps({"id": i, "ts": ts.strftime("%Y-%m-%d %H:%M:%S.%f")}) + "\n")
with open(f"{work}/q.sql", "w") as f:
    f.write(f"""
CREATE TABLE src (id BIGINT, ts TIMESTAMP, WATERMARK FOR ts AS ts) WITH (
  connector = 'single_file', path = '{work}/in.json', format = 'json', type = 'source');
CREATE TABLE out WITH (connector = 'filesystem', path = '{work}/out', format = 'json',
  type = 'sink', 'partitioning.time_pattern' = '%Y/%m/%d/%H/%M',
  'rolling_policy.interval' = '1 hour', 'rolling_policy.inactivity_interval' = '1 hour');
INSERT INTO out SELECT id FROM src;
""")


def visible():
    """{minute directory: [ids]} of the visible files."""
    out = {}
    for path in glob.glob(f"{work}/out/**/*.json", recursive=True):
        minute = os.path.relpath(os.path.dirname(path), f"{work}/out")
        for line in open(path):
            out.setdefault(minute, []).append(json.loads(line)["id"])
    return out


def run(fault=None):
    env = dict(os.environ)
    if fault:
        env["SLUICE_FAULT"] = fault
    return subprocess.run([SLUICE, "run", f"{work}/q.sql", "--parallelism", "1", "--set",
                           "batch_size=500", "--state-dir", f"{work}/state",
                           "--checkpoint-interval", "100ms"],
                          env=env, capture_output=True, text=True, timeout=300)


p = run("pace_sources:20000,after_rows:filesystem sink:20000")
check("the run is killed after 20 000 rows", p.returncode in (-9, 137),
      f"rc {p.returncode}: {p.stderr[-500:]}")
seen = visible()
check("minutes the watermark passed are visible before the end of the input",
      0 < len(seen) <= 3, str(sorted(seen)))
for minute, ids in seen.items():
    want = [i for i in range(ROWS) if minute_of(i) == minute]
    check(f"{minute} holds its minute's rows, once", sorted(ids) == want,
          f"{len(ids)} rows, expected {len(want)}")
p = run()
check("the restored run finishes", p.returncode == 0, p.stderr[-1000:])
final = visible()
check("five minute directories", sorted(final) == sorted({minute_of(i) for i in range(ROWS)}),
      str(sorted(final)))
for minute, ids in final.items():
    want = [i for i in range(ROWS) if minute_of(i) == minute]
    check(f"at the end {minute} holds its minute's rows, once", sorted(ids) == want,
          f"{len(ids)} rows, expected {len(want)}")
check("no staged file left", not glob.glob(f"{work}/out/**/.*", recursive=True))

checks.finish()
