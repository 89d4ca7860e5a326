#!/usr/bin/env python3
"""Differential test: Sluice's windowed aggregates against DuckDB on the same finite input.

Generates deterministic pseudo-random rows (event times over ~30 minutes, mostly increasing,
out of order by less than the declared watermark delay so that no row is late), runs each
query through `sluice run` at several parallelisms (writing a single_file JSON sink) and the
equivalent batch query through DuckDB, and compares the results as multisets of rows.

    build/venv/bin/python tests/differential/windows_vs_duckdb.py [build/release/sluice]
        [--seed N] [--rows N] [--parallelism 1,4] [--only NAME,...] [--keep]

Prints one line per query and parallelism and a final `differential: N passed, M failed`;
exits 1 when anything disagrees (or a query gives no rows on both sides).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (  # noqa: E402,F401  (also used through this module by updating_vs_duckdb.py)
    DUCKDB_MACROS, REPO, check, compare, duckdb, duckdb_rows, format_ts, norm_value,
    read_json_lines, run_sluice as run_sluice_command)

# The declared out-of-orderness (watermark = max event time seen - WATERMARK_DELAY) and the
# largest jitter the generator applies; the jitter must stay below the delay so no row is late.
WATERMARK_DELAY_S = 60
MAX_JITTER_S = 20

# ---------------------------------------------------------------------------------------------
# Input


def generate_rows(seed: int, n: int) -> list[dict]:
    """Rows {ts, k, v, x}; ts as datetime (microsecond precision), v int or None, x float or None.

    Nominal times advance by exponential gaps over ~30 minutes, with two quiet periods (so
    some windows and sessions are empty or broken everywhere); each row's time is its nominal
    time minus up to MAX_JITTER_S seconds. Some times are snapped to whole seconds and whole
    minutes (window boundaries), some duplicated, and some rows repeat a key exactly one
    session gap after its previous row (sessions that touch must merge).
    """
    rng = random.Random(seed)
    start = dt.datetime(2023, 3, 14, 9, 58, 17, 250000)
    span_us = 30 * 60 * 1_000_000
    mean_gap_us = span_us / n
    keys = [f"k{i}" for i in range(12)]
    weights = [0.6 ** i for i in range(len(keys))]  # k0 busy ... k11 rare (sessions break)
    quiet = [(8 * 60e6, 10.5 * 60e6), (19 * 60e6, 19 * 60e6 + 100e6)]  # offsets in us

    rows: list[dict] = []
    last_by_key: dict[str, dt.datetime] = {}
    nominal = 0.0
    for _ in range(n):
        nominal += rng.expovariate(1.0 / mean_gap_us)
        for q0, q1 in quiet:
            if q0 <= nominal < q1:
                nominal = q1
        now = start + dt.timedelta(microseconds=int(nominal))
        earliest = now - dt.timedelta(seconds=MAX_JITTER_S)
        jitter = dt.timedelta(microseconds=rng.randrange(0, MAX_JITTER_S * 1_000_000))
        r = rng.random()
        t = now
        if r < 0.70:
            t = now - jitter
            t = t.replace(microsecond=t.microsecond // 1000 * 1000)  # milliseconds
        elif r < 0.80:
            t = now - jitter  # microseconds
        elif r < 0.88:
            t = now.replace(microsecond=0)  # a whole second
        elif r < 0.95:
            t = now.replace(second=0, microsecond=0)  # a minute boundary (a window edge)
            if t < earliest:
                t = now.replace(second=now.second // 30 * 30, microsecond=0)  # half minute
                if t < earliest:
                    t = now.replace(microsecond=0)
        elif rows and rows[-1]["ts"] >= earliest:
            t = rows[-1]["ts"]  # the same time as the previous row
        k = rng.choices(keys, weights)[0]
        if rng.random() < 0.25 and k in last_by_key:
            # exactly one session gap (45 s) after this key's latest row, when that fits
            cand = last_by_key[k] + dt.timedelta(seconds=45)
            if earliest <= cand <= now:
                t = cand
        p_null = 0.5 if k in keys[-3:] else 0.03  # rare keys: some groups with only NULLs
        v = None if rng.random() < p_null else rng.randint(-20, 100)
        x = None if rng.random() < p_null else round(rng.uniform(-100.0, 1000.0), 2)
        rows.append({"ts": t, "k": k, "v": v, "x": x})
        last_by_key[k] = max(last_by_key.get(k, t), t)

    # No row may be late: behind (max event time before it) - the watermark delay.
    high = None
    for i, row in enumerate(rows):
        if high is not None:
            assert row["ts"] > high - dt.timedelta(seconds=WATERMARK_DELAY_S - 1), (
                f"generator bug: row {i} would be late")
        high = row["ts"] if high is None else max(high, row["ts"])
    return rows


def write_rows(rows: list[dict], path: str) -> None:
    with open(path, "w") as f:
        for row in rows:
            v = "null" if row["v"] is None else str(row["v"])
            x = "null" if row["x"] is None else f"{row['x']:.2f}"
            f.write(f'{{"ts": "{format_ts(row["ts"])}", "k": "{row["k"]}", "v": {v}, "x": {x}}}\n')


# ---------------------------------------------------------------------------------------------
# Queries

SOURCE_DDL = (
    "CREATE TABLE t (ts TIMESTAMP, k TEXT, v BIGINT, x DOUBLE, "
    f"WATERMARK FOR ts AS ts - INTERVAL '{WATERMARK_DELAY_S} seconds') "
    "WITH (connector = 'single_file', path = '{input}', format = 'json', type = 'source');\n"
    "CREATE TABLE out WITH (connector = 'single_file', path = '{output}', format = 'json', "
    "type = 'sink');\n"
)

# DuckDB side: the input with its event time in microseconds since the epoch, and a macro for
# the epoch-aligned start of the window of width `w` microseconds containing `us`.
DUCKDB_SETUP = DUCKDB_MACROS + """
CREATE TABLE t AS
  SELECT ts, k, v, x, epoch_us(ts) AS us
  FROM read_json('{input}', format = 'newline_delimited',
                 columns = {{ts: 'TIMESTAMP', k: 'VARCHAR', v: 'BIGINT', x: 'DOUBLE'}});
