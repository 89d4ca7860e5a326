"""format = 'avro' through the kafka connector against a real broker (tests/kafka/kafka_lib.py),
checked against fastavro (the reference codec, PyPI): payloads written by fastavro are read by
Sluice, records written by Sluice are read by fastavro. Expected rows are written by hand from
the values given to fastavro.

Covers every Avro type, raw datums and object containers per record, writer -> reader schema
resolution (promotion, aliases, defaults, enum defaults, skipped fields), columns inferred from
avro.schema, malformed datums under bad_data = fail / drop, and bad options.

Usage: avro_test.py path/to/sluice BROKER_DIR (run with build/venv/bin/python: it needs
fastavro, which scripts/install-python-deps installs there)."""

import datetime
import decimal
import io
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "kafka"))
sys.path.insert(0, HERE)
from kafka_lib import Suite, sorted_json_lines  # noqa: E402
from format_lib import consume_bytes, produce_bytes, sql_string  # noqa: E402
from registry_lib import Registry  # noqa: E402

import fastavro  # noqa: E402

s = Suite("formats_avro")
UTC = datetime.timezone.utc


def datum(schema, record):
    b = io.BytesIO()
    fastavro.schemaless_writer(b, fastavro.parse_schema(schema), record)
    return b.getvalue()


def container(schema, records):
    b = io.BytesIO()
    fastavro.writer(b, fastavro.parse_schema(schema), records)
    return b.getvalue()


def source(name, topic, columns="", extra=""):
    cols = f"({columns}) " if columns else ""
    return (f"CREATE TABLE {name} {cols}WITH (connector = 'kafka', bootstrap_servers = "
            f"'{s.bootstrap}', topic = '{topic}', format = 'avro', type = 'source', "
            f"source.offset = 'earliest', source.bounded = 'latest'{extra});\n")


everything = s.topic("everything")
evolved = s.topic("evolved")
bad = s.topic("bad")
nested_bad = s.topic("nested_bad")
out_raw = s.topic("out_raw")
out_ocf = s.topic("out_ocf")
out_schema = s.topic("out_schema")
framed = s.topic("framed")
out_framed = s.topic("out_framed")
s.create_topics((everything, 1), (evolved, 1), (bad, 1), (nested_bad, 1), (out_raw, 1),
                (out_ocf, 1), (out_schema, 1), (framed, 1), (out_framed, 1))

# --- every Avro type, raw datums, columns inferred from avro.schema ---
EVERYTHING = {"type": "record", "name": "Everything", "namespace": "t", "fields": [
    {"name": "b", "type": "boolean"}, {"name": "i", "type": "int"},
    {"name": "l", "type": "long"}, {"name": "f", "type": "float"},
    {"name": "d", "type": "double"}, {"name": "s", "type": "string"},
    {"name": "by", "type": "bytes"},
    {"name": "e", "type": {"type": "enum", "name": "Color", "symbols": ["RED", "GREEN", "BLUE"]}},
    {"name": "fx", "type": {"type": "fixed", "name": "Four", "size": 4}},
    {"name": "dec", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10,
                             "scale": 2}},
    {"name": "dt", "type": {"type": "int", "logicalType": "date"}},
    {"name": "tm", "type": {"type": "int", "logicalType": "time-millis"}},
    {"name": "tsm", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "tsu", "type": {"type": "long", "logicalType": "timestamp-micros"}},
    {"name": "ns", "type": ["null", "string"]},
    {"name": "rec", "type": {"type": "record", "name": "Inner", "fields": [
        {"name": "a", "type": "int"}, {"name": "t", "type": "string"}]}},
    {"name": "arr", "type": {"type": "array", "items": "int"}},
    {"name": "mp", "type": {"type": "map", "values": "long"}},
    {"name": "u", "type": ["int", "string"]},
]}
ROWS = [
    dict(b=True, i=-7, l=1234567890123, f=1.5, d=-2.25, s="héllo", by=b"\x00\x01", e="GREEN",
         fx=b"abcd", dec=decimal.Decimal("12.34"), dt=datetime.date(2024, 2, 29),
         tm=datetime.time(13, 14, 15, 500000),
         tsm=datetime.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
         tsu=datetime.datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), ns=None,
         rec={"a": 1, "t": "x"}, arr=[1, 2, 3], mp={"k": 5}, u="str"),
    dict(b=False, i=2147483647, l=-1, f=-0.25, d=1e300, s="", by=b"", e="BLUE",
         fx=b"\xff\x00\x01\x02", dec=decimal.Decimal("-0.05"), dt=datetime.date(1969, 12, 31),
         tm=datetime.time(0, 0, 0),
         tsm=datetime.datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
         tsu=datetime.datetime(1970, 1, 1, tzinfo=UTC), ns="here", rec={"a": -2, "t": ""},
         arr=[], mp={}, u=42),
]
produce_bytes(s, everything, [datum(EVERYTHING, r) for r in ROWS])
expected = sorted_json_lines("\n".join([
    '{"b":true,"i":-7,"l":1234567890123,"f":1.5,"d":-2.25,"s":"héllo","by":"\\\\x0001",'
    '"e":"GREEN","fx":"\\\\x61626364","dec":12.34,"dt":"2024-02-29","tm":"13:14:15.500",'
    '"tsm":"2024-01-02T03:04:05.678Z","tsu":"2024-01-02T03:04:05.678901Z","ns":null,'
    '"rec":{"a":1,"t":"x"},"arr":[1,2,3],"mp":{"k":5},"u":"str"}',
    '{"b":false,"i":2147483647,"l":-1,"f":-0.25,"d":1e300,"s":"","by":"\\\\x","e":"BLUE",'
    '"fx":"\\\\xff000102","dec":-0.05,"dt":"1969-12-31","tm":"00:00:00",'
    '"tsm":"1969-12-31T23:59:59.999Z","tsu":"1970-01-01T00:00:00Z","ns":"here",'
    '"rec":{"a":-2,"t":""},"arr":[],"mp":{},"u":42}',
]))
schema_opt = f", avro.raw_datums = 'true', avro.schema = {sql_string(json.dumps(EVERYTHING))}"
rc, out, err, _ = s.run(source("ev", everything, extra=schema_opt) + "SELECT * FROM ev;\n")
s.check("every type, raw datums: exit 0", rc == 0, err)
s.check("every type, raw datums: rows", sorted_json_lines(out) == expected, out)

