"""RabbitMQ Streams source against a real RabbitMQ server (Debian's rabbitmq-server with the
rabbitmq_stream plugin, the rabbitmq_server fixture: scripts/rabbitmq-test-server), the messages
published by rstream (PyPI, the Python client RabbitMQ's tutorials use): every published row read
back with its values; simple entries, uncompressed and gzip sub-entry batches; raw (non-AMQP)
messages; source.offset first / last / timestamp; malformed payloads and malformed AMQP messages
under bad_data drop and fail; kill -9 x3 with restore equal to the uninterrupted run; option
errors, wrong credentials, a missing stream and an unreachable port (clear errors in bounded
time, never the password).

Usage: rabbitmq_test.py path/to/sluice   (SLUICE_RABBITMQ_DIR: the fixture's directory)"""

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time

from rstream import AMQPMessage, CompressionType, Consumer, Producer

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import testlib  # noqa: E402

sluice = sys.argv[1]
server_dir = os.environ["SLUICE_RABBITMQ_DIR"]
port = int(open(os.path.join(server_dir, "port")).read())
work = tempfile.mkdtemp(prefix="sluice_rabbitmq_")
run_id = str(os.getpid())
checks = testlib.Checks("rabbitmq")
check = checks.check
runner = testlib.Runner(sluice, work)
write = runner.write
stop = testlib.stop


def name(s):
    return f"{s}_{run_id}"


def publish(stream, bodies, mode="batch", create=True):
    """Publishes `bodies` (bytes) to `stream`: as AMQP 1.0 messages in batches ('batch'), one
    chunk each ('each'), raw bytes without AMQP envelope ('raw'), or in sub-entry batches of 50
    ('sub' uncompressed, 'gzip')."""
    async def go():
        async with Producer("127.0.0.1", port=port, username="guest", password="guest") as p:
            if create:
                await p.create_stream(stream, exists_ok=True)
            if mode == "each":
                for b in bodies:
                    await p.send_wait(stream, AMQPMessage(body=b))
            elif mode in ("sub", "gzip"):
                comp = CompressionType.Gzip if mode == "gzip" else CompressionType.No
                for i in range(0, len(bodies), 50):
                    await p.send_sub_entry(stream, [AMQPMessage(body=b) for b in bodies[i:i + 50]],
                                           compression_type=comp)
                await p.send_wait(stream, AMQPMessage(body=b'{"id": -1, "v": "end"}'))
            else:
                for i in range(0, len(bodies), 500):
                    msgs = bodies[i:i + 500]
                    if mode != "raw":
                        msgs = [AMQPMessage(body=b) for b in msgs]
                    await p.send_batch(stream, msgs)
                # The last one confirmed: the server holds every message before it.
                last = b'{"id": -1, "v": "end"}'
                await p.send_wait(stream, last if mode == "raw" else AMQPMessage(body=last))
    asyncio.run(go())


def rows_json(lo, hi):
    return [json.dumps({"id": i, "v": f"value {i}"}).encode() for i in range(lo, hi)]


def expected(lo, hi):
    return [{"id": i, "v": f"value {i}"} for i in range(lo, hi)]


def source(table, stream, extra="", cols="(id BIGINT, v TEXT)", fmt="json"):
    return (f"CREATE TABLE {table} {cols} WITH (connector = 'rabbitmq', host = '127.0.0.1', "
            f"port = '{port}', stream = '{stream}', format = '{fmt}', type = 'source'{extra});\n")


def start(fname, sql, args=(), env=None, stdout=subprocess.PIPE, parallelism=1):
    return runner.start(fname, sql, ["--parallelism", str(parallelism), *args], env=env,
                        stdout=stdout)


def rows_until(fname, sql, pred, timeout=60, args=()):
    """Runs `sql` with its output into a file until pred(rows) holds, then stops it."""
    path = os.path.join(work, fname + ".out")
    with open(path, "w") as f:
        proc = start(fname + ".sql", sql, args, stdout=f)
        deadline = time.time() + timeout
        rows = []
        while time.time() < deadline and proc.poll() is None:
            rows = [json.loads(l) for l in open(path).read().splitlines() if l.strip()]
            if pred(rows):
                break
            time.sleep(0.1)
        rc, _, err = stop(proc)
    rows = [json.loads(l) for l in open(path).read().splitlines() if l.strip()]
    return rc, rows, err


def run(sql, timeout=60):
    return runner.run(sql, timeout=timeout)


def has_end(rows):
    return any(r.get("id") == -1 for r in rows)


def data_rows(rows):
    return [r for r in rows if r.get("id") != -1]