"""

MIN = 60_000_000  # one minute in microseconds
SEC = 1_000_000


@dataclass
class Query:
    name: str
    sluice: str  # statements after the two CREATE TABLEs; reads t, writes out
    duckdb: str  # a SELECT over t (ts, k, v, x, us) with the same output column names
    approx: set[str] = field(default_factory=set)  # float columns compared with a tolerance


QUERIES = [
    Query(
        "tumble_by_key",
        """INSERT INTO out
SELECT window.start AS window_start, window.end AS window_end, k, n, total, lo, hi, avg_x
FROM (SELECT TUMBLE(INTERVAL '1 minute') AS window, k, count(*) AS n, sum(v) AS total,
             min(v) AS lo, max(v) AS hi, avg(x) AS avg_x
      FROM t GROUP BY window, k);""",
        f"""SELECT ts_of(bucket(us, {MIN})) AS window_start,
       ts_of(bucket(us, {MIN}) + {MIN}) AS window_end, k,
       count(*) AS n, sum(v) AS total, min(v) AS lo, max(v) AS hi, avg(x) AS avg_x
FROM t GROUP BY bucket(us, {MIN}), k""",
        {"avg_x"},
    ),
    Query(
        "tumble_global",
        """INSERT INTO out
SELECT window.start AS window_start, window.end AS window_end, n, keys, sum_x
FROM (SELECT TUMBLE(INTERVAL '5 minutes') AS window, count(*) AS n,
             count(DISTINCT k) AS keys, sum(x) AS sum_x
      FROM t GROUP BY window);""",
        f"""SELECT ts_of(bucket(us, {5 * MIN})) AS window_start,
       ts_of(bucket(us, {5 * MIN}) + {5 * MIN}) AS window_end,
       count(*) AS n, count(DISTINCT k) AS keys, sum(x) AS sum_x
