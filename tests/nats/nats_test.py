"""nats source and sink against a real NATS server (Debian's nats-server with JetStream, started
here with scripts/nats-test-server), read and written by the test's own protocol client
(nats_lib.py): option errors, an unreachable server and a missing stream (clear errors within a
bounded time, no password), the JetStream source (every message once, in order; malformed
payloads under bad_data; the server restarted mid-run; kill -9 and restore compared with an
uninterrupted run), the core source, and the sink (core and JetStream; a subject no stream takes;
kill -9 with JetStream publishing: every row arrives).

Usage: nats_test.py path/to/sluice"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nats_lib  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import testlib  # noqa: E402

sluice = sys.argv[1]
work = tempfile.mkdtemp(prefix="sluice_nats_")
server_dir = os.path.join(work, "server")
url, port = nats_lib.start_server(server_dir, owner=os.getpid())
client = nats_lib.Client(port)
servers = f"127.0.0.1:{port}"
checks = testlib.Checks("nats")
check = checks.check
runner = testlib.Runner(sluice, work)
write, run = runner.write, runner.run
stop, wait_until = testlib.stop, testlib.wait_until


def start(name, sql, args=(), env=None, stdout=subprocess.PIPE):
    return runner.start(name, sql, ("--parallelism", "1", *args), env=env, stdout=stdout)


def run_until_lines(name, sql, n, args=(), timeout=120, during=None):
    """Runs a query with its output into a file until it has n lines (calling during() while
    waiting, if given), then stops it with SIGINT: (returncode, rows, stderr)."""
    path = os.path.join(work, name + ".out")
    with open(path, "w") as f:
        proc = start(name + ".sql", sql, args, stdout=f)
        count = lambda: sum(1 for l in open(path) if l.strip())
        deadline = time.time() + timeout
        while time.time() < deadline and count() < n and proc.poll() is None:
            if during:
                during()
            time.sleep(0.1)
        rc, _, err = stop(proc)
    return rc, rows_of(open(path).read()), err


def rows_of(text):
    return [json.loads(l) for l in text.splitlines() if l.strip()]


def js_source(name, stream, extra=""):
    return (f"CREATE TABLE {name} (id BIGINT, v TEXT) WITH (connector = 'nats', servers = "
            f"'{servers}', stream = '{stream}', format = 'json', type = 'source'{extra});\n")


def rows_json(lo, hi):
    return [json.dumps({"id": i, "v": f"value {i}"}) for i in range(lo, hi)]


def expected(lo, hi):
    return [{"id": i, "v": f"value {i}"} for i in range(lo, hi)]


file_src_path = write("rows.json", "\n".join(rows_json(0, 300)) + "\n")
file_src = (f"CREATE TABLE src (id BIGINT, v TEXT) WITH (connector = 'single_file', path = "
            f"'{file_src_path}', format = 'json', type = 'source');\n")

# --- declarations ---
for what, sql, expect in [
    ("typo in an option", js_source("e", "S", ", consumer.ack_wiat = '10'"),
     "did you mean 'consumer.ack_wait'"),
    ("stream and subject", js_source("e", "S", ", subject = 'x'"), "exactly one of 'stream'"),
    ("no servers", "CREATE TABLE e (id BIGINT) WITH (connector = 'nats', subject = 'x', "
     "format = 'json', type = 'source');\n", "missing option 'servers'"),
    ("ack policy", js_source("e", "S", ", consumer.ack_policy = 'explicit'"), "policy 'all'"),
    ("credentials without a password", js_source("e", "S", ", auth.type = 'credentials', "
     "auth.username = 'u'"), "auth.password"),
    ("wildcard in a sink subject", f"CREATE TABLE o WITH (connector = 'nats', servers = "
     f"'{servers}', subject = 'a.>', type = 'sink');\n", "wildcards"),
    ("bad server", "CREATE TABLE e (id BIGINT) WITH (connector = 'nats', servers = "
     "'http://x:1', subject = 'x', format = 'json', type = 'source');\n", "nats://host:port"),
]:
    rc, out, err, _ = run(sql + "SELECT * FROM e;\n" if "TABLE e" in sql
                          else file_src + sql + "INSERT INTO o SELECT * FROM src;\n")
    check(f"declaration: {what}", rc != 0 and expect in err, err)

# --- unreachable server: a clear error within the timeout, no password ---
closed = testlib.free_port()
for what, srv in [("closed port", f"127.0.0.1:{closed}"), ("unroutable address", "10.255.255.1:4222")]:
    rc, out, err, secs = run(
        f"CREATE TABLE e (id BIGINT, v TEXT) WITH (connector = 'nats', servers = '{srv}', "
        "subject = 'x', format = 'json', type = 'source', auth.type = 'credentials', "
        "auth.username = 'u', auth.password = 'sekret-pw', connect.timeout = '2s');\n"
        "SELECT * FROM e;\n", timeout=60)
    check(f"unreachable ({what}): clear error within 10 s",
          rc != 0 and "cannot connect to the NATS server" in err and secs < 10,
          f"{secs:.1f} s {err}")
    check(f"unreachable ({what}): no password in the error", "sekret-pw" not in err, err)

# --- a stream that does not exist ---
rc, out, err, secs = run(js_source("e", "NOPE") + "SELECT * FROM e;\n", timeout=60)
check("missing stream: clear error", rc != 0 and "stream 'NOPE' does not exist" in err, err)

# --- JetStream source: every message once, in order; a restart reads nothing twice ---
client.add_stream("EV", ["ev.>"])
client.js_publish_many("ev.a", rows_json(0, 500))
state = os.path.join(work, "ev_state")
ck = ["--state-dir", state, "--checkpoint-interval", "100ms"]
proc = start("ev.sql", js_source("e", "EV") + "SELECT * FROM e;\n", ck)
# Stdout is read at the end: wait for the checkpoint that covers the 500 messages.
client_ack = lambda: any(client.js_api(f"CONSUMER.INFO.EV.{n}")["ack_floor"]["stream_seq"] == 500
                         for n in client.js_api("CONSUMER.NAMES.EV")["consumers"] or [])
check("JetStream source: the last message is acknowledged once a checkpoint covers it",
      wait_until(client_ack, 60))
rc, out, err = stop(proc)
check("JetStream source: every message, in order", rc == 0 and rows_of(out) == expected(0, 500),
      f"{err}\n{len(rows_of(out))} rows")
client.js_publish_many("ev.b", rows_json(500, 600))
rc, got, err = run_until_lines("ev2", js_source("e", "EV") + "SELECT * FROM e;\n", 100, ck)
time.sleep(1)  # anything read twice would have come with the rest
check("JetStream source restored: exactly the messages after the checkpoint",
      rc == 0 and got == expected(500, 600), f"{err}\n{got[:3]} {len(got)}")

# --- malformed payloads: fail naming the message, or dropped under bad_data = 'drop' ---
client.add_stream("BAD", ["bad.>"])
client.js_publish_many("bad.x", rows_json(0, 5) + ['{"id": 5, "v": "five"', "not json"] +
                       rows_json(7, 10))
rc, got, err = run_until_lines("bad", js_source("e", "BAD", ", bad_data = 'drop'") +
                               "SELECT * FROM e;\n", 8)
check("bad_data = 'drop': every good message, the malformed ones skipped",
      rc == 0 and got == expected(0, 5) + expected(7, 10), f"{err}\n{got}")
rc, out, err, _ = run(js_source("e", "BAD") + "SELECT * FROM e;\n", ["--parallelism", "1"],
                      timeout=60)
check("bad_data = 'fail' (default): the error names the stream sequence",
      rc != 0 and "sequence 6" in err, err)

# --- the server restarted mid-run: JetStream source reads every message once ---
client.add_stream("RS", ["rs.>"])
client.js_publish_many("rs.a", rows_json(0, 200))
rs_state = os.path.join(work, "rs_state")
rs_out = open(os.path.join(work, "rs_out.json"), "w")
proc = start("rs.sql", js_source("e", "RS") + "SELECT * FROM e;\n",
             ["--state-dir", rs_state, "--checkpoint-interval", "200ms"], stdout=rs_out)
lines = lambda: sum(1 for l in open(os.path.join(work, "rs_out.json")) if l.strip())
wait_until(lambda: lines() >= 200, 60)
client.close()
nats_lib.stop_server(server_dir)
time.sleep(2)
url, port = nats_lib.start_server(server_dir, owner=os.getpid())
client = nats_lib.Client(port)
client.js_publish_many("rs.b", rows_json(200, 400))
caught_up = wait_until(lambda: lines() >= 400, 60)
rc, _, err = stop(proc)
rs_out.close()
got = rows_of(open(os.path.join(work, "rs_out.json")).read())
check("server restart mid-run: JetStream source reads every message once, in order",
      rc == 0 and caught_up and got == expected(0, 400),
      f"{err}\n{len(got)} rows, {len(set(r['id'] for r in got))} distinct")

# --- kill -9 and restore, compared with an uninterrupted run ---
N = 20000
client.add_stream("K", ["k.>"])
client.js_publish_many("k.x", rows_json(0, N))


def copy_sql(out_dir):
    return (js_source("e", "K") + f"CREATE TABLE out (id BIGINT, v TEXT) WITH (connector = "
            f"'filesystem', path = '{out_dir}', format = 'json', type = 'sink');\n"
            "INSERT INTO out SELECT id, v FROM e;\n")


def copy(name, crash_after=()):
    """Copies the stream with kill -9 after each of crash_after rows."""
    out = os.path.join(work, name)
    return testlib.copy_with_crashes(runner, copy_sql(out), out, out + "_state", N,
                                     crash_after)


ok1, _, err1 = copy("k_plain")
plain = sorted(testlib.json_rows_of_dir(os.path.join(work, "k_plain")))
ok2, crashes, err2 = copy("k_crash", (3000, 5000, 4000))
crashed = sorted(testlib.json_rows_of_dir(os.path.join(work, "k_crash")))
check("uninterrupted run: every message once",
      ok1 and plain == sorted(json.dumps(r, sort_keys=True) for r in expected(0, N)),
      f"{err1}\n{len(plain)} rows")
check(f"kill -9 x{crashes} and restore: the same output as the uninterrupted run",
      ok2 and crashes == 3 and crashed == plain,
      f"{err2}\n{len(crashed)} rows, {len(set(crashed))} distinct")

# --- core source: what is published while subscribed ---
# Until the subscription is in place, warm-up messages (id -1) are published; the rows follow
# once the first of them came out.
core_path = os.path.join(work, "core.out")
with open(core_path, "w") as f:
    proc = start("core.sql", "CREATE TABLE c (id BIGINT, v TEXT) WITH (connector = 'nats', "
                 f"servers = '{servers}', subject = 'core.*', format = 'json', type = 'source');"
                 "\nSELECT * FROM c;\n", stdout=f)
    core_lines = lambda: [r for r in rows_of(open(core_path).read())]
    subscribed = False
    for _ in range(600):
        client.publish("core.warm", json.dumps({"id": -1, "v": "warm-up"}))
        client.ping()
        if core_lines():
            subscribed = True
            break
        time.sleep(0.1)
    for r in rows_json(0, 300):
        client.publish("core.a", r)
    client.ping()
    wait_until(lambda: len([r for r in core_lines() if r["id"] >= 0]) >= 300, 60)
    rc, _, err = stop(proc)
got = [r for r in core_lines() if r["id"] >= 0]
check("core source: every message published while subscribed, in order",
      rc == 0 and subscribed and got == expected(0, 300), f"{err}\n{len(got)} rows")

# --- sink: core publish, read back by a subscriber ---
sub_client = nats_lib.Client(port)
sub_client.subscribe("out.core")
sub_client.ping()
rc, out, err, _ = run(file_src + f"CREATE TABLE o WITH (connector = 'nats', servers = "
                      f"'{servers}', subject = 'out.core', type = 'sink');\n"
                      "INSERT INTO o SELECT * FROM src;\n")
got = []
try:
    while len(got) < 300:
        got.append(json.loads(sub_client.next_msg(10)[3]))
except (socket.timeout, TimeoutError):
    pass
check("core sink: every row, in order, as JSON", rc == 0 and got == expected(0, 300),
      f"{err}\n{len(got)} messages")

# --- sink: JetStream publish, stored by the stream ---
client.add_stream("OUT", ["out.js"])
rc, out, err, _ = run(file_src + f"CREATE TABLE o WITH (connector = 'nats', servers = "
                      f"'{servers}', subject = 'out.js', stream = 'OUT', type = 'sink');\n"
                      "INSERT INTO o SELECT * FROM src;\n")
stored = [json.loads(p) for p in client.read_stream("OUT", 300)]
check("JetStream sink: every row stored by the stream, in order",
      rc == 0 and stored == expected(0, 300), f"{err}\n{len(stored)} messages")
rc, out, err, secs = run(file_src + f"CREATE TABLE o WITH (connector = 'nats', servers = "
                         f"'{servers}', subject = 'nowhere', stream = 'OUT', type = 'sink', "
                         "ack.timeout = '5s');\nINSERT INTO o SELECT * FROM src;\n", timeout=60)
check("JetStream sink to a subject no stream takes: a clear error",
      rc != 0 and "nowhere" in err and secs < 30, f"{secs:.1f} s {err}")

# --- JetStream sink across kill -9: every row arrives (at-least-once) ---
M = 20000
client.add_stream("SK", ["sk.out"])
big = write("big.json", "\n".join(json.dumps({"id": i}) for i in range(M)) + "\n")
sk_sql = (f"CREATE TABLE big (id BIGINT) WITH (connector = 'single_file', path = '{big}', "
          "format = 'json', type = 'source');\n"
          f"CREATE TABLE o WITH (connector = 'nats', servers = '{servers}', subject = 'sk.out', "
          "stream = 'SK', type = 'sink');\nINSERT INTO o SELECT * FROM big;\n")
sk_state = os.path.join(work, "sk_state")
kills = 0
for after in (4000, 7000, None):
    env = {"SLUICE_FAULT": f"after_rows:nats sink:{after},pace_sources:2000"} if after else {}
    proc = start("sk.sql", sk_sql, ["--set", "batch_size=200", "--state-dir", sk_state,
                                    "--checkpoint-interval", "100ms"], env=env)
    out, err = proc.communicate(timeout=300)
    kills += proc.returncode != 0 and after is not None
total = client.stream_info("SK")["state"]["messages"]
ids = [json.loads(p)["id"] for p in client.read_stream("SK", total)]
check(f"JetStream sink kill -9 x{kills} and restore: every row stored (at-least-once)",
      proc.returncode == 0 and kills == 2 and set(ids) == set(range(M)),
      f"{err}\n{len(set(ids))} distinct of {M}, {len(ids)} messages")
print(f"nats: {len(ids) - len(set(ids))} rows stored twice after {kills} kills")

client.close()
nats_lib.stop_server(server_dir)
checks.finish()
