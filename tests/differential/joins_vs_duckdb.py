#!/usr/bin/env python3
"""Differential test: Sluice's joins (updating, windowed and interval) against DuckDB.

Generates three seeded inputs with windows_vs_duckdb.py's time generator (event times in order
up to a jitter below the declared watermark delay, so that no row is late): t and u, a few
thousand rows each, with skewed keys (t's busy keys are u's rare ones and the other way round,
plus one key busy on both sides), NULL keys, exact duplicate rows, and rows of u placed
exactly on (and just around) the interval joins' bounds; and r, a few hundred rows for a
three-way join. Each query runs through `sluice run` in several configurations and
the equivalent batch query through DuckDB over the whole input; the results are compared as
multisets. Updating joins write a debezium_json sink whose changelog is applied to obtain
the final table (see harness.apply_changelog); windowed and interval joins are append-only
and write a json sink.

    build/venv/bin/python tests/differential/joins_vs_duckdb.py [build/release/sluice]
        [--seed N] [--rows N] [--only NAME,...] [--keep] [--known-bugs]

Prints one line per query and configuration and a final `differential: N passed, M failed`;
exits 1 when anything disagrees (or a query gives no rows on both sides).
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import json
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import windows_vs_duckdb as windows  # noqa: E402  (the time generator, WATERMARK_DELAY_S)
from harness import (  # noqa: E402
    CONFIGS, DUCKDB_MACROS, REPO, apply_changelog, compare_runs, duckdb, duckdb_rows,
    format_ts, read_json_lines, run_sluice)

MIN = 60_000_000  # one minute in microseconds
SEC = 1_000_000

# ---------------------------------------------------------------------------------------------
# Input

NUM_KEYS = 150
KEYS = [f"c{i:03d}" for i in range(NUM_KEYS)]
# t's key c000 is busy and c149 rare; u's the other way round. A key busy on both sides
# would pair every row with every other (the output of an updating join grows with the
# product), so only "hot" is: 3% of each side.
WEIGHTS_T = [1.0 / (i + 4) for i in range(NUM_KEYS)]
WEIGHTS_U = WEIGHTS_T[::-1]
P_NULL_KEY = 0.04
P_HOT = 0.03
P_DUPLICATE = 0.03  # a row repeats the previous one exactly


def generate_side(seed: int, n: int, weights: list[float], value: str, real: str):
    """Rows {ts, k, g, <value>, <real>}: windows_vs_duckdb's times (and its v and x), new keys:
    k skewed by `weights` (or "hot", or NULL), g in 0..2 (or NULL)."""
    rows = windows.generate_rows(seed, n)
    rng = random.Random(seed ^ 0x5EED)
    out: list[dict] = []
    for row in rows:
        if out and rng.random() < P_DUPLICATE:
            out.append(dict(out[-1]))  # its time is the previous row's: not late either
            continue
        r = rng.random()
        k = None if r < P_NULL_KEY else "hot" if r < P_NULL_KEY + P_HOT else \
            rng.choices(KEYS, weights)[0]
        g = None if rng.random() < 0.05 else rng.randint(0, 2)
        out.append({"ts": row["ts"], "k": k, "g": g, value: row["v"], real: row["x"]})
    return out


# Offsets (u's time - t's time) that the interval joins' bounds sit on. Some of u's rows are
# made "echoes" of a row of t: its key (and mostly its g) at its time plus one of these, or
# plus a small random offset, so that pairs fall exactly on the bounds, just inside and just
# outside them.
ECHO_OFFSETS_S = [0, 10, 20, -5, 30, -60]
P_ECHO = 0.12


def add_echoes(t_rows: list[dict], u_rows: list[dict], seed: int) -> None:
    """Turns some of u's rows into echoes of t's rows, keeping u's times in order: an echo's
    time is above (highest time before it) - watermark delay + 10 s, and at most what the
    row's time or the highest time before it was, so no later row becomes late either."""
    rng = random.Random(seed ^ 0xEC40)
    by_time = sorted(t_rows, key=lambda row: row["ts"])
    times = [row["ts"] for row in by_time]
    margin = dt.timedelta(seconds=windows.WATERMARK_DELAY_S - 10)
    high = None
    for row in u_rows:
        if high is not None and rng.random() < P_ECHO:
            if rng.random() < 0.7:
                d = dt.timedelta(seconds=rng.choice(ECHO_OFFSETS_S))
            else:
                d = dt.timedelta(microseconds=rng.randrange(-30_000_000, 30_000_000))
            lo, hi = high - margin, max(high, row["ts"])  # the echo's time: (lo, hi]
            a = bisect.bisect_right(times, lo - d)
            b = bisect.bisect_right(times, hi - d)
            if a < b:
                src = by_time[rng.randrange(a, b)]
                row["ts"] = src["ts"] + d
                row["k"] = src["k"]
                if rng.random() < 0.7:
                    row["g"] = src["g"]
        high = row["ts"] if high is None else max(high, row["ts"])