FROM t GROUP BY bucket(us, {5 * MIN})""",
        {"sum_x"},
    ),
    Query(
        "hop_by_key",
        """INSERT INTO out
SELECT window.start AS window_start, window.end AS window_end, k, n, total, hi
FROM (SELECT HOP(INTERVAL '1 minute', INTERVAL '5 minutes') AS window, k, count(*) AS n,
             sum(v) AS total, max(v) AS hi
      FROM t GROUP BY window, k);""",
        # every row is in the 5 windows starting at its minute and the 4 minutes before
        f"""SELECT ts_of(s) AS window_start, ts_of(s + {5 * MIN}) AS window_end, k,
       count(*) AS n, sum(v) AS total, max(v) AS hi
FROM (SELECT bucket(us, {MIN}) - j * {MIN} AS s, k, v FROM t, range(5) AS r(j))
GROUP BY s, k""",
    ),
    Query(
        "hop_global",
        """INSERT INTO out
SELECT window.start AS window_start, window.end AS window_end, n, total, sd_x
FROM (SELECT HOP(INTERVAL '30 seconds', INTERVAL '2 minutes') AS window, count(*) AS n,
             sum(v) AS total, stddev_samp(x) AS sd_x
      FROM t GROUP BY window);""",
        f"""SELECT ts_of(s) AS window_start, ts_of(s + {2 * MIN}) AS window_end,
       count(*) AS n, sum(v) AS total, stddev_samp(x) AS sd_x
FROM (SELECT bucket(us, {30 * SEC}) - j * {30 * SEC} AS s, v, x FROM t, range(4) AS r(j))
GROUP BY s""",
        {"sd_x"},
    ),
    Query(
        "session_by_key",
        """INSERT INTO out
SELECT window.start AS window_start, window.end AS window_end, k, n, total
FROM (SELECT SESSION(INTERVAL '45 seconds') AS window, k, count(*) AS n, sum(v) AS total
      FROM t GROUP BY window, k);""",
        # a new session starts when a row is more than the gap after the key's previous row
        # (a row exactly the gap after it touches the session and continues it); the session
        # is [first row, last row + gap). RANGE framing keeps rows with equal times together.
        f"""WITH flagged AS (
  SELECT *, CASE WHEN us - lag(us) OVER (PARTITION BY k ORDER BY us) <= {45 * SEC}
                 THEN 0 ELSE 1 END AS new_session
  FROM t),
numbered AS (
  SELECT *, sum(new_session) OVER (PARTITION BY k ORDER BY us) AS session_id FROM flagged)
SELECT ts_of(min(us)) AS window_start, ts_of(max(us) + {45 * SEC}) AS window_end, k,
       count(*) AS n, sum(v) AS total
FROM numbered GROUP BY k, session_id""",
    ),
    Query(
        "session_global",
        """INSERT INTO out
SELECT window.start AS window_start, window.end AS window_end, n, total
FROM (SELECT SESSION(INTERVAL '45 seconds') AS window, count(*) AS n, sum(v) AS total
      FROM t GROUP BY window);""",
        f"""WITH flagged AS (
  SELECT *, CASE WHEN us - lag(us) OVER (ORDER BY us) <= {45 * SEC}
                 THEN 0 ELSE 1 END AS new_session
  FROM t),
numbered AS (SELECT *, sum(new_session) OVER (ORDER BY us) AS session_id FROM flagged)
SELECT ts_of(min(us)) AS window_start, ts_of(max(us) + {45 * SEC}) AS window_end,
       count(*) AS n, sum(v) AS total
FROM numbered GROUP BY session_id""",
    ),
    Query(
        "having_filter",
        """INSERT INTO out
