"""Kafka sink `sink.headers_field` against a real broker (tests/kafka/kafka_lib.py): record headers
written from a JSON column (a source's `headers` metadata column passed through, and a computed
JSON object) and from a STRUCT column, with at_least_once and exactly_once, read back with kcat
(`-J`, whose envelope lists each record's headers in order, a header without value as null);
and the clear refusals of a missing column, a column of another type, a struct field of another
type, a value that is not a JSON object, and the option on a source.

Usage: sink_headers_test.py path/to/sluice BROKER_DIR"""

import json
import os
import subprocess

from kafka_lib import Suite

s = Suite("kafka_sink_headers")


def records(topic):
    """Every committed record of the topic as (payload, headers as [name, value] pairs)."""
    out = subprocess.run(["kcat", "-b", s.bootstrap, "-C", "-t", topic, "-o", "beginning", "-e",
                          "-q", "-J", "-X", "isolation.level=read_committed"],
                         text=True, check=True, capture_output=True).stdout
    got = []
    for line in out.splitlines():
        e = json.loads(line)
        h = e.get("headers") or []
        got.append((e["payload"], [[h[i], h[i + 1]] for i in range(0, len(h), 2)]))
    return got


def by_id(recs):
    return {json.loads(p)["id"]: h for p, h in recs}


src_topic = s.topic("hdr_in")
s.create_topics((src_topic, 1))
# Headers in an order that is not sorted, a repeated name, a header without value, a value with
# the characters kcat's own text format would split on.
subprocess.run(["kcat", "-b", s.bootstrap, "-P", "-t", src_topic, "-H", "trace=t-1", "-H", "dup=1",
                "-H", "empty", "-H", "dup=2", "-H", "odd=a,b=c"],
               input='{"id":1}\n', text=True, check=True, stderr=subprocess.DEVNULL)
subprocess.run(["kcat", "-b", s.bootstrap, "-P", "-t", src_topic, "-H", "z=last", "-H", "a=first"],
               input='{"id":2}\n', text=True, check=True, stderr=subprocess.DEVNULL)
s.produce(src_topic, ['{"id":3}'])
s.check("the input topic holds the headers as sent", by_id(records(src_topic)) == {
    1: [["trace", "t-1"], ["dup", "1"], ["empty", None], ["dup", "2"], ["odd", "a,b=c"]],
    2: [["z", "last"], ["a", "first"]], 3: []}, repr(records(src_topic)))

source = (f"CREATE TABLE src (id BIGINT, hs JSON METADATA FROM 'headers') WITH ("
          f"connector = 'kafka', bootstrap_servers = '{s.bootstrap}', topic = '{src_topic}', "
          "format = 'json', type = 'source', source.offset = 'earliest', "
          "source.bounded = 'latest');\n")


def sink(name, topic, extra=""):
    return (f"CREATE TABLE {name} WITH (connector = 'kafka', bootstrap_servers = '{s.bootstrap}', "
            f"topic = '{topic}', format = 'json', type = 'sink'{extra});\n")


# --- JSON: the source's headers passed through, at_least_once and exactly_once ---
for mode in ("at_least_once", "exactly_once"):
    out_topic = s.topic(f"hdr_pass_{mode}")
    s.create_topics((out_topic, 1))
    args = []
    if mode == "exactly_once":
        args = ["--state-dir", os.path.join(s.work, f"state_{mode}"), "--checkpoint-interval",
                "1s"]
    rc, out, err, _ = s.run(
        source + sink("o", out_topic, f", sink.commit_mode = '{mode}', sink.headers_field = 'hs'")
        + "INSERT INTO o SELECT id, hs FROM src;\n", args=args)
    s.check(f"{mode}: headers passed through exits 0", rc == 0, err)
    got = by_id(records(out_topic))
    s.check(f"{mode}: each record carries its input's headers, in order, null and repeats kept",
            got == {1: [["trace", "t-1"], ["dup", "1"], ["empty", None], ["dup", "2"],
                        ["odd", "a,b=c"]],
                    2: [["z", "last"], ["a", "first"]], 3: []}, repr(got))

