#!/usr/bin/env python3
"""Differential test: Sluice's aggregates without a window (updating results) against DuckDB.

Reuses the input generator of windows_vs_duckdb.py, runs each query through `sluice run` in
several configurations (writing a single_file debezium_json sink), applies the changelog to
obtain the final table (c adds `after`; d removes `before`; u removes `before` and adds
`after`; removing a row that is not there is a failure) and compares that table, as a
multiset, with DuckDB's answer to the same query over the whole input.

    build/venv/bin/python tests/differential/updating_vs_duckdb.py [build/release/sluice]
        [--seed N] [--rows N] [--only NAME,...] [--keep]

Prints one line per query and configuration and a final `differential: N passed, M failed`;
exits 1 when anything disagrees (or a query gives no rows on both sides).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import windows_vs_duckdb as base  # noqa: E402  (input generator, DuckDB setup, comparison)

duckdb = base.duckdb

SOURCE_DDL = (
    "CREATE TABLE t (ts TIMESTAMP, k TEXT, v BIGINT, x DOUBLE) "
    "WITH (connector = 'single_file', path = '{input}', format = 'json', type = 'source');\n"
    "CREATE TABLE out WITH (connector = 'single_file', path = '{output}', "
    "format = 'debezium_json', type = 'sink');\n"
)

# (label, --parallelism, extra arguments, statements before the INSERT). Results are flushed
# every update_flush_interval of wall-clock time (default 1 s), so a short run usually writes
# one insert per group; the last configuration flushes after every batch, which makes the
# changelog carry updates.
CONFIGS = [
    ("p=1", 1, [], ""),
    ("p=4", 4, [], ""),
    ("p=4 batch_size=1", 4, ["--set", "batch_size=1"], ""),
    ("p=4 batch_size=1 flush=1us", 4, ["--set", "batch_size=1"],
     "SET update_flush_interval = INTERVAL '1 microsecond';\n"),
]


@dataclass
class Query:
    name: str
    select: str  # the same SELECT over t in Sluice (after INSERT INTO out) and DuckDB
    approx: set[str] = field(default_factory=set)  # float columns compared with a tolerance


QUERIES = [
    Query("group_by_key",
          "SELECT k, count(*) AS n, sum(v) AS total, min(v) AS lo, max(v) AS hi "
          "FROM t GROUP BY k"),
    Query("global",
          "SELECT count(*) AS n, count(DISTINCT k) AS keys, sum(x) AS sx FROM t",
          {"sx"}),
    Query("having",
          "SELECT k, avg(x) AS mean FROM t GROUP BY k HAVING count(*) > 100",
          {"mean"}),
    Query("filter",
          "SELECT k, count(*) FILTER (WHERE v > 50) AS big FROM t GROUP BY k"),
]


def apply_changelog(path: str):
    """Returns (final rows, column names of the first after/before image) or raises
    RuntimeError when the changelog is malformed or removes a row that is not there."""
    table: Counter[str] = Counter()  # canonical JSON of a row -> multiplicity
    columns = None
    ops: Counter[str] = Counter()
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path} line {n}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise RuntimeError(f"{where}: invalid JSON ({e}): {line.strip()}")
            if not isinstance(obj, dict) or set(obj) != {"before", "after", "op"}:
                raise RuntimeError(f"{where}: not a Debezium change: {line.strip()}")
            op, before, after = obj["op"], obj["before"], obj["after"]
            want = {"c": (False, True), "d": (True, False), "u": (True, True)}.get(op)
            if want is None:
                raise RuntimeError(f"{where}: unknown op {op!r}")
            if (before is not None, after is not None) != want:
                raise RuntimeError(f"{where}: op {op!r} with before={before!r}, after={after!r}")
            for image in (before, after):
                if image is None:
                    continue
                if not isinstance(image, dict):
                    raise RuntimeError(f"{where}: row image is not an object: {image!r}")
                if columns is None:
                    columns = list(image)
                elif list(image) != columns:
                    raise RuntimeError(f"{where}: columns {list(image)}, expected {columns}")
            if before is not None:
                key = json.dumps(before, sort_keys=True)
                if table[key] <= 0:
                    raise RuntimeError(f"{where}: op {op!r} removes a row that is not in the "
                                       f"table: {key}")
                table[key] -= 1
                if table[key] == 0:
                    del table[key]
            if after is not None:
                table[json.dumps(after, sort_keys=True)] += 1
            ops[op] += 1
    rows = [json.loads(key) for key in table.elements()]
    changes = ", ".join(f"{ops[o]} {o}" for o in "cud")
    return rows, columns, changes


def run_sluice(sluice: str, workdir: str, q: Query, input_path: str, tag: str, p: int,
               extra: list[str], prefix: str):
    sql_path = os.path.join(workdir, f"{q.name}.{tag}.sql")
    out_path = os.path.join(workdir, f"{q.name}.{tag}.out.json")
    with open(sql_path, "w") as f:
        f.write(SOURCE_DDL.format(input=input_path, output=out_path)
                + prefix + f"INSERT INTO out {q.select};\n")
    cmd = [sluice, "run", sql_path, "--parallelism", str(p)] + extra
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"sluice timed out after 300 s ({' '.join(cmd)})")
    if proc.returncode != 0:
        raise RuntimeError(f"sluice exited {proc.returncode} ({' '.join(cmd)}):\n"
                           + proc.stderr.strip())
    if not os.path.exists(out_path):
        raise RuntimeError(f"sluice wrote no output file ({' '.join(cmd)})")
    return apply_changelog(out_path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sluice", nargs="?", default=os.path.join(base.REPO, "build/release/sluice"))
    ap.add_argument("--seed", type=int, default=20240517)
    ap.add_argument("--rows", type=int, default=4000)
    ap.add_argument("--only", default="", help="comma-separated query names")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()

    sluice = os.path.abspath(args.sluice)
    if not os.access(sluice, os.X_OK):
        print(f"updating_vs_duckdb.py: {sluice} is not an executable", file=sys.stderr)
        return 2
    only = {s for s in args.only.split(",") if s}
    unknown = only - {q.name for q in QUERIES}
    if unknown:
        print(f"updating_vs_duckdb.py: unknown queries {sorted(unknown)}", file=sys.stderr)
        return 2
    queries = [q for q in QUERIES if not only or q.name in only]

    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="sluice-differential-updating-")
    try:
        rows = base.generate_rows(args.seed, args.rows)
        input_path = os.path.join(workdir, "input.json")
        base.write_rows(rows, input_path)

        con = duckdb.connect()
        con.execute("SET threads = 2")
        con.execute(base.DUCKDB_SETUP.format(input=input_path))
        n, sv, nk = con.execute("SELECT count(*), sum(v), count(DISTINCT k) FROM t").fetchone()
        want = (len(rows), sum(r["v"] for r in rows if r["v"] is not None),
                len({r["k"] for r in rows}))
        if (n, sv, nk) != want:
            print(f"duckdb read the input wrongly: {(n, sv, nk)} != {want}", file=sys.stderr)
            return 2
        print(f"input: {len(rows)} rows, seed {args.seed}, duckdb {duckdb.__version__}, "
              f"{input_path if args.keep else 'temporary'}")

        passed = failed = 0
        for q in queries:
            cur = con.execute(q.select)
            exp_cols = [d[0] for d in cur.description]
            expected = [dict(zip(exp_cols, r)) for r in cur.fetchall()]
            for i, (label_cfg, p, extra, prefix) in enumerate(CONFIGS):
                label = f"{q.name} {label_cfg}"
                try:
                    actual, act_cols, changes = run_sluice(sluice, workdir, q, input_path,
                                                           f"c{i}", p, extra, prefix)
                except RuntimeError as e:
                    print(f"FAIL {label}: {e}")
                    failed += 1
                    continue
                problems = []
                if not expected and not actual:
                    problems.append("  no rows on either side (the query tests nothing)")
                if act_cols is not None and act_cols != exp_cols:
                    problems.append(f"  sluice columns {act_cols}, duckdb columns {exp_cols}")
                else:
                    problems += base.compare(exp_cols, q.approx, expected, actual)
                if problems:
                    print(f"FAIL {label}: duckdb {len(expected)} rows, sluice {len(actual)} "
                          f"rows from changes ({changes})")
                    print("\n".join(problems))
                    failed += 1
                else:
                    print(f"ok  {label} ({len(actual)} rows; changes {changes})")
                    passed += 1
        print(f"time: {time.monotonic() - started:.1f} s")
        print(f"differential: {passed} passed, {failed} failed")
        return 0 if failed == 0 else 1
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
