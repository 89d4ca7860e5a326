#!/usr/bin/env python3
"""Avro and Protobuf files through the filesystem connector, checked against fastavro and
Python's protobuf (tests/files/README.md).

- Avro: object container files written by fastavro (codecs null and deflate) and by hand after
  the Avro specification (zstandard and snappy blocks, compressed by pyarrow's codecs), several
  blocks each, with a writer schema that has a field the table lacks and other field types than
  the table's (int into BIGINT, timestamp-millis into TIMESTAMP): Sluice reads them with the
  filesystem source and writes them again with the filesystem sink under each codec it writes;
  fastavro (and, for zstandard, the specification's framing read by hand) must find exactly the
  records the test wrote.
- Protobuf: files of length-delimited messages written by Python's protobuf, read and written
  back by Sluice, parsed again by Python's protobuf.
- Bad data: a corrupt Avro datum and a message that is no Protobuf, with bad_data = 'fail' (one
  message naming the file and the record) and 'drop' (every other record arrives).
- Bad options: Confluent framing or avro.raw_datums on files, an unknown avro.codec.

Usage: formats_test.py SLUICE
"""
import datetime
import decimal
import glob
import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib

import fastavro
import pyarrow as pa
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.internal.decoder import _DecodeVarint
from google.protobuf.internal.encoder import _VarintBytes
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import testlib  # noqa: E402

SLUICE = sys.argv[1]
work = tempfile.mkdtemp(prefix="sluice-files-formats-")
checks = testlib.Checks("files_formats", work=work, quiet=True)
check = checks.check
UTC = datetime.timezone.utc


def sluice(sql):
    path = f"{work}/q.sql"
    with open(path, "w") as f:
        f.write(sql)
    p = subprocess.run([SLUICE, "run", path, "--parallelism", "2", "--set", "batch_size=500"],
                       capture_output=True,
                       text=True, timeout=300)
    return p


# ----- Avro -----------------------------------------------------------------------------------

WRITER = {
    "type": "record", "name": "Bid", "namespace": "test",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "name", "type": "string"},
        {"name": "price", "type": "double"},
        {"name": "qty", "type": ["null", "int"]},
        {"name": "ok", "type": "boolean"},
        {"name": "skipped", "type": "string"},  # not a column of the table
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10,
                                    "scale": 2}},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "who", "type": {"type": "record", "name": "Who", "fields": [
            {"name": "n", "type": "string"}, {"name": "tier", "type": "int"}]}},
    ],
}
N = 2500
T0 = datetime.datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
records = [{
    "id": i, "name": f"bidder {i} é", "price": i / 8, "qty": None if i % 7 == 0 else i % 50 - 25,
    "ok": i % 3 == 0, "skipped": "x" * (i % 5),
    "at": T0 + datetime.timedelta(milliseconds=i * 1001),
    "amount": (decimal.Decimal(i * 37 - 9000) / 100).quantize(decimal.Decimal("0.01")), "tags": [f"t{j}" for j in range(i % 4)],
    "who": {"n": f"w{i % 9}", "tier": i % 3},
} for i in range(N)]
COLUMNS = ("id BIGINT, name TEXT, price DOUBLE, qty BIGINT, ok BOOLEAN, at TIMESTAMP, "
           "amount DECIMAL(10, 2), tags TEXT[], who STRUCT<n TEXT, tier INT>")
# What Sluice's files must hold: the records without the field the table lacks.
expected = sorted((json.dumps({k: str(v) for k, v in r.items() if k != "skipped"},
                              sort_keys=True) for r in records))


def canon(recs):
    out = []
    for r in recs:
        r = dict(r)
        if isinstance(r.get("at"), datetime.datetime) and r["at"].tzinfo is None:
            r["at"] = r["at"].replace(tzinfo=UTC)
        out.append(json.dumps({k: str(v) for k, v in r.items()}, sort_keys=True))
    return sorted(out)


def put_long(n):
    z = (n << 1) ^ (n >> 63)
    out = bytearray()
    while z >= 0x80:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def put_bytes(b):
    return put_long(len(b)) + b


