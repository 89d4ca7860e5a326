"""Crash tests of Kafka -> windowed / updating query -> Kafka with exactly_once, against a real
broker (tests/kafka/kafka_lib.py).

Per pipeline kind (a tumbling-window aggregate written as JSON, an updating aggregate written as
debezium_json), the pipeline is crashed CRASHES times (rounds of at most 5 crashes, each round
into a fresh output topic, until a run reaches the end), every attempt at a random parallelism of
1, 2 or 4 (so restores change the parallelism). Crashes, chosen at random:
  kill            kill -9 at a random moment
  rows            a fault point in the source's chain (the watermark generator) in the middle
                  of the input, after a checkpoint
  after_checkpoint  right after a checkpoint completes, before the sink commits it
  sink_commit     in the middle of the transaction: records sent, commit not requested
  sink_committed  the transaction committed in Kafka, before the sink returns from the commit
The committed output (read_committed) must equal the same query's result over the same rows
from a file: the windows exactly, the updating result as the final table its changelog
describes (a duplicated or lost change shows there).

Usage: crash_test.py path/to/sluice BROKER_DIR [CRASHES]   (CRASHES per kind, default 5;
`make test-kafka-crash` runs 20)"""

import json
import os
import signal
import subprocess
import sys

from kafka_lib import Suite, final_table, sorted_json_lines

CRASHES = int(sys.argv[3]) if len(sys.argv) > 3 else 5
del sys.argv[3:]
s = Suite("kafka_crash")

N = 20000
events = s.topic("events")
s.create_topics((events, 4))
rows = [{"id": i, "user": f"u{i % 11}", "amount": (i * 37) % 1000,
         "ts": "2024-01-01T%02d:%02d:%02d" % (i // 3600, i // 60 % 60, i % 60)} for i in range(N)]
for part in range(4):
    s.produce(events, [json.dumps(r) for r in rows if r["id"] % 4 == part], partition=part)
with open(os.path.join(s.work, "events.json"), "w") as f:
    for r in rows:
        f.write(json.dumps(r) + "\n")

# Event time increases in every partition: with per-partition watermarks no row is late at any
# parallelism, so the Kafka result must equal the file's.
cols = "id BIGINT, user TEXT, amount BIGINT, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND"
kafka_source = (f"CREATE TABLE events ({cols}) WITH (connector = 'kafka', "
                f"bootstrap_servers = '{s.bootstrap}', topic = '{events}', format = 'json', "
                "type = 'source', source.offset = 'earliest', source.bounded = 'latest');\n")
file_source = (f"CREATE TABLE events ({cols}) WITH (connector = 'single_file', "
               f"path = '{s.work}/events.json', format = 'json', type = 'source');\n")
kinds = {
    "windowed": ("json", sorted_json_lines,
                 "INSERT INTO out SELECT window_start, user, count(*) AS n, sum(amount) AS total "
                 "FROM TUMBLE(events, ts, INTERVAL '10' MINUTE) GROUP BY window_start, user;"),
    "updating": ("debezium_json", final_table,
                 "INSERT INTO out SELECT user, count(*) AS n, sum(amount) AS total, "
                 "max(amount) AS top FROM events GROUP BY user;"),
}

total_crashes = 0
for kind, (fmt, canon, query) in kinds.items():
    rc, _, err, _ = s.run(file_source + f"CREATE TABLE out WITH (connector = 'single_file', "
                          f"path = '{s.work}/{kind}.json', format = '{fmt}', type = 'sink');\n" +
                          query)
    expected = canon(open(f"{s.work}/{kind}.json").read())
    s.check(f"{kind}: the file run", rc == 0 and len(expected) > 10, f"exit {rc}: {err}")
    kind_crashes = 0
    round_ = -1
    # Rounds until CRASHES crashes (a round ends when a run reaches the end of the input). On a
    # fast, idle machine a run often reaches the end before its crash point, so a round may bring
    # none: allow up to four rounds per crash wanted.
    while kind_crashes < CRASHES and round_ < 4 * CRASHES:
        round_ += 1
        want = min(5, CRASHES - kind_crashes)
        topic = s.topic(f"{kind}_out{round_}")
        s.create_topics((topic, 2))
        sql = s.write(f"{kind}.sql", kafka_source +
                      f"CREATE TABLE out WITH (connector = 'kafka', bootstrap_servers = "
                      f"'{s.bootstrap}', topic = '{topic}', format = '{fmt}', type = 'sink', "
                      "sink.commit_mode = 'exactly_once');\n" + query)
        state = f"{s.work}/state_{kind}_{round_}"
        attempts = 0
        round_crashes = 0
        hows = []
        while True:
            attempts += 1
            p = s.random.choice([1, 2, 4])
            fault = "slow:watermark:150000"
            crash = round_crashes < want and attempts <= 4 * max(want, 1)
            how = s.random.choice(["kill", "rows", "after_checkpoint", "sink_commit",
                                   "sink_committed"]) if crash else "none"
            n = s.last_checkpoint(state) + s.random.randint(1, 3)
            if how in ("after_checkpoint", "sink_commit", "sink_committed"):
                fault += f",{how}:{n}"
            elif how == "rows":
                fault += f",rows_after_checkpoint:watermark:{s.random.randint(1, 4000)}"
            proc = subprocess.Popen(
                [s.sluice, "run", sql, "--parallelism", str(p), "--set", "batch_size=250",
                 "--state-dir", state, "--checkpoint-interval", "100ms"],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                env=dict(os.environ, SLUICE_FAULT=fault))
            try:
                proc.wait(timeout=s.random.uniform(0.3, 1.5) if how == "kill" else 180)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
            err = proc.stderr.read()
            if proc.returncode == -signal.SIGKILL:
                round_crashes += 1
                hows.append(f"{how}@p{p}")
                continue
            s.check(f"{kind} round {round_}: the attempt at parallelism {p} finishes ({how})",
                    proc.returncode == 0, f"exit {proc.returncode}: {err}")
            break
        kind_crashes += round_crashes
        got = canon("\n".join(v for _, _, _, v in s.consume(topic)))
        s.check(f"{kind} round {round_}: committed output after {round_crashes} crashes "
                f"({', '.join(hows)}) equals the file's result", got == expected,
                f"{len(got)} rows, expected {len(expected)}; missing "
                f"{len(set(expected) - set(got))}, unexpected {len(set(got) - set(expected))}")
        print(f"kafka_crash: {kind} round {round_}: {round_crashes} crashes in {attempts} runs "
              f"({', '.join(hows)})")
    print(f"kafka_crash: {kind}: {kind_crashes} crashes survived")
    s.check(f"{kind}: at least {CRASHES} crashes", kind_crashes >= CRASHES,
            f"only {kind_crashes}")
    total_crashes += kind_crashes
print(f"kafka_crash: {total_crashes} crashes survived")
s.end()
