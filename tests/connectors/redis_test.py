"""redis sink against a real Redis (ctest's redis_server fixture, scripts/redis-test-server):
option errors, an unreachable server, string / list / hash targets (key prefix, key column,
field column, TTL, max length, prepend), updating results (deletes remove keys), and kill -9 /
restore with the same final keys as an uninterrupted run. Expected values are written by hand or
computed by this test from the input; Redis's contents are read with redis-cli.

Usage: redis_test.py path/to/sluice   (SLUICE_REDIS_DIR: the fixture's directory)"""

import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import testlib  # noqa: E402

SCRIPT = os.path.join(testlib.ROOT, "scripts", "redis-test-server")
sluice = sys.argv[1]
redis_dir = os.environ.get("SLUICE_REDIS_DIR", "")
if not redis_dir or not os.path.exists(os.path.join(redis_dir, "address")):
    sys.exit(f"redis: FAIL: no Redis server in '{redis_dir}' (ctest's redis_server fixture starts "
             "one: scripts/redis-test-server start DIR)")
address = open(os.path.join(redis_dir, "address")).read().strip()
run_id = f"{int(time.time() * 1000) % 10**8}_{os.getpid()}"
work = f"/tmp/sluice_redis_{run_id}"
os.makedirs(work)
checks = testlib.Checks("redis")
check = checks.check
runner = testlib.Runner(sluice, work)
write, run = runner.write, runner.run


def cli(*args):
    return subprocess.run([SCRIPT, "cli", redis_dir, *args], text=True, capture_output=True,
                          check=True).stdout


def keys(pattern):
    return sorted(k for k in cli("--scan", "--pattern", pattern).splitlines() if k)


def source(name, path, columns, fmt="json", extra=""):
    return (f"CREATE TABLE {name} ({columns}) WITH (connector = 'single_file', path = '{path}', "
            f"format = '{fmt}', type = 'source'{extra});\n")


def sink(name, options):
    return f"CREATE TABLE {name} WITH (connector = 'redis', address = '{address}', {options});\n"


rows = [{"id": i, "user": f"u{i % 5}", "score": i * 3} for i in range(20)]
events = write("events.json", "\n".join(json.dumps(r) for r in rows) + "\n")
src = source("events", events, "id BIGINT, user TEXT, score BIGINT")
p = f"t{run_id}:"

# --- declarations ---
for what, options, expect in [
    ("typo in an option", f"target.key_prefx = '{p}'", "did you mean 'target.key_prefix'"),
    ("unknown target", f"target = 'set', target.key_prefix = '{p}'", "'string', 'list' or 'hash'"),
    ("hash without a field column", f"target = 'hash', target.key_prefix = '{p}'",
     "target.field_column"),
    ("key column not in the table", f"target.key_prefix = '{p}', target.key_column = 'idd'",
     "did you mean 'id'"),
    ("no key at all", "target = 'string'", "target.key_prefix"),
    ("max_length on a string", f"target.key_prefix = '{p}', target.max_length = '3'",
     "'list' target only"),
]:
    sql = src + f"CREATE TABLE out (id BIGINT, user TEXT, score BIGINT) WITH (connector = 'redis', " \
        f"address = '{address}', {options});\nINSERT INTO out SELECT * FROM events;\n"
    rc, out, err, _ = run(sql)
    check(f"declaration: {what}", rc != 0 and expect in err, err)
rc, out, err, _ = run(src + "CREATE TABLE out WITH (connector = 'redis', address = "
                      "'http://x', target.key_prefix = 'a');\nINSERT INTO out SELECT * FROM events;\n")
check("declaration: an address that is not redis://", rc != 0 and "redis://" in err, err)

# --- unreachable server: a clear error in bounded time, no password ---
closed = testlib.free_port()
for what, addr in [("closed port", f"redis://u:sekret-pw@127.0.0.1:{closed}"),
                   ("unroutable address", "redis://u:sekret-pw@10.255.255.1:6379")]:
    rc, out, err, secs = run(src + f"CREATE TABLE out WITH (connector = 'redis', address = "
                             f"'{addr}', target.key_prefix = 'x', connect.timeout = '2s');\n"
                             "INSERT INTO out SELECT * FROM events;\n", timeout=60)
    check(f"unreachable ({what}): clear error within 10 s",
          rc != 0 and "cannot connect to Redis at" in err and secs < 10, f"{secs:.1f} s {err}")
    check(f"unreachable ({what}): no password in the error", "sekret-pw" not in err, err)

# --- string target: prefix + key column, TTL ---
rc, out, err, _ = run(src + sink("out", f"target = 'string', target.key_prefix = '{p}s:', "
                                 "target.key_column = 'id', target.ttl_secs = '1000'") +
                      "INSERT INTO out SELECT * FROM events;\n")
got = {k: json.loads(cli("GET", k)) for k in keys(f"{p}s:*")}
expected = {f"{p}s:{r['id']}": r for r in rows}
check("string target: one key per row, the row as JSON", rc == 0 and got == expected,
      f"{err}\n{list(got.items())[:3]}")
