"""Kafka source against a real broker (tests/kafka/kafka_lib.py): formats, metadata columns,
bounded reads, transactional topics, bad data, unknown topics and unreachable brokers, windowed
and updating queries compared with the same query over a file, and kill -9 / restore (also at
another parallelism) with exactly the uninterrupted output.

Usage: source_test.py path/to/sluice BROKER_DIR"""

import json
import os
import signal
import subprocess
import time

from kafka_lib import Suite, final_table, sorted_json_lines

s = Suite("kafka_source")


def table(name, topic, columns, extra="", fmt="json", bootstrap=None):
    cols = f"({columns}) " if columns else ""
    return (f"CREATE TABLE {name} {cols}WITH (connector = 'kafka', "
            f"bootstrap_servers = '{bootstrap or s.bootstrap}', topic = '{topic}', "
            f"format = '{fmt}', type = 'source', source.offset = 'earliest', "
            f"source.bounded = 'latest'{extra});\n")


orders = s.topic("orders")
lines = s.topic("lines")
events = s.topic("events")
bad = s.topic("bad")
txn = s.topic("txn")
big = s.topic("big")
empty = s.topic("empty")
s.create_topics((orders, 3), (lines, 1), (events, 2), (bad, 1), (txn, 2), (big, 4), (empty, 2))

# --- json with metadata columns, at parallelism 1, 2 and 4 (3 partitions: one subtask idle) ---
s.produce(orders, [("a", '{"id":1,"item":"pen"}'), ("b", '{"id":2,"item":"ink"}')], partition=0)
s.produce(orders, [("c", '{"id":3,"item":"cap"}')], partition=1)
s.produce(orders, [("d", '{"id":4,"item":null}'), ("e", '{"id":5}'),
                   ("f", '{"id":6,"item":"box","other":1}')], partition=2)
expected = sorted_json_lines("\n".join([
    '{"id":1,"item":"pen","p":0,"o":0,"k":"a","t":"%s"}' % orders,
    '{"id":2,"item":"ink","p":0,"o":1,"k":"b","t":"%s"}' % orders,
    '{"id":3,"item":"cap","p":1,"o":0,"k":"c","t":"%s"}' % orders,
    '{"id":4,"item":null,"p":2,"o":0,"k":"d","t":"%s"}' % orders,
    '{"id":5,"item":null,"p":2,"o":1,"k":"e","t":"%s"}' % orders,
    '{"id":6,"item":"box","p":2,"o":2,"k":"f","t":"%s"}' % orders,
]))
sql = table("orders", orders, "id BIGINT, item TEXT, p INT METADATA FROM 'partition', "
            "o BIGINT METADATA FROM 'offset_id', k TEXT METADATA FROM 'key', "
            "t TEXT METADATA FROM 'topic'") + "SELECT * FROM orders;\n"
for p in (1, 2, 4):
    rc, out, err, secs = s.run(sql, parallelism=p)
    s.check(f"json + metadata at parallelism {p}: exit 0", rc == 0, err)
    s.check(f"json + metadata at parallelism {p}: rows", sorted_json_lines(out) == expected,
            out)

# Only some columns read (the planner narrows the JSON decoding), the record timestamp.
sql = table("orders", orders, "id BIGINT, item TEXT, ts TIMESTAMP METADATA FROM 'timestamp'") + \
    "SELECT id FROM orders WHERE ts > TIMESTAMP '2020-01-01 00:00:00' AND id > 4;\n"
rc, out, err, _ = s.run(sql, parallelism=2)
s.check("narrowed read with the record timestamp", rc == 0 and
        sorted_json_lines(out) == sorted_json_lines('{"id":5}\n{"id":6}'), out + err)

# --- raw_string: the table's one column `value` ---
s.produce(lines, ["first line", "second, with comma", "{not json}"])
rc, out, err, _ = s.run(table("lines", lines, "", fmt="raw_string") + "SELECT value FROM lines;\n")
s.check("raw_string", rc == 0 and sorted_json_lines(out) == sorted_json_lines(
    '{"value":"first line"}\n{"value":"second, with comma"}\n{"value":"{not json}"}'), out + err)

# --- an empty topic and source.offset = 'latest' end at once with no rows ---
rc, out, err, secs = s.run(table("e", empty, "id BIGINT") + "SELECT * FROM e;\n", parallelism=2)
s.check("empty topic ends with no rows", rc == 0 and out == "" and secs < 20, out + err)
rc, out, err, secs = s.run(table("o", orders, "id BIGINT").replace("'earliest'", "'latest'") +
                           "SELECT * FROM o;\n")
