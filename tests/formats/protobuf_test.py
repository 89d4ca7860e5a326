"""format = 'protobuf' through the kafka connector against a real broker, checked against
Python's protobuf (PyPI) with descriptors compiled by protoc (Debian protobuf-compiler):
messages it writes are read by Sluice, messages Sluice writes are parsed by it. Expected rows
are written by hand from the values given. Also the Confluent wire format through the stand-in
registry (schema_registry_server.py), bad messages under bad_data = fail / drop, bad options.

Usage: protobuf_test.py path/to/sluice BROKER_DIR (with build/venv/bin/python)."""

import datetime
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "kafka"))
sys.path.insert(0, HERE)
from kafka_lib import Suite, sorted_json_lines  # noqa: E402
from format_lib import produce_bytes, consume_bytes, sql_string  # noqa: E402
from registry_lib import Registry  # noqa: E402

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory  # noqa: E402

s = Suite("formats_protobuf")
UTC = datetime.timezone.utc

PROTO = """syntax = "proto3";
package shop;
import "google/protobuf/timestamp.proto";

message Customer { string name = 1; int32 tier = 2; }
message Order {
  enum Status { NEW = 0; SHIPPED = 1; }
  message Line { string sku = 1; int32 n = 2; }
  int64 id = 1;
  string item = 2;
  double price = 3;
  int32 qty = 4;
  sint64 delta = 5;
  bool paid = 6;
  bytes blob = 7;
  Status status = 8;
  optional string note = 9;
  Customer customer = 10;
  repeated int32 codes = 11;
  repeated Line lines = 12;
  map<string, int64> attrs = 13;
  google.protobuf.Timestamp at = 14;
  uint64 big = 15;
  fixed32 f32 = 16;
  float ratio = 17;
}
"""

proto_dir = os.path.join(s.work, "proto")
os.makedirs(proto_dir)
with open(os.path.join(proto_dir, "order.proto"), "w") as f:
    f.write(PROTO)
subprocess.run(["protoc", f"--descriptor_set_out={proto_dir}/order.pb", "--include_imports",
                f"-I{proto_dir}", "order.proto"], check=True)
files = descriptor_pb2.FileDescriptorSet()
files.ParseFromString(open(f"{proto_dir}/order.pb", "rb").read())
pool = descriptor_pool.DescriptorPool()
for fd in files.file:
    pool.Add(fd)
Order = message_factory.GetMessageClass(pool.FindMessageTypeByName("shop.Order"))

orders = s.topic("orders")
bad = s.topic("bad")
out_plain = s.topic("out_plain")
framed = s.topic("framed")
out_framed = s.topic("out_framed")
s.create_topics((orders, 1), (bad, 1), (out_plain, 1), (framed, 1), (out_framed, 1))

o1 = Order(id=1, item="pen", price=1.5, qty=-3, delta=-5, paid=True, blob=b"\x00\x01",
           status=Order.SHIPPED, note="gift", codes=[1, 2, 300], big=18446744073709551615,
           f32=7, ratio=0.5)
o1.customer.name = "ann"
o1.customer.tier = 2
o1.lines.add(sku="a", n=1)
o1.lines.add(sku="b", n=2)
o1.attrs["x"] = 1
o1.at.FromDatetime(datetime.datetime(2024, 1, 2, 3, 4, 5, 678901))
o2 = Order(id=2)
produce_bytes(s, orders, [o1.SerializeToString(), o2.SerializeToString()])

expected = sorted_json_lines("\n".join([
    '{"id":1,"item":"pen","price":1.5,"qty":-3,"delta":-5,"paid":true,"blob":"\\\\x0001",'
    '"status":"SHIPPED","note":"gift","customer":{"name":"ann","tier":2},"codes":[1,2,300],'
    '"lines":[{"sku":"a","n":1},{"sku":"b","n":2}],"attrs":{"x":1},'
    '"at":"2024-01-02T03:04:05.678901Z","big":18446744073709551615,"f32":7,"ratio":0.5}',
    '{"id":2,"item":"","price":0.0,"qty":0,"delta":0,"paid":false,"blob":"\\\\x",'
    '"status":"NEW","note":null,"customer":null,"codes":[],"lines":[],"attrs":{},"at":null,'
    '"big":0,"f32":0,"ratio":0.0}',
]))


def source(name, topic, columns="", extra="", message="Order"):
    cols = f"({columns}) " if columns else ""
    return (f"CREATE TABLE {name} {cols}WITH (connector = 'kafka', bootstrap_servers = "
            f"'{s.bootstrap}', topic = '{topic}', format = 'protobuf', type = 'source', "
            f"source.offset = 'earliest', source.bounded = 'latest', "
            f"protobuf.schema = {sql_string(PROTO)}, protobuf.message_name = '{message}'{extra});\n")


rc, out, err, _ = s.run(source("o", orders) + "SELECT * FROM o;\n")
s.check("every field type, columns from the .proto: exit 0", rc == 0, err)
s.check("every field type: rows", sorted_json_lines(out) == expected, out)

# Declared columns: a subset, int32 widened to BIGINT, TIMESTAMP for the Timestamp.
rc, out, err, _ = s.run(source("o", orders, "qty BIGINT, at TIMESTAMP, status TEXT, note TEXT") +
                        "SELECT * FROM o;\n")
s.check("declared columns", rc == 0 and sorted_json_lines(out) == sorted_json_lines(
    '{"qty":-3,"at":"2024-01-02T03:04:05.678901","status":"SHIPPED","note":"gift"}\n'
    '{"qty":0,"at":null,"status":"NEW","note":null}'), err + out)