# --- JSON computed in the query: strings as their text, other values as JSON text, NULL: none
out_topic = s.topic("hdr_json")
s.create_topics((out_topic, 1))
rc, out, err, _ = s.run(
    source + sink("o", out_topic, ", sink.headers_field = 'h'") +
    "INSERT INTO o SELECT id, CASE WHEN id = 3 THEN NULL ELSE CAST("
    "'{\"n\": ' || id || ', \"s\": \"x' || id || '\", \"nested\": {\"k\": [1, true]}, "
    "\"none\": null}' AS JSON) END AS h FROM src;\n")
s.check("computed JSON headers exits 0", rc == 0, err)
got = by_id(records(out_topic))
s.check("computed JSON headers: strings as text, numbers and objects as JSON, null as no value, "
        "a NULL column as no headers",
        got == {1: [["n", "1"], ["s", "x1"], ["nested", '{"k":[1,true]}'], ["none", None]],
                2: [["n", "2"], ["s", "x2"], ["nested", '{"k":[1,true]}'], ["none", None]],
                3: []}, repr(got))

# --- STRUCT: field names are header names, a NULL field a header without value ---
out_topic = s.topic("hdr_struct")
s.create_topics((out_topic, 1))
rc, out, err, _ = s.run(
    source + sink("o", out_topic, ", sink.commit_mode = 'exactly_once', "
                  "sink.headers_field = 'h', sink.key_field = 'k'") +
    "INSERT INTO o SELECT id, CAST(id AS TEXT) AS k, CAST(ROW('trace-' || id, "
    "CASE WHEN id = 2 THEN NULL ELSE 'sluice' END, CAST('bytes' AS BYTEA)) AS "
    "STRUCT<trace TEXT, origin TEXT, raw BYTEA>) AS h FROM src;\n",
    args=["--state-dir", os.path.join(s.work, "state_struct"), "--checkpoint-interval", "1s"])
s.check("struct headers exits 0", rc == 0, err)
got = by_id(records(out_topic))
s.check("struct headers: one header per field, in field order, NULL field without value",
        got == {i: [["trace", f"trace-{i}"], ["origin", None if i == 2 else "sluice"],
                    ["raw", "bytes"]] for i in (1, 2, 3)}, repr(got))

# --- refusals ---
bad = s.topic("hdr_bad")
s.create_topics((bad, 1))
rc, out, err, _ = s.run(source + sink("o", bad, ", sink.headers_field = 'nope'") +
                        "INSERT INTO o SELECT id, hs FROM src;\n")
s.check("headers_field naming a missing column: clear error", rc != 0 and
        "option 'sink.headers_field' names column 'nope'" in err, err)
rc, out, err, _ = s.run(source + sink("o", bad, ", sink.headers_field = 'id'") +
                        "INSERT INTO o SELECT id, hs FROM src;\n")
s.check("headers_field of a BIGINT column: clear error", rc != 0 and
        "sink.headers_field column 'id' is BIGINT; it must be JSON" in err, err)
rc, out, err, _ = s.run(source + sink("o", bad, ", sink.headers_field = 'h'") +
                        "INSERT INTO o SELECT id, CAST(ROW(id) AS STRUCT<n BIGINT>) AS h "
                        "FROM src;\n")
s.check("struct field of another type: clear error", rc != 0 and
        "has field 'n' of type BIGINT; header values are TEXT, JSON or BYTEA" in err, err)
rc, out, err, _ = s.run(source + sink("o", bad, ", sink.headers_field = 'h'") +
                        "INSERT INTO o SELECT id, CAST('[1, 2]' AS JSON) AS h FROM src;\n")
s.check("a JSON value that is not an object: clear error naming it", rc != 0 and
        "holds [1, 2], not a JSON object of header names and values" in err, err)
rc, out, err, _ = s.run(source.replace("source.bounded = 'latest'",
                                       "source.bounded = 'latest', sink.headers_field = 'hs'") +
                        "SELECT id FROM src;\n")
s.check("sink.headers_field on a source: clear error", rc != 0 and
        "option 'sink.headers_field' applies to Kafka sink tables only" in err, err)
s.check("nothing was written by the refused pipelines", records(bad) == [], repr(records(bad)))
s.end()
