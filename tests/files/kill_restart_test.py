#!/usr/bin/env python3
"""Kill-and-restart test of the filesystem sink's exactly-once commit (tests/files/README.md).

A finite pipeline (single_file JSON source -> filter/project -> filesystem sink, partitioned by
a column, with checkpoints every 100 ms) is crashed again and again: SIGKILL at random times and
the fault points after_checkpoint, before_metadata and sink_commit (half of an epoch's files
visible). After every crash, every visible file must be complete (DuckDB reads it) and the
visible rows must contain no duplicate and only expected rows; after the last restart the
pipeline finishes and the visible rows must equal, as a multiset, DuckDB's answer to the same
query over the input (the oracle), with no staged file left behind.

With --s3 the sink writes to s3://out/data on an s3proxy server the test starts
(scripts/s3proxy-test-server): files are multipart uploads completed at commit; the visible
objects are read from the server's data directory, and no upload may be left in progress.

Files of the row formats (json, avro) stay open across checkpoints (their valid length, and on
S3 the uploaded parts and the buffered tail, are in each checkpoint; a restore truncates or
resumes them). --span checks that they do: at the end some file must have reached the rolling
size and the files must be far fewer than the checkpoints taken (a sink that finished its files
at every barrier writes at least one file per checkpoint).

Usage: kill_restart_test.py SLUICE FORMAT [CRASHES] [SEED] [--s3] [--span] [--rows=N]
       [--roll=SIZE] [--part-size=SIZE] [--pace=MICROS] [--no-partition] [--wide]
       [--first-crash-rows=N]
(KEEP=1 keeps the work directory, with the pipeline's log.)
"""
import glob
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import duckdb

S3 = "--s3" in sys.argv
SPAN = "--span" in sys.argv
PARTITIONED = "--no-partition" not in sys.argv
WIDE = "--wide" in sys.argv  # names of 100 characters more: rows of ~150 bytes
flags = dict(a[2:].split("=", 1) for a in sys.argv if a.startswith("--") and "=" in a)
args = [a for a in sys.argv if not a.startswith("--")]
SLUICE, FORMAT = args[1], args[2]
CRASHES = int(args[3]) if len(args) > 3 else 20
SEED = int(args[4]) if len(args) > 4 else random.randrange(1 << 30)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROWS = int(flags.get("rows", 200000))
ROLL = flags.get("roll", "64 KB")
PACE = int(flags.get("pace", 20000))  # --span: µs the source waits after each batch
SUFFIX = {"avro": "avro"}.get(FORMAT, FORMAT)
random.seed(SEED)
NAME = f"kill_restart ({FORMAT}{', s3' if S3 else ''})"
print(f"{NAME}: seed {SEED}")

work = tempfile.mkdtemp(prefix="sluice-files-kill-")
failures = []
env_s3 = {}
if S3:
    server = os.path.join(ROOT, "scripts", "s3proxy-test-server")
    subprocess.run([server, "start", f"{work}/s3", "--bucket", "out", "--owner",
                    str(os.getpid())], check=True, stdout=subprocess.DEVNULL)
    for line in open(f"{work}/s3/env"):
        k, _, v = line.strip().partition("=")
        env_s3[k] = v.strip("'\"")
    endpoint = open(f"{work}/s3/endpoint").read().strip()


def check(name, ok, detail=""):
    if not ok:
        failures.append(name)
        print(f"FAIL: {name} {detail}")


with open(f"{work}/in.json", "w") as f:
    for i in range(ROWS):
        name = f"n{i % 5}" + ("x" * 100 if WIDE else "")
        f.write(json.dumps({"id": i, "name": name, "amount": (i * 37) % 1000 / 10.0}) + "\n")

