#!/usr/bin/env python3
"""Differential test: Sluice's aggregates without a window (updating results) against DuckDB.

Runs each query through `sluice run` in several configurations (writing a single_file
debezium_json sink), applies the changelog to obtain the final table (c adds `after`; d removes
`before`; u removes `before` and adds `after`; removing a row that is not there is a failure)
and compares that table, as a multiset, with DuckDB's answer to the same query over the whole
input. Three inputs:

- t: windows_vs_duckdb.py's rows, aggregated once and again over the aggregate (a GROUP BY
  over a GROUP BY retracts a group's old row from its old bucket);
- t, u (and r): joins_vs_duckdb.py's inputs (half as many rows), aggregated over updating
  joins (outer joins retract their NULL-padded rows when a match arrives);
- items: a debezium_json change stream generated from a random sequence of snapshot reads,
  inserts, updates (also moving rows between groups, or changing nothing) and deletes (also
  of ids later inserted again) on a keyed table; DuckDB gets the final table (the changes
  applied in Python) and runs the same query over it.

    build/venv/bin/python tests/differential/updating_vs_duckdb.py [build/release/sluice]
        [--seed N] [--rows N] [--only NAME,...] [--keep]

Prints one line per query and configuration and a final `differential: N passed, M failed`;
exits 1 when anything disagrees (or a query gives no rows on both sides).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import joins_vs_duckdb as joins  # noqa: E402  (the joins' inputs, their DDL and DuckDB setup)
import windows_vs_duckdb as base  # noqa: E402  (input generator, DuckDB setup)
from harness import (  # noqa: E402,F401  (CONFIGS and apply_changelog: also joins_vs_duckdb.py)
    CONFIGS, REPO, apply_changelog, compare_runs, duckdb, duckdb_rows,
    run_sluice as run_sluice_command)

# CONFIGS (harness.py): p=1, p=4, p=4 with batch_size=1, and that with update_flush_interval
# 1 microsecond, which makes the changelog carry updates. Every query runs in all four: a
# GROUP BY over a GROUP BY sees retractions only with the short flush (a short run otherwise
# flushes the inner aggregate once, at the end); outer joins and the change stream retract
# in every configuration.

SOURCE_DDL = (
    "CREATE TABLE t (id BIGINT, ts TIMESTAMP, k TEXT, v BIGINT, x DOUBLE) "
    "WITH (connector = 'single_file', path = '{input}', format = 'json', type = 'source');\n"
    "CREATE TABLE out WITH (connector = 'single_file', path = '{output}', "
    "format = 'debezium_json', type = 'sink');\n"
)


# ---------------------------------------------------------------------------------------------
# The change stream

CATEGORIES = [f"cat{i}" for i in range(8)]


def random_item(rng: random.Random, item_id: int) -> dict:
    """A row of items: few categories and prices (so groups share extremes and values), NULLs."""
    return {"id": item_id,
            "cat": None if rng.random() < 0.04 else rng.choice(CATEGORIES),
            "price": None if rng.random() < 0.05 else rng.randint(0, 60),
            "weight": None if rng.random() < 0.05 else round(rng.uniform(-5.0, 50.0), 2)}


def generate_changes(seed: int, n: int):
    """(Debezium changes, the final table: id -> row) of n random changes to a keyed table:
    a snapshot (op r) of n/10 rows, then inserts of new ids, inserts of deleted ids, updates
    of one or more columns (or none: before equals after) and deletes."""
    rng = random.Random(seed ^ 0xDEB)
    table: dict[int, dict] = {}
    deleted: list[int] = []
    changes: list[dict] = []
    next_id = 1
    for i in range(n):
        r = rng.random()
        if i < n // 10 or not table or (r < 0.35 and len(table) < 1500):
            if deleted and rng.random() < 0.2:  # an id deleted before comes back
                item_id = deleted.pop(rng.randrange(len(deleted)))
            else:
                item_id, next_id = next_id, next_id + 1
            row = random_item(rng, item_id)
            changes.append({"before": None, "after": row, "op": "r" if i < n // 10 else "c"})
            table[item_id] = row
        elif r < 0.75:
            item_id = rng.choice(list(table))
            before = table[item_id]
            after = dict(before)
            fresh = random_item(rng, item_id)
            if rng.random() > 0.03:  # else an update that changes nothing
                for col in rng.sample(["cat", "price", "weight"], rng.randint(1, 3)):
                    after[col] = fresh[col]
            changes.append({"before": before, "after": after, "op": "u"})
            table[item_id] = after
        else:
            item_id = rng.choice(list(table))
            changes.append({"before": table.pop(item_id), "after": None, "op": "d"})
            deleted.append(item_id)
    return changes, table


def write_json_lines(objs, path: str) -> None:
    with open(path, "w") as f:
        for obj in objs:
            f.write(json.dumps(obj) + "\n")


# ---------------------------------------------------------------------------------------------
# Inputs: per name, the Sluice DDL of its sources and the sink (given the paths of its files)
# and the DuckDB statements that load the same data.

ITEMS_DDL = (
    "CREATE TABLE items (id BIGINT, cat TEXT, price BIGINT, weight DOUBLE, PRIMARY KEY (id)) "
    "WITH (connector = 'single_file', path = '{changes}', format = 'debezium_json', "
    "type = 'source');\n"
    "CREATE TABLE out WITH (connector = 'single_file', path = '{output}', "
    "format = 'debezium_json', type = 'sink');\n"
)

ITEMS_DUCKDB = """
CREATE TABLE items AS SELECT id, cat, price, weight
FROM read_json('{final}', format = 'newline_delimited',
               columns = {{id: 'BIGINT', cat: 'VARCHAR', price: 'BIGINT', weight: 'DOUBLE'}});