# The same at parallelism 2 (one partition: one subtask idle).
rc, out, err, _ = s.run(source("ev", everything, extra=schema_opt) + "SELECT * FROM ev;\n",
                        parallelism=2)
s.check("every type at parallelism 2", rc == 0 and sorted_json_lines(out) == expected, err + out)

# Declared columns: a subset, widened types (int into BIGINT, float into DOUBLE), TIMESTAMP.
rc, out, err, _ = s.run(
    source("ev", everything, "i BIGINT, f DOUBLE, tsm TIMESTAMP, e TEXT, mp JSON", schema_opt) +
    "SELECT i, f, tsm, e, mp FROM ev WHERE i < 0;\n")
s.check("declared columns: rows", rc == 0 and sorted_json_lines(out) == sorted_json_lines(
    '{"i":-7,"f":1.5,"tsm":"2024-01-02T03:04:05.678","e":"GREEN","mp":{"k":5}}'), err + out)

# A declared type the field cannot be read into, and a column the schema lacks.
rc, out, err, _ = s.run(source("ev", everything, "s BIGINT", schema_opt) + "SELECT * FROM ev;\n")
s.check("string into BIGINT: refused at planning",
        rc != 0 and "field 's': Avro string cannot be read into a BIGINT column" in err, err)
rc, out, err, _ = s.run(source("ev", everything, "nope TEXT", schema_opt) + "SELECT * FROM ev;\n")
s.check("column missing from avro.schema: refused",
        rc != 0 and "field 'nope': the Avro schema has no such field" in err, err)

# --- schema resolution: object containers carry their writer's schema ---
WRITER_V1 = {"type": "record", "name": "User", "namespace": "old", "fields": [
    {"name": "id", "type": "int"},
    {"name": "name", "type": "string"},
    {"name": "legacy", "type": {"type": "array", "items": "string"}},
    {"name": "color", "type": {"type": "enum", "name": "Color",
                               "symbols": ["RED", "GREEN", "PURPLE"]}},
]}
WRITER_V2 = {"type": "record", "name": "User", "fields": [
    {"name": "color", "type": {"type": "enum", "name": "Color", "symbols": ["GREEN", "BLUE"]}},
    {"name": "full_name", "type": ["null", "string"]},
    {"name": "id", "type": "long"},
    {"name": "score", "type": "float"},
]}
READER = {"type": "record", "name": "User", "fields": [
    {"name": "id", "type": "long"},
    {"name": "full_name", "type": ["null", "string"], "aliases": ["name"]},
    {"name": "score", "type": "double", "default": 0.5},
    {"name": "color", "type": {"type": "enum", "name": "Color",
                               "symbols": ["RED", "GREEN", "BLUE"], "default": "RED"}},
    {"name": "note", "type": "string", "default": "none"},
]}
produce_bytes(s, evolved, [
    container(WRITER_V1, [{"id": 1, "name": "ann", "legacy": ["x"], "color": "GREEN"},
                          {"id": 2, "name": "bob", "legacy": [], "color": "PURPLE"}]),
    container(WRITER_V2, [{"color": "BLUE", "full_name": None, "id": 3, "score": 0.25}]),
])
expected = sorted_json_lines("\n".join([
    '{"id":1,"full_name":"ann","score":0.5,"color":"GREEN","note":"none"}',
    '{"id":2,"full_name":"bob","score":0.5,"color":"RED","note":"none"}',
    '{"id":3,"full_name":null,"score":0.25,"color":"BLUE","note":"none"}',
]))
rc, out, err, _ = s.run(source("users", evolved, extra=", avro.schema = " +
                               sql_string(json.dumps(READER))) + "SELECT * FROM users;\n")