out = f"{work}/s3/data/out/data" if S3 else f"{work}/out"
path = f"s3://out/data?endpoint={endpoint}" if S3 else out
with open(f"{work}/q.sql", "w") as f:
    f.write(f"""
CREATE TABLE src (id BIGINT, name TEXT, amount DOUBLE) WITH (
  connector = 'single_file', path = '{work}/in.json', format = 'json', type = 'source');
CREATE TABLE out WITH (
  connector = 'filesystem', path = '{path}', format = '{FORMAT}', type = 'sink',
  {"'partitioning.fields' = 'name'," if PARTITIONED else ""}
  {f"'multipart.target_part_size' = '{flags['part-size']}'," if 'part-size' in flags else ""}
  'rolling_policy.file_size' = '{ROLL}');
INSERT INTO out SELECT id, upper(name) AS name, amount * 2 AS doubled FROM src WHERE amount > 20;
""")

con = duckdb.connect()
expected = sorted(con.sql(
    f"SELECT id, upper(name), amount * 2 FROM read_json('{work}/in.json', "
    "columns = {id: 'BIGINT', name: 'VARCHAR', amount: 'DOUBLE'}) WHERE amount > 20").fetchall())
expected_set = set(expected)


def visible_files():
    return sorted(glob.glob(f"{out}/**/*.{SUFFIX}", recursive=True))


def visible_rows():
    rows = []
    for path in visible_files():
        try:
            if FORMAT == "avro":  # fastavro checks every block's sync marker
                import fastavro
                with open(path, "rb") as f:
                    rows += [(r["id"], r["name"], r["doubled"]) for r in fastavro.reader(f)]
            elif FORMAT == "parquet":
                rows += con.sql(f"SELECT id, name, doubled FROM read_parquet('{path}', "
                                "hive_partitioning = false)").fetchall()
            else:
                rows += con.sql(f"SELECT id, name, doubled FROM read_json('{path}', columns = "
                                "{id: 'BIGINT', name: 'VARCHAR', doubled: 'DOUBLE'})").fetchall()
        except Exception as e:  # a partial file
            check(f"visible file {path} is complete", False, str(e).splitlines()[0])
    return rows


def run(fault=None, kill_after=None):
    env = dict(os.environ)
    env.update(env_s3)
    # --span paces the source instead of slowing the sink: no backlog delays the barriers, so
    # checkpoints come every 100 ms and each covers few rows.
    faults = [f"pace_sources:{PACE}" if SPAN else "slow:filesystem sink:40000"]
    if fault:
        faults.append(fault)
    env["SLUICE_FAULT"] = ",".join(faults)
    p = subprocess.Popen([SLUICE, "run", f"{work}/q.sql", "--parallelism", "2", "--set",
                          "batch_size=500", "--state-dir", f"{work}/state",
                          "--checkpoint-interval", "100ms"],
                         env=env, stdout=subprocess.DEVNULL, stderr=open(f"{work}/log.txt", "a"))
    try:
        rc = p.wait(timeout=kill_after)
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGKILL)
        rc = p.wait()
    return rc


