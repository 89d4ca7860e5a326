"""Shared pieces of the differential tests (windows_vs_duckdb.py, updating_vs_duckdb.py,
joins_vs_duckdb.py): running `sluice run`, reading what its sinks wrote (JSON lines, or a
Debezium changelog applied to a final table), DuckDB helpers, and the multiset comparison of
two results.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import os
import re
import subprocess
import sys
import time
from collections import Counter

try:
    import duckdb  # noqa: F401  (re-exported for the scripts)
except ImportError:
    sys.exit(f"{os.path.basename(sys.argv[0])}: the duckdb module is missing; run "
             "scripts/install-python-deps and use build/venv/bin/python")

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

REL_TOL = 1e-9
ABS_TOL = 1e-9
MAX_DIFF_LINES = 10

# Configurations of an updating query: (label, --parallelism, extra arguments, statements
# before the INSERT). Results are flushed every update_flush_interval of wall-clock time
# (default 1 s), so a short run usually writes one insert per group; the last configuration
# flushes after every batch, which makes the changelog carry updates.
CONFIGS = [
    ("p=1", 1, [], ""),
    ("p=4", 4, [], ""),
    ("p=4 batch_size=1", 4, ["--set", "batch_size=1"], ""),
    ("p=4 batch_size=1 flush=1us", 4, ["--set", "batch_size=1"],
     "SET update_flush_interval = INTERVAL '1 microsecond';\n"),
]

# DuckDB macros: the epoch-aligned start of the window of width `w` microseconds containing
# `us`, and the timestamp of `us` microseconds since the epoch.
DUCKDB_MACROS = """
CREATE MACRO bucket(us, w) AS us - (((us % w) + w) % w);
CREATE MACRO ts_of(us) AS make_timestamp(us);
"""

# ---------------------------------------------------------------------------------------------
# Values and comparison

TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?$")


def format_ts(t: dt.datetime) -> str:
    """ISO form as Sluice writes it: no fraction, or 3 or 6 digits."""
    s = t.strftime("%Y-%m-%dT%H:%M:%S")
    if t.microsecond % 1000:
        s += f".{t.microsecond:06d}"
    elif t.microsecond:
        s += f".{t.microsecond // 1000:03d}"
    return s


def norm_value(v):
    """A comparable form: timestamps as ISO strings (as in the input: no fraction, 3 or 6 digits),
    integers as int, floats as float, NULL as None."""
    try:
        return _norm_value_cached(v)
    except TypeError:  # unhashable (a list or a dict)
        return _norm_value(v)


def _norm_value(v):
    if isinstance(v, dt.datetime):
        return format_ts(v)
    if isinstance(v, str) and TS_RE.match(v):
        return format_ts(dt.datetime.fromisoformat(v))
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        return None if math.isnan(v) else v
    if hasattr(v, "__int__") and not isinstance(v, str):  # Decimal, HUGEINT
        f = float(v)
        return int(v) if f == int(v) else f
    return v


# Results repeat values (timestamps above all) many times; typed keeps 1, 1.0 and True apart.
_norm_value_cached = functools.lru_cache(maxsize=1 << 16, typed=True)(_norm_value)


def close(a, b) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    return a == b


def compare(columns: list[str], approx: set[str], expected: list[dict], actual: list[dict]):
    """Compares two lists of rows as multisets. Returns a list of problem lines (empty when
    they agree). Exact columns form the key; approximate columns are matched within a key."""
    exact_cols = [c for c in columns if c not in approx]
    approx_cols = [c for c in columns if c in approx]

    def split(rows):
        out: dict[tuple, list[tuple]] = {}
        for r in rows:
            key = tuple(norm_value(r.get(c)) for c in exact_cols)
            out.setdefault(key, []).append(tuple(norm_value(r.get(c)) for c in approx_cols))
        return out

    def show(key, vals):
        d = dict(zip(exact_cols, key))
        d.update(zip(approx_cols, vals))
        return json.dumps({c: d[c] for c in columns})

    def order(vals):  # numbers by value, NULLs first
        return tuple((x is not None, x if isinstance(x, (int, float)) else repr(x))
                     for x in vals)

    exp, act = split(expected), split(actual)
    missing, extra, differ = [], [], []
    for key in sorted(set(exp) | set(act), key=repr):
        e = sorted(exp.get(key, []), key=order)
        a = sorted(act.get(key, []), key=order)
        if len(e) == len(a) and all(all(close(x, y) for x, y in zip(ev, av))
                                    for ev, av in zip(e, a)):
            continue
        if len(e) == len(a) == 1:
            differ.append((key, e[0], a[0]))
            continue
        ec, ac = Counter(e), Counter(a)
        for vals in (ec - ac).elements():
            missing.append(show(key, vals))
        for vals in (ac - ec).elements():
            extra.append(show(key, vals))

    problems = []
    if differ:
        problems.append(f"  {len(differ)} rows differ in {', '.join(approx_cols)} "
                        "(duckdb | sluice):")
        for key, e, a in differ[:MAX_DIFF_LINES]:
            problems.append(f"    {show(key, e)}\n  | {show(key, a)}")
    if missing:
        problems.append(f"  {len(missing)} rows expected (duckdb) but not produced by sluice:")
        problems += ["    " + m for m in missing[:MAX_DIFF_LINES]]
    if extra:
        problems.append(f"  {len(extra)} rows produced by sluice but not expected (duckdb):")
        problems += ["    " + x for x in extra[:MAX_DIFF_LINES]]
    return problems


def check(expected: list[dict], exp_cols: list[str], actual: list[dict],
          act_cols: list[str] | None, approx: set[str]) -> list[str]:
    """The problems of one run: no rows on either side (the query tests nothing), different
    columns, or different rows. Empty when the run passes."""
    problems = []
    if not expected and not actual:
        problems.append("  no rows on either side (the query tests nothing)")
    if act_cols is not None and act_cols != exp_cols:
        problems.append(f"  sluice columns {act_cols}, duckdb columns {exp_cols}")
    else:
        problems += compare(exp_cols, approx, expected, actual)
    return problems


# ---------------------------------------------------------------------------------------------
# Running


def run_sluice(cmd: list[str], out_path: str, timeout: int = 300) -> None:
    """Runs `sluice run ...`; raises RuntimeError when it fails or writes no output file."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"sluice timed out after {timeout} s ({' '.join(cmd)})")
    if proc.returncode != 0:
        raise RuntimeError(f"sluice exited {proc.returncode} ({' '.join(cmd)}):\n"
                           + proc.stderr.strip())
    if not os.path.exists(out_path):
        raise RuntimeError(f"sluice wrote no output file ({' '.join(cmd)})")