s.check("schema resolution (containers): exit 0", rc == 0, err)
s.check("schema resolution (containers): rows", sorted_json_lines(out) == expected, out)

# Without avro.schema the reader's schema is the declared columns' (each nullable, default
# null): V1 has no full_name (its 'name' is no alias of it here), V2 has.
rc, out, err, _ = s.run(source("users", evolved, "id BIGINT, full_name TEXT") +
                        "SELECT * FROM users;\n")
s.check("resolution against declared columns", rc == 0 and sorted_json_lines(out) ==
        sorted_json_lines('{"id":1,"full_name":null}\n{"id":2,"full_name":null}\n'
                          '{"id":3,"full_name":null}'), err + out)

# --- malformed datums ---
FLAT = {"type": "record", "name": "Flat", "fields": [
    {"name": "id", "type": "long"}, {"name": "name", "type": ["null", "string"]},
    {"name": "n", "type": "int"}]}
good1 = datum(FLAT, {"id": 1, "name": "a", "n": 10})
good2 = datum(FLAT, {"id": 2, "name": None, "n": 20})
truncated = good1[:-1]
bad_union = bytes([4, 7, 2])  # id 2, then union index -4 (zigzag 7) of 2 branches
trailing = good2 + b"\x00"
produce_bytes(s, bad, [good1, truncated, bad_union, trailing, good2])
flat_opt = f", avro.raw_datums = 'true', avro.schema = {sql_string(json.dumps(FLAT))}"
rc, out, err, _ = s.run(source("t", bad, extra=flat_opt) + "SELECT * FROM t;\n")
s.check("truncated datum, bad_data = fail: error naming the record",
        rc != 0 and "bad data at partition 0 offset 1" in err and "truncated" in err, err)
rc, out, err, _ = s.run(source("t", bad, extra=flat_opt + ", bad_data = 'drop'") +
                        "SELECT * FROM t;\n")
s.check("malformed datums, bad_data = drop: the good rows", rc == 0 and sorted_json_lines(out) ==
        sorted_json_lines('{"id":1,"name":"a","n":10}\n{"id":2,"name":null,"n":20}'), err + out)

# Nested columns (a STRUCT and a LIST): a bad datum never reaches the builders.
NESTED = {"type": "record", "name": "N", "fields": [
    {"name": "id", "type": "long"},
    {"name": "inner", "type": {"type": "record", "name": "I", "fields": [
        {"name": "xs", "type": {"type": "array", "items": "string"}},
        {"name": "k", "type": "int"}]}}]}
n1 = datum(NESTED, {"id": 1, "inner": {"xs": ["a", "b"], "k": 5}})
n2 = datum(NESTED, {"id": 2, "inner": {"xs": [], "k": 6}})
n_bad = datum(NESTED, {"id": 9, "inner": {"xs": ["c", "d", "e"], "k": 7}})[:-2]
n_utf8 = bytes([2, 2, 2]) + b"\xff" + bytes([0, 2])  # id 1, xs = ["\xff"] (not UTF-8), k 1
produce_bytes(s, nested_bad, [n1, n_bad, n_utf8, n2])
nested_opt = f", avro.raw_datums = 'true', avro.schema = {sql_string(json.dumps(NESTED))}"
rc, out, err, _ = s.run(source("t", nested_bad, extra=nested_opt + ", bad_data = 'drop'") +
                        "SELECT * FROM t;\n")
s.check("nested columns, bad_data = drop: the good rows", rc == 0 and sorted_json_lines(out) ==
        sorted_json_lines('{"id":1,"inner":{"xs":["a","b"],"k":5}}\n'
                          '{"id":2,"inner":{"xs":[],"k":6}}'), err + out)
