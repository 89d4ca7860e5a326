"""Kafka sink against a real broker (tests/kafka/kafka_lib.py): windowed and updating results
written to topics and read back with a read_committed consumer equal the same query's result
over a file; keys and timestamps from columns; exactly_once under kill -9 and fault points
(right after a checkpoint completes and before its commit, in the middle of the commit, in the
middle of the input), restored at other parallelisms, gives exactly the uninterrupted output;
at_least_once loses nothing; bad configurations fail clearly.

Usage: sink_test.py path/to/sluice BROKER_DIR"""

import json
import os
import signal
import subprocess

from kafka_lib import Suite, final_table, sorted_json_lines

s = Suite("kafka_sink")

events = s.topic("events")
N = 20000
rows = [{"id": i, "user": f"u{i % 11}", "amount": (i * 37) % 1000,
         "ts": "2024-01-01T%02d:%02d:%02d" % (i // 3600, i // 60 % 60, i % 60)} for i in range(N)]
topics = [(events, 4)]
outs = {name: s.topic(name) for name in ["tumble", "updating", "keyed", "big", "alo"]}
topics += [(t, 3) for t in outs.values()]
crash_topics = [s.topic(f"crash{r}") for r in range(3)]
topics += [(t, 2) for t in crash_topics]
s.create_topics(*topics)
for part in range(4):
    s.produce(events, [json.dumps(r) for r in rows if r["id"] % 4 == part], partition=part)
with open(os.path.join(s.work, "events.json"), "w") as f:
    for r in rows:
        f.write(json.dumps(r) + "\n")

cols = ("id BIGINT, user TEXT, amount BIGINT, ts TIMESTAMP, "
        "WATERMARK FOR ts AS ts - INTERVAL '1' DAY")
kafka_source = (f"CREATE TABLE events ({cols}) WITH (connector = 'kafka', "
                f"bootstrap_servers = '{s.bootstrap}', topic = '{events}', format = 'json', "
                "type = 'source', source.offset = 'earliest', source.bounded = 'latest');\n")
file_source = (f"CREATE TABLE events ({cols}) WITH (connector = 'single_file', "
               f"path = '{s.work}/events.json', format = 'json', type = 'source');\n")


def kafka_sink(topic, fmt="json", extra=""):
    return (f"CREATE TABLE out WITH (connector = 'kafka', bootstrap_servers = '{s.bootstrap}', "
            f"topic = '{topic}', format = '{fmt}', type = 'sink'{extra});\n")


def file_sink(fmt="json"):
    return (f"CREATE TABLE out WITH (connector = 'single_file', path = '{s.work}/out.json', "
            f"format = '{fmt}', type = 'sink');\n")


def values(topic):
    return "\n".join(v for _, _, _, v in s.consume(topic))


# --- end to end: Kafka -> query -> Kafka equals file -> query -> file ---
cases = [
    ("tumble", "json", sorted_json_lines,
     "INSERT INTO out SELECT window_start, user, count(*) AS n, sum(amount) AS total FROM "
     "TUMBLE(events, ts, INTERVAL '10' MINUTE) GROUP BY window_start, user;"),
    ("updating", "debezium_json", final_table,
     "INSERT INTO out SELECT user, count(*) AS n, max(amount) AS top FROM events GROUP BY user;"),
]
for name, fmt, canon, q in cases:
    rc, _, err, _ = s.run(file_source + file_sink(fmt) + q)
    expected = canon(open(f"{s.work}/out.json").read())
    s.check(f"{name}: the file run", rc == 0 and expected, err)
    mode = "exactly_once" if name == "updating" else "at_least_once"
    rc, _, err, _ = s.run(kafka_source + kafka_sink(outs[name], fmt,
                                                     f", sink.commit_mode = '{mode}'") + q,
                          parallelism=4, args=["--state-dir", f"{s.work}/state_{name}",
                                               "--checkpoint-interval", "200ms"])
    got = canon(values(outs[name]))
    s.check(f"{name}: Kafka to Kafka ({mode}, parallelism 4) equals the file's result",
            rc == 0 and got == expected, err + f"\n{len(got)} rows, expected {len(expected)}")

# --- keys and timestamps from columns ---
rc, _, err, _ = s.run(kafka_source + kafka_sink(outs["keyed"], extra=", sink.key_field = 'user', "
                                                "sink.timestamp_field = 'ts'") +
                      "INSERT INTO out SELECT user, id, ts FROM events WHERE id < 3;")
got = subprocess.run(["kcat", "-b", s.bootstrap, "-C", "-t", outs["keyed"], "-o", "beginning",
                      "-e", "-q", "-f", "%k %T %s\n"], text=True, capture_output=True).stdout
want = sorted([
    'u0 1704067200000 {"user":"u0","id":0,"ts":"2024-01-01T00:00:00"}',
    'u1 1704067201000 {"user":"u1","id":1,"ts":"2024-01-01T00:00:01"}',
    'u2 1704067202000 {"user":"u2","id":2,"ts":"2024-01-01T00:00:02"}'])
s.check("sink.key_field and sink.timestamp_field", rc == 0 and sorted(got.splitlines()) == want,
        err + got)

# --- errors: a record larger than the producer's limit, an unknown topic ---
rc, _, err, secs = s.run(kafka_source + kafka_sink(outs["big"], extra=", client_configs = "
                                                   "'message.max.bytes=1000'") +
                         "INSERT INTO out SELECT repeat(user, 400) AS u FROM events;")
s.check("a record larger than the producer's limit: clear error", rc != 0 and
        "larger than the producer's limit" in err and secs < 30, err)
rc, _, err, secs = s.run(kafka_source + kafka_sink(s.topic("no_such_topic")) +
                         "INSERT INTO out SELECT id FROM events;")
s.check("sink to an unknown topic: clear error", rc != 0 and "does not exist" in err, err)
rc, _, err, _ = s.run(kafka_source + kafka_sink(outs["big"], extra=", sink.key_field = 'nope'") +
                      "INSERT INTO out SELECT id FROM events;")
s.check("sink.key_field naming no column: clear error", rc != 0 and "'nope'" in err, err)

# --- crashes: exactly_once gives exactly the uninterrupted output ---
crash_q = ("INSERT INTO out SELECT id, upper(user) AS user, amount FROM events "
           "WHERE amount > 100;")
rc, _, err, _ = s.run(file_source + file_sink() + crash_q)
expected = sorted_json_lines(open(f"{s.work}/out.json").read())
s.check("crash query: the file run", rc == 0 and len(expected) > 1000, err)


def crash_rounds(mode, topics_, check_exact):
    crashes = 0
    for round_, topic in enumerate(topics_):
        sql = s.write(f"crash_{mode}.sql", kafka_source + kafka_sink(
            topic, extra=f", sink.commit_mode = '{mode}'") + crash_q)
        state = f"{s.work}/state_crash_{mode}_{round_}"
        attempts = 0
        round_crashes = 0
        while True:
            attempts += 1
            p = s.random.choice([1, 2, 4])
            fault = "slow:watermark:100000"
            # 7 crashes per round (at most 30 attempts), then a run to the end.
            # (at_least_once has no commit step: no sink_commit point)
            kinds = ["kill", "after_checkpoint", "rows"] + (
                ["sink_commit"] if mode == "exactly_once" else [])
            how = s.random.choice(kinds) \
                if round_crashes < 7 and attempts <= 30 else "none"
            if how == "after_checkpoint":
                fault += f",after_checkpoint:{s.last_checkpoint(state) + s.random.randint(1, 3)}"
            elif how == "sink_commit":
                fault += f",sink_commit:{s.last_checkpoint(state) + s.random.randint(1, 3)}"
            elif how == "rows":
                fault += f",rows_after_checkpoint:watermark:{s.random.randint(1, 4000)}"
            proc = subprocess.Popen(
                [s.sluice, "run", sql, "--parallelism", str(p), "--set", "batch_size=250",
                 "--state-dir", state, "--checkpoint-interval", "100ms"],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                env=dict(os.environ, SLUICE_FAULT=fault))
            try:
                proc.wait(timeout=s.random.uniform(0.2, 0.7) if how == "kill" else 120)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
            err = proc.stderr.read()
            if proc.returncode == -signal.SIGKILL:
                crashes += 1
                round_crashes += 1
                continue
            s.check(f"{mode} round {round_}: the attempt finishes ({how})",
                    proc.returncode == 0, err)
            break
        print(f"kafka_sink: {mode} round {round_}: {round_crashes} crashes in "
              f"{attempts} runs")
        got = sorted_json_lines(values(topic))
        if check_exact:
            s.check(f"{mode} round {round_}: committed output after {attempts - 1} attempts "
                    "equals the uninterrupted run", got == expected,
                    f"{len(got)} records, expected {len(expected)}; missing "
                    f"{len(set(expected) - set(got))}, duplicates {len(got) - len(set(got))}")
        else:
            s.check(f"{mode} round {round_}: nothing lost", set(got) == set(expected),
                    f"missing {len(set(expected) - set(got))}")
    return crashes


crashes = crash_rounds("exactly_once", crash_topics, True)
print(f"kafka_sink: exactly_once: {crashes} crashes survived")
crashes = crash_rounds("at_least_once", [outs["alo"]], False)
print(f"kafka_sink: at_least_once: {crashes} crashes survived")
s.end()
