"""Kafka formats and record envelopes against a real broker (tests/kafka/kafka_lib.py):
`raw_bytes` read into a BYTEA column and written back byte for byte, and its clear refusals;
the `headers` metadata column (a JSON object of the record's headers); a sink whose brokers do
not answer fails with a clear message within a bounded time.

Usage: formats_test.py path/to/sluice BROKER_DIR"""

import json
import subprocess

from kafka_lib import Suite

s = Suite("kafka_formats")

raw_in = s.topic("raw_in")
raw_out = s.topic("raw_out")
s.create_topics((raw_in, 2), (raw_out, 1))

# Records that are not text: invalid UTF-8, a NUL byte, a tab, high bytes.
records = [b"\xff\xfe\x00\x01binary", b"plain text", b"\x80\x81\x82\t\x7f", b"\xc3\x28"]
for i, r in enumerate(records):
    subprocess.run(["kcat", "-b", s.bootstrap, "-P", "-t", raw_in, "-p", str(i % 2), "-D",
                    "\x1e"], input=r + b"\x1e", check=True, stderr=subprocess.DEVNULL)


def raw_values(topic):
    """Every record value of the topic, as bytes (length-prefixed, so any byte can occur)."""
    out = subprocess.run(["kcat", "-b", s.bootstrap, "-C", "-t", topic, "-o", "beginning", "-e",
                          "-q", "-X", "isolation.level=read_committed", "-f", "%R%s"],
                         check=True, capture_output=True).stdout
    values = []
    i = 0
    while i < len(out):
        n = int.from_bytes(out[i:i + 4], "big", signed=True)
        i += 4
        values.append(out[i:i + max(n, 0)])
        i += max(n, 0)
    return values


s.check("the input topic holds the records as sent", sorted(raw_values(raw_in)) == sorted(records),
        repr(raw_values(raw_in)))

source = (f"CREATE TABLE raw WITH (connector = 'kafka', bootstrap_servers = '{s.bootstrap}', "
          f"topic = '{raw_in}', format = 'raw_bytes', type = 'source', "
          "source.offset = 'earliest', source.bounded = 'latest');\n")
sink = (f"CREATE TABLE out WITH (connector = 'kafka', bootstrap_servers = '{s.bootstrap}', "
        f"topic = '{raw_out}', format = 'raw_bytes', type = 'sink');\n")
rc, out, err, _ = s.run(source + sink + "INSERT INTO out SELECT value FROM raw;\n",
                        parallelism=2)
s.check("raw_bytes: Kafka to Kafka exits 0", rc == 0, err)
s.check("raw_bytes: every record written back byte for byte",
        sorted(raw_values(raw_out)) == sorted(records), repr(raw_values(raw_out)))

# The table's one column is `value BYTEA`, implied when no columns are given.
rc, out, err, _ = s.run(source.replace("CREATE TABLE raw", "CREATE TABLE raw (value TEXT)") +
                        "SELECT * FROM raw;\n")
s.check("raw_bytes with a TEXT column: clear error", rc != 0 and
        "format 'raw_bytes' reads each record into a single BYTEA column named 'value'" in err,
        err)
rc, out, err, _ = s.run(
    source + f"CREATE TABLE f WITH (connector = 'single_file', path = '{s.work}/f.bin', "
    "format = 'raw_bytes', type = 'sink');\nINSERT INTO f SELECT value FROM raw;\n")
s.check("raw_bytes to a file: refused with the formats that fit", rc != 0 and
        "is for message connectors (kafka)" in err, err)
rc, out, err, _ = s.run(
    source + f"CREATE TABLE o2 WITH (connector = 'kafka', bootstrap_servers = '{s.bootstrap}', "
    f"topic = '{raw_out}', format = 'raw_bytes', type = 'sink');\n"
    "INSERT INTO o2 SELECT 'text' AS t FROM raw;\n")
s.check("raw_bytes sink of a TEXT column: clear error", rc != 0 and
        "format 'raw_bytes' writes exactly one BYTEA column" in err, err)

# --- headers: a JSON object, in the record's order; none: {} ---
hdr = s.topic("hdr")
s.create_topics((hdr, 1))
subprocess.run(["kcat", "-b", s.bootstrap, "-P", "-t", hdr, "-H", "trace=abc-1", "-H",
                'quote="q"\\', "-H", "dup=1", "-H", "dup=2"],
               input='{"id":1}\n', text=True, check=True, stderr=subprocess.DEVNULL)
# (bytes, so that 0xff reaches kcat as one byte, not as UTF-8)
subprocess.run(["kcat", "-b", s.bootstrap, "-P", "-t", hdr, "-H", b"bin=\xff\x01ok"],
               input=b'{"id":2}\n', check=True, stderr=subprocess.DEVNULL)
s.produce(hdr, ['{"id":3}'])
rc, out, err, _ = s.run(
    f"CREATE TABLE h (id BIGINT, hs JSON METADATA FROM 'headers') WITH (connector = 'kafka', "
    f"bootstrap_servers = '{s.bootstrap}', topic = '{hdr}', format = 'json', type = 'source', "
    "source.offset = 'earliest', source.bounded = 'latest');\n"
    "SELECT id, hs FROM h;\n")
got = {}
for line in out.splitlines():
    # Read every object as its pairs in order, so that a repeated name shows.
    r = dict(json.loads(line, object_pairs_hook=lambda pairs: [list(p) for p in pairs]))
    got[r["id"]] = r["hs"]
want = {1: [["trace", "abc-1"], ["quote", '"q"\\'], ["dup", "1"], ["dup", "2"]],
        2: [["bin", "\ufffd\u0001ok"]], 3: []}
s.check("headers metadata: a JSON object of each record's headers, in order",
        rc == 0 and got == want, f"{out} {err}")
rc, out, err, _ = s.run(
    f"CREATE TABLE h (id BIGINT, hs TEXT METADATA FROM 'headers') WITH (connector = 'kafka', "
    f"bootstrap_servers = '{s.bootstrap}', topic = '{hdr}', format = 'json', type = 'source');\n"
    "SELECT id, hs FROM h;\n")
s.check("headers metadata declared TEXT: clear error", rc != 0 and
        "METADATA FROM 'headers') must be declared JSON" in err, err)

# --- a sink whose brokers do not answer: a clear error within 20 s, not a hang ---
rc, out, err, secs = s.run(
    source + "CREATE TABLE o3 WITH (connector = 'kafka', bootstrap_servers = '127.0.0.1:1', "
    "topic = 'anything', format = 'raw_bytes', type = 'sink');\n"
    "INSERT INTO o3 SELECT value FROM raw;\n", timeout=60)
s.check("sink with unreachable brokers: clear error within 20 s", rc != 0 and
        "no answer from the Kafka brokers '127.0.0.1:1'" in err and secs < 20,
        f"{secs:.1f} s: {err}")
s.end()