"""


def sluice_ddl(inputs: str, paths: dict[str, str], output: str) -> str:
    """paths: the files of the input `inputs`, by table name (items: its changes)."""
    if inputs == "t":
        return SOURCE_DDL.format(input=paths["t"], output=output)
    if inputs == "joins":
        return joins.sluice_ddl(paths, output, updating=True)
    return ITEMS_DDL.format(changes=paths["items"], output=output)


# ---------------------------------------------------------------------------------------------
# Queries


@dataclass
class Query:
    name: str
    select: str  # the same SELECT in Sluice (after INSERT INTO out) and DuckDB
    approx: set[str] = field(default_factory=set)  # float columns compared with a tolerance
    inputs: str = "t"  # t (one stream), joins (t, u, r of joins_vs_duckdb) or items (changes)
    # Statements run before the SELECT in both (memory tables: CREATE TABLE m (...) and the
    # INSERTs that fill it; SQL functions), in DuckDB `duckdb_tables` instead when given (its
    # macros for Sluice's functions); DuckDB runs `cleanup` after the query.
    tables: str = ""
    duckdb_tables: str = ""
    cleanup: str = ""


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
    # TIMESTAMPTZ (DuckDB with TimeZone = 'UTC'): casts both ways, a literal with an offset,
    # date_trunc and interval arithmetic; the results cast back to TIMESTAMP (DuckDB's Python
    # client needs pytz to return a TIMESTAMPTZ).
    Query("timestamptz",
          "SELECT k, CAST(min(CAST(ts AS TIMESTAMPTZ)) AS TIMESTAMP) AS first, "
          "CAST(max(date_trunc('minute', CAST(ts AS TIMESTAMPTZ)) + INTERVAL '90 seconds') "
          "AS TIMESTAMP) AS last, "
          "count(*) FILTER (WHERE CAST(ts AS TIMESTAMPTZ) >= "
          "TIMESTAMPTZ '2023-03-14 12:10:00+02') AS later FROM t GROUP BY k"),
    # Row constructors compared field by field (no NULL fields: DuckDB orders NULL fields
    # where PostgreSQL's row comparison gives NULL).
    Query("row_compare",
          "SELECT k, count(*) FILTER (WHERE (id % 7, id % 3) < (3, 1)) AS lower, "
          "count(*) FILTER (WHERE (id % 2, k) = (0, 'k1')) AS even_k1, "
          "max(id) FILTER (WHERE (id % 5, id % 2) >= (2, 1)) AS top, "
          "count(*) FILTER (WHERE (id % 4, id % 3) <> (1, 1)) AS other FROM t GROUP BY k"),

    # --- a GROUP BY over a GROUP BY: each change of a (k, v) group's count moves it from one
    # bucket to the next (a retraction from the old bucket)
    Query("reagg_buckets",
          "SELECT n, count(*) AS groups, count(DISTINCT k) AS keys, min(k) AS lo_k, "
          "max(v) AS hi_v, sum(v) AS sum_v "
          "FROM (SELECT k, v, count(*) AS n FROM t GROUP BY k, v) GROUP BY n"),
    Query("reagg_having",  # groups enter the inner HAVING as they grow
          "SELECT k, count(*) AS vals, max(n) AS top, min(n) AS bottom, avg(n) AS mean, "
          "count(DISTINCT n) AS sizes "
          "FROM (SELECT k, v, count(*) AS n FROM t GROUP BY k, v HAVING count(*) > 1) GROUP BY k",
          {"mean"}),
    Query("reagg_global",  # min/max over values that change: the old extreme is retracted
          "SELECT count(*) AS keys, max(n) AS top, min(lo) AS lowest, max(sx) AS top_sx, "
          "sum(n) AS total "
          "FROM (SELECT k, count(*) AS n, sum(x) AS sx, min(v) AS lo FROM t GROUP BY k)",
          {"top_sx"}),

    # --- aggregates over updating joins (joins_vs_duckdb's inputs): outer joins retract a
    # NULL-padded row when its first match arrives
    Query("join_left_by_key",
          "SELECT a.k, count(*) AS n, count(b.w) AS matched, min(b.w) AS lo, max(b.w) AS hi, "
          "count(DISTINCT b.w) AS ws, avg(b.y) AS mean_y "
          "FROM t a LEFT JOIN u b ON a.k = b.k AND a.g = b.g GROUP BY a.k",
          {"mean_y"}, inputs="joins"),
    Query("join_full_by_g",  # the NULL group holds the padded rows of t
          "SELECT b.g, count(*) AS n, count(a.v) AS with_t, min(a.v) AS lo, max(a.v) AS hi, "
          "count(DISTINCT a.k) AS keys, sum(b.w) AS sw, avg(a.x) AS mean_x "
          "FROM t a FULL JOIN u b ON a.k = b.k AND a.g = b.g GROUP BY b.g",
          {"mean_x"}, inputs="joins"),
    Query("join_aggs_reagg",  # a join of two aggregates, aggregated again
          "SELECT a.n > b.m AS t_more, count(*) AS keys, max(a.n) AS top_n, min(b.m) AS low_m, "
          "count(DISTINCT b.m) AS ms, avg(a.total) AS mean_total "
          "FROM (SELECT k, count(*) AS n, sum(v) AS total FROM t GROUP BY k) a "
          "JOIN (SELECT k, count(*) AS m FROM u GROUP BY k) b ON a.k = b.k "
          "GROUP BY a.n > b.m",
          {"mean_total"}, inputs="joins"),

    # --- aggregates over a debezium_json change stream
    # --- memory tables: two writers unioned, one of them updating, aggregated again
    Query("memory_table_reagg",
          "SELECT n % 5 AS b, count(*) AS groups, sum(n) AS total, max(k) AS hi FROM m "
          "GROUP BY n % 5",
          tables="CREATE TABLE m (k TEXT, n BIGINT); "
                 "INSERT INTO m SELECT k, count(*) FROM t GROUP BY k; "
                 "INSERT INTO m SELECT k, v FROM t WHERE v > 90;",
          cleanup="DROP TABLE m"),
    # --- SQL functions, inlined; DuckDB's macros are the same expressions
    Query("sql_functions",
          "SELECT bucket5(v) AS b, count(*) AS n, sum(scaled(x, 2)) AS sx, "
          "max(label(k, v)) AS hi FROM t GROUP BY bucket5(v)",
          {"sx"},
          tables="CREATE FUNCTION bucket5(a BIGINT) RETURNS BIGINT LANGUAGE SQL AS 'a % 5'; "
                 "CREATE FUNCTION scaled(x DOUBLE, f BIGINT) RETURNS DOUBLE RETURN x * f + 1; "
                 "CREATE FUNCTION label(k TEXT, n BIGINT) RETURNS TEXT "
                 "AS $$ SELECT k || '-' || bucket5(n) $$;",
          duckdb_tables="CREATE MACRO bucket5(a) AS a % 5; "
                        "CREATE MACRO scaled(x, f) AS x * f + 1; "
                        "CREATE MACRO label(k, n) AS k || '-' || bucket5(n);",
          cleanup="DROP MACRO label; DROP MACRO scaled; DROP MACRO bucket5"),

    Query("changes_table",  # the table itself: checks the generator's final table too
          "SELECT id, cat, price, weight FROM items", inputs="items"),
    Query("changes_by_cat",
          "SELECT cat, count(*) AS n, sum(price) AS total, min(price) AS lo, max(price) AS hi, "
          "count(DISTINCT price) AS prices, avg(weight) AS mean_w, min(weight) AS lo_w "
          "FROM items GROUP BY cat",
          {"mean_w"}, inputs="items"),
    Query("changes_other_aggs",  # the other aggregates that retract
          "SELECT cat, median(weight) AS med_w, median(price) AS med_p, "
          "sum(DISTINCT price) AS distinct_total, bool_or(price > 55) AS pricey, "
          "bool_and(weight > 0) AS positive, bit_xor(price) AS xor_p, var_pop(weight) AS var_w "
          "FROM items GROUP BY cat",
          {"med_w", "med_p", "var_w"}, inputs="items"),
    Query("changes_ordered_set",  # percentile_cont WITHIN GROUP, retracting; DESC is 1 - f
          "SELECT cat, percentile_cont(0.25) WITHIN GROUP (ORDER BY weight) AS p25_w, "
          "percentile_cont(0.25) WITHIN GROUP (ORDER BY price DESC) AS p75_p, "
          "percentile_cont(0.9) WITHIN GROUP (ORDER BY weight DESC NULLS FIRST) AS p10_w "
          "FROM items GROUP BY cat",
          {"p25_w", "p75_p", "p10_w"}, inputs="items"),
    Query("changes_global_filter",
          "SELECT count(*) AS n, max(weight) AS hi_w, count(DISTINCT cat) AS cats, "
          "sum(price) AS total, stddev_samp(weight) AS sd_w "
          "FROM items WHERE price > 20",
          {"sd_w"}, inputs="items"),
    Query("changes_by_id",  # groups of one row: an update to NULL must leave NULL, not 0
          "SELECT id, count(*) AS n, sum(weight) AS sw, min(price) AS lo, max(cat) AS hi_cat, "
          "avg(weight) AS mean_w, count(DISTINCT price) AS prices, count(weight) AS weights "
          "FROM items GROUP BY id",
          {"sw", "mean_w"}, inputs="items"),
    Query("changes_by_price",  # small groups
          "SELECT price, count(*) AS n, sum(weight) AS sw, min(weight) AS lo_w, "
          "max(weight) AS hi_w, min(cat) AS lo_cat, count(DISTINCT cat) AS cats "
          "FROM items GROUP BY price",
          {"sw"}, inputs="items"),
    Query("changes_self_join",  # an updating join of two change streams, aggregated
          "SELECT a.price, count(*) AS pairs, min(b.weight) AS lo_w, max(a.cat) AS hi_cat, "
          "count(DISTINCT b.id) AS partners, sum(b.id - a.id) AS gaps "
          "FROM items a JOIN items b ON a.price = b.price AND a.id < b.id GROUP BY a.price",
          inputs="items"),
    Query("changes_reagg",
          "SELECT n, count(*) AS groups, min(cat) AS lo_cat, max(hi) AS top "
          "FROM (SELECT cat, price % 7 AS band, count(*) AS n, max(price) AS hi "
          "      FROM items GROUP BY cat, price % 7) GROUP BY n",
          inputs="items"),

    # --- DISTINCT, set operations and ORDER BY ... LIMIT: updating aggregates and the top-N
    Query("distinct_rows", "SELECT DISTINCT k, v % 7 AS band FROM t"),
    Query("distinct_reagg",  # counts that pass through values they leave again
          "SELECT DISTINCT n FROM (SELECT k, v % 5 AS b, count(*) AS n FROM t GROUP BY k, v % 5)"),
    Query("union_distinct", "SELECT k, g FROM t UNION SELECT k, g FROM u", inputs="joins"),
    Query("intersect", "SELECT k, g FROM t INTERSECT SELECT k, g FROM u", inputs="joins"),
    Query("except", "SELECT k, g FROM t EXCEPT SELECT k, g FROM u", inputs="joins"),
    Query("intersect_all", "SELECT k, g FROM t INTERSECT ALL SELECT k, g FROM u",
          inputs="joins"),
    Query("except_all", "SELECT k FROM t EXCEPT ALL SELECT k FROM u", inputs="joins"),
    Query("changes_except_all",  # copies retracted as rows are deleted and moved
          "SELECT cat FROM items EXCEPT ALL SELECT cat FROM items WHERE price > 40",
          inputs="items"),
    Query("except_updating",  # keys leave the left side as their counts grow
          "SELECT k FROM t GROUP BY k HAVING count(*) < 20 EXCEPT SELECT k FROM u WHERE w > 50",
          inputs="joins"),
    Query("order_limit", "SELECT id, k, v FROM t ORDER BY v DESC NULLS FIRST, id LIMIT 7"),
    Query("order_limit_offset", "SELECT id, x FROM t ORDER BY x, id LIMIT 5 OFFSET 3"),
    Query("order_limit_agg",
          "SELECT k, count(*) AS n FROM t GROUP BY k ORDER BY n DESC, k LIMIT 3"),
    Query("changes_distinct", "SELECT DISTINCT cat, price % 5 AS band FROM items",
          inputs="items"),
    Query("changes_intersect",
          "SELECT cat FROM items WHERE price > 50 INTERSECT SELECT cat FROM items WHERE price < 20",
          inputs="items"),
    Query("changes_order_limit",  # deletes and updates move rows out of the first ten
          "SELECT id, price FROM items ORDER BY price DESC NULLS LAST, id LIMIT 10",
          inputs="items"),
    # --- subqueries over change streams: both sides of the semi, anti and mark joins retract
    Query("changes_sub_in",  # a correlated condition beyond the equality
          "SELECT id, cat, price FROM items a "
          "WHERE price IN (SELECT price FROM items b WHERE b.cat <> a.cat)",
          inputs="items"),
    Query("changes_sub_values",
          "SELECT id, cat NOT IN (SELECT cat FROM items WHERE price > 90) AS rare, "
          "EXISTS (SELECT 1 FROM items b WHERE b.price = a.price AND b.id <> a.id) AS twin, "
          "(SELECT count(*) FROM items b WHERE b.cat = a.cat AND b.price > 50) AS pricey, "
          "(SELECT max(weight) FROM items b WHERE b.cat = a.cat) AS hi_w FROM items a",
          inputs="items"),
    Query("changes_sub_not_exists",
          "SELECT id, cat FROM items a "
          "WHERE NOT EXISTS (SELECT 1 FROM items b WHERE b.cat = a.cat AND b.price > a.price)",
          inputs="items"),
]


def run_sluice(sluice: str, workdir: str, q: Query, paths: dict[str, str], tag: str, p: int,
               extra: list[str], prefix: str):
    sql_path = os.path.join(workdir, f"{q.name}.{tag}.sql")
    out_path = os.path.join(workdir, f"{q.name}.{tag}.out.json")
    with open(sql_path, "w") as f:
        f.write(sluice_ddl(q.inputs, paths, out_path) + prefix + q.tables
                + f"\nINSERT INTO out {q.select};\n")
    run_sluice_command([sluice, "run", sql_path, "--parallelism", str(p)] + extra, out_path)
    return apply_changelog(out_path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sluice", nargs="?", default=os.path.join(REPO, "build/release/sluice"))
    ap.add_argument("--seed", type=int, default=20240517)
    ap.add_argument("--rows", type=int, default=4000,
                    help="rows of t; the joins' t and u get half as many each; changes: 3/4")
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
        used = {q.inputs for q in queries}
        paths: dict[str, dict[str, str]] = {}  # input name -> its files by table name
        cons = {}  # input name -> DuckDB connection holding it

        def connect(setup: str):
            con = duckdb.connect()
            con.execute("SET threads = 2")
            con.execute("SET TimeZone = 'UTC'")  # Sluice's session zone
            con.execute(setup)
            return con

        if "t" in used:
            rows = base.generate_rows(args.seed, args.rows)
            paths["t"] = {"t": os.path.join(workdir, "input.json")}
            base.write_rows(rows, paths["t"]["t"])
            con = cons["t"] = connect(base.DUCKDB_SETUP.format(input=paths["t"]["t"]))
            n, sv, nk = con.execute("SELECT count(*), sum(v), count(DISTINCT k) FROM t").fetchone()
            want = (len(rows), sum(r["v"] for r in rows if r["v"] is not None),
                    len({r["k"] for r in rows}))
            if (n, sv, nk) != want:
                print(f"duckdb read the input wrongly: {(n, sv, nk)} != {want}", file=sys.stderr)
                return 2
            print(f"input t: {len(rows)} rows, seed {args.seed}, duckdb {duckdb.__version__}, "
                  f"{workdir if args.keep else 'temporary'}")
        if "joins" in used:
            inputs, paths["joins"] = joins.write_inputs(args.seed, max(args.rows // 2, 10),
                                                        workdir, prefix="join_")
            con = cons["joins"] = connect(joins.duckdb_setup(paths["joins"]))
            got = con.execute("SELECT (SELECT count(*) FROM t), (SELECT count(*) FROM u)"
                              ).fetchone()
            if tuple(got) != (len(inputs["t"]), len(inputs["u"])):
                print(f"duckdb read the join inputs wrongly: {tuple(got)}", file=sys.stderr)
                return 2
            print(f"input joins: t {len(inputs['t'])} rows, u {len(inputs['u'])} rows, "
                  f"r {len(inputs['r'])} rows")
        if "items" in used:
            changes, final = generate_changes(args.seed, args.rows * 3 // 4)
            paths["items"] = {"items": os.path.join(workdir, "changes.json")}
            write_json_lines(changes, paths["items"]["items"])
            final_path = os.path.join(workdir, "items_final.json")
            write_json_lines(final.values(), final_path)
            con = cons["items"] = connect(ITEMS_DUCKDB.format(final=final_path))
            if con.execute("SELECT count(*) FROM items").fetchone()[0] != len(final):
                print("duckdb read the final items wrongly", file=sys.stderr)
                return 2
            ops = {o: sum(c["op"] == o for c in changes) for o in "rcud"}
            print(f"input items: {len(changes)} changes ({', '.join(f'{ops[o]} {o}' for o in ops)})"
                  f", {len(final)} rows in the end")

        def runs(q):
            for i, (label_cfg, p, extra, prefix) in enumerate(CONFIGS):
                def run(i=i, p=p, extra=extra, prefix=prefix):
                    actual, act_cols, changes = run_sluice(sluice, workdir, q, paths[q.inputs],
                                                           f"c{i}", p, extra, prefix)
                    return actual, act_cols, f"changes {changes}"
                yield f"{q.name} {label_cfg}", run, None

        def expected(q):
            con = cons[q.inputs]
            if q.duckdb_tables or q.tables:
                con.execute(q.duckdb_tables or q.tables)
            try:
                return duckdb_rows(con, q.select)
            finally:
                if q.cleanup:
                    con.execute(q.cleanup)

        return compare_runs(queries, expected, runs, started)
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