crashes = 0
finished = False
attempt = 0
while not finished and attempt < CRASHES * 3:
    attempt += 1
    if crashes >= CRASHES:
        rc = run()
    else:
        kind = random.choice(["kill", "after_rows", "after_checkpoint", "before_metadata",
                              "sink_commit"])
        # Checkpoint ids go on across restores: aim past the newest one.
        done = [int(d[4:]) for d in os.listdir(f"{work}/state")] if os.path.isdir(
            f"{work}/state") else []
        n = max([0] + done) + random.randint(1, 2)
        if attempt == 1 and "first-crash-rows" in flags:
            # Far enough that the files hold uploaded parts, so that the restores after it
            # resume uploads with parts (ListParts) and not only tails.
            rc = run(fault=f"after_rows:filesystem sink:{flags['first-crash-rows']}", kill_after=60)
        elif kind == "kill":
            rc = run(kill_after=random.uniform(0.1, 0.4))
        elif kind == "after_rows":  # a crash between checkpoints, rows written and staged
            rc = run(fault=f"after_rows:filesystem sink:{random.randint(500, 6000)}", kill_after=20)
        elif kind == "sink_commit":
            # The first commit from n on that has files to make visible (files span
            # checkpoints: many epochs commit none). With --span a commit may be far off (or be
            # the final one, after which nothing is left to crash): a SIGKILL at a random time
            # within 3 s ends the attempt first then.
            rc = run(fault=",".join(f"sink_commit:{k}" for k in range(n, n + 2000)),
                     kill_after=random.uniform(0.5, 3.0) if SPAN else 20)
        else:
            rc = run(fault=f"{kind}:{n}", kill_after=20)
    if os.environ.get("VERBOSE"):
        print(f"attempt {attempt}: rc {rc}", open(f"{work}/log.txt").read().splitlines()[-1:])
    if rc == 0:
        finished = True
        break
    if rc not in (-signal.SIGKILL, 137):
        check(f"attempt {attempt} exits 0 or is killed", False, f"rc={rc}")
        print(open(f"{work}/log.txt").read()[-2000:])
        break
    crashes += 1
    rows = visible_rows()
    check(f"after crash {crashes}: no duplicate row", len(rows) == len(set(rows)),
          f"{len(rows) - len(set(rows))} duplicates")
    check(f"after crash {crashes}: only expected rows", set(rows) <= expected_set)

check("the pipeline finishes", finished, f"after {attempt} attempts")
check(f"{CRASHES} crashes happened before it finished", crashes >= CRASHES, f"only {crashes}")
rows = sorted(visible_rows())
check("final output equals DuckDB's answer", rows == expected,
      f"{len(rows)} rows, expected {len(expected)}")
if SPAN:
    # Checkpoint ids go on across restores: the newest is how many were taken in all.
    checkpoints = max([0] + [int(d[4:]) for d in os.listdir(f"{work}/state")])
    files = visible_files()
    sizes = [os.path.getsize(p) for p in files]
    roll_bytes = int(ROLL.split()[0]) * {"KB": 1000, "MB": 1000000}[ROLL.split()[1]]
    check("a file reached the rolling size (it spans checkpoints)",
          max(sizes + [0]) >= roll_bytes, f"largest {max(sizes + [0])} bytes < {roll_bytes}")
    check("far fewer files than checkpoints", 3 * len(files) < checkpoints,
          f"{len(files)} files, {checkpoints} checkpoints")
    print(f"{NAME}: {len(files)} files (largest {max(sizes + [0])} bytes) over {checkpoints} "
          "checkpoints")
if S3:  # s3proxy keeps an upload in progress under .mpus-<upload id>-<prefix>
    staged = glob.glob(f"{work}/s3/data/out/.mpus-*")
else:
    staged = glob.glob(f"{out}/**/.*", recursive=True)
check("no staged file left", not staged, str(staged[:3]))
if S3:
    # A bucket that does not exist: one message naming the table's path and the bucket.
    with open(f"{work}/bad.sql", "w") as f:
        f.write(open(f"{work}/q.sql").read().replace("s3://out/", "s3://nobucket/"))
    env = dict(os.environ)
    env.update(env_s3)
    p = subprocess.run([SLUICE, "run", f"{work}/bad.sql"], env=env, capture_output=True, text=True)
    check("a missing bucket: one message naming the path and the bucket",
          p.returncode == 1 and "path 's3://nobucket/data" in p.stderr and
          "bucket 'nobucket' does not exist" in p.stderr, p.stderr)
    subprocess.run([server, "stop", f"{work}/s3"], stdout=subprocess.DEVNULL)
print(f"{NAME}: {crashes} crashes survived, {len(rows)} rows, "
      f"{len(visible_files())} files; "
      f"{'0 failed' if not failures else str(len(failures)) + ' failed'}")
if failures or os.environ.get("KEEP"):
    print(f"work dir kept: {work}")
    sys.exit(1 if failures else 0)
shutil.rmtree(work)