# --- every published row read back, in order, with its values ---
for mode, n in (("batch", 3000), ("each", 20), ("sub", 500), ("gzip", 500), ("raw", 300)):
    s = name(f"read_{mode}")
    publish(s, rows_json(0, n), mode)
    rc, rows, err = rows_until(f"read_{mode}", source("t", s, ", source.offset = 'first'") +
                               "SELECT id, v FROM t;\n",
                               lambda r, n=n: has_end(r) or len(r) >= n)
    check(f"{mode}: the {n} published rows, in order, with their values",
          rc == 0 and data_rows(rows) == expected(0, n) and (mode == "each" or has_end(rows)),
          f"rc={rc} {err}\n{len(rows)} rows: {rows[:3]}")

# raw_string: the AMQP data section as text; Arroyo's connector name and 'rabbitmq_stream' alike.
s = name("text")
publish(s, [b"hello", "gr\u00fc\u00dfe".encode(), b'{"id": -1}'], "each")
rc, rows, err = rows_until("text", source("t", s, ", source.offset = 'first'", "", "raw_string")
                           .replace("'rabbitmq'", "'rabbitmq_stream'") + "SELECT value FROM t;\n",
                           lambda r: len(r) >= 3)
check("raw_string through connector 'rabbitmq_stream': the messages' text",
      [r["value"] for r in rows] == ["hello", "gr\u00fc\u00dfe", '{"id": -1}'], f"{err}\n{rows}")

# Metadata columns: each message's offset (a new stream's offsets count from 0, one per message,
# in the order read), its chunk's time and the stream's name.
s = name("read_sub")
rc, rows, err = rows_until("meta", source("t", s, ", source.offset = 'first'",
                                          "(id BIGINT, off BIGINT METADATA FROM 'offset_id', "
                                          "ts TIMESTAMP METADATA FROM 'timestamp', "
                                          "st TEXT METADATA FROM 'stream')") +
                           "SELECT id, off, ts, st FROM t;\n", has_end)
check("metadata columns offset_id, timestamp and stream",
      [r["off"] for r in rows] == list(range(501)) and
      [r["id"] for r in data_rows(rows)] == list(range(500)) and
      all(r["st"] == s and r["ts"] for r in rows),
      f"{err}\n{rows[:3]}")
rc, out, err, _ = run(source("t", s, "", "(id BIGINT, off BIGINT METADATA FROM 'ofset_id')") +
                      "SELECT id FROM t;\n")
check("an unknown metadata key: did you mean 'offset_id'", rc != 0 and "'offset_id'" in err, err)

# consumer.name: the offset a completed checkpoint covers, stored on the server (monitoring).


def stored_offset(stream, ref):
    async def go():
        async with Consumer("127.0.0.1", port=port, username="guest", password="guest") as c:
            try:
                return await c.query_offset(stream, ref)
            except Exception as e:  # no offset stored yet
                return repr(e)
    return asyncio.run(go())


s = name("read_batch")
path = os.path.join(work, "mon.out")
with open(path, "w") as f:
    proc = start("mon.sql", source("t", s, ", source.offset = 'first', consumer.name = 'mon'") +
                 "SELECT id FROM t;\n", ["--state-dir", os.path.join(work, "mon_state"),
                                        "--checkpoint-interval", "100ms"], stdout=f)
    deadline = time.time() + 60
    got = None
    while time.time() < deadline and proc.poll() is None:
        got = stored_offset(s, "mon")
        if got == 3000:
            break
        time.sleep(0.5)
    rc, _, err = stop(proc)
check("consumer.name: the last offset of a completed checkpoint stored on the server",
      got == 3000, f"stored {got!r}\n{err}")

# --- source.offset ---
s = name("offsets")
publish(s, rows_json(0, 100), "batch")
publish(s, rows_json(100, 101), "each", create=False)  # a chunk of its own: the last
rc, rows, err = rows_until("last", source("t", s, ", source.offset = 'last'") +
                           "SELECT id, v FROM t;\n", lambda r: len(r) >= 1, timeout=20)
check("source.offset = 'last': the stream's last chunk only", rows == expected(100, 101),
      f"{err}\n{rows}")
time.sleep(1.2)
t_ms = int(time.time() * 1000)
time.sleep(0.2)
publish(s, rows_json(200, 210), "batch", create=False)
rc, rows, err = rows_until("ts", source("t", s, ", source.offset = 'timestamp', "
                                         f"source.offset.timestamp = '{t_ms}'") +
                           "SELECT id, v FROM t;\n", has_end, timeout=30)
check("source.offset = 'timestamp': the chunks written after it",
      data_rows(rows) == expected(200, 210) and has_end(rows), f"{err}\n{rows}")

# --- bad data: a payload the format cannot read, and a malformed AMQP 1.0 message ---
s = name("bad")
good = rows_json(0, 5)
publish(s, good[:2] + [b"{not json"] + good[2:4], "each")
publish(s, [b"\x00\x53\x75\xa0\x40short"], "raw", create=False)  # data section past its end
publish(s, good[4:5], "each", create=False)
rc, rows, err = rows_until("bad_drop", source("t", s, ", source.offset = 'first', bad_data = "
                                               "'drop'") + "SELECT id, v FROM t;\n", has_end)
