#!/usr/bin/env python3
"""Differential test: Sluice's windowed aggregates and top-N against DuckDB on the same input.

Generates deterministic pseudo-random rows (event times over ~30 minutes, mostly increasing,
out of order by less than the declared watermark delay so that no row is late; `id` numbers
them), runs each query through `sluice run` at several parallelisms (writing a single_file
JSON sink) and the equivalent batch query through DuckDB, and compares the results as
multisets of rows. The top-N queries (ROW_NUMBER, RANK, DENSE_RANK per window, over window
aggregates and over TUMBLE rows; DuckDB ranks the bucketed rows with its window functions)
also run at the highest parallelism with batch_size=1.

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
    DUCKDB_MACROS, REPO, check, compare, compare_runs, duckdb, duckdb_rows, format_ts,
    norm_value, read_json_lines, run_sluice as run_sluice_command)

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
    """One JSON object a line, with `id`: the row's position (a unique column to rank by)."""
    with open(path, "w") as f:
        for i, row in enumerate(rows):
            v = "null" if row["v"] is None else str(row["v"])
            x = "null" if row["x"] is None else f"{row['x']:.2f}"
            f.write(f'{{"id": {i}, "ts": "{format_ts(row["ts"])}", "k": "{row["k"]}", '
                    f'"v": {v}, "x": {x}}}\n')


# ---------------------------------------------------------------------------------------------
# Queries

SOURCE_DDL = (
    "CREATE TABLE t (id BIGINT, ts TIMESTAMP, k TEXT, v BIGINT, x DOUBLE, "
    f"WATERMARK FOR ts AS ts - INTERVAL '{WATERMARK_DELAY_S} seconds') "
    "WITH (connector = 'single_file', path = '{input}', format = 'json', type = 'source');\n"
    "CREATE TABLE out WITH (connector = 'single_file', path = '{output}', format = 'json', "
    "type = 'sink');\n"
)

# DuckDB side: the input with its event time in microseconds since the epoch, and a macro for
# the epoch-aligned start of the window of width `w` microseconds containing `us`.
DUCKDB_SETUP = DUCKDB_MACROS + """
CREATE TABLE t AS
  SELECT id, ts, k, v, x, epoch_us(ts) AS us
  FROM read_json('{input}', format = 'newline_delimited',
                 columns = {{id: 'BIGINT', ts: 'TIMESTAMP', k: 'VARCHAR', v: 'BIGINT',
                            x: 'DOUBLE'}});
"""

MIN = 60_000_000  # one minute in microseconds
SEC = 1_000_000


@dataclass
class Query:
    name: str
    sluice: str  # statements after the two CREATE TABLEs; reads t, writes out
    duckdb: str  # a SELECT over t (ts, k, v, x, us) with the same output column names
    approx: set[str] = field(default_factory=set)  # float columns compared with a tolerance
    batch1: bool = False  # also run at parallelism 4 with batch_size=1


