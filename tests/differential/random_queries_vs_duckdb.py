#!/usr/bin/env python3
"""Differential test: seeded random SQL queries, Sluice against DuckDB on the same finite input.

Generates three small tables (JSON lines read by `single_file` sources: INT, BIGINT, TEXT,
DOUBLE, DECIMAL, BOOLEAN and TIMESTAMP columns with NULLs, exact duplicate rows and skewed
keys), then random nested queries over them (SQLsmith/SQLancer style; the grammar is the
GRAMMAR section below, each production guarded by a feature of FEATURES). Each query is
rendered twice from one tree: in Sluice's dialect (PostgreSQL semantics) and in DuckDB's
(integer `/` as `//`, windows as epoch bucketing as in windows_vs_duckdb.py). Several queries
run in one `sluice run` (one sink each: `json` for append-only results, `debezium_json` for
updating ones, whose changelog is applied), at parallelism 1 and 4, and each final result is
compared with DuckDB's as a multiset (floats with a tolerance). A disagreement, or a query
Sluice refuses, is a failure; it is then minimized (query tree and input rows) and printed as
a sqllogictest skeleton.

    build/venv/bin/python tests/differential/random_queries_vs_duckdb.py [build/release/sluice]
        [--seed N] [--queries N] [--batch N] [--parallelism 1,4,4u] [--features +distinct,-hop]
        [--keep] [--no-minimize] [--show-queries] [--list-features]

Prints the seed, a line per failure and a final `random: N passed, M failed ...`; exits 1
when anything failed.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (  # noqa: E402
    DUCKDB_MACROS, REPO, apply_changelog, compare, duckdb, duckdb_rows, format_ts,
    read_json_lines)

# ---------------------------------------------------------------------------------------------
# Features: every production of the grammar is guarded by one. Those off by default are
# constructs Sluice does not support yet (other engineers are adding them): turn them on with
# `--features +name` to test them; when one lands, flip its default here. A query that Sluice
# refuses is a failure, unless it uses a feature that is off by default ("pending").

FEATURES: dict[str, tuple[bool, str]] = {
    # shapes
    "subquery_from": (True, "subqueries in FROM, with and without alias"),
    "column_aliases": (True, "column aliases of a subquery in FROM: AS q(a, b)"),
    "group_by": (True, "GROUP BY without a window (updating result), by expression/alias/position"),
    "global_agg": (True, "aggregates without GROUP BY (one updating row)"),
    "having": (True, "HAVING"),
    "agg_over_agg": (True, "an aggregate over an aggregating subquery, reusing its unaliased calls"),
    "join": (True, "INNER/LEFT/RIGHT/FULL joins ON equalities (updating joins)"),
    "join_extra_cond": (True, "conditions beyond the equalities in ON"),
    "join_three": (True, "a third table joined to a join"),
    "union_all": (True, "UNION ALL"),
    "tumble": (True, "TUMBLE(width) in GROUP BY"),
    "hop": (True, "HOP(slide, width) in GROUP BY"),
    "tumble_tvf": (True, "FROM TUMBLE(t, ts, width) (grouped, and raw rows)"),
    "hop_tvf": (True, "FROM HOP(t, ts, slide, width), grouped"),
    # expressions
    "logic": (True, "AND / OR / NOT"),
    "compare": (True, "= <> < <= > >= and IS [NOT] DISTINCT FROM"),
    "between": (True, "[NOT] BETWEEN"),
    "in_list": (True, "[NOT] IN (list)"),
    "like": (True, "[NOT] LIKE"),
    "case": (True, "CASE WHEN"),
    "nulls": (True, "IS [NOT] NULL, COALESCE, NULLIF, NULL literals"),
    "cast": (True, "CAST"),
    "arith": (True, "+ - * / % abs"),
    "string_funcs": (True, "lower upper substr || concat replace trim left right reverse lpad "
                           "length strpos starts_with"),
    "time_funcs": (True, "timestamp + interval, date_trunc, timestamp comparisons"),
    "agg_distinct": (True, "count(DISTINCT x)"),
    "bool_aggs": (True, "bool_and, bool_or"),
    "distinct": (True, "SELECT DISTINCT"),
    "set_ops": (True, "UNION / INTERSECT / EXCEPT, distinct and ALL"),
    "order_limit": (True, "ORDER BY ... LIMIT in a subquery (unique order)"),
    "double_equals": (True, "== as equality"),
    "comma_join": (True, "FROM a, b WHERE a.k = b.k"),
    "subquery_expr": (True, "[NOT] IN (SELECT ...), [NOT] EXISTS (correlated or not), "
                            "comparisons with scalar subqueries"),
    "window_funcs": (True, "aggregates OVER (PARTITION BY k ORDER BY ts [RANGE frame]); not "
                           "LAG/LEAD or ROWS frames: they take rows with equal times in arrival "
                           "order, and t1 has such rows"),
    # pending: off by default
    "hop_tvf_where": (False, "window_start/window_end of HOP in FROM in WHERE (refused: each "
                             "row stands for several windows)"),
}
PENDING = {name for name, (on, _) in FEATURES.items() if not on}


def parse_features(spec: str) -> set[str]:
    """Default features, changed by a comma-separated list of +name / -name (or `all`)."""
    on = {name for name, (default, _) in FEATURES.items() if default}
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        if part == "all":
            on = set(FEATURES)
            continue
        sign, name = (part[0], part[1:]) if part[0] in "+-" else ("+", part)
        if name not in FEATURES:
            raise SystemExit(f"unknown feature {name!r}; --list-features lists them")
        (on.add if sign == "+" else on.discard)(name)
    return on


# ---------------------------------------------------------------------------------------------
# Input: t1 (the busy table), t2 (keys skewed the other way), t3 (a small dimension table).

WATERMARK_DELAY_S = 30
START = dt.datetime(2023, 3, 14, 9, 58, 17, 250000)
KEYS = [f"k{i}" for i in range(16)]
WORDS = ["apple", "Banana", "cherry", "date_x", "", "a%b", "kiwi", "lemon", "APPLE", "fig",
         " pad ", "x_y_z", "k1", "mango", "apple pie", "b"]

TABLES = {
    # name: [(column, sluice type, duckdb type, kind)]
    "t1": [("id", "BIGINT", "BIGINT", "bigint"), ("k", "TEXT", "VARCHAR", "text"),
           ("a", "INT", "INTEGER", "int"), ("b", "BIGINT", "BIGINT", "bigint"),
           ("x", "DOUBLE", "DOUBLE", "double"), ("d", "DECIMAL(10, 2)", "DECIMAL(10, 2)", "decimal"),
           ("f", "BOOLEAN", "BOOLEAN", "bool"), ("s", "TEXT", "VARCHAR", "text"),
           ("ts", "TIMESTAMP", "TIMESTAMP", "ts")],
    "t2": [("id", "BIGINT", "BIGINT", "bigint"), ("k", "TEXT", "VARCHAR", "text"),
           ("a", "INT", "INTEGER", "int"), ("c", "INT", "INTEGER", "int"),
           ("y", "DOUBLE", "DOUBLE", "double"), ("s", "TEXT", "VARCHAR", "text"),
           ("ts", "TIMESTAMP", "TIMESTAMP", "ts")],
    "t3": [("k", "TEXT", "VARCHAR", "text"), ("g", "INT", "INTEGER", "int"),
           ("label", "TEXT", "VARCHAR", "text"), ("ts", "TIMESTAMP", "TIMESTAMP", "ts")],
}
ROWS = {"t1": 360, "t2": 220, "t3": 30}


def generate_tables(seed: int, scale: float = 1.0) -> dict[str, list[dict]]:
    rng = random.Random(seed)
    w1 = [0.72 ** i for i in range(len(KEYS))]
    w2 = w1[::-1]
    out: dict[str, list[dict]] = {}
    for name, cols in TABLES.items():
        n = max(4, int(ROWS[name] * scale))
        rows: list[dict] = []
        nominal = 0.0
        span_us = 15 * 60 * 1_000_000
        high = None
        for i in range(n):
            if rows and rng.random() < 0.05:
                rows.append(dict(rows[-1]))  # an exact duplicate (its time is not late)
                continue
            nominal += rng.expovariate(n / span_us)
            t = START + dt.timedelta(microseconds=int(nominal))
            r = rng.random()
            if r < 0.6:
                t = t.replace(microsecond=t.microsecond // 1000 * 1000)
            elif r < 0.75:
                t = t.replace(microsecond=0)
            elif r < 0.85:
                t = t.replace(second=0, microsecond=0)  # on a window boundary
            if rng.random() < 0.3:  # out of order, by less than the watermark delay
                t -= dt.timedelta(microseconds=rng.randrange(0, 10_000_000))
            if high is not None and t <= high - dt.timedelta(seconds=WATERMARK_DELAY_S - 1):
                t = high
            high = t if high is None else max(high, t)

            def null(p=0.07):
                return rng.random() < p
            row: dict = {}
            for col, _, _, kind in cols:
                if col == "id":
                    v = i
                elif col == "ts":
                    v = t
                elif col == "k":
                    v = None if null(0.05) else rng.choices(KEYS, w2 if name == "t2" else w1)[0]
                elif col == "g":
                    v = None if null() else rng.randint(0, 3)
                elif col == "label":
                    v = None if null() else f"L{rng.randint(0, 9)}"
                elif kind == "int":
                    v = None if null() else (rng.randint(-3, 3) if rng.random() < 0.3
                                             else rng.randint(-50, 50))
                elif kind == "bigint":
                    v = None if null() else rng.randint(-1_000_000, 5_000_000)
                elif kind == "double":
                    v = None if null() else round(rng.uniform(-100.0, 1000.0), 2)
                elif kind == "decimal":
                    v = None if null() else f"{rng.uniform(-1000.0, 1000.0):.2f}"
                elif kind == "bool":
                    v = None if null(0.1) else rng.random() < 0.5
                elif kind == "text":
                    v = None if null(0.08) else rng.choice(WORDS)
                row[col] = v
            rows.append(row)
        out[name] = rows
    return out


def write_table(rows: list[dict], cols, path: str) -> None:
    with open(path, "w") as f:
        for row in rows:
            parts = []
            for col, _, _, kind in cols:
                v = row[col]
                if v is None:
                    s = "null"
                elif kind == "ts":
                    s = json.dumps(format_ts(v))
                elif kind == "decimal":
                    s = v  # a JSON number with two decimals
                else:
                    s = json.dumps(v)
                parts.append(f"{json.dumps(col)}: {s}")
            f.write("{" + ", ".join(parts) + "}\n")


def sluice_source_ddl(paths: dict[str, str]) -> str:
    out = []
    for name, cols in TABLES.items():
        columns = ", ".join(f"{c} {st}" for c, st, _, _ in cols)
        out.append(f"CREATE TABLE {name} ({columns}, WATERMARK FOR ts AS ts - INTERVAL "
                   f"'{WATERMARK_DELAY_S} seconds') WITH (connector = 'single_file', "
                   f"path = '{paths[name]}', format = 'json', type = 'source');")
    return "\n".join(out) + "\n"


def duckdb_setup(con, paths: dict[str, str]) -> None:
    con.execute(DUCKDB_MACROS.replace("CREATE MACRO", "CREATE OR REPLACE MACRO"))
    for name, cols in TABLES.items():
        spec = ", ".join(f"{c}: '{dt_}'" for c, _, dt_, _ in cols)
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM read_json('{paths[name]}', "
                    f"format = 'newline_delimited', columns = {{{spec}}})")


# ---------------------------------------------------------------------------------------------
# The query tree. An expression is rendered once per dialect when it is built (E.sl for
# Sluice, E.dk for DuckDB); the tree of selects keeps the structure the minimizer shrinks.

NUMERIC = ("int", "bigint", "double", "decimal")


@dataclass(frozen=True)
class E:
    sl: str
    dk: str
    t: str  # int, bigint, double, decimal, text, bool, ts
    kids: tuple = ()  # sub-expressions (the minimizer tries them in the expression's place)
    agg: bool = False  # contains an aggregate call
    inexact: bool = False  # a float whose last bits depend on the order of evaluation
    feats: frozenset = frozenset()
    refs: bool = False  # reads a column

    def descendants(self):
        for k in self.kids:
            yield k
            yield from k.descendants()


def mk(sl: str, dk: str, t: str, kids=(), feat: str | None = None, agg=None, inexact=None) -> E:
    kids = tuple(kids)
    feats = frozenset().union(*(k.feats for k in kids)) if kids else frozenset()
    if feat:
        feats = feats | {feat}
    return E(sl, dk, t, kids,
             any(k.agg for k in kids) if agg is None else agg,
             any(k.inexact for k in kids) if inexact is None else inexact, feats,
             any(k.refs for k in kids))


@dataclass(frozen=True)
class Col:
    name: str | None  # None: not referable by name (an unaliased expression)
    t: str
    call: str | None = None  # an unaliased aggregate call: its SQL text (the same in both)
    inexact: bool = False


@dataclass
class Table:
    name: str
    alias: str | None = None

    def columns(self):
        return [Col(c, kind) for c, _, _, kind in TABLES[self.name]]

    def render(self, d: str) -> str:
        return self.name + (f" AS {self.alias}" if self.alias else "")

    updating = False
    feats = frozenset()

    def shrink(self):
        return []


@dataclass
class Tvf:
    """FROM TUMBLE(t, ts, width) or HOP(t, ts, slide, width): t's columns and the window's."""
    table: str
    width_s: int
    slide_s: int | None = None  # HOP

    def columns(self):
        return Table(self.table).columns() + [Col("window_start", "ts"), Col("window_end", "ts")]

    def render(self, d: str) -> str:
        w = self.width_s * 1_000_000
        if d == "sl":
            if self.slide_s is None:
                return f"TUMBLE({self.table}, ts, INTERVAL '{self.width_s} seconds')"
            return (f"HOP({self.table}, ts, INTERVAL '{self.slide_s} seconds', "
                    f"INTERVAL '{self.width_s} seconds')")
        if self.slide_s is None:
            return (f"(SELECT *, ts_of(bucket(epoch_us(ts), {w})) AS window_start, "
                    f"ts_of(bucket(epoch_us(ts), {w}) + {w}) AS window_end FROM {self.table}) "
                    f"AS {self.table}")
        s = self.slide_s * 1_000_000
        return (f"(SELECT {self.table}.*, ts_of(bucket(epoch_us(ts), {s}) - j * {s}) AS "
                f"window_start, ts_of(bucket(epoch_us(ts), {s}) - j * {s} + {w}) AS window_end "
                f"FROM {self.table}, range({w // s}) AS r(j)) AS {self.table}")

    updating = False

    @property
    def feats(self):
        return frozenset({"tumble_tvf" if self.slide_s is None else "hop_tvf"})

    def shrink(self):
        return []


@dataclass
class Sub:
    select: "Select"
    alias: str | None = None
    col_aliases: list[str] | None = None

    def columns(self):
        cols = self.select.columns()
        if self.col_aliases:
            return [Col(n, c.t, None, c.inexact) for n, c in zip(self.col_aliases, cols)]
        return cols

    def render(self, d: str) -> str:
        s = f"({self.select.render(d)})"
        if self.alias:
            s += f" AS {self.alias}"
            if self.col_aliases:
                s += "(" + ", ".join(self.col_aliases) + ")"
        return s

    @property
    def updating(self):
        return self.select.updating

    @property
    def feats(self):
        return self.select.feats | {"subquery_from"} | \
            ({"column_aliases"} if self.col_aliases else set())

    def shrink(self):
        for s in self.select.shrink():
            n = len(s.columns())
            yield Sub(s, self.alias, self.col_aliases[:n] if self.col_aliases and
                      n == len(self.col_aliases) else None if self.col_aliases else None)


@dataclass
class Join:
    left: object
    right: object
    kind: str  # INNER, LEFT, RIGHT, FULL, or "," (comma join: conditions in WHERE)
    on: list[E]  # equalities first

    def columns(self):
        return self.left.columns() + self.right.columns()

    def render(self, d: str) -> str:
        if self.kind == ",":
            return f"{self.left.render(d)}, {self.right.render(d)}"
        cond = " AND ".join(getattr(c, d) for c in self.on)
        return f"{self.left.render(d)} {self.kind} JOIN {self.right.render(d)} ON {cond}"

    updating = True

    @property
    def feats(self):
        f = self.left.feats | self.right.feats | {"join"}
        for c in self.on:
            f |= c.feats
        return f | ({"comma_join"} if self.kind == "," else set())

    def shrink(self):
        if self.kind not in ("INNER", ","):
            yield Join(self.left, self.right, "INNER", self.on)
        for i in range(1, len(self.on)):
            yield Join(self.left, self.right, self.kind, self.on[:i] + self.on[i + 1:])
        for l2 in self.left.shrink():
            yield Join(l2, self.right, self.kind, self.on)
        for r2 in self.right.shrink():
            yield Join(self.left, r2, self.kind, self.on)


@dataclass
class WinGroup:
    """GROUP BY TUMBLE(width) / HOP(slide, width) in the select that owns it: rendered in
    Sluice as a `window` item grouped on, in DuckDB as the epoch-aligned bucket `wsu`."""
    width_s: int
    slide_s: int | None = None


@dataclass
class Select:
    items: list[tuple[E, str | None]]
    from_: object
    where: list[E] = field(default_factory=list)
    group_by: list[tuple[E, str]] | None = None  # (expression, how: expr | alias | pos)
    having: list[E] = field(default_factory=list)
    window: WinGroup | None = None  # a windowed GROUP BY (items may use WSTART / WEND)
    distinct: bool = False
    order_limit: tuple[list[E], int] | None = None
    set_op: tuple[str, "Select"] | None = None  # ("UNION ALL", other)
    extra_feats: frozenset = frozenset()

    def columns(self) -> list[Col]:
        out = []
        for e, alias in self.items:
            if alias:
                out.append(Col(alias, e.t, None, e.inexact))
            elif e.kids == () and not e.agg and e.sl == e.dk and "." not in e.sl and \
                    e.sl.isidentifier() and e.sl not in ("TRUE", "FALSE"):
                out.append(Col(e.sl, e.t, None, e.inexact))  # a bare column keeps its name
            elif e.agg and e.sl == e.dk and is_plain_call(e.sl):
                out.append(Col(None, e.t, e.sl, e.inexact))
            else:
                out.append(Col(None, e.t, None, e.inexact))
        return out

    @property
    def aggregating(self) -> bool:
        return self.group_by is not None or any(e.agg for e, _ in self.items)

    @property
    def updating(self) -> bool:
        if self.set_op and self.set_op[1].updating:
            return True
        if self.distinct or self.order_limit is not None or \
                any("subquery_expr" in e.feats for e in self.where):
            return True
        if self.window is not None:
            return False
        if isinstance(self.from_, Tvf) and self.group_by is not None:
            return False
        return self.aggregating or self.from_.updating or self.distinct or \
            (self.set_op is not None and self.set_op[0] != "UNION ALL")

    @property
    def feats(self) -> frozenset:
        f = set(self.from_.feats) | set(self.extra_feats)
        for e, _ in self.items:
            f |= e.feats
        for e in self.where + self.having:
            f |= e.feats
        for e, _ in self.group_by or []:
            f |= e.feats
        if self.window:
            f.add("tumble" if self.window.slide_s is None else "hop")
        elif self.group_by is not None:
            f.add("group_by")
        elif self.aggregating:
            f.add("global_agg")
        if self.having:
            f.add("having")
        if self.distinct:
            f.add("distinct")
        if self.order_limit:
            f.add("order_limit")
        if self.set_op:
            f.add("union_all" if self.set_op[0] == "UNION ALL" else "set_ops")
            f |= self.set_op[1].feats
        return frozenset(f)

    def render(self, d: str) -> str:
        items = []
        w = self.window
        for e, alias in self.items:
            s = getattr(e, d)
            items.append(s + (f" AS {alias}" if alias else ""))
        frm = self.from_.render(d)
        group = [(getattr(e, d), how, e) for e, how in self.group_by or []]
        if w is not None:
            wus = w.width_s * 1_000_000
            if d == "sl":
                fn = (f"TUMBLE(INTERVAL '{w.width_s} seconds')" if w.slide_s is None else
                      f"HOP(INTERVAL '{w.slide_s} seconds', INTERVAL '{w.width_s} seconds')")
                items = [f"{fn} AS window"] + items
            else:
                if w.slide_s is None:
                    frm = (f"(SELECT *, bucket(epoch_us(ts), {wus}) AS wsu FROM {frm}) AS _w")
                else:
                    s = w.slide_s * 1_000_000
                    frm = (f"(SELECT *, bucket(epoch_us(ts), {s}) - j * {s} AS wsu "
                           f"FROM {frm}, range({wus // s}) AS r(j)) AS _w")
                items = ["wsu AS _win"] + items
        sql = "SELECT " + ("DISTINCT " if self.distinct else "") + ", ".join(items)
        sql += " FROM " + frm
        where = [getattr(e, d) for e in self.where]
        if isinstance(self.from_, Join) and self.from_.kind == ",":
            where = [getattr(c, d) for c in self.from_.on] + where
        if where:
            sql += " WHERE " + " AND ".join(f"({c})" for c in where)
        if self.group_by is not None or w is not None:
            parts = ([] if w is None else ["window"] if d == "sl" else ["wsu"])
            for s, how, e in group:
                if how == "pos":
                    idx = next(i for i, (ie, _) in enumerate(self.items) if ie is e)
                    parts.append(str(idx + 1 + (1 if w is not None else 0)))
                elif how == "alias":
                    parts.append(next(a for ie, a in self.items if ie is e))
                else:
                    parts.append(s)
            if parts:
                sql += " GROUP BY " + ", ".join(parts)
        if self.having:
            sql += " HAVING " + " AND ".join(f"({getattr(e, d)})" for e in self.having)
        if self.order_limit:
            keys, n = self.order_limit
            sql += " ORDER BY " + ", ".join(getattr(e, d) for e in keys) + f" LIMIT {n}"
        if self.set_op:
            sql += f" {self.set_op[0]} " + self.set_op[1].render(d)
        return sql

    def shrink(self):
        """Smaller variants of this select (each may be invalid: the caller checks)."""
        r = dataclasses.replace
        if self.set_op:
            yield r(self.set_op[1])
            yield r(self, set_op=None)
        if len(self.items) > 1:
            for i in range(len(self.items)):
                e = self.items[i][0]
                if any(ge is e for ge, how in self.group_by or [] if how != "expr"):
                    continue
                yield r(self, items=self.items[:i] + self.items[i + 1:])
        for i in range(len(self.where)):
            yield r(self, where=self.where[:i] + self.where[i + 1:])
        for i in range(len(self.having)):
            yield r(self, having=self.having[:i] + self.having[i + 1:])
        if self.distinct:
            yield r(self, distinct=False)
        if self.order_limit:
            yield r(self, order_limit=None)
        if self.group_by:
            for i in range(len(self.group_by)):
                yield r(self, group_by=self.group_by[:i] + self.group_by[i + 1:])
        for f2 in self.from_.shrink():
            yield r(self, from_=f2)
        # an expression replaced by one of its sub-expressions of the same type
        for i, (e, alias) in enumerate(self.items):
            if any(ge is e for ge, _ in self.group_by or []):
                continue
            for k in e.descendants():
                if k.t == e.t and (k.agg or not e.agg or self.group_by is None):
                    yield r(self, items=self.items[:i] + [(k, alias)] + self.items[i + 1:])
        for i, e in enumerate(self.where):
            for k in e.descendants():
                if k.t == "bool" and not k.agg:
                    yield r(self, where=self.where[:i] + [k] + self.where[i + 1:])
        for i, e in enumerate(self.having):
            for k in e.descendants():
                if k.t == "bool":
                    yield r(self, having=self.having[:i] + [k] + self.having[i + 1:])


def is_plain_call(s: str) -> bool:
    """`count(*)`, `sum(a)`: an aggregate call over a bare column, named alike in both."""
    if "(" not in s or not s.endswith(")"):
        return False
    fn, arg = s[:-1].split("(", 1)
    return fn.isidentifier() and (arg == "*" or arg.isidentifier())


# ---------------------------------------------------------------------------------------------
# GRAMMAR: the random generator. Every choice that produces a construct checks its feature.

TIME_LO = START + dt.timedelta(minutes=3)


class Gen:
    def __init__(self, rng: random.Random, features: set[str]):
        self.r = rng
        self.f = features
        self.alias_n = 0

    def on(self, feat: str, p: float = 1.0) -> bool:
        return feat in self.f and self.r.random() < p

    def fresh(self, prefix: str) -> str:
        self.alias_n += 1
        return f"{prefix}{self.alias_n}"

    # --- literals -------------------------------------------------------------------------

    def lit(self, t: str) -> E:
        r = self.r
        if t == "int":
            v = str(r.choice([0, 1, 2, 3, -1, 5, 10, 25, -20, 42, 7]))
            return mk(v, v, t)
        if t == "bigint":
            v = str(r.choice([0, 1, 1000, -5, 100000, 2500000]))
            return mk(f"CAST({v} AS BIGINT)", f"CAST({v} AS BIGINT)", t)
        if t == "double":
            v = r.choice(["0.5", "1.5", "100.25", "-3.75", "500.0", "0.0"])
            return mk(f"CAST({v} AS DOUBLE)", f"CAST({v} AS DOUBLE)", t)
        if t == "decimal":
            v = r.choice(["1.50", "-2.25", "100.00", "0.01", "500.75"])
            return mk(f"CAST({v} AS DECIMAL(10, 2))", f"CAST({v} AS DECIMAL(10, 2))", t)
        if t == "text":
            v = "'" + r.choice(WORDS + ["k0", "k3", "zzz", "A"]) + "'"
            return mk(v, v, t)
        if t == "bool":
            v = r.choice(["TRUE", "FALSE"])
            return mk(v, v, t)
        if t == "ts":
            when = TIME_LO + dt.timedelta(seconds=r.randrange(0, 10 * 60))
            v = f"TIMESTAMP '{when:%Y-%m-%d %H:%M:%S}'"
            return mk(v, v, t)
        raise AssertionError(t)

    def null(self, t: str) -> E:
        st = {"int": "INT", "bigint": "BIGINT", "double": "DOUBLE", "decimal": "DECIMAL(10, 2)",
              "text": "TEXT", "bool": "BOOLEAN", "ts": "TIMESTAMP"}[t]
        dt_ = st.replace("TEXT", "VARCHAR")
        return mk(f"CAST(NULL AS {st})", f"CAST(NULL AS {dt_})", t, feat="nulls")

    # --- scalar expressions ----------------------------------------------------------------

    def column(self, scope, t: str) -> E | None:
        cands = [(q, c) for q, c in scope if c.name and c.t == t and not c.inexact]
        if not cands:
            return None
        q, c = self.r.choice(cands)
        s = f"{q}.{c.name}" if q else c.name
        return dataclasses.replace(mk(s, s, t), refs=True)

    def leaf(self, scope, t: str) -> E:
        c = self.column(scope, t)
        if c is not None and self.r.random() < 0.75:
            return c
        if self.on("nulls", 0.08):
            return self.null(t)
        return self.lit(t)

    def expr(self, scope, t: str, depth: int = 2) -> E:
        if depth <= 0 or self.r.random() < 0.35:
            return self.leaf(scope, t)
        for _ in range(8):
            e = getattr(self, f"expr_{t}")(scope, depth - 1)
            if e is not None:
                return e
        return self.leaf(scope, t)

    def common(self, scope, t: str, depth: int) -> E | None:
        """Productions of any type: CASE, COALESCE, NULLIF."""
        r = self.r
        c = r.random()
        if c < 0.4 and self.on("case"):
            cond = self.expr(scope, "bool", depth)
            a, b = self.expr(scope, t, depth), self.expr(scope, t, depth)
            if r.random() < 0.5:
                return mk(f"CASE WHEN {cond.sl} THEN {a.sl} ELSE {b.sl} END",
                          f"CASE WHEN {cond.dk} THEN {a.dk} ELSE {b.dk} END", t, [cond, a, b],
                          "case")
            return mk(f"CASE WHEN {cond.sl} THEN {a.sl} END",
                      f"CASE WHEN {cond.dk} THEN {a.dk} END", t, [cond, a], "case")
        if c < 0.75 and self.on("nulls"):
            a, b = self.expr(scope, t, depth), self.leaf(scope, t)
            return mk(f"COALESCE({a.sl}, {b.sl})", f"COALESCE({a.dk}, {b.dk})", t, [a, b], "nulls")
        if self.on("nulls") and t != "bool":
            a, b = self.expr(scope, t, depth), self.leaf(scope, t)
            return mk(f"NULLIF({a.sl}, {b.sl})", f"NULLIF({a.dk}, {b.dk})", t, [a, b], "nulls")
        return None

    def expr_int(self, scope, depth):
        r = self.r
        c = r.random()
        if c < 0.45 and self.on("arith"):
            a = self.expr(scope, "int", depth)
            op = r.choice(["+", "-", "*", "/", "%", "abs"])
            if op == "abs":
                return mk(f"abs({a.sl})", f"abs({a.dk})", "int", [a], "arith")
            if op in "+-":
                b = self.expr(scope, "int", depth)
            else:
                b = mk(*[str(r.choice([2, 3, 7, -4]))] * 2, "int")  # never zero; no overflow
            dk_op = "//" if op == "/" else op
            return mk(f"({a.sl} {op} {b.sl})", f"({a.dk} {dk_op} {b.dk})", "int", [a, b], "arith")
        if c < 0.6 and self.on("string_funcs"):
            a = self.expr(scope, "text", depth)
            if r.random() < 0.6:
                return mk(f"length({a.sl})", f"length({a.dk})", "int", [a], "string_funcs")
            lit = r.choice(["'a'", "'p'", "'_'"])
            return mk(f"strpos({a.sl}, {lit})", f"strpos({a.dk}, {lit})", "int", [a],
                      "string_funcs")
        if c < 0.7 and self.on("cast"):
            a = self.expr(scope, "bool", depth)
            return mk(f"CAST({a.sl} AS INT)", f"CAST({a.dk} AS INTEGER)", "int", [a], "cast")
        return self.common(scope, "int", depth)

    def expr_bigint(self, scope, depth):
        r = self.r
        c = r.random()
        if c < 0.35 and self.on("cast"):
            a = self.expr(scope, "int", depth)
            return mk(f"CAST({a.sl} AS BIGINT)", f"CAST({a.dk} AS BIGINT)", "bigint", [a], "cast")
        if c < 0.7 and self.on("arith"):
            a = self.expr(scope, "bigint", depth)
            op = r.choice(["+", "-", "/", "%", "*"])
            if op in "+-":
                b = self.expr(scope, r.choice(["int", "bigint"]), depth)
            else:
                b = mk(*[str(r.choice([2, 3, 10, -7]))] * 2, "int")
            dk_op = "//" if op == "/" else op
            return mk(f"({a.sl} {op} {b.sl})", f"({a.dk} {dk_op} {b.dk})", "bigint", [a, b],
                      "arith")
        return self.common(scope, "bigint", depth)

    def expr_double(self, scope, depth):
        r = self.r
        c = r.random()
        if c < 0.3 and self.on("cast"):
            src = r.choice(["int", "bigint", "decimal"])
            a = self.expr(scope, src, depth)
            return mk(f"CAST({a.sl} AS DOUBLE)", f"CAST({a.dk} AS DOUBLE)", "double", [a], "cast")
        if c < 0.75 and self.on("arith"):
            a = self.expr(scope, "double", depth)
            op = r.choice(["+", "-", "*", "/", "abs"])
            if op == "abs":
                return mk(f"abs({a.sl})", f"abs({a.dk})", "double", [a], "arith")
            if op in "+-":
                b = self.expr(scope, r.choice(["double", "int"]), depth)
            else:
                v = r.choice(["0.5", "2", "4.0", "-8"])
                b = mk(v, v, "double")
            return mk(f"({a.sl} {op} {b.sl})", f"({a.dk} {op} {b.dk})", "double", [a, b], "arith")
        return self.common(scope, "double", depth)

    def expr_decimal(self, scope, depth):
        r = self.r
        c = r.random()
        if c < 0.3 and self.on("cast"):
            a = self.expr(scope, "int", depth)
            return mk(f"CAST({a.sl} AS DECIMAL(10, 2))", f"CAST({a.dk} AS DECIMAL(10, 2))",
                      "decimal", [a], "cast")
        if c < 0.7 and self.on("arith"):
            a = self.expr(scope, "decimal", depth)
            op = r.choice(["+", "-", "*", "abs"])
            if op == "abs":
                return mk(f"abs({a.sl})", f"abs({a.dk})", "decimal", [a], "arith")
            b = self.expr(scope, "decimal", depth) if op in "+-" else \
                mk(*[str(r.choice([2, 3, -1]))] * 2, "int")
            return mk(f"({a.sl} {op} {b.sl})", f"({a.dk} {op} {b.dk})", "decimal", [a, b],
                      "arith")
        return self.common(scope, "decimal", depth)

    def expr_text(self, scope, depth):
        r = self.r
        c = r.random()
        if c < 0.6 and self.on("string_funcs"):
            a = self.expr(scope, "text", depth)
            fn = r.choice(["lower", "upper", "substr", "||", "concat", "replace", "trim", "left",
                           "right", "reverse", "lpad"])
            if fn in ("lower", "upper", "trim", "reverse"):
                return mk(f"{fn}({a.sl})", f"{fn}({a.dk})", "text", [a], "string_funcs")
            if fn == "substr":
                p, n = r.randint(1, 3), r.randint(1, 4)
                return mk(f"substr({a.sl}, {p}, {n})", f"substr({a.dk}, {p}, {n})", "text", [a],
                          "string_funcs")
            if fn in ("left", "right"):
                n = r.randint(1, 4)
                return mk(f"{fn}({a.sl}, {n})", f"{fn}({a.dk}, {n})", "text", [a], "string_funcs")
            if fn == "lpad":
                n = r.randint(2, 7)
                return mk(f"lpad({a.sl}, {n}, '*')", f"lpad({a.dk}, {n}, '*')", "text", [a],
                          "string_funcs")
            if fn == "replace":
                return mk(f"replace({a.sl}, 'a', 'xy')", f"replace({a.dk}, 'a', 'xy')", "text",
                          [a], "string_funcs")
            b = self.expr(scope, "text", depth)
            if fn == "||":
                return mk(f"({a.sl} || {b.sl})", f"({a.dk} || {b.dk})", "text", [a, b],
                          "string_funcs")
            return mk(f"concat({a.sl}, {b.sl})", f"concat({a.dk}, {b.dk})", "text", [a, b],
                      "string_funcs")
        if c < 0.75 and self.on("cast"):
            src = r.choice(["int", "bigint", "decimal", "bool"])
            a = self.expr(scope, src, depth)
            return mk(f"CAST({a.sl} AS TEXT)", f"CAST({a.dk} AS VARCHAR)", "text", [a], "cast")
        return self.common(scope, "text", depth)

    def expr_ts(self, scope, depth):
        r = self.r
        if self.on("time_funcs", 0.7):
            a = self.expr(scope, "ts", depth)
            if r.random() < 0.5:
                n = r.choice([1, 30, 90, 600])
                op = r.choice(["+", "-"])
                return mk(f"({a.sl} {op} INTERVAL '{n} seconds')",
                          f"({a.dk} {op} INTERVAL '{n} seconds')", "ts", [a], "time_funcs")
            unit = r.choice(["minute", "hour", "second"])
            return mk(f"date_trunc('{unit}', {a.sl})", f"date_trunc('{unit}', {a.dk})", "ts", [a],
                      "time_funcs")
        return self.common(scope, "ts", depth)

    def comparable_type(self, scope) -> str:
        types = [c.t for _, c in scope if c.name and not c.inexact]
        if types and self.r.random() < 0.8:
            return self.r.choice(types)
        return self.r.choice(["int", "text", "double", "bigint", "decimal", "ts"])

    def expr_bool(self, scope, depth):
        r = self.r
        c = r.random()
        if c < 0.2 and self.on("logic"):
            a = self.expr(scope, "bool", depth)
            op = r.choice(["AND", "OR", "NOT"])
            if op == "NOT":
                return mk(f"(NOT {a.sl})", f"(NOT {a.dk})", "bool", [a], "logic")
            b = self.expr(scope, "bool", depth)
            return mk(f"({a.sl} {op} {b.sl})", f"({a.dk} {op} {b.dk})", "bool", [a, b], "logic")
        t = self.comparable_type(scope)
        if c < 0.55 and self.on("compare"):
            a = self.expr(scope, t, depth)
            b = self.expr(scope, t, depth) if r.random() < 0.4 else self.lit(t)
            op = r.choice(["=", "<>", "<", "<=", ">", ">=", "IS DISTINCT FROM",
                           "IS NOT DISTINCT FROM"])
            feat = "compare"
            sl_op = op
            if op == "=" and self.on("double_equals", 0.5):
                sl_op, feat = "==", "double_equals"
            e = mk(f"({a.sl} {sl_op} {b.sl})", f"({a.dk} {op} {b.dk})", "bool", [a, b], feat)
            return mk(e.sl, e.dk, "bool", [a, b], "compare") if feat != "compare" and False else e
        if c < 0.63 and self.on("between") and t != "bool":
            a = self.expr(scope, t, depth)
            lo, hi = sorted([self.lit(t), self.lit(t)], key=lambda e: e.sl) \
                if t != "ts" else (self.lit(t), self.lit(t))
            neg = "NOT " if r.random() < 0.25 else ""
            return mk(f"({a.sl} {neg}BETWEEN {lo.sl} AND {hi.sl})",
                      f"({a.dk} {neg}BETWEEN {lo.dk} AND {hi.dk})", "bool", [a], "between")
        if c < 0.71 and self.on("in_list") and t != "bool":
            a = self.expr(scope, t, depth)
            vals = [self.lit(t) for _ in range(r.randint(1, 4))]
            if self.on("nulls", 0.15):
                vals.append(self.null(t))
            neg = "NOT " if r.random() < 0.25 else ""
            return mk(f"({a.sl} {neg}IN ({', '.join(v.sl for v in vals)}))",
                      f"({a.dk} {neg}IN ({', '.join(v.dk for v in vals)}))", "bool", [a], "in_list")
        if c < 0.79 and self.on("like"):
            a = self.expr(scope, "text", depth)
            pat = r.choice(["'a%'", "'%a%'", "'k_'", "'%e'", "'_'", "'%'", "'A%'", "'%\\_%'",
                            "'b%n%'"])
            if "\\" in pat:
                pat = "'%p%'"
            neg = "NOT " if r.random() < 0.25 else ""
            return mk(f"({a.sl} {neg}LIKE {pat})", f"({a.dk} {neg}LIKE {pat})", "bool", [a], "like")
        if c < 0.87 and self.on("nulls"):
            a = self.expr(scope, self.comparable_type(scope), depth)
            neg = r.choice(["", "NOT "])
            return mk(f"({a.sl} IS {neg}NULL)", f"({a.dk} IS {neg}NULL)", "bool", [a], "nulls")
        if c < 0.92 and self.on("string_funcs"):
            a = self.expr(scope, "text", depth)
            lit = r.choice(["'a'", "'k'", "'A'", "''"])
            return mk(f"starts_with({a.sl}, {lit})", f"starts_with({a.dk}, {lit})", "bool", [a],
                      "string_funcs")
        return self.common(scope, "bool", depth)

    def predicate(self, scope, depth=2) -> E:
        return self.expr_bool(scope, depth) or self.leaf(scope, "bool")

    # --- aggregates ------------------------------------------------------------------------

    def agg(self, scope, want: str | None = None) -> E:
        """An aggregate call over `scope`; its type is `want` when given."""
        r = self.r
        for _ in range(20):
            fn = r.choice(["count*", "count*", "count", "sum", "sum", "min", "max", "avg",
                           "count_distinct", "bool"])
            if fn == "count*":
                e = mk("count(*)", "count(*)", "bigint", agg=True)
            elif fn == "count_distinct" and self.on("agg_distinct"):
                a = self.expr(scope, self.comparable_type(scope), 1)
                e = mk(f"count(DISTINCT {a.sl})", f"count(DISTINCT {a.dk})", "bigint", [a],
                       "agg_distinct", agg=True)
            elif fn == "count":
                a = self.expr(scope, self.comparable_type(scope), 1)
                e = mk(f"count({a.sl})", f"count({a.dk})", "bigint", [a], agg=True)
            elif fn == "sum":
                t = r.choice(["int", "bigint", "decimal", "double"])
                a = self.expr(scope, t, 1)
                rt = {"int": "bigint", "bigint": "decimal", "decimal": "decimal",
                      "double": "double"}[t]
                if t == "bigint":
                    rt = "bigint"  # small values: numeric in PostgreSQL, the same number
                e = mk(f"sum({a.sl})", f"sum({a.dk})", rt, [a], agg=True,
                       inexact=(t == "double"))
            elif fn in ("min", "max"):
                a = self.expr(scope, self.comparable_type(scope), 1)
                if a.t == "bool":
                    continue
                e = mk(f"{fn}({a.sl})", f"{fn}({a.dk})", a.t, [a], agg=True)
            elif fn == "avg":
                a = self.expr(scope, r.choice(["int", "double", "decimal"]), 1)
                e = mk(f"avg({a.sl})", f"avg({a.dk})", "double", [a], agg=True, inexact=True)
            elif fn == "bool" and self.on("bool_aggs"):
                a = self.expr(scope, "bool", 1)
                f = r.choice(["bool_and", "bool_or"])
                e = mk(f"{f}({a.sl})", f"{f}({a.dk})", "bool", [a], "bool_aggs", agg=True)
            else:
                continue
            if a_nested_agg(e):
                continue
            if want is None or e.t == want:
                return e
        return mk("count(*)", "count(*)", "bigint", agg=True)

    def agg_expr(self, scope, keys: list[E]) -> E:
        """An item of an aggregating select: an aggregate, arithmetic on one, or a key."""
        r = self.r
        c = r.random()
        if c < 0.15 and keys:
            return r.choice(keys)
        a = self.agg(scope)
        if c < 0.3 and a.t in ("bigint",) and self.on("arith"):
            v = str(r.choice([1, 2, 10]))
            op = r.choice(["+", "*", "-"])
            return mk(f"({a.sl} {op} {v})", f"({a.dk} {op} {v})", a.t, [a], "arith")
        return a

    def having_pred(self, scope) -> E:
        r = self.r
        a = self.agg(scope, "bigint") if r.random() < 0.7 else self.agg(scope)
        if a.inexact or a.t not in ("int", "bigint", "decimal"):
            a = mk("count(*)", "count(*)", "bigint", agg=True)
        if r.random() < 0.6:
            a = mk("count(*)", "count(*)", "bigint", agg=True)
        n = r.choice([1, 2, 3, 5, 10, 20])
        op = r.choice([">", ">=", "<", "<>"])
        return mk(f"{a.sl} {op} {n}", f"{a.dk} {op} {n}", "bool", [a], "having", agg=True)

    # --- FROM items ------------------------------------------------------------------------

    def scope_of(self, rel, qual: str | None = None):
        if isinstance(rel, Join):
            return self.scope_of(rel.left, getattr(rel.left, "alias", None)) + \
                self.scope_of(rel.right, rel.right.alias)
        return [(qual, c) for c in rel.columns()]

    def base_rel(self, depth: int, append_only: bool = False, need_ts: bool = False):
        """A table, or a subquery over one (a filter/projection, or an aggregate)."""
        r = self.r
        name = r.choice(["t1", "t1", "t2", "t3"] if not need_ts else ["t1", "t1", "t2"])
        if depth > 0 and self.on("subquery_from", 0.45):
            inner = self.simple_select(Table(name), need_ts=need_ts) if append_only or \
                r.random() < 0.6 else self.agg_select(Table(name), depth - 1)
            if not append_only and self.on("distinct", 0.15) and not inner.aggregating:
                inner.distinct = True
            if not append_only and self.on("subquery_expr", 0.15):
                pred = self.subquery_pred(inner)  # a semi/anti join under the outer query
                if pred is not None:
                    inner.where.append(pred)
            if need_ts:  # the window above reads ts by name in DuckDB: no column aliases
                return Sub(inner, self.fresh("q") if r.random() < 0.6 else None)
            return Sub(inner, *self.sub_aliases(inner))
        return Table(name)

    def sub_aliases(self, sel: Select):
        r = self.r
        alias = self.fresh("q") if r.random() < 0.6 else None
        col_aliases = None
        if alias and self.on("column_aliases", 0.35):
            col_aliases = [self.fresh("c") for _ in sel.items]
        return alias, col_aliases

    # --- selects ---------------------------------------------------------------------------

    def simple_select(self, rel, need_ts: bool = False, n_items: int | None = None) -> Select:
        """A filter and projection (append-only over an append-only input)."""
        r = self.r
        scope = self.scope_of(rel)
        items = []
        for _ in range(n_items or r.randint(1, 4)):
            if r.random() < 0.5:
                e = self.column(scope, self.comparable_type(scope)) or self.lit("int")
                items.append((e, None if e.sl.isidentifier() and r.random() < 0.5
                              and e.sl not in {i.sl for i, _ in items} else self.fresh("e")))
            else:
                t = r.choice(["int", "text", "bool", "double", "decimal", "bigint", "ts"])
                items.append((self.expr(scope, t), self.fresh("e")))
        if need_ts:  # the windowed select above reads ts (once)
            items = [(e, a) for e, a in items if not (a is None and e.sl == "ts")]
            items.append((mk("ts", "ts", "ts"), None))
        where = [self.predicate(scope)] if r.random() < 0.7 else []
        return Select(items, rel, where)

    def agg_select(self, rel, depth: int, keys_n: int | None = None,
                   global_p: float = 0.2) -> Select:
        """GROUP BY (or a global aggregate) over rel: updating."""
        r = self.r
        scope = self.scope_of(rel)
        where = [self.predicate(scope)] if r.random() < 0.5 else []
        global_ = not self.on("group_by") or (self.on("global_agg", global_p) and keys_n is None)
        if global_ and "global_agg" not in self.f:
            global_ = False
        items: list[tuple[E, str | None]] = []
        group_by = None
        keys: list[E] = []
        if not global_:
            group_by = []
            for _ in range(keys_n or r.choice([1, 1, 1, 2])):
                if r.random() < 0.7:
                    k = self.column(scope, r.choice(["text", "int", "bool", "text"])) or \
                        self.expr(scope, "int")
                else:
                    k = self.expr(scope, r.choice(["int", "text", "bool"]), 1)
                # a constant key groups nothing; DuckDB 1.5 also answers `SELECT 7 AS a, 1 AS b
                # ... GROUP BY a, 1` with b = 42 (tests/sql/regressions/group_by_constant.test)
                if any(k.sl == x.sl for x in keys) or not k.refs:
                    continue
                keys.append(k)
                how = r.choice(["expr", "expr", "alias", "pos"])
                alias = self.fresh("g") if how == "alias" or not k.sl.isidentifier() or \
                    r.random() < 0.4 else None
                if alias is None and how == "alias":
                    how = "expr"
                items.append((k, alias))
                group_by.append((k, how))
        for _ in range(r.randint(1, 3)):
            e = self.agg_expr(scope, keys) if r.random() < 0.8 or not keys else r.choice(keys)
            if not e.agg and not keys:
                continue
            unaliased = e.agg and is_plain_call(e.sl) and e.sl == e.dk and r.random() < 0.5 \
                and "agg_over_agg" in self.f
            if any(ie is e for ie, _ in items):
                continue
            items.append((e, None if unaliased else self.fresh("a")))
        if not any(e.agg for e, _ in items):
            items.append((mk("count(*)", "count(*)", "bigint", agg=True), None))
        having = [self.having_pred(scope)] if group_by and self.on("having", 0.4) else []
        return Select(items, rel, where, group_by, having)

    def window_select(self, top: bool = False) -> Select:
        """A windowed aggregate: TUMBLE/HOP in GROUP BY, or grouped rows of TUMBLE/HOP in FROM,
        or raw rows of TUMBLE in FROM. Append-only."""
        r = self.r
        kinds = [k for k in ("tumble", "hop", "tumble_tvf", "hop_tvf") if k in self.f]
        kind = r.choice(kinds)
        width = r.choice([30, 60, 120, 300])
        slide = None
        if kind.startswith("hop"):
            slide = r.choice([s for s in (15, 30, 60) if width % s == 0 and s < width])
        if kind.endswith("tvf"):
            tvf = Tvf(r.choice(["t1", "t2"]), width, slide)
            scope = self.scope_of(tvf)
            wscope = scope
            if slide is not None and "hop_tvf_where" not in self.f:
                wscope = [(q, c) for q, c in scope if not c.name.startswith("window_")]
            where = [self.predicate(wscope)] if r.random() < 0.4 else []
            if slide is not None and where and "window_" in where[0].sl:
                where[0] = dataclasses.replace(where[0],
                                               feats=where[0].feats | {"hop_tvf_where"})
            if kind == "tumble_tvf" and r.random() < 0.3:  # raw rows
                items = [(mk("window_start", "window_start", "ts"), "ws"),
                         (mk("id", "id", "bigint"), "rid")]
                for _ in range(r.randint(1, 2)):
                    items.append((self.expr(scope, self.comparable_type(scope)), self.fresh("e")))
                return Select(items, tvf, where)
            keys_n = r.choice([0, 1, 1, 2])
            sel = self.agg_select(Table(tvf.table), 0, keys_n or None)
            items = [(mk("window_start", "window_start", "ts"), "ws")]
            if r.random() < 0.5:
                items.append((mk("window_end", "window_end", "ts"), "we"))
            group = [(mk("window_start", "window_start", "ts"), "expr"),
                     (mk("window_end", "window_end", "ts"), "expr")]
            if keys_n == 0:
                items += [(e, a) for e, a in sel.items if e.agg]
                gb = group
            else:
                items += sel.items
                gb = group + (sel.group_by or [])
            having = [self.having_pred(scope)] if self.on("having", 0.3) else []
            return Select(items, tvf, where + sel.where, gb, having)
        # TUMBLE / HOP in GROUP BY: the inner select groups; an outer one names the bounds
        if self.on("union_all", 0.2) and "subquery_from" in self.f:
            rel = self.union_with_ts()
        else:
            rel = self.base_rel(1, append_only=True, need_ts=True)
        keys_n = r.choice([0, 1, 1, 2])
        sel = self.agg_select(rel, 0, keys_n or None)
        items = [(e, a or self.fresh("a")) for e, a in sel.items if e.agg or keys_n]
        inner = Select(items, rel, sel.where, sel.group_by if keys_n else [],
                       sel.having, WinGroup(width, slide))
        outer_items = [(mk("window.start", "ts_of(_win)", "ts"), "ws")]
        if r.random() < 0.5:
            outer_items.append((mk("window.end", f"ts_of(_win + {width * 1_000_000})", "ts"),
                                "we"))
        for c in inner.columns():
            outer_items.append((mk(c.name, c.name, c.t, inexact=c.inexact), None))
        return Select(outer_items, Sub(inner, self.fresh("w") if r.random() < 0.5 else None))

    def join_rel(self, depth: int):
        r = self.r
        la, ra = self.fresh("l"), self.fresh("r")
        left = self.join_side(depth)
        right = self.join_side(depth)
        lcols = {c.name: c for c in left.columns() if c.name and not c.inexact}
        rcols = {c.name: c for c in right.columns() if c.name and not c.inexact}
        pairs = [(a, b) for a in lcols for b in rcols
                 if lcols[a].t == rcols[b].t and lcols[a].t in ("text", "int", "bigint")
                 and not (a == "id" or b == "id") or (a == b == "id")]
        if not pairs:
            return None
        for rel, al in ((left, la), (right, ra)):
            rel.alias = al
        # the key first: a self-join on k alone would pair too many rows
        eq = [r.choice(pairs)]
        if (isinstance(left, Table) and isinstance(right, Table) and left.name == right.name) \
                or r.random() < 0.25:
            more = [p for p in pairs if p != eq[0]]
            if more:
                eq.append(r.choice(more))
        on = []
        for a, b in eq:
            op = "==" if self.on("double_equals", 0.3) else "="
            feat = "double_equals" if op == "==" else None
            on.append(mk(f"{la}.{a} {op} {ra}.{b}", f"{la}.{a} = {ra}.{b}", "bool", (), feat))
        scope = self.scope_of(left, la) + self.scope_of(right, ra)
        if self.on("join_extra_cond", 0.4):
            p = self.predicate(scope, 1)
            on.append(mk(p.sl, p.dk, "bool", p.kids, "join_extra_cond"))
        kind = r.choice(["INNER", "INNER", "LEFT", "RIGHT", "FULL"])
        if self.on("comma_join", 0.3):
            kind = ","
        return Join(left, right, kind, on)

    def third_join(self, rel: Join) -> Join:
        """(a JOIN b ON ...) JOIN t3 ON <a column of a or b> = t3.<column>."""
        r = self.r
        alias = self.fresh("m")
        right = Table("t3", alias)
        cands = [(q, c) for q, c in self.scope_of(rel)
                 if c.name and not c.inexact and c.t in ("text", "int")]
        if not cands:
            return rel
        q, c = r.choice(cands)
        other = r.choice(["k", "label"] if c.t == "text" else ["g"])
        on = [mk(f"{q}.{c.name} = {alias}.{other}", f"{q}.{c.name} = {alias}.{other}", "bool")]
        return Join(rel, right, r.choice(["INNER", "LEFT", "FULL"]), on)

    def join_side(self, depth: int):
        r = self.r
        if depth > 0 and self.on("subquery_from", 0.4):
            name = r.choice(["t1", "t2", "t3"])
            sel = self.agg_select(Table(name), 0) if r.random() < 0.5 else \
                self.simple_select(Table(name))
            # a join side needs names: alias every item
            sel.items = [(e, a or (e.sl if e.sl.isidentifier() else self.fresh("j")))
                         for e, a in sel.items]
            seen = set()
            items = []
            for e, a in sel.items:
                if a not in seen:
                    items.append((e, a))
                    seen.add(a)
            sel.items = items
            sel.group_by = [(e, how) for e, how in sel.group_by or []
                            if any(ie is e for ie, _ in items)] if sel.group_by is not None \
                else None
            return Sub(sel, None)
        return Table(r.choice(["t1", "t2", "t3"]))

    # --- the query -------------------------------------------------------------------------

    def top_items(self, rel, scope, n: int):
        items = []
        for _ in range(n):
            t = self.comparable_type(scope) if self.r.random() < 0.7 else \
                self.r.choice(["int", "text", "bool", "double"])
            items.append(self.expr(scope, t))
        return items

    def query(self) -> Select:
        """A top-level select; every item aliased c0, c1, ..."""
        r = self.r
        shapes = []
        if "tumble" in self.f or "hop" in self.f or "tumble_tvf" in self.f or "hop_tvf" in self.f:
            shapes += ["window"] * 3
        if "group_by" in self.f or "global_agg" in self.f:
            shapes += ["agg"] * 3
        if "agg_over_agg" in self.f and "subquery_from" in self.f:
            shapes += ["agg_over_agg"] * 3
        if "join" in self.f:
            shapes += ["join"] * 3
        if "union_all" in self.f or "set_ops" in self.f:
            shapes += ["union"] * 1
        shapes += ["filter"] * 2
        shape = r.choice(shapes)
        if shape == "window":
            sel = self.window_select()
            if r.random() < 0.3 and "subquery_from" in self.f:  # something over the windows
                sub = Sub(sel, *self.sub_aliases(sel))
                if r.random() < 0.5 and "group_by" in self.f:
                    sel = self.agg_select(sub, 0)
                else:
                    sel = self.simple_select(sub)
        elif shape == "agg":
            sel = self.agg_select(self.base_rel(1), 1)
        elif shape == "agg_over_agg":
            inner = self.agg_select(self.base_rel(0), 0)
            if not inner.having and self.on("having", 0.6) and inner.group_by:
                inner.having = [self.having_pred(self.scope_of(inner.from_))]
            if r.random() < 0.5 and not any(e.sl == "count(*)" for e, _ in inner.items):
                inner.items.append((mk("count(*)", "count(*)", "bigint", agg=True), None))
            sub = Sub(inner, *self.sub_aliases(inner))
            sel = self.agg_select(sub, 0, global_p=0.5)
            if r.random() < 0.3:  # only the calls: SELECT count(*) FROM (... count(*) ...)
                sel = Select([], sub)
            # reuse the inner select's unaliased calls in the outer one (named like them)
            calls = [c.call for c in sub.columns() if c.call]
            names = {c.name for c in sub.columns() if c.name}
            for call in calls:
                arg = call[:-1].split("(", 1)[1]
                if (arg == "*" or arg in names) and r.random() < 0.7:
                    t = next(c.t for c in sub.columns() if c.call == call)
                    e = mk(call, call, "bigint" if call.startswith("count") else t, agg=True,
                           inexact=call.startswith(("avg", "sum")) and t == "double")
                    sel.items.append((e, None))
            if r.random() < 0.4 or not sel.items:
                sel.items.append((mk("count(*)", "count(*)", "bigint", agg=True), None))
        elif shape == "join":
            rel = self.join_rel(1)
            if rel is None:
                return self.query()
            if self.on("join_three", 0.2) and rel.kind != ",":  # (its ON would be lost)
                rel = self.third_join(rel)
            scope = self.scope_of(rel)
            if r.random() < 0.4 and "group_by" in self.f:
                sel = self.agg_select(rel, 0)
                sel.items = [(e, a) for e, a in sel.items]
            else:
                items = [(e, None) for e in self.top_items(rel, scope, r.randint(1, 4))]
                where = [self.predicate(scope)] if r.random() < 0.4 else []
                sel = Select(items, rel, where)
        elif shape == "union":
            sel = self.union_select()
        else:
            sel = self.simple_select(self.base_rel(1))
            if self.on("order_limit", 0.3):
                sel = self.order_limit_select()
        sel = self.finish(sel)
        return sel

    def union_select(self) -> Select:
        r = self.r
        n = r.randint(1, 3)
        types = [r.choice(["int", "text", "bool", "bigint", "decimal"]) for _ in range(n)]
        branches = []
        for _ in range(r.randint(2, 3)):
            rel = Table(r.choice(["t1", "t2", "t3"]))
            scope = self.scope_of(rel)
            items = [(self.expr(scope, t), self.fresh("u")) for t in types]
            where = [self.predicate(scope)] if r.random() < 0.6 else []
            branches.append(Select(items, rel, where))
        op = "UNION ALL"
        if self.on("set_ops", 0.5):
            op = r.choice(["UNION", "INTERSECT", "EXCEPT", "INTERSECT ALL", "EXCEPT ALL"])
        elif "union_all" not in self.f:
            op = "UNION"
        sel = branches[-1]
        for b in reversed(branches[:-1]):
            sel = dataclasses.replace(b, set_op=(op, sel))
        if self.on("subquery_from", 0.5):  # aggregate over the union
            sub = Sub(sel, *self.sub_aliases(sel))
            return self.agg_select(sub, 0) if r.random() < 0.6 else self.simple_select(sub)
        return sel

    def union_with_ts(self) -> Sub:
        """(SELECT k, a, ts FROM t1 WHERE ... UNION ALL SELECT k, c, ts FROM t2 WHERE ...): two
        streams merged under a window (the watermark is the smaller of the two)."""
        branches = []
        for name, num in (("t1", "a"), ("t2", "c")):
            rel = Table(name)
            items = [(mk("k", "k", "text", ()), None), (mk(num, num, "int"), "n" if name == "t1"
                                                        else None), (mk("ts", "ts", "ts"), None)]
            where = [self.predicate(self.scope_of(rel))] if self.r.random() < 0.5 else []
            branches.append(Select(items, rel, where))
        sel = dataclasses.replace(branches[0], set_op=("UNION ALL", branches[1]))
        return Sub(sel, self.fresh("u") if self.r.random() < 0.5 else None)

    def order_limit_select(self) -> Select:
        inner = self.simple_select(Table("t1"))
        inner.items.append((mk("id", "id", "bigint"), self.fresh("o")))
        # rows with the same id are exact duplicates: the multiset kept is unique
        inner.order_limit = ([mk("id", "id", "bigint")], self.r.choice([5, 20, 100]))
        return self.simple_select(Sub(inner, self.fresh("q")))

    def finish(self, sel: Select) -> Select:
        """Top level: alias every item c0.. (names are compared); pending extras."""
        r = self.r
        if self.on("distinct", 0.12) and not sel.set_op:
            sel.distinct = True
        if self.on("subquery_expr", 0.25) and not sel.set_op and not sel.window:
            pred = self.subquery_pred(sel)
            if pred is not None:
                sel.where.append(pred)
        if self.on("window_funcs", 0.06):
            return self.window_func_select()
        items = []
        for i, (e, _) in enumerate(sel.items):
            items.append((e, f"c{i}"))
        if self.on("order_limit", 0.1) and not sel.set_op and \
                not any(e.inexact or e.t == "double" for e, _ in sel.items):
            # ordered by every column: rows that tie are equal, so the rows kept are unique
            keys = [mk(str(i + 1), str(i + 1), "int") for i in range(len(items))]
            sel = dataclasses.replace(sel, order_limit=(keys, r.choice([1, 3, 10, 50])))
        if sel.set_op:  # names come from the first branch
            sel = dataclasses.replace(sel, items=items)
            return sel
        return dataclasses.replace(sel, items=items)

    def subquery_pred(self, sel: Select) -> E | None:
        """[NOT] IN (SELECT ...), a comparison with a scalar subquery (an aggregate without
        GROUP BY: one row, also over no rows), or [NOT] EXISTS, correlated or not."""
        r = self.r
        frm = sel.from_
        qual = frm.alias or frm.name if isinstance(frm, Table) else \
            frm.alias if isinstance(frm, Sub) else None
        outer = [c for c in frm.columns() if c.name and not c.inexact and c.t in ("text", "int")] \
            if isinstance(frm, (Table, Sub)) else []
        if not outer:
            return None
        col = r.choice(outer)
        ref = f"{qual}.{col.name}" if qual else col.name
        inner_t = r.choice(["t2", "t3"])
        inner_cols = [c.name for c in Table(inner_t).columns() if c.t == col.t]
        z = self.fresh("z")
        inner_scope = self.scope_of(Table(inner_t), z)
        cond = self.predicate(inner_scope, 1) if r.random() < 0.6 else None
        where = f" WHERE {cond.sl}" if cond else ""
        where_dk = f" WHERE {cond.dk}" if cond else ""
        c = r.random()
        if c < 0.35 and inner_cols:
            ic = r.choice(inner_cols)
            neg = "NOT " if r.random() < 0.35 else ""
            s = f"({ref} {neg}IN (SELECT {z}.{ic} FROM {inner_t} AS {z}{{}}))"
            return mk(s.format(where), s.format(where_dk), "bool", feat="subquery_expr")
        if c < 0.6 and col.t == "int" and inner_cols:
            ic = r.choice(inner_cols)
            agg = r.choice(["max", "min", "count", "sum"])
            op = r.choice(["<", ">=", "=", "<>"])
            s = f"({ref} {op} (SELECT {agg}({z}.{ic}) FROM {inner_t} AS {z}{{}}))"
            return mk(s.format(where), s.format(where_dk), "bool", feat="subquery_expr")
        neg = "NOT " if r.random() < 0.35 else ""
        corr = ""
        if inner_cols and qual and r.random() < 0.7:
            corr = f"{z}.{r.choice(inner_cols)} = {ref}"
        conds = [x for x in (corr, cond.sl if cond else "") if x]
        conds_dk = [x for x in (corr, cond.dk if cond else "") if x]
        s = f"({neg}EXISTS (SELECT 1 FROM {inner_t} AS {z}" + "{}))"
        return mk(s.format(" WHERE " + " AND ".join(conds) if conds else ""),
                  s.format(" WHERE " + " AND ".join(conds_dk) if conds_dk else ""), "bool",
                  feat="subquery_expr")

    def window_func_select(self) -> Select:
        """An aggregate OVER (PARTITION BY key ORDER BY ts RANGE ...) over t1: RANGE frames
        take rows with equal times together, so the answer is unique (ROWS frames and LAG/LEAD
        take ties in arrival order: not generated, t1 has equal times)."""
        r = self.r
        fn, t, inexact = r.choice([("sum(a)", "bigint", False), ("count(*)", "bigint", False),
                                   ("min(a)", "int", False), ("max(s)", "text", False),
                                   ("avg(a)", "double", True), ("count(s)", "bigint", False)])
        frame = r.choice(["", " RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW",
                          " RANGE BETWEEN INTERVAL '60 seconds' PRECEDING AND CURRENT ROW",
                          " RANGE BETWEEN INTERVAL '5 minutes' PRECEDING AND CURRENT ROW"])
        part = r.choice(["k", "f", "s"])
        call = f"{fn} OVER (PARTITION BY {part} ORDER BY ts{frame})"
        e = mk(call, call, t, feat="window_funcs", inexact=inexact)
        items = [(mk("id", "id", "bigint"), "c0"), (mk(part, part, "bool" if part == "f" else "text"), "c1"), (e, "c2")]
        where = [self.predicate(self.scope_of(Table("t1")))] if r.random() < 0.4 else []
        return Select(items, Table("t1"), where)

def a_nested_agg(e: E) -> bool:
    return any(k.agg for k in e.kids)


# ---------------------------------------------------------------------------------------------
# Running


@dataclass
class Case:
    index: int
    sel: Select
    sl: str = ""
    dk: str = ""
    updating: bool = False
    feats: frozenset = frozenset()
    approx: set = field(default_factory=set)
    columns: list = field(default_factory=list)

    def __post_init__(self):
        self.refresh()

    def refresh(self):
        self.sl = self.sel.render("sl")
        self.dk = self.sel.render("dk")
        self.updating = self.sel.updating
        self.feats = self.sel.feats
        cols = self.sel.columns()
        self.columns = [c.name for c in cols]
        self.approx = {c.name for c in cols if c.t == "double" or c.inexact}


def sink_ddl(name: str, path: str, updating: bool) -> str:
    fmt = "debezium_json" if updating else "json"
    return (f"CREATE TABLE {name} WITH (connector = 'single_file', path = '{path}', "
            f"format = '{fmt}', type = 'sink');")


class Runner:
    def __init__(self, sluice: str, workdir: str, paths: dict[str, str], con, timeout: int):
        self.sluice = sluice
        self.workdir = workdir
        self.paths = paths
        self.con = con
        self.timeout = timeout
        self.sluice_runs = 0

    def expected(self, case: Case):
        """DuckDB's rows, or an error message (the query is invalid: a generator bug)."""
        try:
            return duckdb_rows(self.con, case.dk)[0], None
        except duckdb.Error as e:
            return None, str(e).splitlines()[0]

    def run_batch(self, cases: list[Case], p: int, tag: str):
        """Runs the cases in one `sluice run`. Returns {index: (rows, columns, summary)} or an
        error message for the whole run."""
        sql_path = os.path.join(self.workdir, f"batch{tag}.p{p}.sql")
        outs = {}
        parts = [sluice_source_ddl(self.paths)]
        updates = str(p).endswith("u")  # one-row batches, a flush after each: many updates
        if updates:
            parts.append("SET update_flush_interval = INTERVAL '1 microsecond';")
        for c in cases:
            out = os.path.join(self.workdir, f"out{c.index}.{tag}.p{p}.json")
            if os.path.exists(out):
                os.remove(out)
            outs[c.index] = out
            parts.append(sink_ddl(f"out{c.index}", out, c.updating))
            parts.append(f"INSERT INTO out{c.index} {c.sl};")
        with open(sql_path, "w") as f:
            f.write("\n".join(parts) + "\n")
        self.sluice_runs += 1
        cmd = [self.sluice, "run", sql_path, "--parallelism", str(p).rstrip("u")]
        if updates:
            cmd += ["--set", "batch_size=1"]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            return f"sluice timed out after {self.timeout} s"
        if proc.returncode != 0:
            return f"sluice exited {proc.returncode}: " + proc.stderr.strip()[-3000:]
        results = {}
        for c in cases:
            try:
                if not os.path.exists(outs[c.index]):
                    raise RuntimeError("no output file")
                if c.updating:
                    rows, cols, summary = apply_changelog(outs[c.index])
                else:
                    rows, cols = read_json_lines(outs[c.index])
                    summary = None
                results[c.index] = (rows, cols, summary)
            except RuntimeError as e:
                results[c.index] = str(e)
        return results

    def verdict(self, case: Case, expected, got) -> tuple[str, list[str]]:
        """("ok" | "empty" | "mismatch" | "error", problem lines)."""
        if isinstance(got, str):
            return "error", [got]
        rows, cols, summary = got
        problems = []
        exp_cols = case.columns
        if cols is not None and cols != exp_cols:
            problems.append(f"  sluice columns {cols}, expected {exp_cols}")
        else:
            problems = compare(exp_cols, case.approx, expected, rows)
        if problems:
            return "mismatch", problems
        return ("empty" if not rows else "ok"), []

    def check_one(self, case: Case, p: int, tag: str):
        """(verdict, problems) of one case alone, or None when DuckDB rejects it."""
        expected, err = self.expected(case)
        if err:
            return None
        got = self.run_batch([case], p, tag)
        if isinstance(got, str):
            return "error", [got]
        return self.verdict(case, expected, got[case.index])


