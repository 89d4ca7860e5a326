#!/usr/bin/env python3
"""Restoring the filesystem sink at a smaller parallelism while its files span checkpoints
(tests/files/README.md).

An Avro sink partitioned into 3 directories runs at parallelism 3 (9 open files) and is crashed
right after a checkpoint; the restore runs at parallelism 1: its one subtask takes over every
open file (old subtask k's go to new subtask k mod 1), goes on appending to one per directory
and finishes the others. fastavro (which checks every block's sync marker) must read every
input row exactly once, no staged file may be left, and the restored run must have started no
file of its own (it appends to the files it reopened).

Usage: rescale_test.py SLUICE
"""
import glob
import json
import os
import subprocess
import sys
import tempfile

import fastavro
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import testlib  # noqa: E402

SLUICE = sys.argv[1]
ROWS = 40000
work = tempfile.mkdtemp(prefix="sluice-files-rescale-")
checks = testlib.Checks("files_rescale", work=work, quiet=True)
check = checks.check


with open(f"{work}/in.json", "w") as f:
    for i in range(ROWS):
        f.write(json.dumps({"id": i, "name": f"n{i % 3}"}) + "\n")
with open(f"{work}/q.sql", "w") as f:
    f.write(f"""
CREATE TABLE src (id BIGINT, name TEXT) WITH (
  connector = 'single_file', path = '{work}/in.json', format = 'json', type = 'source');
CREATE TABLE out WITH (connector = 'filesystem', path = '{work}/out', format = 'avro',
  type = 'sink', 'partitioning.fields' = 'name', 'rolling_policy.file_size' = '10 MB');
INSERT INTO out SELECT id, name FROM src;
""")


def run(parallelism, fault=None):
    env = dict(os.environ)
    if fault:
        env["SLUICE_FAULT"] = fault
    return subprocess.run([SLUICE, "run", f"{work}/q.sql", "--parallelism", str(parallelism),
                           "--set", "batch_size=500", "--state-dir", f"{work}/state",
                           "--checkpoint-interval", "100ms"],
                          env=env, capture_output=True, text=True, timeout=300)


p = run(3, "pace_sources:20000,after_checkpoint:6")
check("the first run is killed after checkpoint 6", p.returncode in (-9, 137),
      f"rc {p.returncode}: {p.stderr[-500:]}")
staged = glob.glob(f"{work}/out/**/.*.inprogress", recursive=True)
check("9 files open at the crash (3 subtasks x 3 directories)", len(staged) == 9, str(staged))
p = run(1)
check("the restore at parallelism 1 finishes", p.returncode == 0, p.stderr[-1000:])
files = sorted(glob.glob(f"{work}/out/**/*.avro", recursive=True))
ids = []
for path in files:
    try:
        with open(path, "rb") as f:
            ids += [r["id"] for r in fastavro.reader(f)]
    except Exception as e:  # a damaged file
        check(f"{path} reads", False, str(e))
check("every row exactly once", sorted(ids) == list(range(ROWS)),
      f"{len(ids)} rows, {len(set(ids))} distinct")
check("the 9 files, no new one", len(files) == 9, str(files))
check("no staged file left", not glob.glob(f"{work}/out/**/.*", recursive=True))

checks.finish()