def ocf_by_hand(schema, recs, codec, per_block):
    """An object container file framed after the Avro specification."""
    parsed = fastavro.parse_schema(schema)
    sync = os.urandom(16)
    out = bytearray(b"Obj\x01")
    out += put_long(2) + put_bytes(b"avro.schema") + put_bytes(json.dumps(schema).encode())
    out += put_bytes(b"avro.codec") + put_bytes(codec.encode()) + put_long(0) + sync
    for start in range(0, len(recs), per_block):
        block = recs[start:start + per_block]
        buf = io.BytesIO()
        for r in block:
            fastavro.schemaless_writer(buf, parsed, r)
        data = buf.getvalue()
        if codec == "zstandard":
            data = pa.compress(data, codec="zstd", asbytes=True)
        elif codec == "snappy":
            data = pa.compress(data, codec="snappy", asbytes=True) + struct.pack(
                ">I", zlib.crc32(data) & 0xFFFFFFFF)
        out += put_long(len(block)) + put_long(len(data)) + data + sync
    return bytes(out)


def read_ocf_by_hand(data):
    """(codec, records) of an object container file, blocks decompressed by pyarrow."""
    f = io.BytesIO(data)
    assert f.read(4) == b"Obj\x01"

    def long():
        shift = z = 0
        while True:
            b = f.read(1)[0]
            z |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return (z >> 1) ^ -(z & 1)

    meta = {}
    while (n := long()) != 0:
        for _ in range(abs(n) if n > 0 else -n):
            k = f.read(long()).decode()
            meta[k] = f.read(long())
    sync = f.read(16)
    schema = fastavro.parse_schema(json.loads(meta["avro.schema"]))
    codec = meta.get("avro.codec", b"null").decode()
    recs = []
    while f.tell() < len(data):
        count, size = long(), long()
        block = f.read(size)
        if codec == "zstandard":
            block = pa.input_stream(pa.py_buffer(block), compression="zstd").read()
        assert f.read(16) == sync
        b = io.BytesIO(block)
        for _ in range(count):
            recs.append(fastavro.schemaless_reader(b, schema))
    return codec, recs


inputs = {}
for codec in ["null", "deflate"]:
    path = f"{work}/avro-in-{codec}/bids.avro"
    os.makedirs(os.path.dirname(path))
    with open(path, "wb") as f:
        fastavro.writer(f, fastavro.parse_schema(WRITER), records, codec=codec, sync_interval=4000)
    inputs[codec] = os.path.dirname(path)
for codec in ["zstandard", "snappy"]:
    path = f"{work}/avro-in-{codec}/bids.avro"
    os.makedirs(os.path.dirname(path))
    with open(path, "wb") as f:
        f.write(ocf_by_hand(WRITER, records, codec, 300))
    inputs[codec] = os.path.dirname(path)

for in_codec, in_dir in inputs.items():
    for out_codec in ["null", "deflate", "zstandard"]:
        if in_codec not in ("null", "zstandard") and out_codec != "null":
            continue  # every input codec once, every output codec from two inputs
        name = f"avro {in_codec} -> {out_codec}"
        out = f"{work}/avro-out-{in_codec}-{out_codec}"
        p = sluice(f"""
CREATE TABLE src ({COLUMNS}) WITH (connector = 'filesystem', path = '{in_dir}',
  format = 'avro', type = 'source');
CREATE TABLE out WITH (connector = 'filesystem', path = '{out}', format = 'avro', type = 'sink',
  'avro.codec' = '{out_codec}', 'rolling_policy.file_size' = '40 KB');
INSERT INTO out SELECT * FROM src;
""")
        check(f"{name}: runs", p.returncode == 0, p.stderr)
        if p.returncode != 0:
            continue
        files = sorted(glob.glob(f"{out}/*.avro"))
        check(f"{name}: several files", len(files) > 1, str(files))
        got = []
        codecs = set()
        for path in files:
            data = open(path, "rb").read()
            if out_codec == "zstandard":
                codec, recs = read_ocf_by_hand(data)
            else:
                reader = fastavro.reader(io.BytesIO(data))
                codec = reader.codec
                recs = list(reader)
            codecs.add(codec)
            got += recs
        check(f"{name}: codec in the header", codecs == {out_codec}, str(codecs))
        check(f"{name}: the records fastavro wrote", canon(got) == expected,
              f"{len(got)} records; first {canon(got)[:1]} vs {expected[:1]}")

# The table's avro.schema as the file's writer schema: enum and fixed kept as they are.
schema2 = {"type": "record", "name": "E", "fields": [
    {"name": "k", "type": {"type": "enum", "name": "K", "symbols": ["A", "B", "C"]}},
    {"name": "f", "type": {"type": "fixed", "name": "F", "size": 2}}]}
os.makedirs(f"{work}/enum-in")
with open(f"{work}/enum-in/e.avro", "wb") as f:
    fastavro.writer(f, fastavro.parse_schema(schema2),
                    [{"k": "ABC"[i % 3], "f": bytes([i, i + 1])} for i in range(30)])