# ---------------------------------------------------------------------------------------------
# Minimizing a failure: shrink the query tree while the same kind of failure remains, then
# the input rows (chunks of each table) for a disagreement.


def error_signature(message: str) -> str:
    """The gist of an error message: its first `error:` line without the position."""
    for line in message.splitlines():
        if "error" in line:
            line = re.sub(r"line \d+, column \d+: ", "", line.split("error", 1)[1])
            return re.sub(r"\$?\b[a-z]\d+\b|\d+", "N", line)[:80]
    return message[:80]


def minimize(runner: Runner, case: Case, p: int, kind: str, problems: list[str],
             tables: dict[str, list[dict]], budget_s: float = 120.0):
    started = time.monotonic()
    n_checks = 0
    signature = error_signature(problems[0]) if kind == "error" else None

    def fails(c: Case) -> bool:
        nonlocal n_checks
        n_checks += 1
        res = runner.check_one(c, p, "min")
        if res is None or res[0] != kind:
            return False
        return signature is None or error_signature(res[1][0]) == signature

    best = case
    progress = True
    while progress and time.monotonic() - started < budget_s:
        progress = False
        for cand_sel in best.sel.shrink():
            if time.monotonic() - started > budget_s:
                break
            try:
                cand = Case(best.index, cand_sel)
            except Exception:  # noqa: BLE001  (a variant the renderer cannot express)
                continue
            if len(cand.sl) >= len(best.sl) and cand.sl != best.sl:
                pass
            if cand.sl == best.sl:
                continue
            if fails(cand):
                best = cand
                progress = True
                break
    # the rows: only for a disagreement (a refusal does not depend on them)
    rows = {name: list(v) for name, v in tables.items()}
    if kind == "mismatch":
        used = [name for name in TABLES if name in best.sl]
        original_paths = dict(runner.paths)
        min_paths = {name: os.path.join(runner.workdir, f"min_{name}.json") for name in TABLES}

        def write_all(rs):
            for name, cols in TABLES.items():
                write_table(rs[name], cols, min_paths[name])
            runner.paths = min_paths
            duckdb_setup(runner.con, min_paths)

        try:
            for name in TABLES:
                if name not in used:
                    rows[name] = rows[name][:1]
            for name in used:
                chunk = max(1, len(rows[name]) // 2)
                while chunk >= 1 and time.monotonic() - started < budget_s:
                    i = 0
                    changed = False
                    while i < len(rows[name]) and time.monotonic() - started < budget_s:
                        trial = dict(rows)
                        trial[name] = rows[name][:i] + rows[name][i + chunk:]
                        if not trial[name]:
                            i += chunk
                            continue
                        write_all(trial)
                        if fails(best):
                            rows = trial
                            changed = True
                        else:
                            i += chunk
                    if not changed:
                        chunk //= 2
            write_all(rows)
        finally:
            runner.paths = original_paths
            duckdb_setup(runner.con, original_paths)
    return best, rows, n_checks, time.monotonic() - started


def repro_text(case: Case, rows: dict[str, list[dict]], kind: str, runner: Runner,
               expected) -> str:
    """A sqllogictest skeleton: the input rows, the statements and DuckDB's answer."""
    used = [name for name in TABLES if name in case.sl]
    out = ["# minimized repro (DuckDB's answer as a cross-check; write the expected rows by",
           "# hand from the SQL semantics)"]
    for name in used:
        path = os.path.join(runner.workdir, f"repro_{name}.json")
        write_table(rows[name], TABLES[name], path)
        out.append(f"input {name}")
        with open(path) as f:
            out += [line.rstrip("\n") for line in f]
        out.append("end")
    out.append("run" + (" final" if case.updating else ""))
    for name in used:
        cols = ", ".join(f"{c} {st}" for c, st, _, _ in TABLES[name])
        out.append(f"CREATE TABLE {name} ({cols}, WATERMARK FOR ts AS ts - INTERVAL "
                   f"'{WATERMARK_DELAY_S} seconds') WITH (connector = 'single_file', "
                   f"path = '${name}', format = 'json', type = 'source');")
    out.append(sink_ddl("out", "$output", case.updating))
    out.append(f"INSERT INTO out {case.sl};")
    out.append("----")
    if expected is not None:
        for row in expected:
            out.append(json.dumps({k: _jsonable(v) for k, v in row.items()},
                                  separators=(",", ":")))
    out.append("end")
    out.append(f"-- DuckDB: {case.dk}")
    return "\n".join(out)


def _jsonable(v):
    if isinstance(v, dt.datetime):
        return format_ts(v)
    if hasattr(v, "__int__") and not isinstance(v, (bool, int, float, str)):
        f = float(v)
        return int(v) if f == int(v) else f
    return v


# ---------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sluice", nargs="?", default=os.path.join(REPO, "build/release/sluice"))
    ap.add_argument("--seed", type=int, default=None,
                    help="default: $SLUICE_FUZZ_SEED, else the time (printed)")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--batch", type=int, default=30, help="queries per `sluice run`")
    ap.add_argument("--parallelism", default="1,4",
                    help="comma-separated; N`u` runs at N with one-row batches and a flush of "
                         "updating results after each (changelogs full of updates)")
    ap.add_argument("--features", default="", help="+name,-name,... (see --list-features)")
    ap.add_argument("--list-features", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--no-minimize", action="store_true")
    ap.add_argument("--minimize-budget", type=float, default=120.0, help="seconds per failure")
    ap.add_argument("--max-failures", type=int, default=10,
                    help="stop minimizing after this many failures (still counts them)")
    ap.add_argument("--show-queries", action="store_true")
    ap.add_argument("--only", type=int, default=None, help="run only query number N")
    ap.add_argument("--timeout", type=int, default=300)
    args = ap.parse_args()

    if args.list_features:
        for name, (on, desc) in FEATURES.items():
            print(f"{'on ' if on else 'off'} {name:17} {desc}")
        return 0
    seed = args.seed
    if seed is None:
        seed = int(os.environ.get("SLUICE_FUZZ_SEED") or time.time_ns() % 1_000_000_007)
    features = parse_features(args.features)
    sluice = os.path.abspath(args.sluice)
    if not os.access(sluice, os.X_OK):
        print(f"random_queries_vs_duckdb.py: {sluice} is not an executable", file=sys.stderr)
        return 2
    parallelisms = [p for p in args.parallelism.split(",") if p]
    if any(not p.rstrip("u").isdigit() for p in parallelisms):
        print("random_queries_vs_duckdb.py: --parallelism takes numbers, each optionally "
              "followed by u", file=sys.stderr)
        return 2

    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="sluice-random-")
    keep = args.keep
    try:
        tables = generate_tables(seed)
        paths = {name: os.path.join(workdir, f"{name}.json") for name in TABLES}
        for name, cols in TABLES.items():
            write_table(tables[name], cols, paths[name])
        con = duckdb.connect()
        con.execute("SET threads = 2")
        duckdb_setup(con, paths)
        n = con.execute("SELECT count(*) FROM t1").fetchone()[0]
        if n != len(tables["t1"]):
            print(f"duckdb read t1 wrongly: {n} rows", file=sys.stderr)
            return 2
        print(f"random queries: seed {seed}, {args.queries} queries, parallelism "
              f"{args.parallelism}, duckdb {duckdb.__version__}, features off: "
              f"{','.join(sorted(set(FEATURES) - features)) or '-'}; on but pending: "
              f"{','.join(sorted(features & PENDING)) or '-'}")
        runner = Runner(sluice, workdir, paths, con, args.timeout)

        invalid = 0

        def generate(i: int) -> Case | None:
            """Query number i (from the seed and i alone) with DuckDB's answer; a query
            DuckDB rejects (a generator slip) is replaced by another from the same seed."""
            nonlocal invalid
            for attempt in range(20):
                gen = Gen(random.Random(f"{seed}:{i}" + (f":{attempt}" if attempt else "")),
                          features)
                case = Case(i, gen.query())
                exp, err = runner.expected(case)
                if err is None:
                    case.expected = exp
                    if args.show_queries:
                        print(f"q{i}: {case.sl}")
                    return case
                invalid += 1
                if args.show_queries:
                    print(f"  (duckdb rejects generated query {i}: {err}\n   {case.dk})")
            return None

        indexes = [i for i in range(args.queries) if args.only is None or i == args.only]
        stats = {"ok": 0, "empty": 0, "mismatch": 0, "error": 0, "pending": 0}
        failures = []
        n_cases = 0
        for start in range(0, len(indexes), args.batch):
            batch = [c for c in map(generate, indexes[start:start + args.batch]) if c]
            n_cases += len(batch)
            for p in parallelisms:
                got = runner.run_batch(batch, p, f"b{start}")
                if isinstance(got, str):  # one query spoils the run: run each alone
                    got = {}
                    for c in batch:
                        one = runner.run_batch([c], p, f"s{c.index}")
                        got[c.index] = one if isinstance(one, str) else one[c.index]
                for c in batch:
                    kind, problems = runner.verdict(c, c.expected, got[c.index])
                    if kind == "error" and c.feats & PENDING:
                        stats["pending"] += 1
                        continue
                    stats[kind] += 1
                    if kind in ("mismatch", "error"):
                        failures.append((c, p, kind, problems))
                        print(f"FAIL q{c.index} p={p} {kind} "
                              f"({'updating' if c.updating else 'append-only'}):"
                              f"\n  sluice: {c.sl}\n  duckdb: {c.dk}")
                        print("\n".join(problems[:12]), flush=True)
            for c in batch:  # only failures keep their expected rows
                if not any(f[0] is c for f in failures):
                    c.expected = None
            if (start + args.batch) % 1000 < args.batch and start + args.batch < len(indexes):
                print(f"... {start + args.batch} queries, {len(failures)} failures, "
                      f"{time.monotonic() - started:.0f} s", flush=True)
        total = sum(stats.values())
        print(f"ran {n_cases} queries ({total} runs, {runner.sluice_runs} sluice processes) "
              f"in {time.monotonic() - started:.1f} s; {invalid} generated queries DuckDB "
              "rejected were replaced")

        if failures and not args.no_minimize:
            seen = set()
            for c, p, kind, problems in failures[:args.max_failures]:
                if (c.index, kind) in seen:
                    continue
                seen.add((c.index, kind))
                best, rows, checks, secs = minimize(runner, c, p, kind, problems, tables,
                                                    args.minimize_budget)
                exp = None
                if kind == "mismatch":
                    mpaths = {name: os.path.join(workdir, f"min_{name}.json") for name in TABLES}
                    duckdb_setup(con, mpaths)
                    exp, _ = runner.expected(best)
                    duckdb_setup(con, paths)
                print(f"\nminimized q{c.index} ({kind}, p={p}; {checks} checks, {secs:.0f} s):")
                text = repro_text(best, rows, kind, runner, exp)
                print(text)
                repro = os.path.join(workdir, f"repro_q{c.index}.test")
                with open(repro, "w") as f:
                    f.write(text + "\n")
                if keep:
                    print(f"(also in {repro}; the batch's SQL files are beside it)")
        print(f"random: {stats['ok'] + stats['empty']} passed ({stats['empty']} with no rows), "
              f"{stats['mismatch'] + stats['error']} failed ({stats['mismatch']} disagreements, "
              f"{stats['error']} errors), {stats['pending']} refused using pending features; "
              f"seed {seed}; {time.monotonic() - started:.1f} s")
        return 1 if failures else 0
    finally:
        if keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
