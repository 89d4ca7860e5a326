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
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import windows_vs_duckdb as base  # noqa: E402  (input generator, DuckDB setup)
from harness import (  # noqa: E402,F401  (CONFIGS and apply_changelog: also joins_vs_duckdb.py)
    CONFIGS, REPO, apply_changelog, check, duckdb, duckdb_rows, run_sluice as run_sluice_command)

# CONFIGS (harness.py): p=1, p=4, p=4 with batch_size=1, and that with update_flush_interval
# 1 microsecond, which makes the changelog carry updates.

SOURCE_DDL = (
    "CREATE TABLE t (ts TIMESTAMP, k TEXT, v BIGINT, x DOUBLE) "
    "WITH (connector = 'single_file', path = '{input}', format = 'json', type = 'source');\n"
    "CREATE TABLE out WITH (connector = 'single_file', path = '{output}', "
    "format = 'debezium_json', type = 'sink');\n"
)


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


def run_sluice(sluice: str, workdir: str, q: Query, input_path: str, tag: str, p: int,
               extra: list[str], prefix: str):
    sql_path = os.path.join(workdir, f"{q.name}.{tag}.sql")
    out_path = os.path.join(workdir, f"{q.name}.{tag}.out.json")
    with open(sql_path, "w") as f:
        f.write(SOURCE_DDL.format(input=input_path, output=out_path)
                + prefix + f"INSERT INTO out {q.select};\n")
    run_sluice_command([sluice, "run", sql_path, "--parallelism", str(p)] + extra, out_path)
    return apply_changelog(out_path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sluice", nargs="?", default=os.path.join(REPO, "build/release/sluice"))
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
            expected, exp_cols = duckdb_rows(con, q.select)
            for i, (label_cfg, p, extra, prefix) in enumerate(CONFIGS):
                label = f"{q.name} {label_cfg}"
                try:
                    actual, act_cols, changes = run_sluice(sluice, workdir, q, input_path,
                                                           f"c{i}", p, extra, prefix)
                except RuntimeError as e:
                    print(f"FAIL {label}: {e}")
                    failed += 1
                    continue
                problems = check(expected, exp_cols, actual, act_cols, q.approx)
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