p = sluice(f"""
CREATE TABLE src (k TEXT, f BYTEA) WITH (connector = 'filesystem', path = '{work}/enum-in',
  format = 'avro', type = 'source', 'avro.schema' = '{json.dumps(schema2)}');
CREATE TABLE out WITH (connector = 'filesystem', path = '{work}/enum-out', format = 'avro',
  type = 'sink', 'avro.schema' = '{json.dumps(schema2)}');
INSERT INTO out SELECT * FROM src;
""")
check("avro.schema sink: runs", p.returncode == 0, p.stderr)
if p.returncode == 0:
    got = []
    for path in glob.glob(f"{work}/enum-out/*.avro"):
        r = fastavro.reader(open(path, "rb"))
        check("avro.schema sink: the header's schema is the table's",
              [f["type"]["type"] for f in r.writer_schema["fields"]] == ["enum", "fixed"],
              str(r.writer_schema))
        got += list(r)
    check("avro.schema sink: records", sorted(got, key=lambda r: r["f"]) ==
          [{"k": "ABC"[i % 3], "f": bytes([i, i + 1])} for i in range(30)], str(got[:3]))

# Bad data: the datum of record 5 of the second block has a negative string length.
parsed = fastavro.parse_schema(WRITER)
good = ocf_by_hand(WRITER, records[:40], "null", 10)
buf = io.BytesIO()
fastavro.schemaless_writer(buf, parsed, records[14])
datum = buf.getvalue()
at = bytes(good).find(datum)
check("bad avro: the datum is in the file", at > 0)
corrupt = bytearray(good)
corrupt[at + len(put_long(records[14]["id"]))] = 0x03  # name's length: zigzag -2
os.makedirs(f"{work}/bad-avro")
with open(f"{work}/bad-avro/b.avro", "wb") as f:
    f.write(bytes(corrupt))
for policy in ["fail", "drop"]:
    p = sluice(f"""
CREATE TABLE src (id BIGINT, name TEXT) WITH (connector = 'filesystem', path = '{work}/bad-avro',
  format = 'avro', type = 'source', bad_data = '{policy}');
CREATE TABLE out WITH (connector = 'single_file', path = '{work}/bad-avro-{policy}.json',
  format = 'json', type = 'sink');
INSERT INTO out SELECT * FROM src;
""")
    if policy == "fail":
        check("bad avro fail: fails", p.returncode != 0)
        check("bad avro fail: names the file and the block",
              "b.avro' block at byte" in p.stderr and "datums 11-20" in p.stderr, p.stderr)
        check("bad avro fail: one message", p.stderr.count("bad data") == 1, p.stderr)
    else:
        check("bad avro drop: runs", p.returncode == 0, p.stderr)
        ids = sorted(json.loads(line)["id"] for line in open(f"{work}/bad-avro-drop.json"))
        # The bad datum loses the rest of its block (records 14..19); the others arrive.
        check("bad avro drop: the other blocks' records",
              ids == list(range(0, 14)) + list(range(20, 40)), str(ids))

# ----- Protobuf --------------------------------------------------------------------------------

PROTO = """syntax = "proto3";
package test;
message Bid {
  message Who { string n = 1; int32 tier = 2; }
  int64 id = 1;
  string name = 2;
  double price = 3;
  optional int32 qty = 4;
  bool ok = 5;
  repeated string tags = 6;
  Who who = 7;
}
"""
proto_dir = f"{work}/proto"
os.makedirs(proto_dir)
with open(f"{proto_dir}/bid.proto", "w") as f:
    f.write(PROTO)
subprocess.run(["protoc", f"--descriptor_set_out={proto_dir}/bid.pb", f"-I{proto_dir}",
                "bid.proto"], check=True)
fds = descriptor_pb2.FileDescriptorSet()
fds.ParseFromString(open(f"{proto_dir}/bid.pb", "rb").read())
pool = descriptor_pool.DescriptorPool()
for fd in fds.file:
    pool.Add(fd)
Bid = message_factory.GetMessageClass(pool.FindMessageTypeByName("test.Bid"))


def bid(i):
    m = Bid(id=i, name=f"b{i}", price=i / 4, ok=i % 2 == 0, tags=[f"t{j}" for j in range(i % 3)])
    if i % 5:
        m.qty = i - 100
    m.who.n = f"w{i}"
    m.who.tier = i % 4
    return m


PN = 3000
os.makedirs(f"{work}/pb-in")
for part in range(3):  # three files
    with open(f"{work}/pb-in/part-{part}.pb", "wb") as f:
        for i in range(part, PN, 3):
            data = bid(i).SerializeToString()
            f.write(_VarintBytes(len(data)) + data)