def generate_labels(seed: int, n: int):
    """Rows {ts, w, label} for the third input: w in the range of u's w (or NULL)."""
    rows = windows.generate_rows(seed, n)
    rng = random.Random(seed ^ 0x1ABE1)
    return [{"ts": row["ts"], "w": None if rng.random() < 0.05 else rng.randint(-20, 100),
             "label": f"L{i}"} for i, row in enumerate(rows)]


def check_not_late(rows: list[dict], name: str) -> None:
    """No row may be behind (max event time before it) - the watermark delay."""
    high = None
    delay = dt.timedelta(seconds=windows.WATERMARK_DELAY_S - 1)
    for i, row in enumerate(rows):
        if high is not None and row["ts"] <= high - delay:
            raise AssertionError(f"generator bug: row {i} of {name} would be late")
        high = row["ts"] if high is None else max(high, row["ts"])


def write_rows(rows: list[dict], path: str) -> None:
    with open(path, "w") as f:
        for row in rows:
            f.write(json.dumps({**row, "ts": format_ts(row["ts"])}) + "\n")


def write_inputs(seed: int, n: int, workdir: str, prefix: str = ""):
    """Generates t and u (n rows each) and r (n/10 rows), writes them to
    workdir/<prefix><name>.json and returns (rows by table name, paths by table name).
    Also used by updating_vs_duckdb.py."""
    inputs = {
        "t": generate_side(seed, n, WEIGHTS_T, "v", "x"),
        "u": generate_side(seed + 1, n, WEIGHTS_U, "w", "y"),
        "r": generate_labels(seed + 2, max(n // 10, 10)),
    }
    add_echoes(inputs["t"], inputs["u"], seed)
    paths = {}
    for name, rows in inputs.items():
        check_not_late(rows, name)
        paths[name] = os.path.join(workdir, f"{prefix}{name}.json")
        write_rows(rows, paths[name])
    return inputs, paths


# The three inputs: name, columns as (name, Sluice type, DuckDB type). g is INT in t and
# BIGINT in u, so joins on it compare keys of two integer types.
TABLES = [
    ("t", [("ts", "TIMESTAMP", "TIMESTAMP"), ("k", "TEXT", "VARCHAR"), ("g", "INT", "INTEGER"),
           ("v", "BIGINT", "BIGINT"), ("x", "DOUBLE", "DOUBLE")]),
    ("u", [("ts", "TIMESTAMP", "TIMESTAMP"), ("k", "TEXT", "VARCHAR"), ("g", "BIGINT", "BIGINT"),
           ("w", "BIGINT", "BIGINT"), ("y", "DOUBLE", "DOUBLE")]),
    ("r", [("ts", "TIMESTAMP", "TIMESTAMP"), ("w", "BIGINT", "BIGINT"),
           ("label", "TEXT", "VARCHAR")]),
]


def sluice_ddl(paths: dict[str, str], output: str, updating: bool) -> str:
    out = []
    for name, cols in TABLES:
        columns = ", ".join(f"{c} {t}" for c, t, _ in cols)
        out.append(f"CREATE TABLE {name} ({columns}, WATERMARK FOR ts AS ts - INTERVAL "
                   f"'{windows.WATERMARK_DELAY_S} seconds') WITH (connector = 'single_file', "
                   f"path = '{paths[name]}', format = 'json', type = 'source');\n")
    fmt = "debezium_json" if updating else "json"
    out.append(f"CREATE TABLE out WITH (connector = 'single_file', path = '{output}', "
               f"format = '{fmt}', type = 'sink');\n")
    return "".join(out)


def duckdb_setup(paths: dict[str, str]) -> str:
    """The inputs as DuckDB tables, each with `us`, its event time in microseconds."""
    out = [DUCKDB_MACROS]
    for name, cols in TABLES:
        names = ", ".join(c for c, _, _ in cols)
        types = ", ".join(f"{c}: '{t}'" for c, _, t in cols)
        out.append(f"CREATE TABLE {name} AS SELECT {names}, epoch_us(ts) AS us FROM "
                   f"read_json('{paths[name]}', format = 'newline_delimited', "
                   f"columns = {{{types}}});\n")
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# Queries


@dataclass
class Query:
    name: str
    sluice: str  # the SELECT after INSERT INTO out (reads t, u, r)
    duckdb: str = ""  # the same query in DuckDB; empty: the Sluice text
    updating: bool = True  # updating output (debezium_json sink) or append-only (json sink)
    aggregates: bool = False  # inputs are updating aggregates: also run with flush=1us
    approx: set[str] = field(default_factory=set)  # float columns compared with a tolerance
    known_bug: str = ""  # run only with --known-bugs: why Sluice disagrees today


QUERIES = [
    # --- updating joins: the same SQL in both
    Query("upd_inner",
          "SELECT a.ts, a.k, a.g, a.v, b.ts AS b_ts, b.g AS b_g, b.w "
          "FROM t a JOIN u b ON a.k = b.k"),
    Query("upd_left",  # two keys of different integer types
          "SELECT a.ts, a.k, a.g, a.v, b.ts AS b_ts, b.w "
          "FROM t a LEFT JOIN u b ON a.k = b.k AND a.g = b.g"),
    Query("upd_right",
          "SELECT a.ts, a.v, b.ts AS b_ts, b.k AS b_k, b.w FROM t a RIGHT JOIN u b ON a.k = b.k"),
    Query("upd_full",
          "SELECT a.ts, a.k, a.v, b.ts AS b_ts, b.k AS b_k, b.g AS b_g, b.w "
          "FROM t a FULL OUTER JOIN u b ON a.k = b.k AND a.g = b.g"),
    Query("upd_full_residual",  # a condition beyond the keys decides which pairs match
          "SELECT a.ts, a.k, a.v, b.ts AS b_ts, b.k AS b_k, b.w "
          "FROM t a FULL JOIN u b ON a.k = b.k AND a.v > b.w + 40"),
    Query("upd_left_one_sided",  # conditions on one side only: the left row stays either way
          "SELECT a.ts, a.k, a.v, b.ts AS b_ts, b.w "
          "FROM t a LEFT JOIN u b ON a.k = b.k AND a.v > 50 AND b.w < 30"),
    Query("upd_left_time",  # a one-sided time bound: not an interval join
          "SELECT a.ts, a.k, a.v, b.ts AS b_ts, b.w "
          "FROM t a LEFT JOIN u b ON a.k = b.k AND b.ts >= a.ts + INTERVAL '10 minutes'"),
    Query("upd_using",
          "SELECT a.k, a.g, a.v, b.ts AS b_ts, b.w FROM t a JOIN u b USING (k, g)"),
    Query("upd_aggs",  # both inputs updating; NULL-key groups stay alone
          "SELECT a.k, a.n, a.total, b.k AS b_k, b.m, b.hi, b.mean "
          "FROM (SELECT k, count(*) AS n, sum(v) AS total FROM t GROUP BY k) a "
          "FULL JOIN (SELECT k, count(*) AS m, max(w) AS hi, avg(y) AS mean FROM u GROUP BY k) b "
          "ON a.k = b.k",
          aggregates=True, approx={"mean"}),
    Query("upd_aggs_residual",  # pairs match and unmatch as the aggregates change
          "SELECT a.k, a.n, b.m FROM (SELECT k, count(*) AS n FROM t GROUP BY k) a "
          "LEFT JOIN (SELECT k, count(*) AS m FROM u GROUP BY k) b ON a.k = b.k AND a.n > b.m",
          aggregates=True),
    # comma joins: the WHERE conditions relating the tables make the same joins as ON
    Query("comma_updating",  # a condition on one side filters it below the join
          "SELECT a.ts, a.k, a.v, b.ts AS b_ts, b.w FROM t a, u b "
          "WHERE a.k = b.k AND a.g = b.g AND b.w < 50"),
    Query("comma_three_way",
          "SELECT a.ts, a.k, a.v, b.w, c.label FROM t a, u b CROSS JOIN r c "
          "WHERE b.w = c.w AND a.k = b.k AND a.v > 10"),
    Query("upd_three_way",  # the second join's left input retracts the padded rows
          "SELECT a.ts, a.k, a.v, b.w, c.label "
          "FROM t a LEFT JOIN u b ON a.k = b.k AND a.g = b.g FULL JOIN r c ON b.w = c.w"),

    # --- windowed joins: DuckDB groups by the window's start, bucket(us, width)
    Query("win_tumble_inner",
          """SELECT a.window.start AS window_start, a.window.end AS window_end, a.k, a.n, a.total,
       b.m, b.hi
FROM (SELECT TUMBLE(INTERVAL '1 minute') AS window, k, count(*) AS n, sum(v) AS total
      FROM t GROUP BY window, k) a
JOIN (SELECT TUMBLE(INTERVAL '1 minute') AS window, k, count(*) AS m, max(w) AS hi
      FROM u GROUP BY window, k) b
ON a.window = b.window AND a.k = b.k""",
          f"""WITH a AS (SELECT bucket(us, {MIN}) AS s, k, count(*) AS n, sum(v) AS total
           FROM t GROUP BY s, k),
     b AS (SELECT bucket(us, {MIN}) AS s, k, count(*) AS m, max(w) AS hi FROM u GROUP BY s, k)
SELECT ts_of(a.s) AS window_start, ts_of(a.s + {MIN}) AS window_end, a.k, a.n, a.total, b.m, b.hi
FROM a JOIN b ON a.s = b.s AND a.k = b.k""",
          updating=False),
    Query("win_tumble_left",  # the table-function form; conditions on one side only
          """SELECT a.window_start, a.k, a.n, b.m
FROM (SELECT window_start, k, count(*) AS n FROM TUMBLE(t, ts, INTERVAL '2 minutes')
      GROUP BY window_start, window_end, k) a
LEFT JOIN (SELECT window_start, k, count(*) AS m FROM TUMBLE(u, ts, INTERVAL '2 minutes')
           GROUP BY window_start, window_end, k) b
ON a.window_start = b.window_start AND a.k = b.k AND a.n > 1 AND b.m < 4""",
          f"""WITH a AS (SELECT bucket(us, {2 * MIN}) AS s, k, count(*) AS n FROM t GROUP BY s, k),
     b AS (SELECT bucket(us, {2 * MIN}) AS s, k, count(*) AS m FROM u GROUP BY s, k)
SELECT ts_of(a.s) AS window_start, a.k, a.n, b.m
FROM a LEFT JOIN b ON a.s = b.s AND a.k = b.k AND a.n > 1 AND b.m < 4""",
          updating=False),
    Query("win_tumble_full",
          """SELECT coalesce(a.window.start, b.window.start) AS window_start, a.k, a.n, b.k AS b_k,
       b.m, b.sy
FROM (SELECT TUMBLE(INTERVAL '1 minute') AS window, k, g, count(*) AS n
      FROM t GROUP BY window, k, g) a
FULL OUTER JOIN (SELECT TUMBLE(INTERVAL '1 minute') AS window, k, g, count(*) AS m,
                        sum(y) AS sy
                 FROM u GROUP BY window, k, g) b
ON a.window = b.window AND a.k = b.k AND a.g = b.g""",
          f"""WITH a AS (SELECT bucket(us, {MIN}) AS s, k, g, count(*) AS n
           FROM t GROUP BY s, k, g),
     b AS (SELECT bucket(us, {MIN}) AS s, k, g, count(*) AS m, sum(y) AS sy
           FROM u GROUP BY s, k, g)
SELECT ts_of(coalesce(a.s, b.s)) AS window_start, a.k, a.n, b.k AS b_k, b.m, b.sy
FROM a FULL OUTER JOIN b ON a.s = b.s AND a.k = b.k AND a.g = b.g""",
          updating=False, approx={"sy"}),
    Query("win_hop_inner",
          """SELECT a.window.start AS window_start, a.window.end AS window_end, a.k, a.n, b.m, b.lo
FROM (SELECT HOP(INTERVAL '30 seconds', INTERVAL '2 minutes') AS window, k, count(*) AS n
      FROM t GROUP BY window, k) a
JOIN (SELECT HOP(INTERVAL '30 seconds', INTERVAL '2 minutes') AS window, k, count(*) AS m,
             min(w) AS lo
      FROM u GROUP BY window, k) b
ON a.window = b.window AND a.k = b.k""",
          # every row is in the 4 windows starting at its half minute and the 3 before
          f"""WITH a AS (SELECT bucket(us, {30 * SEC}) - j * {30 * SEC} AS s, k, count(*) AS n
           FROM t, range(4) AS r(j) GROUP BY s, k),
     b AS (SELECT bucket(us, {30 * SEC}) - j * {30 * SEC} AS s, k, count(*) AS m, min(w) AS lo
           FROM u, range(4) AS r(j) GROUP BY s, k)
SELECT ts_of(a.s) AS window_start, ts_of(a.s + {2 * MIN}) AS window_end, a.k, a.n, b.m, b.lo
FROM a JOIN b ON a.s = b.s AND a.k = b.k""",
          updating=False),
    Query("win_tvf_inner",  # raw rows of the same window
          """SELECT a.window_start, a.ts, a.k, a.v, b.ts AS b_ts, b.w
FROM TUMBLE(t, ts, INTERVAL '1 minute') a JOIN TUMBLE(u, ts, INTERVAL '1 minute') b
ON a.window_start = b.window_start AND a.k = b.k""",
          f"""SELECT ts_of(bucket(a.us, {MIN})) AS window_start, a.ts, a.k, a.v, b.ts AS b_ts, b.w
FROM t a JOIN u b ON bucket(a.us, {MIN}) = bucket(b.us, {MIN}) AND a.k = b.k""",
          updating=False),
    Query("win_tvf_full",
          """SELECT a.window_end, a.ts, a.k, a.v, b.window_end AS b_end, b.ts AS b_ts, b.w
FROM TUMBLE(t, ts, INTERVAL '30 seconds') a
FULL JOIN TUMBLE(u, ts, INTERVAL '30 seconds') b
ON a.window_end = b.window_end AND a.k = b.k AND a.g = b.g""",
          f"""WITH a AS (SELECT *, bucket(us, {30 * SEC}) + {30 * SEC} AS e FROM t),
     b AS (SELECT *, bucket(us, {30 * SEC}) + {30 * SEC} AS e FROM u)
SELECT ts_of(a.e) AS window_end, a.ts, a.k, a.v, ts_of(b.e) AS b_end, b.ts AS b_ts, b.w
FROM a FULL JOIN b ON a.e = b.e AND a.k = b.k AND a.g = b.g""",
          updating=False),
    Query("win_then_aggregate",  # a windowed aggregate over the join's output
          """SELECT window.start AS window_start, count(*) AS pairs, sum(m) AS total
FROM (SELECT a.window AS window, b.m
      FROM (SELECT TUMBLE(INTERVAL '1 minute') AS window, k, count(*) AS n
            FROM t GROUP BY window, k) a
      JOIN (SELECT TUMBLE(INTERVAL '1 minute') AS window, k, count(*) AS m
            FROM u GROUP BY window, k) b
      ON a.window = b.window AND a.k = b.k AND b.m >= a.n)
GROUP BY window""",
          f"""WITH a AS (SELECT bucket(us, {MIN}) AS s, k, count(*) AS n FROM t GROUP BY s, k),
     b AS (SELECT bucket(us, {MIN}) AS s, k, count(*) AS m FROM u GROUP BY s, k)
SELECT ts_of(a.s) AS window_start, count(*) AS pairs, sum(m) AS total
FROM a JOIN b ON a.s = b.s AND a.k = b.k AND b.m >= a.n GROUP BY a.s""",
          updating=False),
    Query("win_tvf_then_tumble",  # a pair's time is its later row's; a padded row's its own
          """SELECT window.start AS window_start, pairs, matched, total
FROM (SELECT TUMBLE(INTERVAL '90 seconds') AS window, count(*) AS pairs, count(b.w) AS matched,
             sum(b.w) AS total
      FROM TUMBLE(t, ts, INTERVAL '1 minute') a LEFT JOIN TUMBLE(u, ts, INTERVAL '1 minute') b
      ON a.window_start = b.window_start AND a.k = b.k
      GROUP BY window)""",
          f"""SELECT ts_of(bucket(greatest(a.us, coalesce(b.us, a.us)), {90 * SEC}))
         AS window_start, count(*) AS pairs, count(b.w) AS matched, sum(b.w) AS total
FROM t a LEFT JOIN u b ON bucket(a.us, {MIN}) = bucket(b.us, {MIN}) AND a.k = b.k
GROUP BY 1""",
          updating=False),

    # --- interval joins: the same SQL in both
    Query("ival_between",
          "SELECT a.ts, a.k, a.v, b.ts AS b_ts, b.w FROM t a JOIN u b "
          "ON a.k = b.k AND b.ts BETWEEN a.ts AND a.ts + INTERVAL '10 seconds'",
          updating=False),
    Query("ival_comma",  # the same interval join, its conditions in WHERE
          "SELECT a.ts, a.k, a.v, b.ts AS b_ts, b.w FROM t a, u b "
          "WHERE a.k = b.k AND b.ts BETWEEN a.ts AND a.ts + INTERVAL '10 seconds'",
          updating=False),
    Query("ival_strict",  # strict bounds, written the other way round
          "SELECT b.ts AS b_ts, b.k, b.w, a.ts, a.v FROM u b JOIN t a "
          "ON b.k = a.k AND a.ts > b.ts - INTERVAL '20 seconds' "
          "AND a.ts < b.ts + INTERVAL '5 seconds'",
          updating=False),
    Query("ival_residual",  # two keys and a condition beyond the keys and times
          "SELECT a.ts, a.k, a.g, a.v, b.ts AS b_ts, b.w FROM t a JOIN u b "
          "ON a.k = b.k AND a.g = b.g AND b.ts >= a.ts - INTERVAL '1 minute' "
          "AND b.ts <= a.ts + INTERVAL '30 seconds' AND b.w < a.v",
          updating=False),
    Query("ival_then_tumble",  # a joined row's event time is the later of its two rows'
          """SELECT window.start AS window_start, pairs, total
FROM (SELECT TUMBLE(INTERVAL '1 minute') AS window, count(*) AS pairs, sum(b.w) AS total
      FROM t a JOIN u b ON a.k = b.k AND b.ts BETWEEN a.ts - INTERVAL '30 seconds' AND a.ts
      GROUP BY window)""",
          f"""SELECT ts_of(bucket(greatest(a.us, b.us), {MIN})) AS window_start, count(*) AS pairs,
       sum(b.w) AS total
FROM t a JOIN u b ON a.k = b.k AND b.ts BETWEEN a.ts - INTERVAL '30 seconds' AND a.ts
GROUP BY bucket(greatest(a.us, b.us), {MIN})""",
          updating=False),
]


def sessions(table: str, value: str, gap_us: int) -> str:
    """DuckDB: per key, sessions of `table` (a new one starts when a row is more than the gap
    after the key's previous row) with their bounds [first row, last row + gap) and count."""
    return f"""(WITH flagged AS (
  SELECT *, CASE WHEN us - lag(us) OVER (PARTITION BY k ORDER BY us) <= {gap_us}
                 THEN 0 ELSE 1 END AS new_session FROM {table}),
numbered AS (
  SELECT *, sum(new_session) OVER (PARTITION BY k ORDER BY us) AS session_id FROM flagged)
SELECT min(us) AS s, max(us) + {gap_us} AS e, k, count(*) AS {value}
FROM numbered GROUP BY k, session_id)"""


# Session windows are joined as values (sessions of one key differ in length), and a time
# bound on a column of a joined input is no interval join (its event time is the later
# of its rows'): both are updating joins.
QUERIES += [
    Query("session_join",
          """SELECT a.window.start AS window_start, a.window.end AS window_end, a.k, a.n,
       b.window.start AS b_start, b.m
FROM (SELECT SESSION(INTERVAL '30 seconds') AS window, k, count(*) AS n FROM t GROUP BY window, k) a
JOIN (SELECT SESSION(INTERVAL '30 seconds') AS window, k, count(*) AS m FROM u GROUP BY window, k) b
ON a.window = b.window AND a.k = b.k""",
          f"""SELECT ts_of(a.s) AS window_start, ts_of(a.e) AS window_end, a.k, a.n,
       ts_of(b.s) AS b_start, b.m
FROM {sessions("t", "n", 30 * SEC)} a JOIN {sessions("u", "m", 30 * SEC)} b
ON a.s = b.s AND a.e = b.e AND a.k = b.k""",
          updating=True),
    Query("ival_nested",
          "SELECT a.ts, a.k, b.ts AS b_ts, c.ts AS c_ts, c.label FROM t a JOIN u b "
          "ON a.k = b.k "
          "AND b.ts BETWEEN a.ts - INTERVAL '5 minutes' AND a.ts + INTERVAL '5 minutes' "
          "JOIN r c ON b.g = c.w AND c.ts BETWEEN a.ts AND a.ts + INTERVAL '20 seconds'",
          updating=True),
]

# Subqueries in expressions (semi, anti and mark joins, scalar subqueries as LEFT joins of
# aggregates): the same SQL in both; NULL keys and g's exercise three-valued IN and NOT IN.
QUERIES += [
    Query("sub_in", "SELECT a.ts, a.k, a.v FROM t a WHERE a.k IN (SELECT k FROM u WHERE w > 50)"),
    Query("sub_not_in",
          "SELECT a.ts, a.k, a.v FROM t a "
          "WHERE a.k NOT IN (SELECT k FROM u WHERE w > 20 AND k IS NOT NULL)"),
    Query("sub_not_in_value",  # u's k holds NULLs: never TRUE
          "SELECT a.ts, a.k, a.g, a.k NOT IN (SELECT k FROM u WHERE w > 90) AS n, "
          "a.g IN (SELECT g FROM u b WHERE b.k = a.k) AS m FROM t a"),
    Query("sub_not_in_correlated",  # u's NULL g's make some keys' NOT IN never TRUE
          "SELECT a.ts, a.k, a.g FROM t a "
          "WHERE a.g NOT IN (SELECT g FROM u b WHERE b.k = a.k AND b.w < 50)"),
    Query("sub_exists",
          "SELECT a.ts, a.k, a.v FROM t a "
          "WHERE EXISTS (SELECT 1 FROM u b WHERE b.k = a.k AND b.g = a.g AND b.w > a.v)"),
    Query("sub_not_exists",
          "SELECT a.ts, a.k, a.v FROM t a "
          "WHERE NOT EXISTS (SELECT 1 FROM u b WHERE b.k = a.k AND b.w > a.v + 50)"),
    Query("sub_exists_or",
          "SELECT a.ts, a.k, a.v FROM t a WHERE a.v > 90 OR a.g NOT IN "
          "(SELECT g FROM u WHERE u.k = a.k AND w < 10) OR EXISTS (SELECT 1 FROM r WHERE r.w = a.v)"),
    Query("sub_scalar",
          "SELECT a.ts, a.k, a.v FROM t a WHERE a.v > (SELECT avg(w) + 10 FROM u)"),
    Query("sub_scalar_correlated",  # count over no rows is 0
          "SELECT a.ts, a.k, a.v, (SELECT count(*) FROM u b WHERE b.k = a.k AND b.g = a.g) AS n, "
          "(SELECT max(b.w) FROM u b WHERE a.k = b.k) AS hi FROM t a"),
    Query("sub_in_aggregate",  # the subquery side is an updating aggregate
          "SELECT k, count(*) AS n FROM t WHERE k IN "
          "(SELECT k FROM u GROUP BY k HAVING count(*) > 20) GROUP BY k",
          aggregates=True),
]

# Disagreements whose cause lies outside the join operators; run them with --known-bugs.
KNOWN_BUGS: list = []

# ---------------------------------------------------------------------------------------------
# Running


def configs_of(q: Query):
    """p=1, p=4 and p=4 with batch_size=1; for joins of aggregates also with flush=1us."""
    return CONFIGS if q.aggregates else CONFIGS[:3]


def run_query(sluice: str, workdir: str, q: Query, paths: dict[str, str], tag: str, p: int,
              extra: list[str], prefix: str):
    """Returns (rows, columns, a summary of the output) or raises RuntimeError."""
    sql_path = os.path.join(workdir, f"{q.name}.{tag}.sql")
    out_path = os.path.join(workdir, f"{q.name}.{tag}.out.json")
    with open(sql_path, "w") as f:
        f.write(sluice_ddl(paths, out_path, q.updating) + prefix
                + f"INSERT INTO out {q.sluice};\n")
    run_sluice([sluice, "run", sql_path, "--parallelism", str(p)] + extra, out_path)
    if q.updating:
        rows, columns, changes = apply_changelog(out_path)
        return rows, columns, f"changes {changes}"
    rows, columns = read_json_lines(out_path)
    return rows, columns, "append-only"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sluice", nargs="?", default=os.path.join(REPO, "build/release/sluice"))
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("--rows", type=int, default=2500, help="rows of t and of u (r: a tenth)")
    ap.add_argument("--only", default="", help="comma-separated query names")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--known-bugs", action="store_true",
                    help="also run the queries of known disagreements (KNOWN_BUGS)")
    args = ap.parse_args()

    sluice = os.path.abspath(args.sluice)
    if not os.access(sluice, os.X_OK):
        print(f"joins_vs_duckdb.py: {sluice} is not an executable", file=sys.stderr)
        return 2
    only = {s for s in args.only.split(",") if s}
    unknown = only - {q.name for q in QUERIES + KNOWN_BUGS}
    if unknown:
        print(f"joins_vs_duckdb.py: unknown queries {sorted(unknown)}", file=sys.stderr)
        return 2
    queries = [q for q in QUERIES + KNOWN_BUGS
               if (q.name in only if only else not q.known_bug or args.known_bugs)]

    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="sluice-differential-joins-")
    try:
        inputs, paths = write_inputs(args.seed, args.rows, workdir)

        con = duckdb.connect()
        con.execute("SET threads = 2")
        con.execute(duckdb_setup(paths))
        # The oracle must read the inputs as generated.
        for name, rows in inputs.items():
            got = con.execute(f"SELECT count(*), count(DISTINCT ts), count(w IS NULL OR NULL) "
                              f"FROM {name}" if name == "r" else
                              f"SELECT count(*), count(DISTINCT ts), count(k IS NULL OR NULL) "
                              f"FROM {name}").fetchone()
            col = "w" if name == "r" else "k"
            want = (len(rows), len({row["ts"] for row in rows}),
                    sum(row[col] is None for row in rows))
            if tuple(got) != want:
                print(f"duckdb read {name} wrongly: {tuple(got)} != {want}", file=sys.stderr)
                return 2
        print(f"input: t {len(inputs['t'])} rows, u {len(inputs['u'])} rows, "
              f"r {len(inputs['r'])} rows, seed {args.seed}, duckdb {duckdb.__version__}, "
              f"{workdir if args.keep else 'temporary'}")

        def runs(q):
            for i, (label_cfg, p, extra, prefix) in enumerate(configs_of(q)):
                def run(i=i, p=p, extra=extra, prefix=prefix):
                    return run_query(sluice, workdir, q, paths, f"c{i}", p, extra, prefix)
                yield f"{q.name} {label_cfg}", run, q.known_bug

        return compare_runs(queries, lambda q: duckdb_rows(con, q.duckdb or q.sluice), runs,
                            started)
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