rc, out, err, _ = s.run(source("t", nested_bad, "id BIGINT", nested_opt) + "SELECT * FROM t;\n")
s.check("a truncated datum whose broken field is not read: still bad data under fail",
        rc != 0 and "offset 1" in err, err)

# Raw datums read as containers (the framing options forgotten).
rc, out, err, _ = s.run(source("t", bad, "id BIGINT") + "SELECT * FROM t;\n")
s.check("datums without avro.raw_datums: the message says which option",
        rc != 0 and "not an Avro object container" in err and "avro.raw_datums" in err, err)

# --- bad options ---
for opt, message in [
        (", avro.schema = '{\"type\": \"record\"'", "Avro schema: not valid JSON"),
        (", avro.schema = '{\"type\": \"record\", \"name\": \"r\", \"fields\": "
         "[{\"name\": \"x\", \"type\": \"Missing\"}]}'", "unknown type 'Missing'"),
        (", avro.schema = '\"string\"'", "must be a record"),
        (", avro.raw_datums = 'yes'", "invalid value 'yes' for option 'avro.raw_datums'"),
        (", avro.raw_datums = 'true', avro.confluent_schema_registry = 'true', "
         "schema_registry.endpoint = 'http://localhost:1'", "exclude each other"),
        (", avro.confluent_schema_registry = 'true'", "schema_registry.endpoint"),
        (", json.timestamp_format = 'unix_millis'", "applies only to format 'json'"),
]:
    rc, out, err, _ = s.run(source("t", bad, "id BIGINT", opt) + "SELECT * FROM t;\n")
    s.check(f"bad option {opt[:40]!r}: {message}", rc != 0 and message in err, err)

# --- sinks: Sluice's records read back by fastavro ---
SLUICE_ROW = {"type": "record", "name": "SluiceRow", "fields": [
    {"name": "id", "type": ["null", "long"], "default": None},
    {"name": "name", "type": ["null", "string"], "default": None},
    {"name": "price", "type": ["null", {"type": "bytes", "logicalType": "decimal",
                                        "precision": 10, "scale": 2}], "default": None},
    {"name": "at", "type": ["null", {"type": "long", "logicalType": "timestamp-micros"}],
     "default": None},
    {"name": "tags", "type": ["null", {"type": "array", "items": ["null", "string"]}],
     "default": None},
]}


def sink_sql(topic, extra):
    return (source("ev", everything, extra=schema_opt) +
            f"CREATE TABLE out WITH (connector = 'kafka', bootstrap_servers = '{s.bootstrap}', "
            f"topic = '{topic}', format = 'avro', type = 'sink'{extra});\n"
            "INSERT INTO out SELECT l AS id, CASE WHEN i < 0 THEN s END AS name, "
            "CAST(dec AS DECIMAL(10, 2)) AS price, tsu AS at, "
            "ARRAY[e, CASE WHEN i < 0 THEN NULL ELSE 'z' END] AS tags FROM ev;\n")


expected_records = sorted([
    (1234567890123, "héllo", decimal.Decimal("12.34"),
     datetime.datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), ["GREEN", None]),
    (-1, None, decimal.Decimal("-0.05"), datetime.datetime(1970, 1, 1, tzinfo=UTC),
     ["BLUE", "z"]),
], key=lambda r: r[0])


def as_tuple(r):
    return (r["id"], r["name"], r["price"], r["at"], r["tags"])


rc, out, err, _ = s.run(sink_sql(out_raw, ", avro.raw_datums = 'true'"))
s.check("sink, raw datums: exit 0", rc == 0, err)
parsed = fastavro.parse_schema(SLUICE_ROW)
records = [fastavro.schemaless_reader(io.BytesIO(v), parsed) for v in consume_bytes(s, out_raw)]
s.check("sink, raw datums: read by fastavro with the documented schema",
        sorted(map(as_tuple, records), key=lambda r: r[0]) == expected_records, records)

rc, out, err, _ = s.run(sink_sql(out_ocf, ""))
s.check("sink, object containers: exit 0", rc == 0, err)
records, schemas = [], []
for v in consume_bytes(s, out_ocf):
    reader = fastavro.reader(io.BytesIO(v))
    schemas.append(reader.writer_schema["name"])
    records.extend(reader)
s.check("sink, object containers: read by fastavro",
        sorted(map(as_tuple, records), key=lambda r: r[0]) == expected_records and
        schemas == ["SluiceRow", "SluiceRow"], (records, schemas))