SELECT window.start AS window_start, k, big, total
FROM (SELECT TUMBLE(INTERVAL '2 minutes') AS window, k,
             count(*) FILTER (WHERE v > 50) AS big, sum(v) AS total
      FROM t GROUP BY window, k HAVING count(*) > 3);""",
        f"""SELECT ts_of(bucket(us, {2 * MIN})) AS window_start, k,
       count(*) FILTER (WHERE v > 50) AS big, sum(v) AS total
FROM t GROUP BY bucket(us, {2 * MIN}), k HAVING count(*) > 3""",
    ),
    Query(
        "reaggregate",
        """CREATE VIEW per_key AS
  SELECT TUMBLE(INTERVAL '1 minute') AS window, k, count(*) AS n FROM t GROUP BY window, k;
INSERT INTO out
SELECT window.start AS window_start, window.end AS window_end, max(n) AS top,
       count(*) AS keys, sum(n) AS total
FROM per_key GROUP BY window;""",
        f"""WITH per_key AS (SELECT bucket(us, {MIN}) AS s, k, count(*) AS n FROM t GROUP BY s, k)
SELECT ts_of(s) AS window_start, ts_of(s + {MIN}) AS window_end, max(n) AS top,
       count(*) AS keys, sum(n) AS total
FROM per_key GROUP BY s""",
    ),
]

# ---------------------------------------------------------------------------------------------
# Running


def run_sluice(sluice: str, workdir: str, q: Query, input_path: str, p: int):
    """Returns (rows, column names in file order) or raises RuntimeError."""
    sql_path = os.path.join(workdir, f"{q.name}.p{p}.sql")
    out_path = os.path.join(workdir, f"{q.name}.p{p}.out.json")
    with open(sql_path, "w") as f:
        f.write(SOURCE_DDL.format(input=input_path, output=out_path) + q.sluice + "\n")
    run_sluice_command([sluice, "run", sql_path, "--parallelism", str(p)], out_path)
    return read_json_lines(out_path)


def run_duckdb(con, q: Query):
    return duckdb_rows(con, q.duckdb)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sluice", nargs="?", default=os.path.join(REPO, "build/release/sluice"))
    ap.add_argument("--seed", type=int, default=20240517)
    ap.add_argument("--rows", type=int, default=4000)
    ap.add_argument("--parallelism", default="1,4", help="comma-separated, default 1,4")
    ap.add_argument("--only", default="", help="comma-separated query names")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()

    sluice = os.path.abspath(args.sluice)
    if not os.access(sluice, os.X_OK):
        print(f"windows_vs_duckdb.py: {sluice} is not an executable", file=sys.stderr)
        return 2
    parallelisms = [int(p) for p in args.parallelism.split(",") if p]
    only = {s for s in args.only.split(",") if s}
    unknown = only - {q.name for q in QUERIES}
    if unknown:
        print(f"windows_vs_duckdb.py: unknown queries {sorted(unknown)}", file=sys.stderr)
        return 2
    queries = [q for q in QUERIES if not only or q.name in only]

    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="sluice-differential-")
    try:
        rows = generate_rows(args.seed, args.rows)
        input_path = os.path.join(workdir, "input.json")
        write_rows(rows, input_path)

        con = duckdb.connect()
        con.execute("SET threads = 2")
        con.execute(DUCKDB_SETUP.format(input=input_path))
        # The oracle must read the input as generated.
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
            expected, exp_cols = run_duckdb(con, q)
            for p in parallelisms:
                label = f"{q.name} p={p}"
                try:
                    actual, act_cols = run_sluice(sluice, workdir, q, input_path, p)
                except RuntimeError as e:
                    print(f"FAIL {label}: {e}")
                    failed += 1
                    continue
                problems = check(expected, exp_cols, actual, act_cols, q.approx)
                if problems:
                    print(f"FAIL {label}: duckdb {len(expected)} rows, sluice {len(actual)} rows")
                    print("\n".join(problems))
                    failed += 1
                else:
                    print(f"ok  {label} ({len(actual)} rows)")
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