ttl = int(cli("TTL", f"{p}s:3").strip())
check("string target: keys expire after target.ttl_secs", 990 <= ttl <= 1000, ttl)

# --- list target: append with max length, and prepend ---
rc, out, err, _ = run(src + sink("out", f"target = 'list', target.key_prefix = '{p}l:', "
                                 "target.key_column = 'user', target.max_length = '2'") +
                      "INSERT INTO out SELECT * FROM events;\n")
got = [json.loads(v) for v in cli("LRANGE", f"{p}l:u1", "0", "-1").splitlines()]
check("list target: appended in order, trimmed to the last 2",
      rc == 0 and got == [r for r in rows if r["user"] == "u1"][-2:], f"{err}\n{got}")
rc, out, err, _ = run(src + sink("out", f"target = 'list', target.key_prefix = '{p}lp', "
                                 "target.operation = 'prepend'") +
                      "INSERT INTO out SELECT id FROM events WHERE id < 4;\n")
got = [json.loads(v)["id"] for v in cli("LRANGE", f"{p}lp", "0", "-1").splitlines()]
check("list target: prepend, one key (the prefix alone)", rc == 0 and got == [3, 2, 1, 0],
      f"{err}\n{got}")

# --- hash target ---
rc, out, err, _ = run(src + sink("out", f"target = 'hash', target.key_prefix = '{p}h:', "
                                 "target.key_column = 'user', target.field_column = 'id'") +
                      "INSERT INTO out SELECT user, id, score FROM events;\n")
flat = cli("HGETALL", f"{p}h:u2").splitlines()
got = {flat[i]: json.loads(flat[i + 1]) for i in range(0, len(flat), 2)}
check("hash target: field from the field column, the row as value",
      rc == 0 and got == {str(r["id"]): r for r in rows if r["user"] == "u2"}, f"{err}\n{got}")
rc, out, err, _ = run(src + sink("out", f"target = 'hash', target.key_prefix = '{p}h2:', "
                                 "target.key_column = 'user', target.field_column = 'id'") +
                      "INSERT INTO out SELECT id, score FROM events;\n")
check("a key column the query does not produce: a clear error",
      rc != 0 and "names column 'user'" in err, err)

# --- updating results: an aggregate, and a changelog with deletes ---
rc, out, err, _ = run(src + sink("out", f"target.key_prefix = '{p}agg:', target.key_column = "
                                 "'user'") +
                      "INSERT INTO out SELECT user, count(*) AS n, sum(score) AS total FROM events "
                      "GROUP BY user;\n")
got = {k: json.loads(cli("GET", k)) for k in keys(f"{p}agg:*")}
exp = {}
for r in rows:
    e = exp.setdefault(f"{p}agg:{r['user']}", {"user": r["user"], "n": 0, "total": 0})
    e["n"] += 1
    e["total"] += r["score"]
check("updating aggregate into string keys: the final value per key", rc == 0 and got == exp,
      f"{err}\n{got}")
changes = write("changes.json", "\n".join(json.dumps(e) for e in [
    {"before": None, "after": {"id": 1, "v": "a"}, "op": "c"},
    {"before": None, "after": {"id": 2, "v": "b"}, "op": "c"},
    {"before": {"id": 1, "v": "a"}, "after": {"id": 1, "v": "a2"}, "op": "u"},
    {"before": {"id": 2, "v": "b"}, "after": None, "op": "d"},
    {"before": None, "after": {"id": 3, "v": "c"}, "op": "c"},
]) + "\n")
rc, out, err, _ = run(source("ch", changes, "id BIGINT, v TEXT, PRIMARY KEY (id)",
                             fmt="debezium_json") +
                      sink("out", f"target.key_prefix = '{p}ch:', target.key_column = 'id'") +
                      "INSERT INTO out SELECT * FROM ch;\n")
got = {k: json.loads(cli("GET", k)) for k in keys(f"{p}ch:*")}
check("changelog into string keys: updates overwrite, deletes remove the key",
      rc == 0 and got == {f"{p}ch:1": {"id": 1, "v": "a2"}, f"{p}ch:3": {"id": 3, "v": "c"}},
      f"{err}\n{got}")
rc, out, err, _ = run(source("ch", changes, "id BIGINT, v TEXT, PRIMARY KEY (id)",
                             fmt="debezium_json") +
                      sink("out", f"target = 'list', target.key_prefix = '{p}x'") +
                      "INSERT INTO out SELECT * FROM ch;\n")
check("changelog into a list: refused (a list cannot take a row back)",
      rc != 0 and "updating results" in err, err)

# --- lookup join: JOIN users FOR SYSTEM_TIME AS OF o.ts AS u ON u.key = ... ---
users = {i: {"name": f"name{i}", "tier": ["gold", "silver", None][i % 3]} for i in range(0, 300)}
mset = ["MSET"]
for i, u in users.items():
    if i % 10 != 7:  # users 7, 17, 27, ... are absent from Redis
        mset += [f"{p}user:{i}", json.dumps(u)]