# --- bad messages ---
good = Order(id=7, item="ok").SerializeToString()
truncated = o1.SerializeToString()[:-3]
wrong_wire = bytes([0x0a, 0x01, 0x05])  # field 1 (int64) with wire type 2
bad_utf8 = bytes([0x12, 0x01, 0xff])   # field 2 (string) not UTF-8
produce_bytes(s, bad, [good, truncated, wrong_wire, bad_utf8])
rc, out, err, _ = s.run(source("o", bad, "id BIGINT, item TEXT") + "SELECT * FROM o;\n")
s.check("malformed message, bad_data = fail: error naming the record",
        rc != 0 and "bad data at partition 0 offset 1" in err, err)
rc, out, err, _ = s.run(source("o", bad, "id BIGINT, item TEXT, lines STRUCT<sku TEXT, n INT>[]",
                               ", bad_data = 'drop'") + "SELECT id, item FROM o;\n")
s.check("malformed messages, bad_data = drop: the good row",
        rc == 0 and sorted_json_lines(out) == sorted_json_lines('{"id":7,"item":"ok"}'),
        err + out)

# --- bad options ---
for extra, columns, message in [
        ("Nope", "id BIGINT", "is no message of the .proto text"),
        ("Order", "nope BIGINT", "message 'shop.Order' has no such field"),
        ("Order", "item BIGINT", "column 'item' is BIGINT, but field 'item' reads as TEXT"),
]:
    rc, out, err, _ = s.run(source("o", orders, columns, message=extra) + "SELECT * FROM o;\n")
    s.check(f"bad option: {message}", rc != 0 and message in err, err)
rc, out, err, _ = s.run(
    f"CREATE TABLE o (id BIGINT) WITH (connector = 'kafka', bootstrap_servers = '{s.bootstrap}',"
    f" topic = '{orders}', format = 'protobuf', type = 'source', "
    "protobuf.schema = 'message Order { int64 id = 1 }');\nSELECT * FROM o;\n")
s.check("bad .proto text: the parser's message with its position",
        rc != 0 and "the .proto text does not parse: line 1" in err, err)

# --- sink: Sluice's messages parsed by Python's protobuf ---
rc, out, err, _ = s.run(
    source("o", orders) +
    f"CREATE TABLE out WITH (connector = 'kafka', bootstrap_servers = '{s.bootstrap}', "
    f"topic = '{out_plain}', format = 'protobuf', type = 'sink', "
    f"protobuf.schema = {sql_string(PROTO)}, protobuf.message_name = 'shop.Order');\n"
    "INSERT INTO out SELECT * FROM o;\n")
s.check("sink: exit 0", rc == 0, err)
parsed = sorted((Order.FromString(v) for v in consume_bytes(s, out_plain)), key=lambda m: m.id)
s.check("sink: parsed by protobuf, equal to the input messages",
        [m.SerializeToString(deterministic=True) for m in parsed] ==
        [o1.SerializeToString(deterministic=True), o2.SerializeToString(deterministic=True)],
        parsed)

# --- the Confluent wire format through the (stand-in) registry ---
registry = Registry(s.work)
sid = registry.register(f"{framed}-value", PROTO, "PROTOBUF")
produce_bytes(s, framed, [b"\x00" + sid.to_bytes(4, "big") + b"\x02\x02" +
                          o1.SerializeToString(),  # message index path [1]: Order
                          b"\x00" + (sid + 50).to_bytes(4, "big") + b"\x00" + good])
confluent = (", protobuf.confluent_schema_registry = 'true', "
             f"schema_registry.endpoint = '{registry.url}'")
rc, out, err, _ = s.run(source("o", framed, "id BIGINT, item TEXT", confluent) +
                        "SELECT * FROM o;\n")
s.check("confluent framing: an unknown schema id is bad data naming the id",
        rc != 0 and f"has no schema with id {sid + 50}" in err, err)
rc, out, err, _ = s.run(source("o", framed, "id BIGINT, item TEXT",
                               confluent + ", bad_data = 'drop'") + "SELECT * FROM o;\n")
s.check("confluent framing: rows of known ids", rc == 0 and sorted_json_lines(out) ==
        sorted_json_lines('{"id":1,"item":"pen"}'), err + out)

rc, out, err, _ = s.run(
    source("o", orders) +
    f"CREATE TABLE out WITH (connector = 'kafka', bootstrap_servers = '{s.bootstrap}', "
    f"topic = '{out_framed}', format = 'protobuf', type = 'sink', "
    f"protobuf.schema = {sql_string(PROTO)}, protobuf.message_name = 'Order'{confluent});\n"
    "INSERT INTO out SELECT id, item FROM o;\n")
s.check("confluent sink: exit 0", rc == 0, err)
values = consume_bytes(s, out_framed)
ids = {int.from_bytes(v[1:5], "big") for v in values}
s.check("confluent sink: registered under <topic>-value",
        f"{out_framed}-value" in registry.get("/subjects") and len(ids) == 1, (ids, err))
sink_id = ids.pop() if ids else -1
s.check("confluent sink: the registered schema is the .proto text",
        registry.get(f"/schemas/ids/{sink_id}").get("schemaType") == "PROTOBUF")
msgs = sorted((Order.FromString(v[7:]) for v in values
               if v[0] == 0 and v[5:7] == b"\x02\x02"), key=lambda m: m.id)
s.check("confluent sink: framed messages parsed by protobuf",
        [(m.id, m.item) for m in msgs] == [(1, "pen"), (2, "")], values)

registry.stop()
rc, out, err, _ = s.run(source("o", framed, "id BIGINT", confluent + ", bad_data = 'drop'") +
                        "SELECT * FROM o;\n")
s.check("registry down: an error, not dropped data",
        rc != 0 and "schema registry" in err and "failed" in err, err)

s.end()
