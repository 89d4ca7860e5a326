#!/usr/bin/env python3
"""Differential test: Sluice's window functions over rows (LAG, LEAD, FIRST_VALUE, LAST_VALUE,
count/sum/avg/min/max OVER (PARTITION BY k ORDER BY ts ROWS|RANGE ...)) against DuckDB.

Uses windows_vs_duckdb.py's generated input (out of order within the watermark delay, NULLs,
rare keys, equal times). Queries whose answer depends on the order of rows with equal times
(ROWS frames, LAG/LEAD, FIRST_VALUE/LAST_VALUE) read a copy of it whose times are made unique
(moved by a few microseconds); RANGE frames and the default frame read the input as
generated, equal times being peers. Each query runs through `sluice run` at parallelism 1
and 4, and 4 with batch_size=1, and as the same window query in DuckDB; the results are
compared as multisets (floats with a relative tolerance).

    build/venv/bin/python tests/differential/over_vs_duckdb.py [build/release/sluice]
        [--seed N] [--rows N] [--only NAME,...] [--keep]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import REPO, compare_runs, duckdb, duckdb_rows, read_json_lines  # noqa: E402
from harness import run_sluice as run_sluice_command  # noqa: E402
from windows_vs_duckdb import (  # noqa: E402
    DUCKDB_SETUP, MIN, SEC, SOURCE_DDL, generate_rows, write_rows)


@dataclass
class Query:
    name: str
    sluice: str  # statements after the two CREATE TABLEs; reads t, writes out
    duckdb: str  # a SELECT over t (id, ts, k, v, x, us) with the same output column names
    approx: set[str] = field(default_factory=set)  # float columns compared with a tolerance
    unique: bool = True  # reads the input with unique event times


W = "PARTITION BY k ORDER BY ts"

QUERIES = [
    Query(
        "lag_lead",
        f"""INSERT INTO out SELECT id, k, v,
  lag(v) OVER ({W}) AS a, lead(v) OVER ({W}) AS b, lag(x, 3, -1.5) OVER ({W}) AS c,
  lead(v, 2, 0) OVER ({W}) AS d, lag(k, 0) OVER ({W}) AS e,
  x - lag(x) OVER ({W}) AS dx
FROM t;""",
        f"""SELECT id, k, v,
  lag(v) OVER ({W}) AS a, lead(v) OVER ({W}) AS b, lag(x, 3, -1.5) OVER ({W}) AS c,
  lead(v, 2, 0) OVER ({W}) AS d, lag(k, 0) OVER ({W}) AS e,
  x - lag(x) OVER ({W}) AS dx
FROM t""",
        {"dx"},
    ),
    Query(
        "rows_sliding",
        f"""INSERT INTO out SELECT id,
  avg(x) OVER ({W} ROWS BETWEEN 10 PRECEDING AND CURRENT ROW) AS a10,
  sum(v) OVER ({W} ROWS BETWEEN 3 PRECEDING AND 1 PRECEDING) AS s31,
  min(v) OVER ({W} ROWS BETWEEN 5 PRECEDING AND CURRENT ROW) AS mn5,
  max(x) OVER ({W} ROWS BETWEEN 2 PRECEDING AND 2 FOLLOWING) AS mx22,
  count(v) OVER ({W} ROWS BETWEEN 1 FOLLOWING AND 3 FOLLOWING) AS c13,
  count(*) OVER ({W} ROWS 7 PRECEDING) AS n7,
  first_value(v) OVER ({W} ROWS 4 PRECEDING) AS f4,
  last_value(x) OVER ({W} ROWS BETWEEN 3 PRECEDING AND 1 FOLLOWING) AS l31,
  sum(x) OVER ({W} ROWS BETWEEN CURRENT ROW AND 2 FOLLOWING) AS sx02
FROM t;""",
        f"""SELECT id,
  avg(x) OVER ({W} ROWS BETWEEN 10 PRECEDING AND CURRENT ROW) AS a10,
  sum(v) OVER ({W} ROWS BETWEEN 3 PRECEDING AND 1 PRECEDING) AS s31,
  min(v) OVER ({W} ROWS BETWEEN 5 PRECEDING AND CURRENT ROW) AS mn5,
  max(x) OVER ({W} ROWS BETWEEN 2 PRECEDING AND 2 FOLLOWING) AS mx22,
  count(v) OVER ({W} ROWS BETWEEN 1 FOLLOWING AND 3 FOLLOWING) AS c13,
  count(*) OVER ({W} ROWS 7 PRECEDING) AS n7,
  first_value(v) OVER ({W} ROWS 4 PRECEDING) AS f4,
  last_value(x) OVER ({W} ROWS BETWEEN 3 PRECEDING AND 1 FOLLOWING) AS l31,
  sum(x) OVER ({W} ROWS BETWEEN CURRENT ROW AND 2 FOLLOWING) AS sx02
