#!/usr/bin/env python3
"""Parquet and JSON files through the filesystem connector, checked against pyarrow and DuckDB.

- pyarrow writes a Parquet file with every type Sluice maps (NULLs included, and file types
  Sluice converts: int32 into BIGINT, timestamp[ns], large_string, dictionary strings); Sluice
  reads it with the filesystem source and writes it again with the filesystem sink, as Parquet
  under each compression and as JSON; DuckDB reads Sluice's files and must find exactly the
  rows pyarrow wrote (the oracle is pyarrow's input, not Sluice).
- pyarrow's metadata must show the compression asked for, and the row-group size.
- gzip- and zstd-compressed JSON lines are read (source.compression).
- bad options fail with one message naming the option.

Usage: roundtrip_test.py SLUICE
"""
import datetime
import decimal
import gzip
import os
import subprocess
import sys
import tempfile

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import testlib  # noqa: E402

SLUICE = sys.argv[1]
work = tempfile.mkdtemp(prefix="sluice-files-rt-")
checks = testlib.Checks("roundtrip", work=work, quiet=True)
check = checks.check


def sluice(sql, expect_ok=True):
    path = f"{work}/q.sql"
    with open(path, "w") as f:
        f.write(sql)
    p = subprocess.run([SLUICE, "run", path, "--parallelism", "2"], capture_output=True, text=True)
    if expect_ok and p.returncode != 0:
        print(p.stderr)
    return p


N = 3000
rng = range(N)
def nul(i, v):
    return None if i % 11 == 3 else v

table = pa.table({
    "i8": pa.array([nul(i, i % 100 - 50) for i in rng], pa.int8()),
    "i16": pa.array([nul(i, i * 7 - 9000) for i in rng], pa.int16()),
    "i32": pa.array([nul(i, i * 1000) for i in rng], pa.int32()),
    "i64": pa.array([nul(i, i * 10**12) for i in rng], pa.int64()),
    "u32": pa.array([nul(i, i * 3) for i in rng], pa.uint32()),
    "f32": pa.array([nul(i, i / 4) for i in rng], pa.float32()),
    "f64": pa.array([nul(i, i / 3) for i in rng], pa.float64()),
    "b": pa.array([nul(i, i % 3 == 0) for i in rng], pa.bool_()),
    "s": pa.array([nul(i, f"text {i} é") for i in rng], pa.string()),
    "dec": pa.array([nul(i, decimal.Decimal(i * 123) / 100) for i in rng], pa.decimal128(12, 2)),
    "d": pa.array([nul(i, datetime.date(2023, 1, 1) + datetime.timedelta(days=i)) for i in rng],
                  pa.date32()),
    "ts": pa.array([nul(i, datetime.datetime(2023, 10, 9, 17, 0) + datetime.timedelta(
        microseconds=i * 1234567)) for i in rng], pa.timestamp("us")),
    "tstz": pa.array([nul(i, datetime.datetime(2023, 10, 9, tzinfo=datetime.timezone.utc) +
                         datetime.timedelta(seconds=i)) for i in rng], pa.timestamp("us", "UTC")),
    "lst": pa.array([nul(i, [i, i + 1, None][: i % 4]) for i in rng], pa.list_(pa.int64())),
    "st": pa.array([nul(i, {"a": i, "b": f"x{i}"}) for i in rng],
                   pa.struct([("a", pa.int32()), ("b", pa.string())])),
    # File types Sluice converts to the declared ones.
    "wide": pa.array([nul(i, i) for i in rng], pa.int32()),  # declared BIGINT
    "ns": pa.array([nul(i, datetime.datetime(2024, 2, 29) + datetime.timedelta(seconds=i))
                    for i in rng], pa.timestamp("ns")),  # declared TIMESTAMP
    "ls": pa.array([nul(i, f"large {i}") for i in rng], pa.large_string()),
    "dict": pa.array([nul(i, f"cat{i % 4}") for i in rng], pa.string()).dictionary_encode(),
})
pq.write_table(table, f"{work}/in.parquet", row_group_size=700)

COLUMNS = ("i8 TINYINT, i16 SMALLINT, i32 INT, i64 BIGINT, u32 INT UNSIGNED, f32 REAL, f64 DOUBLE, "
           "b BOOLEAN, s TEXT, dec DECIMAL(12, 2), d DATE, ts TIMESTAMP, tstz TIMESTAMPTZ, "
           "lst BIGINT[], st STRUCT<a INT, b TEXT>, wide BIGINT, ns TIMESTAMP, ls TEXT, dict TEXT")
NAMES = [f.name for f in table.schema]