cli(*mset)
cli("SET", f"{p}user:bad", "not json")
orders = [{"order_id": j, "user_id": (j * 7) % 320, "ts": f"2024-01-01 00:00:{j % 60:02d}"}
          for j in range(2000)]
orders_path = write("orders.json", "\n".join(json.dumps(o) for o in orders) + "\n")
lookup_src = (source("orders", orders_path, "order_id BIGINT, user_id BIGINT, ts TIMESTAMP") +
              f"CREATE TEMPORARY TABLE users (k TEXT METADATA FROM 'key', name TEXT, tier TEXT) "
              f"WITH (connector = 'redis', address = '{address}', format = 'json'")


def expected_join(left):
    out = []
    for o in orders:
        uid = o["user_id"]
        hit = uid in users and uid % 10 != 7
        if not hit and not left:
            continue
        u = users[uid] if hit else {"name": None, "tier": None}
        out.append(json.dumps({"order_id": o["order_id"], "k": f"{p}user:{uid}" if hit else None,
                               "name": u["name"], "tier": u["tier"]}, sort_keys=True))
    return sorted(out)


for kind, cache in [("INNER", ""), ("LEFT", ", lookup.cache.ttl = '60s', "
                                              "lookup.cache.max_entries = '50'")]:
    join = "JOIN" if kind == "INNER" else "LEFT JOIN"
    for par in (1, 3):
        rc, out, err, _ = run(lookup_src + cache + ");\n" +
                              f"SELECT o.order_id, u.k, u.name, u.tier FROM orders o {join} users "
                              "FOR SYSTEM_TIME AS OF o.ts AS u ON u.k = "
                              f"'{p}user:' || CAST(o.user_id AS TEXT);\n",
                              args=["--parallelism", str(par), "--set", "batch_size=100"])
        got = sorted(json.dumps(json.loads(l), sort_keys=True) for l in out.splitlines() if l)
        check(f"lookup join {kind}{' with a cache of 50 keys' if cache else ''} at parallelism "
              f"{par}: the rows Redis holds", rc == 0 and got == expected_join(kind == "LEFT"),
              f"{err}\n{len(got)} rows vs {len(expected_join(kind == 'LEFT'))}; {got[:3]}")
rc, out, err, _ = run(lookup_src + ");\n" +
                      "SELECT o.order_id, u.name FROM orders o JOIN users FOR SYSTEM_TIME AS OF "
                      f"o.ts AS u ON u.k = '{p}user:' || CASE WHEN o.order_id = 5 THEN 'bad' "
                      "ELSE CAST(o.user_id AS TEXT) END;\n")
check("lookup join: a value that is not a row fails naming the key",
      rc != 0 and "user:bad" in err, err)
rc, out, err, _ = run(lookup_src + ");\nSELECT * FROM users;\n")
check("a redis lookup table read as a stream: a clear error", rc != 0 and "lookup" in err, err)
rc, out, err, _ = run(lookup_src.replace("k TEXT METADATA FROM 'key', ", "") + ");\n" +
                      "SELECT * FROM orders;\n")
check("a redis lookup table without its key column: a clear error",
      rc != 0 and "METADATA FROM 'key'" in err, err)

# --- kill -9 and restore: at-least-once, the string keys end as in an uninterrupted run ---
N = 30000
big = write("big.json", "\n".join(json.dumps({"id": i, "g": i % 1000, "v": i * 7})
                                  for i in range(N)) + "\n")
kill_sql = write("kill.sql", source("big", big, "id BIGINT, g BIGINT, v BIGINT") +
                 sink("out", f"target.key_prefix = '{p}k:', target.key_column = 'g'") +
                 "INSERT INTO out SELECT g, count(*) AS n, sum(v) AS total FROM big GROUP BY g;\n")
expected = {}
for i in range(N):
    e = expected.setdefault(f"{p}k:{i % 1000}", {"g": i % 1000, "n": 0, "total": 0})
    e["n"] += 1
    e["total"] += i * 7
state = os.path.join(work, "state")
kills = 0
for attempt in range(20):
    proc = subprocess.Popen([sluice, "run", kill_sql, "--set", "batch_size=500", "--state-dir",
                             state, "--checkpoint-interval", "100ms"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, SLUICE_FAULT="slow:redis sink:20000"))
    if kills < 4:
        time.sleep(0.3 + 0.3 * kills)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            continue
    proc.wait(timeout=300)
    break
err = proc.stderr.read()
got = {k: json.loads(cli("GET", k)) for k in keys(f"{p}k:*")}
check(f"kill -9 x{kills} and restore: every key holds the uninterrupted run's value",
      proc.returncode == 0 and got == expected,
      f"{err}\n{len(got)} keys; {sum(1 for k in got if got[k] != expected.get(k))} differ")

checks.finish()