FROM t""",
        {"a10", "sx02"},
    ),
    Query(
        "rows_unbounded",
        f"""INSERT INTO out SELECT id,
  count(*) OVER ({W} ROWS UNBOUNDED PRECEDING) AS n, sum(v) OVER ({W} ROWS UNBOUNDED PRECEDING) AS s,
  min(x) OVER ({W} ROWS UNBOUNDED PRECEDING) AS mn, max(v) OVER ({W} ROWS UNBOUNDED PRECEDING) AS mx,
  first_value(x) OVER ({W} ROWS UNBOUNDED PRECEDING) AS f,
  avg(v) OVER ({W} ROWS BETWEEN UNBOUNDED PRECEDING AND 2 PRECEDING) AS a2
FROM t;""",
        f"""SELECT id,
  count(*) OVER ({W} ROWS UNBOUNDED PRECEDING) AS n, sum(v) OVER ({W} ROWS UNBOUNDED PRECEDING) AS s,
  min(x) OVER ({W} ROWS UNBOUNDED PRECEDING) AS mn, max(v) OVER ({W} ROWS UNBOUNDED PRECEDING) AS mx,
  first_value(x) OVER ({W} ROWS UNBOUNDED PRECEDING) AS f,
  avg(v) OVER ({W} ROWS BETWEEN UNBOUNDED PRECEDING AND 2 PRECEDING) AS a2
FROM t""",
        {"a2"},
    ),
    Query(
        "range_default",  # equal times are peers: the default frame includes them all
        f"""INSERT INTO out SELECT id, sum(v) OVER ({W}) AS s, count(*) OVER ({W}) AS n,
  avg(x) OVER ({W}) AS a, min(v) OVER ({W}) AS mn, max(x) OVER ({W}) AS mx
FROM t;""",
        f"""SELECT id, sum(v) OVER ({W}) AS s, count(*) OVER ({W}) AS n,
  avg(x) OVER ({W}) AS a, min(v) OVER ({W}) AS mn, max(x) OVER ({W}) AS mx
FROM t""",
        {"a"},
        unique=False,
    ),
    Query(
        "range_interval",
        f"""INSERT INTO out SELECT id,
  sum(v) OVER ({W} RANGE BETWEEN INTERVAL '1' MINUTE PRECEDING AND CURRENT ROW) AS s1m,
  count(*) OVER ({W} RANGE BETWEEN INTERVAL '10 seconds' PRECEDING AND CURRENT ROW) AS n10s,
  max(v) OVER ({W} RANGE BETWEEN INTERVAL '5' MINUTE PRECEDING AND CURRENT ROW) AS mx5m,
  min(x) OVER ({W} RANGE INTERVAL '30' SECOND PRECEDING) AS mn30s,
  avg(x) OVER ({W} RANGE BETWEEN INTERVAL '2' MINUTE PRECEDING AND CURRENT ROW) AS a2m,
  count(v) OVER ({W} RANGE BETWEEN CURRENT ROW AND CURRENT ROW) AS peers
FROM t;""",
        f"""SELECT id,
  sum(v) OVER ({W} RANGE BETWEEN INTERVAL 1 MINUTE PRECEDING AND CURRENT ROW) AS s1m,
  count(*) OVER ({W} RANGE BETWEEN INTERVAL 10 SECOND PRECEDING AND CURRENT ROW) AS n10s,
  max(v) OVER ({W} RANGE BETWEEN INTERVAL 5 MINUTE PRECEDING AND CURRENT ROW) AS mx5m,
  min(x) OVER ({W} RANGE BETWEEN INTERVAL 30 SECOND PRECEDING AND CURRENT ROW) AS mn30s,
  avg(x) OVER ({W} RANGE BETWEEN INTERVAL 2 MINUTE PRECEDING AND CURRENT ROW) AS a2m,
  count(v) OVER ({W} RANGE BETWEEN CURRENT ROW AND CURRENT ROW) AS peers
FROM t""",
        {"a2m"},
        unique=False,
    ),
    Query(
        "global_range",  # no PARTITION BY: one subtask
        """INSERT INTO out SELECT id,
  sum(v) OVER (ORDER BY ts RANGE BETWEEN INTERVAL '1' MINUTE PRECEDING AND CURRENT ROW) AS s1m,
  count(*) OVER (ORDER BY ts) AS n
FROM t;""",
        """SELECT id,
  sum(v) OVER (ORDER BY ts RANGE BETWEEN INTERVAL 1 MINUTE PRECEDING AND CURRENT ROW) AS s1m,
  count(*) OVER (ORDER BY ts) AS n
FROM t""",
        unique=False,
    ),
    Query(
        "global_rows",
        """INSERT INTO out SELECT id, lag(id) OVER (ORDER BY ts) AS prev,
  lead(k, 3, 'none') OVER (ORDER BY ts) AS k3,
  avg(v) OVER (ORDER BY ts ROWS BETWEEN 10 PRECEDING AND CURRENT ROW) AS a10