def compare(name, sluice_rel):
    con = duckdb.connect()
    con.sql("SET TimeZone = 'UTC'")
    cols = ", ".join(NAMES)
    original = f"(SELECT {cols} FROM read_parquet('{work}/in.parquet'))"
    got = f"(SELECT {cols} FROM {sluice_rel})"
    try:
        missing = con.sql(f"SELECT count(*) FROM ({original} EXCEPT ALL {got})").fetchone()[0]
        extra = con.sql(f"SELECT count(*) FROM ({got} EXCEPT ALL {original})").fetchone()[0]
        n = con.sql(f"SELECT count(*) FROM {got}").fetchone()[0]
    except Exception as e:
        check(name, False, str(e).splitlines()[0])
        return
    check(name, missing == 0 and extra == 0 and n == N, f"missing {missing}, extra {extra}, rows {n}")


for compression in ["zstd", "snappy", "gzip", "lz4", "none"]:
    out = f"{work}/out-{compression}"
    p = sluice(f"""
CREATE TABLE src ({COLUMNS}) WITH (connector = 'filesystem', path = '{work}/in.parquet',
  format = 'parquet', type = 'source');
CREATE TABLE out WITH (connector = 'filesystem', path = '{out}', format = 'parquet', type = 'sink',
  'parquet.compression' = '{compression}', 'parquet.row_group_size' = '1000');
INSERT INTO out SELECT * FROM src;
""")
    check(f"parquet {compression}: runs", p.returncode == 0, p.stderr)
    if p.returncode != 0:
        continue
    compare(f"parquet {compression}: DuckDB reads pyarrow's rows back",
            f"read_parquet('{out}/*.parquet')")
    files = [os.path.join(out, f) for f in os.listdir(out) if f.endswith(".parquet")]
    meta = [pq.ParquetFile(f).metadata for f in files]
    codecs = {m.row_group(g).column(c).compression for m in meta for g in range(m.num_row_groups)
              for c in range(m.num_columns)}
    want = "UNCOMPRESSED" if compression == "none" else compression.upper()
    check(f"parquet {compression}: pyarrow sees codec {want}", codecs == {want}, str(codecs))
    check(f"parquet {compression}: row groups of at most 1000 rows",
          all(m.row_group(g).num_rows <= 1000 for m in meta for g in range(m.num_row_groups)))
    back = pa.concat_tables([pq.read_table(f) for f in files])
    check(f"parquet {compression}: pyarrow reads {N} rows", back.num_rows == N)
    check(f"parquet {compression}: pyarrow types", str(back.schema.field("dec").type) ==
          "decimal128(12, 2)" and str(back.schema.field("tstz").type) == "timestamp[us, tz=UTC]" and
          str(back.schema.field("ts").type) == "timestamp[us]", str(back.schema))

# JSON out, read back by DuckDB with the declared types.
p = sluice(f"""
CREATE TABLE src ({COLUMNS}) WITH (connector = 'filesystem', path = '{work}/in.parquet',
  format = 'parquet', type = 'source');
CREATE TABLE out WITH (connector = 'filesystem', path = '{work}/json', format = 'json', type = 'sink');
INSERT INTO out SELECT * FROM src;
""")
check("json sink: runs", p.returncode == 0, p.stderr)
json_types = ("{i8: 'TINYINT', i16: 'SMALLINT', i32: 'INTEGER', i64: 'BIGINT', u32: 'UINTEGER', "
              "f32: 'FLOAT', f64: 'DOUBLE', b: 'BOOLEAN', s: 'VARCHAR', dec: 'DECIMAL(12,2)', "
              "d: 'DATE', ts: 'TIMESTAMP', tstz: 'TIMESTAMPTZ', lst: 'BIGINT[]', "
              "st: 'STRUCT(a INTEGER, b VARCHAR)', wide: 'BIGINT', ns: 'TIMESTAMP', ls: 'VARCHAR', "
              "dict: 'VARCHAR'}")
compare("json sink: DuckDB reads pyarrow's rows back",
        f"read_json('{work}/json/*.json', columns = {json_types})")

# Compressed JSON lines in, Parquet out; and Sluice's Parquet read by Sluice.
con = duckdb.connect()
con.sql(f"COPY (SELECT * FROM read_parquet('{work}/in.parquet')) TO '{work}/in.json' (FORMAT json)")
with open(f"{work}/in.json", "rb") as f:
    raw = f.read()