QUERIES = [
    Query(
        "distinct_tvf",  # SELECT DISTINCT with the window selected: append-only per window
        """INSERT INTO out
SELECT DISTINCT window_start, window_end, k, v % 3 AS band
FROM TUMBLE(t, ts, INTERVAL '1 minute');""",
        f"""SELECT DISTINCT ts_of(bucket(us, {MIN})) AS window_start,
       ts_of(bucket(us, {MIN}) + {MIN}) AS window_end, k, v % 3 AS band
FROM t""",
        batch1=True,
    ),
    Query(
        "distinct_window_counts",  # over a window aggregate's output, its start selected
        """INSERT INTO out
SELECT DISTINCT minute, n
FROM (SELECT window.start AS minute, n
      FROM (SELECT TUMBLE(INTERVAL '1 minute') AS window, k, count(*) AS n FROM t GROUP BY 1, 2));""",
        f"""SELECT DISTINCT ts_of(bucket(us, {MIN})) AS minute, n
FROM (SELECT us, count(*) OVER (PARTITION BY bucket(us, {MIN}), k) AS n FROM t)""",
    ),
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
    Query(  # ordered-set aggregates; DESC reverses the fraction; the sketch is exact here
        "tumble_ordered_set",
        """INSERT INTO out
SELECT window.start AS window_start, k, p30_x, p30_v_desc, med_v, amed_x
FROM (SELECT TUMBLE(INTERVAL '1 minute') AS window, k,
             percentile_cont(0.3) WITHIN GROUP (ORDER BY x) AS p30_x,
             percentile_cont(0.3) WITHIN GROUP (ORDER BY v DESC) AS p30_v_desc,
             percentile_cont(0.5) WITHIN GROUP (ORDER BY v) AS med_v,
             approx_percentile_cont(0.5) WITHIN GROUP (ORDER BY x) AS amed_x
      FROM t GROUP BY window, k);""",
        f"""SELECT ts_of(bucket(us, {MIN})) AS window_start, k,
       percentile_cont(0.3) WITHIN GROUP (ORDER BY x) AS p30_x,
       percentile_cont(0.3) WITHIN GROUP (ORDER BY v DESC) AS p30_v_desc,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY v) AS med_v,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY x) AS amed_x
FROM t GROUP BY bucket(us, {MIN}), k""",
        {"p30_x", "p30_v_desc", "med_v", "amed_x"},
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

# Top-N: ROW_NUMBER, RANK and DENSE_RANK OVER (PARTITION BY window [, keys] ORDER BY ...) with
# an outer filter on the rank. ROW_NUMBER's ORDER BY ends with a unique column (per partition)
# so that its answer is unique; RANK and DENSE_RANK may tie (peers share a rank either way).
# Sluice sorts NULLs as PostgreSQL does (last ascending, first descending) and DuckDB puts them
# last both ways, so the DuckDB side says NULLS FIRST/LAST wherever a key may be NULL (sum(v)
# and min(v) of a rare key's group, a row's v). Also run with one-row batches.
TOPN_QUERIES = [
    Query(
        "topn_row_number",  # the 3 busiest keys of each minute, ties broken by the key
        """INSERT INTO out
SELECT window_start, k, n, rn FROM (
  SELECT window.start AS window_start, k, n,
         ROW_NUMBER() OVER (PARTITION BY window ORDER BY n DESC, k) AS rn
  FROM (SELECT TUMBLE(INTERVAL '1 minute') AS window, k, count(*) AS n FROM t GROUP BY window, k))
WHERE rn <= 3;""",
        f"""WITH per_key AS (SELECT bucket(us, {MIN}) AS s, k, count(*) AS n FROM t GROUP BY s, k)
SELECT ts_of(s) AS window_start, k, n, rn FROM (
  SELECT *, row_number() OVER (PARTITION BY s ORDER BY n DESC, k) AS rn FROM per_key)
WHERE rn <= 3""",
        batch1=True,
    ),
    Query(
        "topn_row_number_nulls",  # a nullable first key (DESC: NULL first), strict bound
        """INSERT INTO out
SELECT window_start, window_end, k, total, rn FROM (
  SELECT window.start AS window_start, window.end AS window_end, k, total,
         ROW_NUMBER() OVER (PARTITION BY window ORDER BY total DESC, k DESC) AS rn
  FROM (SELECT TUMBLE(INTERVAL '2 minutes') AS window, k, sum(v) AS total
        FROM t GROUP BY window, k))
WHERE rn < 3;""",
        f"""WITH per_key AS (SELECT bucket(us, {2 * MIN}) AS s, k, sum(v) AS total
                 FROM t GROUP BY s, k)
SELECT ts_of(s) AS window_start, ts_of(s + {2 * MIN}) AS window_end, k, total, rn FROM (
  SELECT *, row_number() OVER (PARTITION BY s ORDER BY total DESC NULLS FIRST, k DESC) AS rn
  FROM per_key)
WHERE rn < 3""",
        batch1=True,
    ),
    Query(
        "topn_rank",  # ties share a rank and leave a gap
        """INSERT INTO out
SELECT window_start, k, n, r FROM (
  SELECT window.start AS window_start, k, n, RANK() OVER (PARTITION BY window ORDER BY n DESC) AS r
  FROM (SELECT TUMBLE(INTERVAL '1 minute') AS window, k, count(*) AS n FROM t GROUP BY window, k))
WHERE r <= 2;""",
        f"""WITH per_key AS (SELECT bucket(us, {MIN}) AS s, k, count(*) AS n FROM t GROUP BY s, k)
SELECT ts_of(s) AS window_start, k, n, r FROM (
  SELECT *, rank() OVER (PARTITION BY s ORDER BY n DESC) AS r FROM per_key)
WHERE r <= 2""",
        batch1=True,
    ),
    Query(
        "topn_dense_rank",  # ascending over a nullable aggregate (NULL last), no gaps
        """INSERT INTO out
SELECT window_start, k, lo, r FROM (
  SELECT window.start AS window_start, k, lo,
         DENSE_RANK() OVER (PARTITION BY window ORDER BY lo) AS r
  FROM (SELECT TUMBLE(INTERVAL '1 minute') AS window, k, min(v) AS lo FROM t GROUP BY window, k))
WHERE r <= 2;""",
        f"""WITH per_key AS (SELECT bucket(us, {MIN}) AS s, k, min(v) AS lo FROM t GROUP BY s, k)
SELECT ts_of(s) AS window_start, k, lo, r FROM (
  SELECT *, dense_rank() OVER (PARTITION BY s ORDER BY lo ASC NULLS LAST) AS r FROM per_key)
WHERE r <= 2""",
        batch1=True,
    ),
    Query(
        "topn_tvf_latest",  # raw rows: the latest row of each key and minute
        """INSERT INTO out
SELECT window_start, window_end, k, ts, v, id FROM (
  SELECT window_start, window_end, k, ts, v, id,
         ROW_NUMBER() OVER (PARTITION BY window_start, k ORDER BY ts DESC, id DESC) AS rn
  FROM TUMBLE(t, ts, INTERVAL '1 minute'))
WHERE rn = 1;""",
        f"""SELECT ts_of(s) AS window_start, ts_of(s + {MIN}) AS window_end, k, ts, v, id FROM (
  SELECT *, bucket(us, {MIN}) AS s,
         row_number() OVER (PARTITION BY bucket(us, {MIN}), k ORDER BY ts DESC, id DESC) AS rn
  FROM t)
WHERE rn = 1""",
        batch1=True,
    ),
    Query(
        "topn_tvf_rank",  # raw rows of 2 minutes ranked by a nullable value, NULLs put last
        """INSERT INTO out
SELECT window_start, id, k, v, r FROM (
  SELECT window_start, id, k, v,
         RANK() OVER (PARTITION BY window_start ORDER BY v DESC NULLS LAST) AS r
  FROM TUMBLE(t, ts, INTERVAL '2 minutes'))
WHERE r <= 3;""",
        f"""SELECT ts_of(s) AS window_start, id, k, v, r FROM (
  SELECT *, bucket(us, {2 * MIN}) AS s,
         rank() OVER (PARTITION BY bucket(us, {2 * MIN}) ORDER BY v DESC NULLS LAST) AS r
  FROM t)
WHERE r <= 3""",
        batch1=True,
    ),
    Query(
        "topn_tvf_expr_partition",  # a nullable expression as a key; a filter after ranking
        """INSERT INTO out
SELECT window_start, m, id, x FROM (
  SELECT window_start, v % 3 AS m, id, x,
         ROW_NUMBER() OVER (PARTITION BY window_start, v % 3 ORDER BY x NULLS FIRST, id) AS rn
  FROM TUMBLE(t, ts, INTERVAL '5 minutes'))
WHERE rn <= 4 AND id % 2 = 0;""",
        f"""SELECT ts_of(s) AS window_start, m, id, x FROM (
  SELECT *, bucket(us, {5 * MIN}) AS s, v % 3 AS m,
         row_number() OVER (PARTITION BY bucket(us, {5 * MIN}), v % 3
                            ORDER BY x NULLS FIRST, id) AS rn
  FROM t)
WHERE rn <= 4 AND id % 2 = 0""",
        batch1=True,
    ),
    Query(
        "topn_reaggregate",  # a window of windows ranked
        """CREATE VIEW per_key AS
  SELECT TUMBLE(INTERVAL '1 minute') AS window, k, count(*) AS n FROM t GROUP BY window, k;
CREATE VIEW per_5 AS
  SELECT TUMBLE(INTERVAL '5 minutes') AS w5, k, max(n) AS peak, count(*) AS minutes
  FROM per_key GROUP BY w5, k;
INSERT INTO out
SELECT window_start, k, peak, minutes, r FROM (
  SELECT w5.start AS window_start, k, peak, minutes,
         RANK() OVER (PARTITION BY w5 ORDER BY peak DESC, minutes DESC) AS r
  FROM per_5)
WHERE r <= 3;""",
        f"""WITH per_key AS (SELECT bucket(us, {MIN}) AS s, k, count(*) AS n FROM t GROUP BY s, k),
per_5 AS (SELECT bucket(s, {5 * MIN}) AS s, k, max(n) AS peak, count(*) AS minutes
          FROM per_key GROUP BY 1, k)
SELECT ts_of(s) AS window_start, k, peak, minutes, r FROM (
  SELECT *, rank() OVER (PARTITION BY s ORDER BY peak DESC, minutes DESC) AS r FROM per_5)
WHERE r <= 3""",
        batch1=True,
    ),
    Query(
        "topn_then_tumble",  # top-N rows keep their window's event time: window them again
        """CREATE VIEW top AS SELECT k, n FROM (
  SELECT k, n, ROW_NUMBER() OVER (PARTITION BY window ORDER BY n DESC, k) AS rn
  FROM (SELECT TUMBLE(INTERVAL '1 minute') AS window, k, count(*) AS n FROM t GROUP BY window, k))
WHERE rn <= 3;
INSERT INTO out
SELECT window.start AS window_start, c, total
FROM (SELECT TUMBLE(INTERVAL '5 minutes') AS window, count(*) AS c, sum(n) AS total
      FROM top GROUP BY window);""",
        f"""WITH per_key AS (SELECT bucket(us, {MIN}) AS s, k, count(*) AS n FROM t GROUP BY s, k),
top AS (SELECT * FROM (
  SELECT *, row_number() OVER (PARTITION BY s ORDER BY n DESC, k) AS rn FROM per_key)
  WHERE rn <= 3)
SELECT ts_of(bucket(s, {5 * MIN})) AS window_start, count(*) AS c, sum(n) AS total
FROM top GROUP BY 1""",
        batch1=True,
    ),
    Query(
        "topn_hop",  # a HOP aggregate ranked: the 2 busiest keys of each window
        """INSERT INTO out
SELECT window_start, window_end, k, n, sx, rn FROM (
  SELECT window.start AS window_start, window.end AS window_end, k, n, sx,
         ROW_NUMBER() OVER (PARTITION BY window ORDER BY n DESC, k ASC) AS rn
  FROM (SELECT HOP(INTERVAL '30 seconds', INTERVAL '2 minutes') AS window, k, count(*) AS n,
               sum(x) AS sx
        FROM t GROUP BY window, k))
WHERE rn <= 2;""",
        f"""WITH per_key AS (
  SELECT bucket(us, {30 * SEC}) - j * {30 * SEC} AS s, k, count(*) AS n, sum(x) AS sx
  FROM t, range(4) AS r(j) GROUP BY s, k)
SELECT ts_of(s) AS window_start, ts_of(s + {2 * MIN}) AS window_end, k, n, sx, rn FROM (
  SELECT *, row_number() OVER (PARTITION BY s ORDER BY n DESC, k ASC) AS rn FROM per_key)
WHERE rn <= 2""",
        {"sx"},
        batch1=True,
    ),
    Query(
        "topn_hop_dense_rank",  # per window and key: the 2 largest values of a HOP's rows' sums
        """INSERT INTO out
SELECT window_end, k, v, n, r FROM (
  SELECT window.end AS window_end, k, v, n,
         DENSE_RANK() OVER (PARTITION BY window, k ORDER BY n DESC NULLS LAST, v DESC) AS r
  FROM (SELECT HOP(INTERVAL '1 minute', INTERVAL '3 minutes') AS window, k, v, count(*) AS n
        FROM t GROUP BY window, k, v))
WHERE r <= 2;""",
        f"""WITH per_val AS (
  SELECT bucket(us, {MIN}) - j * {MIN} AS s, k, v, count(*) AS n
  FROM t, range(3) AS r(j) GROUP BY s, k, v)
SELECT ts_of(s + {3 * MIN}) AS window_end, k, v, n, r FROM (
  SELECT *, dense_rank() OVER (PARTITION BY s, k ORDER BY n DESC NULLS LAST, v DESC NULLS FIRST)
         AS r
  FROM per_val)
WHERE r <= 2""",
        batch1=True,
    ),
]
QUERIES += TOPN_QUERIES

# ---------------------------------------------------------------------------------------------
# Running


def configs_of(q: Query, parallelisms: list[int]):
    """(label, file tag, parallelism, extra arguments) of each run of a query."""
    out = [(f"p={p}", f"p{p}", p, []) for p in parallelisms]
    if q.batch1:  # at the highest parallelism (4 by default), with one-row batches
        p = max(parallelisms)
        out.append((f"p={p} batch_size=1", f"p{p}b1", p, ["--set", "batch_size=1"]))
    return out


def run_sluice(sluice: str, workdir: str, q: Query, input_path: str, tag: str, p: int,
               extra: list[str]):
    """Returns (rows, column names in file order) or raises RuntimeError."""
    sql_path = os.path.join(workdir, f"{q.name}.{tag}.sql")
    out_path = os.path.join(workdir, f"{q.name}.{tag}.out.json")
    with open(sql_path, "w") as f:
        f.write(SOURCE_DDL.format(input=input_path, output=out_path) + q.sluice + "\n")
    run_sluice_command([sluice, "run", sql_path, "--parallelism", str(p)] + extra, out_path)
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

        def runs(q):
            for label_cfg, tag, p, extra in configs_of(q, parallelisms):
                def run(tag=tag, p=p, extra=extra):
                    actual, act_cols = run_sluice(sluice, workdir, q, input_path, tag, p, extra)
                    return actual, act_cols, None
                yield f"{q.name} {label_cfg}", run, None

        return compare_runs(queries, lambda q: run_duckdb(con, q), runs, started)
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