def read_json_lines(path: str):
    """Rows of a JSON-lines sink file and their column names (in file order; None when the
    file is empty). Raises RuntimeError when a line is malformed, has other columns than the
    first, or writes a timestamp oddly."""
    rows, columns = [], None
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise RuntimeError(f"{path} line {n}: invalid JSON ({e}): {line.strip()}")
            if columns is None:
                columns = list(obj)
            elif list(obj) != columns:
                raise RuntimeError(f"{path} line {n}: columns {list(obj)}, expected {columns}")
            for c, v in obj.items():
                if isinstance(v, str) and c.startswith("window_") and not TS_RE.match(v):
                    raise RuntimeError(f"{path} line {n}: {c} is not a timestamp: {v!r}")
                if isinstance(v, str) and TS_RE.match(v) and re.search(r"\.0+$", v):
                    raise RuntimeError(f"{path} line {n}: zero fraction written: {v!r}")
            rows.append(obj)
    return rows, columns


def apply_changelog(path: str):
    """Returns (final rows, column names of the first after/before image, a summary of the
    changes) or raises RuntimeError when the changelog is malformed or removes a row that is
    not there. c adds `after`; d removes `before`; u removes `before` and adds `after`."""
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


def duckdb_rows(con, sql: str):
    """(rows as dicts, column names) of a DuckDB query."""
    cur = con.execute(sql)
    columns = [d[0] for d in cur.description]
    return [dict(zip(columns, r)) for r in cur.fetchall()], columns


def compare_runs(queries, expected_of, runs_of, started: float) -> int:
    """The comparison loop of every differential script. For each query, its expected rows
    (`expected_of(q)` -> (rows, columns), from DuckDB), then each of its Sluice runs
    (`runs_of(q)` yields (label, run, known_bug); `run()` -> (rows, columns, summary), summary a
    string or None, or raises RuntimeError) checked against them with `check`. Prints an `ok` or
    `FAIL` line per run and the totals; returns the exit status (0 when every run passed)."""
    passed = failed = 0
    for q in queries:
        expected, exp_cols = expected_of(q)
        for label, run, known_bug in runs_of(q):
            try:
                actual, act_cols, summary = run()
            except RuntimeError as e:
                print(f"FAIL {label}: {e}")
                failed += 1
                continue
            problems = check(expected, exp_cols, actual, act_cols, q.approx)
            if problems:
                print(f"FAIL {label}: duckdb {len(expected)} rows, sluice {len(actual)} rows"
                      + (f" ({summary})" if summary else ""))
                if known_bug:
                    print(f"  known bug: {known_bug}")
                print("\n".join(problems))
                failed += 1
            else:
                print(f"ok  {label} ({len(actual)} rows" + (f"; {summary})" if summary else ")"))
                passed += 1
    print(f"time: {time.monotonic() - started:.1f} s")
    print(f"differential: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1