os.makedirs(f"{work}/gz")
with gzip.open(f"{work}/gz/part-1.json.gz", "wb") as f:
    f.write(raw[: len(raw) // 2].rsplit(b"\n", 1)[0] + b"\n")
with gzip.open(f"{work}/gz/part-2.json.gz", "wb") as f:
    f.write(raw[len(raw[: len(raw) // 2].rsplit(b"\n", 1)[0]) + 1:])
zstd_ok = subprocess.run(["zstd", "-q", "-f", f"{work}/in.json", "-o", f"{work}/in.json.zst"]).returncode == 0
for compression, path in [("gzip", f"{work}/gz/*.json.gz"), ("zstd", f"{work}/in.json.zst")]:
    if compression == "zstd" and not zstd_ok:
        check("zstd command available", False)
        continue
    out = f"{work}/from-{compression}"
    p = sluice(f"""
CREATE TABLE src ({COLUMNS}) WITH (connector = 'filesystem', path = '{path}', format = 'json',
  type = 'source', 'source.compression' = '{compression}');
CREATE TABLE out WITH (connector = 'filesystem', path = '{out}', format = 'parquet', type = 'sink');
INSERT INTO out SELECT * FROM src;
""")
    check(f"{compression} json source: runs", p.returncode == 0, p.stderr)
    compare(f"{compression} json source: the rows DuckDB wrote", f"read_parquet('{out}/*.parquet')")

# Time partitions from event time: 6000 impulse rows 50 ms apart from the epoch span 5 minutes.
p = sluice(f"""
CREATE TABLE gen WITH (connector = 'impulse', event_rate = '1000000', message_count = '6000',
  event_time_interval = '50 milliseconds');
CREATE TABLE out WITH (connector = 'filesystem', path = '{work}/timed', format = 'parquet',
  type = 'sink', 'partitioning.time_pattern' = '%Y/%m/%d/%H/%M', 'filename.prefix' = 'bids-');
INSERT INTO out SELECT CAST(counter AS BIGINT) AS n, timestamp AS ts FROM gen;
""")
check("time partitions: runs", p.returncode == 0, p.stderr)
con = duckdb.connect()
rows = con.sql(f"SELECT filename, n, strftime(ts, '%Y/%m/%d/%H/%M') FROM read_parquet("
               f"'{work}/timed/*/*/*/*/*/*.parquet', filename = true)").fetchall()
dirs = sorted({os.path.relpath(os.path.dirname(f), f"{work}/timed") for f, _, _ in rows})
check("time partitions: one directory per minute", dirs == [f"1970/01/01/00/0{m}" for m in range(5)],
      str(dirs))
check("time partitions: every row in its minute's directory",
      all(os.path.relpath(os.path.dirname(f), f"{work}/timed") == d for f, _, d in rows))
check("time partitions: rows 0..5999 once each", sorted(n for _, n, _ in rows) == list(range(6000)))
check("filename.prefix", all(os.path.basename(f).startswith("bids-part-") for f, _, _ in rows))

# Bad options: one message naming the option.
for option, needle in [("'parquet.compression' = 'brotli'", "parquet.compression"),
                       ("'parquet.row_group_size' = '0'", "parquet.row_group_size"),
                       ("'rolling_policy.file_size' = 'big'", "rolling_policy.file_size"),
                       ("'partitioning.time_pattern' = '%Q'", "partitioning.time_pattern"),
                       ("'rolling_polcy.interval' = '1s'", "rolling_policy.interval")]:
    p = sluice(f"""
CREATE TABLE src (i64 BIGINT) WITH (connector = 'filesystem', path = '{work}/in.parquet',
  format = 'parquet', type = 'source');
CREATE TABLE out WITH (connector = 'filesystem', path = '{work}/bad', format = 'parquet',
  type = 'sink', {option});
INSERT INTO out SELECT * FROM src;
""", expect_ok=False)
    check(f"bad option {option}: refused naming it", p.returncode != 0 and needle in p.stderr,
          p.stderr.strip())
p = sluice(f"""
CREATE TABLE src (i64 BIGINT) WITH (connector = 'filesystem', path = '{work}/in.parquet',
  format = 'parquet', type = 'source');
CREATE TABLE out WITH (connector = 'filesystem', path = '{work}/bad', format = 'parquet', type = 'sink');
INSERT INTO out SELECT INTERVAL '1' DAY AS iv FROM src;
""", expect_ok=False)
check("INTERVAL refused for Parquet", p.returncode != 0 and "INTERVAL" in p.stderr, p.stderr)
with open(f"{work}/notparquet.parquet", "w") as f:
    f.write("hello\n")
p = sluice(f"""
CREATE TABLE src (i64 BIGINT) WITH (connector = 'filesystem', path = '{work}/notparquet.parquet',
  format = 'parquet', type = 'source');
SELECT * FROM src;
""", expect_ok=False)
check("a file that is not Parquet: one message naming it",
      p.returncode != 0 and "notparquet.parquet" in p.stderr, p.stderr)

checks.finish()
