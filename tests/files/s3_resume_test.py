#!/usr/bin/env python3
"""Restoring the filesystem sink on S3 when an open file's multipart upload is gone
(tests/files/README.md).

A file that stays open across checkpoints is an upload in progress; the checkpoint holds its
parts' ETags and the buffered tail. The test crashes a pipeline right after a checkpoint, then
aborts the uploads in progress behind the pipeline's back (as a bucket lifecycle rule aborting
incomplete uploads would: S3's ListMultipartUploads and AbortMultipartUpload, sent by curl with
its own AWS Signature V4 signing) and restores:
1. The checkpoint holds every byte of the file in its tail (no part sent yet): the restore
   starts the upload again from the tail, the pipeline finishes, and the object holds every row
   exactly once (DuckDB's answer over the input is the oracle); no upload is left in progress.
2. The file had a 5 MiB part uploaded: its bytes are nowhere else, so the restore fails with one
   message naming the object and the upload.

Usage: s3_resume_test.py SLUICE
"""
import glob
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import urllib.parse
import xml.etree.ElementTree as ET

import duckdb
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import testlib  # noqa: E402

SLUICE = sys.argv[1]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
work = tempfile.mkdtemp(prefix="sluice-files-s3-resume-")
server = os.path.join(ROOT, "scripts", "s3proxy-test-server")
checks = testlib.Checks("files_s3_resume", work=work, quiet=True)
check = checks.check


subprocess.run([server, "start", f"{work}/s3", "--bucket", "out", "--owner", str(os.getpid())],
               check=True, stdout=subprocess.DEVNULL)
env = dict(os.environ)
for line in open(f"{work}/s3/env"):
    k, _, v = line.strip().partition("=")
    env[k] = v.strip("'\"")
endpoint = open(f"{work}/s3/endpoint").read().strip()
bucket_dir = f"{work}/s3/data/out"
con = duckdb.connect()


def in_progress():  # s3proxy keeps an upload in progress under .mpus-<upload id>-<key>
    return glob.glob(f"{bucket_dir}/**/.mpus-*", recursive=True)


def run(name, rows, pad, fault):
    """Writes the input, runs until the fault kills the process; returns (sql path, expected)."""
    with open(f"{work}/{name}.json", "w") as f:
        for i in range(rows):
            f.write(json.dumps({"id": i, "name": f"n{i % 5}" + "x" * pad}) + "\n")
    sql = f"{work}/{name}.sql"
    with open(sql, "w") as f:
        f.write(f"""
CREATE TABLE src (id BIGINT, name TEXT) WITH (
  connector = 'single_file', path = '{work}/{name}.json', format = 'json', type = 'source');
CREATE TABLE out WITH (
  connector = 'filesystem', path = 's3://out/{name}?endpoint={endpoint}', format = 'json',
  type = 'sink', 'rolling_policy.file_size' = '1 GB', 'multipart.target_part_size' = '5 MiB');
INSERT INTO out SELECT id, name FROM src;
""")
    e = dict(env)
    e["SLUICE_FAULT"] = f"pace_sources:20000,{fault}"
    p = subprocess.run([SLUICE, "run", sql, "--parallelism", "1", "--set", "batch_size=500",
                        "--state-dir", f"{work}/{name}-state", "--checkpoint-interval", "100ms"],
                       env=e, capture_output=True, text=True, timeout=300)
    check(f"{name}: the fault killed the pipeline", p.returncode in (-9, 137),
          f"rc {p.returncode}: {p.stderr[-500:]}")
    expected = sorted(con.sql(f"SELECT id, name FROM read_json('{work}/{name}.json', columns = "
                              "{id: 'BIGINT', name: 'VARCHAR'})").fetchall())
    return sql, expected


def restore(name, sql):
    return subprocess.run([SLUICE, "run", sql, "--parallelism", "1", "--state-dir",
                           f"{work}/{name}-state", "--checkpoint-interval", "100ms"],
                          env=env, capture_output=True, text=True, timeout=300)


def s3(method, path):
    # s3proxy wants the payload's hash (here of an empty body) and `uploads=` to verify the
    # signature curl computes.
    p = subprocess.run(["curl", "-sS", "-f", "-X", method, "-H",
                        "x-amz-content-sha256: " + hashlib.sha256(b"").hexdigest(), "--aws-sigv4",
                        f"aws:amz:{env['AWS_REGION']}:s3", "--user",
                        f"{env['AWS_ACCESS_KEY_ID']}:{env['AWS_SECRET_ACCESS_KEY']}",
                        f"{endpoint}{path}"], capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError(f"{method} {path}: {p.stderr}")
    return p.stdout


def abort_uploads():
    """Aborts every upload in progress in the bucket; returns how many."""
    root = ET.fromstring(s3("GET", "/out?uploads="))
    ns = {"s3": root.tag[1:root.tag.index("}")]} if root.tag.startswith("{") else {"s3": ""}
    q = "s3:" if ns["s3"] else ""
    n = 0
    for upload in root.findall(f"{q}Upload", ns):
        key = upload.find(f"{q}Key", ns).text
        upload_id = upload.find(f"{q}UploadId", ns).text
        s3("DELETE", f"/out/{urllib.parse.quote(key)}?uploadId={urllib.parse.quote(upload_id)}")
        n += 1
    return n


try:
    # 1. Only a tail: restarted from the checkpoint.
    sql, expected = run("tail", 20000, 0, "after_checkpoint:5")
    check("tail: an upload was in progress at the crash", abort_uploads() > 0)
    p = restore("tail", sql)
    check("tail: the restore finishes", p.returncode == 0, p.stderr[-1000:])
    files = glob.glob(f"{bucket_dir}/tail/*.json")
    rows = []
    for path in files:
        rows += con.sql(f"SELECT id, name FROM read_json('{path}', columns = "
                        "{id: 'BIGINT', name: 'VARCHAR'})").fetchall()
    check("tail: one object", len(files) == 1, str(files))
    check("tail: every row exactly once", sorted(rows) == expected,
          f"{len(rows)} rows, {len(set(rows))} distinct, expected {len(expected)}")
    check("tail: no upload left in progress", not in_progress(), str(in_progress()[:3]))

    # 2. A part uploaded before the checkpoint: its bytes are lost, the restore says so.
    # Rows of ~110 bytes: the 5 MiB part is sent after ~48 000 rows.
    sql, _ = run("parts", 80000, 100, "after_rows:filesystem sink:65000")
    check("parts: an upload was in progress at the crash", abort_uploads() > 0)
    p = restore("parts", sql)
    check("parts: the restore fails with one message naming the object, upload and parts",
          p.returncode == 1 and "cannot resume 's3://out/parts" in p.stderr and
          "is gone, with the 1 part(s) the checkpoint recorded" in p.stderr, p.stderr[-1500:])
    check("parts: the restore leaves no upload in progress behind", not in_progress())
    check("parts: nothing is visible", not glob.glob(f"{bucket_dir}/parts/*.json"))
finally:
    subprocess.run([server, "stop", f"{work}/s3"], stdout=subprocess.DEVNULL)

checks.finish()