# A sink with avro.schema: enum, fixed and int fields, and a field the rows lack (null).
OUT_SCHEMA = {"type": "record", "name": "Out", "namespace": "x", "fields": [
    {"name": "e", "type": {"type": "enum", "name": "Color", "symbols": ["RED", "GREEN", "BLUE"]}},
    {"name": "fx", "type": {"type": "fixed", "name": "Four", "size": 4}},
    {"name": "i", "type": "int"},
    {"name": "missing", "type": ["null", "string"]},
    {"name": "dt", "type": {"type": "int", "logicalType": "date"}},
]}
rc, out, err, _ = s.run(
    source("ev", everything, extra=schema_opt) +
    f"CREATE TABLE out WITH (connector = 'kafka', bootstrap_servers = '{s.bootstrap}', "
    f"topic = '{out_schema}', format = 'avro', type = 'sink', avro.raw_datums = 'true', "
    f"avro.schema = {sql_string(json.dumps(OUT_SCHEMA))});\n"
    "INSERT INTO out SELECT e, fx, i, dt FROM ev;\n")
s.check("sink with avro.schema: exit 0", rc == 0, err)
parsed = fastavro.parse_schema(OUT_SCHEMA)
records = sorted((fastavro.schemaless_reader(io.BytesIO(v), parsed)
                  for v in consume_bytes(s, out_schema)), key=lambda r: r["i"])
s.check("sink with avro.schema: read by fastavro", records == [
    {"e": "GREEN", "fx": b"abcd", "i": -7, "missing": None, "dt": datetime.date(2024, 2, 29)},
    {"e": "BLUE", "fx": b"\xff\x00\x01\x02", "i": 2147483647, "missing": None,
     "dt": datetime.date(1969, 12, 31)},
], records)

# --- the Confluent wire format through the (stand-in) registry ---
registry = Registry(s.work)
v1 = registry.register(f"{framed}-value", json.dumps(WRITER_V1))
v2 = registry.register(f"{framed}-value", json.dumps(WRITER_V2))


def framed_datum(schema_id, schema, record):
    return b"\x00" + schema_id.to_bytes(4, "big") + datum(schema, record)


produce_bytes(s, framed, [
    framed_datum(v1, WRITER_V1, {"id": 1, "name": "ann", "legacy": ["x"], "color": "GREEN"}),
    framed_datum(v2, WRITER_V2, {"color": "BLUE", "full_name": "cy", "id": 3, "score": 0.25}),
    framed_datum(v2 + 40, WRITER_V2, {"color": "BLUE", "full_name": "dee", "id": 4,
                                      "score": 1.0}),
    b"\x01not framed",
])
confluent = (", avro.confluent_schema_registry = 'true', "
             f"schema_registry.endpoint = '{registry.url}'")
reader_opt = ", avro.schema = " + sql_string(json.dumps(READER))
rc, out, err, _ = s.run(source("users", framed, extra=reader_opt + confluent) +
                        "SELECT * FROM users;\n")
s.check("confluent framing: an unknown schema id is bad data naming the id",
        rc != 0 and "bad data at partition 0 offset 2" in err and
        f"has no schema with id {v2 + 40}" in err, err)
rc, out, err, _ = s.run(source("users", framed, extra=reader_opt + confluent +
                               ", bad_data = 'drop'") + "SELECT * FROM users;\n")
s.check("confluent framing: writer schemas fetched by id and resolved",
        rc == 0 and sorted_json_lines(out) == sorted_json_lines(
            '{"id":1,"full_name":"ann","score":0.5,"color":"GREEN","note":"none"}\n'
            '{"id":3,"full_name":"cy","score":0.25,"color":"BLUE","note":"none"}'), err + out)

rc, out, err, _ = s.run(sink_sql(out_framed, confluent))
s.check("confluent sink: exit 0", rc == 0, err)
values = consume_bytes(s, out_framed)
ids = {int.from_bytes(v[1:5], "big") for v in values}
s.check("confluent sink: one schema, registered under <topic>-value",
        f"{out_framed}-value" in registry.get("/subjects") and len(ids) == 1 and
        all(v[0] == 0 for v in values), (ids, err))
if ids:
    writer = json.loads(registry.get(f"/schemas/ids/{ids.pop()}")["schema"])
    parsed = fastavro.parse_schema(writer)
    records = [fastavro.schemaless_reader(io.BytesIO(v[5:]), parsed) for v in values]
    s.check("confluent sink: read by fastavro with the registered schema",
            sorted(map(as_tuple, records), key=lambda r: r[0]) == expected_records, records)

registry.stop()
rc, out, err, _ = s.run(source("users", framed, extra=reader_opt + confluent +
                               ", bad_data = 'drop'") + "SELECT * FROM users;\n")
s.check("registry down: an error, not dropped data",
        rc != 0 and "schema registry" in err and "failed" in err, err)

s.end()