FROM t;""",
        """SELECT id, lag(id) OVER (ORDER BY ts) AS prev,
  lead(k, 3, 'none') OVER (ORDER BY ts) AS k3,
  avg(v) OVER (ORDER BY ts ROWS BETWEEN 10 PRECEDING AND CURRENT ROW) AS a10
FROM t""",
        {"a10"},
    ),
    Query(
        "named_window",  # a WINDOW clause, used as it is and refined with frames
        """INSERT INTO out SELECT id, lead(x) OVER w AS nx, max(v) OVER w AS mx,
  avg(v) OVER (w ROWS BETWEEN 4 PRECEDING AND CURRENT ROW) AS a4
FROM t WINDOW w AS (PARTITION BY k ORDER BY ts);""",
        """SELECT id, lead(x) OVER w AS nx, max(v) OVER w AS mx,
  avg(v) OVER (w ROWS BETWEEN 4 PRECEDING AND CURRENT ROW) AS a4
FROM t WINDOW w AS (PARTITION BY k ORDER BY ts)""",
        {"a4"},
    ),
    Query(
        "tumble_over_lead",  # LEAD's rows hold the watermark: none is late for the window
        f"""INSERT INTO out SELECT window.start AS window_start, n, total FROM (
  SELECT TUMBLE(INTERVAL '1 minute') AS window, count(*) AS n, sum(nv) AS total
  FROM (SELECT lead(v, 1, 1000) OVER ({W}) AS nv FROM t) GROUP BY 1);""",
        f"""SELECT ts_of(bucket(us, {MIN})) AS window_start, count(*) AS n, sum(nv) AS total
FROM (SELECT us, lead(v, 1, 1000) OVER ({W}) AS nv FROM t) GROUP BY 1""",
    ),
]


def unique_times(rows: list[dict]) -> list[dict]:
    """A copy whose event times are all different: a time already used moves on by 1 µs."""
    seen: set[dt.datetime] = set()
    out = []
    for r in rows:
        t = r["ts"]
        while t in seen:
            t += dt.timedelta(microseconds=1)
        seen.add(t)
        out.append(dict(r, ts=t))
    return out


CONFIGS = [("p=1", "p1", 1, []), ("p=4", "p4", 4, []),
           ("p=4 batch_size=1", "p4b1", 4, ["--set", "batch_size=1"])]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sluice", nargs="?", default=os.path.join(REPO, "build/release/sluice"))
    ap.add_argument("--seed", type=int, default=20240517)
    ap.add_argument("--rows", type=int, default=3000)
    ap.add_argument("--only", default="", help="comma-separated query names")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()

    sluice = os.path.abspath(args.sluice)
    if not os.access(sluice, os.X_OK):
        print(f"over_vs_duckdb.py: {sluice} is not an executable", file=sys.stderr)
        return 2
    only = {s for s in args.only.split(",") if s}
    unknown = only - {q.name for q in QUERIES}
    if unknown:
        print(f"over_vs_duckdb.py: unknown queries {sorted(unknown)}", file=sys.stderr)
        return 2
    queries = [q for q in QUERIES if not only or q.name in only]

    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="sluice-differential-over-")
    try:
        rows = generate_rows(args.seed, args.rows)
        inputs, cons = {}, {}
        for unique, data in ((False, rows), (True, unique_times(rows))):
            path = os.path.join(workdir, f"input{'-unique' if unique else ''}.json")
            write_rows(data, path)
            con = duckdb.connect()
            con.execute("SET threads = 2")
            con.execute(DUCKDB_SETUP.format(input=path))
            n, = con.execute("SELECT count(*) FROM t").fetchone()
            if n != len(data):
                print(f"duckdb read {n} rows of {len(data)}", file=sys.stderr)
                return 2
            inputs[unique], cons[unique] = path, con
        print(f"input: {len(rows)} rows, seed {args.seed}, duckdb {duckdb.__version__}, "
              f"{workdir if args.keep else 'temporary'}")

        def runs(q):
            for label, tag, p, extra in CONFIGS:
                def run(tag=tag, p=p, extra=extra):
                    sql_path = os.path.join(workdir, f"{q.name}.{tag}.sql")
                    out_path = os.path.join(workdir, f"{q.name}.{tag}.out.json")
                    with open(sql_path, "w") as f:
                        f.write(SOURCE_DDL.format(input=inputs[q.unique], output=out_path)
                                + q.sluice + "\n")
                    run_sluice_command([sluice, "run", sql_path, "--parallelism", str(p)] + extra,
                                       out_path)
                    actual, cols = read_json_lines(out_path)
                    return actual, cols, None
                yield f"{q.name} {label}", run, None

        return compare_runs(queries, lambda q: duckdb_rows(cons[q.unique], q.duckdb), runs,
                            started)
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