PB = PROTO.replace("'", "''")
p = sluice(f"""
CREATE TABLE src (id BIGINT, name TEXT, price DOUBLE, qty INT, ok BOOLEAN, tags TEXT[],
                  who STRUCT<n TEXT, tier INT>) WITH (
  connector = 'filesystem', path = '{work}/pb-in', format = 'protobuf', type = 'source',
  'protobuf.schema' = '{PB}', 'protobuf.message_name' = 'test.Bid');
CREATE TABLE out WITH (connector = 'filesystem', path = '{work}/pb-out', format = 'protobuf',
  type = 'sink', 'protobuf.schema' = '{PB}', 'protobuf.message_name' = 'test.Bid');
INSERT INTO out SELECT * FROM src;
""")
check("protobuf round trip: runs", p.returncode == 0, p.stderr)
if p.returncode == 0:
    got = []
    files = glob.glob(f"{work}/pb-out/*.pb")
    for path in files:
        data = open(path, "rb").read()
        pos = 0
        while pos < len(data):
            n, pos = _DecodeVarint(data, pos)
            m = Bid()
            m.ParseFromString(data[pos:pos + n])
            pos += n
            got.append(m)
    check("protobuf round trip: file suffix .pb", len(files) >= 1, str(files))
    want = sorted(bid(i).SerializeToString(deterministic=True) for i in range(PN))
    have = sorted(m.SerializeToString(deterministic=True) for m in got)
    check("protobuf round trip: the messages Python wrote", have == want,
          f"{len(have)} messages; {got[:1]}")

# Bad data: a message whose bytes are no Protobuf (a field with wire type 7).
os.makedirs(f"{work}/pb-bad")
with open(f"{work}/pb-bad/b.pb", "wb") as f:
    for i in range(10):
        data = bid(i).SerializeToString() if i != 4 else b"\x0f\x01"
        f.write(_VarintBytes(len(data)) + data)
for policy in ["fail", "drop"]:
    p = sluice(f"""
CREATE TABLE src (id BIGINT, name TEXT) WITH (connector = 'filesystem', path = '{work}/pb-bad',
  format = 'protobuf', type = 'source', bad_data = '{policy}',
  'protobuf.schema' = '{PB}', 'protobuf.message_name' = 'test.Bid');
CREATE TABLE out WITH (connector = 'single_file', path = '{work}/pb-bad-{policy}.json',
  format = 'json', type = 'sink');
INSERT INTO out SELECT * FROM src;
""")
    if policy == "fail":
        check("bad protobuf fail: fails naming the message",
              p.returncode != 0 and "b.pb' message 5" in p.stderr, p.stderr)
    else:
        ids = sorted(json.loads(line)["id"] for line in open(f"{work}/pb-bad-drop.json"))
        check("bad protobuf drop: the other messages", ids == [0, 1, 2, 3, 5, 6, 7, 8, 9],
              str(ids) + p.stderr)
# A truncated file: the last length prefix promises more bytes than there are.
with open(f"{work}/pb-bad/b.pb", "ab") as f:
    f.write(_VarintBytes(100) + b"\x08\x01")
p = sluice(f"""
CREATE TABLE src (id BIGINT) WITH (connector = 'filesystem', path = '{work}/pb-bad',
  format = 'protobuf', type = 'source', bad_data = 'drop',
  'protobuf.schema' = '{PB}', 'protobuf.message_name' = 'test.Bid');
CREATE TABLE out WITH (connector = 'blackhole');
INSERT INTO out SELECT * FROM src;
""")
check("truncated protobuf file: fails naming the byte", p.returncode != 0 and
      "is damaged at byte" in p.stderr and "message 11" in p.stderr, p.stderr)

# ----- bad options ------------------------------------------------------------------------------

for extra, needle in [
    ("'avro.raw_datums' = 'true'", "remove avro.raw_datums"),
    ("'avro.confluent_schema_registry' = 'true', 'schema_registry.endpoint' = 'http://x'",
     "remove avro.confluent_schema_registry"),
    ("'avro.codec' = 'snappy'", "avro.codec"),
    ("'source.compression' = 'gzip'", "compress their own blocks"),
]:
    p = sluice(f"""
CREATE TABLE src (id BIGINT) WITH (connector = 'filesystem', path = '{work}/avro-in-null',
  format = 'avro', type = 'source', {extra});
CREATE TABLE out WITH (connector = 'blackhole');
INSERT INTO out SELECT * FROM src;
""")
    check(f"option {extra}: refused", p.returncode != 0 and needle in p.stderr, p.stderr)

checks.finish()