check("bad_data = 'drop': the malformed messages skipped, the others read",
      rc == 0 and data_rows(rows) == expected(0, 5), f"rc={rc} {err}\n{rows}")
rc, out, err, secs = run(source("t", s, ", source.offset = 'first'") + "SELECT id, v FROM t;\n")
check("bad_data = 'fail' (default): an error naming the stream and the offset",
      rc != 0 and f"RabbitMQ stream '{s}' offset 2" in err and secs < 30, f"rc={rc} {err}")
s2 = name("bad_amqp")
publish(s2, good[:1], "each")
publish(s2, [b"\x00\x53\x75\xa0\x40short"], "raw", create=False)
rc, out, err, secs = run(source("t", s2, ", source.offset = 'first'") + "SELECT id, v FROM t;\n")
check("a malformed AMQP 1.0 message under bad_data = 'fail': an error naming its offset",
      rc != 0 and f"'{s2}' offset 1" in err and "AMQP" in err, f"rc={rc} {err}")

# --- kill -9 x3 and restore: the same output as an uninterrupted run ---
N = 20000
s = name("crash")
publish(s, rows_json(0, N), "batch")


def copy_sql(out_dir):
    return (source("e", s, ", source.offset = 'first'") +
            f"CREATE TABLE out (id BIGINT, v TEXT) WITH (connector = 'filesystem', path = "
            f"'{out_dir}', format = 'json', type = 'sink');\nINSERT INTO out SELECT id, v FROM e;\n")


def copy(name, crash_after=(), parallelism=1):
    """Copies the stream with kill -9 after each of crash_after rows; the last run at
    `parallelism` (the source stays one subtask: a stream is one split)."""
    out = os.path.join(work, name)
    return testlib.copy_with_crashes(runner, copy_sql(out), out, out + "_state", N + 1,
                                     crash_after, last_parallelism=parallelism)


ok1, _, err1 = copy("k_plain")
plain = sorted(testlib.json_rows_of_dir(os.path.join(work, "k_plain")))
ok2, crashes, err2 = copy("k_crash", (3000, 5000, 4000), parallelism=2)
crashed = sorted(testlib.json_rows_of_dir(os.path.join(work, "k_crash")))
want = sorted(json.dumps(r, sort_keys=True) for r in expected(0, N) + [{"id": -1, "v": "end"}])
check("uninterrupted run: every message once", ok1 and plain == want, f"{err1}\n{len(plain)} rows")
check(f"kill -9 x{crashes} and restore (the last at parallelism 2): the same output as the "
      "uninterrupted run",
      ok2 and crashes == 3 and crashed == plain,
      f"{err2}\n{len(crashed)} rows, {len(set(crashed))} distinct")

# --- errors: options, credentials, a missing stream, an unreachable port ---
rc, out, err, _ = run(source("t", "x", ", source.ofset = 'first'") + "SELECT id FROM t;\n")
check("a misspelt option: did you mean", rc != 0 and "source.offset" in err, err)
rc, out, err, _ = run(source("t", "x", ", source.offset = 'frist'") + "SELECT id FROM t;\n")
check("a wrong source.offset: did you mean 'first'", rc != 0 and "'first'" in err, err)
rc, out, err, secs = run(source("t", name("read_batch"), ", password = 'hunter2-wrong'") +
                         "SELECT id FROM t;\n")
check("a wrong password: the user refused, by name, the password never shown",
      rc != 0 and "AUTHENTICATION_FAILURE" in err and "'guest'" in err and
      "hunter2" not in err + out and secs < 30, f"rc={rc} {secs:.1f}s {err}")
rc, out, err, secs = run(source("t", name("nope")) + "SELECT id FROM t;\n")
check("a missing stream: named, with how to create it",
      rc != 0 and "does not exist" in err and secs < 30, f"rc={rc} {err}")
rc, out, err, secs = run(source("t", "x").replace(f"port = '{port}'", "port = '1'") +
                         "SELECT id FROM t;\n")
check("an unreachable port: a clear error at once",
      rc != 0 and "cannot connect to the RabbitMQ stream port at 127.0.0.1:1" in err and secs < 30,
      f"rc={rc} {err}")
rc, out, err, secs = run(source("t", "x").replace("host = '127.0.0.1'", "host = '10.255.255.1'")
                         .replace("type = 'source'", "type = 'source', connect.timeout = '2s'") +
                         "SELECT id FROM t;\n")
check("a host that does not answer: an error within connect.timeout",
      rc != 0 and "10.255.255.1" in err and secs < 20, f"rc={rc} {secs:.1f}s {err}")

checks.finish()