s.check("source.offset = 'latest' reads nothing of the past", rc == 0 and out == "", out + err)

# --- windowed and updating queries over Kafka equal the same queries over a file ---
rows = []
for i in range(400):
    rows.append({"id": i, "user": f"u{i % 7}", "amount": (i * 37) % 101,
                 "ts": "2024-01-01T00:%02d:%02d" % (i // 60 % 60, i % 60)})
# Event time increases per partition; each partition holds every other row.
for part in (0, 1):
    s.produce(events, [json.dumps(r) for r in rows if r["id"] % 2 == part], partition=part)
with open(os.path.join(s.work, "events.json"), "w") as f:
    for r in rows:
        f.write(json.dumps(r) + "\n")
# Watermarks are per partition: however the reader interleaves the two partitions, no row is
# late with a delay of one second (with one watermark per subtask, a subtask that read one
# partition ahead of the other would drop the other's rows as late).
cols = "id BIGINT, user TEXT, amount BIGINT, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND"
file_table = (f"CREATE TABLE events ({cols}) WITH (connector = 'single_file', "
              f"path = '{s.work}/events.json', format = 'json', type = 'source');\n")
queries = {
    "tumble": "SELECT window_start, user, count(*) AS n, sum(amount) AS total FROM "
              "TUMBLE(events, ts, INTERVAL '1' MINUTE) GROUP BY window_start, user;",
    "updating": "SELECT user, count(*) AS n, max(amount) AS top FROM events GROUP BY user;",
    "filter": "SELECT id, upper(user) AS u FROM events WHERE amount > 50;",
}
for name, q in queries.items():
    canon = final_table if name == "updating" else sorted_json_lines
    rc_f, out_f, err_f, _ = s.run(file_table + q)
    s.check(f"{name} over the file runs", rc_f == 0 and out_f != "", err_f)
    for p in (1, 4):
        rc, out, err, _ = s.run(table("events", events, cols) + q, parallelism=p)
        s.check(f"{name} over Kafka at parallelism {p} equals the file's result",
                rc == 0 and canon(out) == canon(out_f), err + out[:2000])

# --- bad data: fail names the partition and offset; drop skips and counts ---
s.produce(bad, ['{"id":1}', '{"id":oops}', '{"id":"three"}', '{"id":4}'])
rc, out, err, _ = s.run(table("b", bad, "id BIGINT") + "SELECT * FROM b;\n")
s.check("bad_data = fail stops naming the record", rc != 0 and
        f"table 'b': bad data at partition 0 offset 1" in err, err)
rc, out, err, _ = s.run(table("b", bad, "id BIGINT", extra=", bad_data = 'drop'") +
                        "SELECT * FROM b;\n")
s.check("bad_data = drop keeps the good rows", rc == 0 and
        sorted_json_lines(out) == sorted_json_lines('{"id":1}\n{"id":4}'), out + err)
s.check("bad_data = drop counts the dropped rows", "2 bad rows dropped" in err, err)

# --- an unknown topic, an unreachable broker: a clear error within a bounded time ---
rc, out, err, secs = s.run(table("u", s.topic("no_such_topic"), "id BIGINT") + "SELECT * FROM u;\n")
s.check("unknown topic: clear error", rc != 0 and "does not exist" in err and secs < 15, err)
rc, out, err, secs = s.run(table("u", orders, "id BIGINT", bootstrap="127.0.0.1:1") +
                           "SELECT * FROM u;\n", timeout=60)
s.check("unreachable broker: clear error within 15 s", rc != 0 and "no answer from the Kafka "
        "brokers '127.0.0.1:1'" in err and secs < 15, f"{secs:.1f}s: {err}")

# --- a transactional topic ends with commit markers: a bounded read_committed read ends ---
s.produce(txn, ['{"id":1}', '{"id":2}'], partition=0, transactional_id=s.topic("t0"))
s.produce(txn, ['{"id":3}'], partition=1, transactional_id=s.topic("t1"))
s.produce(txn, ['{"id":4}'], partition=0, transactional_id=s.topic("t0"))
for mode in ("read_committed", "read_uncommitted"):
    rc, out, err, secs = s.run(table("t", txn, "id BIGINT, o BIGINT METADATA FROM 'offset_id'",
                                     extra=f", source.read_mode = '{mode}'") +
                               "SELECT * FROM t;\n", parallelism=2, timeout=60)
    s.check(f"transactional topic, {mode}: ends with every committed row", rc == 0 and
            sorted_json_lines(out) == sorted_json_lines(
                '{"id":1,"o":0}\n{"id":2,"o":1}\n{"id":4,"o":3}\n{"id":3,"o":0}') and secs < 20,
            f"{secs:.1f}s {out} {err}")

# --- debezium_json change events from a topic: an updating source ---
cdc = s.topic("cdc")
s.create_topics((cdc, 1))
s.produce(cdc, [
    '{"before":null,"after":{"id":1,"qty":5},"op":"c"}',
    '{"before":null,"after":{"id":2,"qty":7},"op":"c"}',
    '{"before":{"id":1,"qty":5},"after":{"id":1,"qty":9},"op":"u"}',
    '{"before":{"id":2,"qty":7},"after":null,"op":"d"}'])
rc, out, err, _ = s.run(table("p", cdc, "id BIGINT, qty INT, PRIMARY KEY (id)",
                              fmt="debezium_json") +
                        "SELECT count(*) AS n, sum(qty) AS total FROM p;\n", parallelism=2)
s.check("debezium_json source: the final table of the changes", rc == 0 and
        final_table(out) == ['{"n": 1, "total": 9}'], out + err)
# An update is two rows (old, new): both carry the metadata of the change's record (as Flink).
rc, out, err, _ = s.run(table("p", cdc, "id BIGINT, qty INT, o BIGINT METADATA FROM 'offset_id', "
                              "PRIMARY KEY (id)", fmt="debezium_json") +
                        "SELECT id, qty, o FROM p;\n")
events = sorted(json.dumps(json.loads(l), sort_keys=True) for l in out.splitlines())
want = sorted(json.dumps(e, sort_keys=True) for e in [
    {"before": None, "after": {"id": 1, "qty": 5, "o": 0}, "op": "c"},
    {"before": None, "after": {"id": 2, "qty": 7, "o": 1}, "op": "c"},
    {"before": {"id": 1, "qty": 5, "o": 2}, "after": {"id": 1, "qty": 9, "o": 2}, "op": "u"},
    {"before": {"id": 2, "qty": 7, "o": 3}, "after": None, "op": "d"}])
s.check("debezium_json source: metadata of every row of a change", rc == 0 and events == want,
        out + err)

# --- source.offset = 'group': a fresh start resumes where the group's committed offsets are
# (committed once a checkpoint completes); 'timestamp' starts at the first record at or after it ---
group_sql = table("o", orders, "id BIGINT", extra=", source.group_id = '%s'" % s.topic("g"))
rc, out, err, _ = s.run(group_sql.replace("'earliest'", "'group'") + "SELECT * FROM o;\n",
                        parallelism=2, args=["--state-dir", f"{s.work}/group_state"])
s.check("group offsets: a first run with no committed offsets reads from the earliest",
        rc == 0 and len(out.splitlines()) == 6, out + err)
s.produce(orders, ['{"id":7}'], partition=1)
rc, out, err, _ = s.run(group_sql.replace("'earliest'", "'group'") + "SELECT * FROM o;\n")
s.check("group offsets: a fresh start (no checkpoint) reads only what came after them",
        rc == 0 and sorted_json_lines(out) == sorted_json_lines('{"id":7}'), out + err)
rc, out, err, _ = s.run(table("o", orders, "id BIGINT", extra=", source.start_timestamp_millis = "
                              "'%d'" % int((time.time() + 3600) * 1000)).replace(
                                  "'earliest'", "'timestamp'") + "SELECT * FROM o;\n")
s.check("source.offset = 'timestamp' after every record reads nothing", rc == 0 and out == "",
        out + err)
rc, out, err, _ = s.run(table("o", orders, "id BIGINT", extra=", source.start_timestamp_millis = "
                              "'0'").replace("'earliest'", "'timestamp'") + "SELECT * FROM o;\n")
s.check("source.offset = 'timestamp' before every record reads all", rc == 0 and
        len(out.splitlines()) == 7, out + err)

# A checkpoint that never completes (the process dies after its files, before its metadata)
# commits no offsets to the group: a fresh 'group' start still reads every record. (An
# asynchronous commit sent at the snapshot, the earlier behaviour, usually did not reach the
# broker before the crash either, so this guards the rule rather than telling the two apart.)
uncommitted_sql = table("o", orders, "id BIGINT", extra=", source.group_id = '%s'" %
                        s.topic("g_uncommitted")).replace("'earliest'", "'group'") + \
    "SELECT * FROM o;\n"
rc, out, err, _ = s.run(uncommitted_sql, args=["--state-dir", f"{s.work}/uncommitted_state"],
                        env={"SLUICE_FAULT": "before_metadata:1"})
s.check("group offsets: the run dies before its first checkpoint completes", rc == -9, err)
rc, out, err, _ = s.run(uncommitted_sql)
s.check("group offsets: nothing committed by a checkpoint that did not complete",
        rc == 0 and len(out.splitlines()) == 7, out + err)

# --- an unbounded read picks up partitions added while it runs, from their earliest offset ---
grow = s.topic("grow")
s.create_topics((grow, 1))
s.produce(grow, ['{"id":1}'], partition=0)
grow_sql = s.write("grow.sql", table("g", grow, "id BIGINT, p INT METADATA FROM 'partition'")
                   .replace("source.bounded = 'latest'", "source.bounded = 'unbounded'") +
                   f"CREATE TABLE out WITH (connector = 'single_file', path = '{s.work}/grow.json', "
                   "format = 'json', type = 'sink');\nINSERT INTO out SELECT * FROM g;\n")
proc = subprocess.Popen([s.sluice, "run", grow_sql, "--parallelism", "2"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
time.sleep(1)
subprocess.run([os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "scripts", "kafka-test-broker"), "add-partitions",
    s.broker_dir, grow, "3"], check=True)
s.produce(grow, ['{"id":2}'], partition=1)
s.produce(grow, ['{"id":3}'], partition=2)
s.produce(grow, ['{"id":4}'], partition=0)
time.sleep(8)  # discovery every 5 s
proc.send_signal(signal.SIGINT)
proc.wait(timeout=30)
got = open(f"{s.work}/grow.json").read() if os.path.exists(f"{s.work}/grow.json") else ""
s.check("partitions added while the pipeline runs are read", proc.returncode == 0 and
        sorted_json_lines(got) == sorted_json_lines(
            '{"id":1,"p":0}\n{"id":2,"p":1}\n{"id":3,"p":2}\n{"id":4,"p":0}'),
        got + proc.stderr.read())

# --- kill -9 and restore, also at another parallelism: exactly the uninterrupted output ---
N = 40000
for part in range(4):
    s.produce(big, [json.dumps({"id": i, "name": f"n{i % 13}", "amount": (i * 37) % 1000})
                    for i in range(part, N, 4)], partition=part)
kill_sql = (table("src", big, "id BIGINT, name TEXT, amount BIGINT, p INT METADATA FROM "
                  "'partition'") +
            f"CREATE TABLE out WITH (connector = 'single_file', path = '{s.work}/out.json', "
            "format = 'json', type = 'sink');\n"
            "INSERT INTO out SELECT id, upper(name) AS name, amount, p FROM src WHERE amount > 100;\n")
rc, out, err, _ = s.run(kill_sql)
expected = sorted(open(f"{s.work}/out.json").read().splitlines())
s.check("uninterrupted run", rc == 0 and len(expected) == sum(
    1 for i in range(N) if (i * 37) % 1000 > 100), err)
sql_path = s.write("kill.sql", kill_sql)
state = f"{s.work}/state"
kills = 0
for round_ in range(4):
    subprocess.run(["rm", "-rf", state, f"{s.work}/out.json"])
    attempts = 0
    round_kills = 0
    while True:
        attempts += 1
        p = s.random.choice([1, 2, 4])
        # 7 crashes per round (at most 30 attempts): kill -9 at a random time, or a fault point
        # right after a checkpoint completes or in the middle of the rows after one.
        crash = round_kills < 7 and attempts <= 30
        fault = "slow:watermark:120000"
        how = s.random.choice(["kill", "after_checkpoint", "rows"]) if crash else "none"
        if how == "after_checkpoint":
            fault += f",after_checkpoint:{s.last_checkpoint(state) + s.random.randint(1, 3)}"
        elif how == "rows":
            fault += f",rows_after_checkpoint:watermark:{s.random.randint(1, 8000)}"
        proc = subprocess.Popen([s.sluice, "run", sql_path, "--parallelism", str(p),
                                 "--set", "batch_size=500", "--state-dir", state,
                                 "--checkpoint-interval", "100ms"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                env=dict(os.environ, SLUICE_FAULT=fault))
        try:
            proc.wait(timeout=s.random.uniform(0.2, 0.5) if how == "kill" else 120)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        err = proc.stderr.read()
        if proc.returncode == -signal.SIGKILL:
            kills += 1
            round_kills += 1
            continue
        s.check(f"round {round_}: the attempt finishes ({how})", proc.returncode == 0, err)
        break
    print(f"kafka_source: round {round_}: {round_kills} crashes in "
          f"{attempts} runs")
    got = sorted(open(f"{s.work}/out.json").read().splitlines())
    s.check(f"round {round_}: output after {attempts - 1} attempts equals the uninterrupted run",
            got == expected, f"{len(got)} lines, expected {len(expected)}")
print(f"kafka_source: {kills} crashes survived")
s.end()
