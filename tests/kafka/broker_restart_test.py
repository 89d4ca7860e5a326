"""The broker killed (kill -9) and restarted while a Kafka-to-Kafka exactly_once pipeline runs:
the pipeline either keeps going (librdkafka retries) or fails with a clear error, and a restart
from its checkpoint then gives exactly the uninterrupted output. Restarts the shared test broker,
so ctest runs it after the other Kafka tests.

Usage: broker_restart_test.py path/to/sluice BROKER_DIR"""

import json
import os
import subprocess
import time

from kafka_lib import BROKER_SCRIPT, Suite, sorted_json_lines

s = Suite("kafka_broker_restart")
src, out = s.topic("restart_in"), s.topic("restart_out")
s.create_topics((src, 2), (out, 2))
N = 20000
s.produce(src, [json.dumps({"id": i, "v": i % 97}) for i in range(N)])
expected = sorted_json_lines("\n".join(json.dumps({"id": i, "v": i % 97}, separators=(",", ":"))
                                       for i in range(N) if i % 97 > 10))
sql = s.write("q.sql", f"""
CREATE TABLE src (id BIGINT, v BIGINT) WITH (connector = 'kafka', bootstrap_servers =
  '{s.bootstrap}', topic = '{src}', format = 'json', type = 'source', source.offset = 'earliest',
  source.bounded = 'latest');
CREATE TABLE out WITH (connector = 'kafka', bootstrap_servers = '{s.bootstrap}', topic = '{out}',
  format = 'json', type = 'sink', sink.commit_mode = 'exactly_once');
INSERT INTO out SELECT id, v FROM src WHERE v > 10;
""")
state = f"{s.work}/state"


def start_pipeline():
    return subprocess.Popen([s.sluice, "run", sql, "--parallelism", "2", "--set",
                             "batch_size=250", "--state-dir", state, "--checkpoint-interval",
                             "200ms"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, env=dict(os.environ, SLUICE_FAULT="slow:watermark:60000"))


proc = start_pipeline()
time.sleep(1.5)
subprocess.run([BROKER_SCRIPT, "stop", s.broker_dir], check=True)
time.sleep(2)
subprocess.run([BROKER_SCRIPT, "start", s.broker_dir, "--owner", str(os.getppid())], check=True,
               stdout=subprocess.DEVNULL)
runs = 1
while True:
    try:
        proc.wait(timeout=180)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        s.check("the pipeline ends within 180 s of the broker's restart", False)
        break
    err = proc.stderr.read()
    if proc.returncode == 0:
        break
    # A failure must say what failed; the restart from the checkpoint then finishes the job.
    s.check("a failure while the broker was away names Kafka", "Kafka" in err or "kafka" in err
            or "broker" in err, err)
    print(f"kafka_broker_restart: run {runs} failed ({err.strip().splitlines()[-1][:200]}); "
          "restarting from the checkpoint")
    if runs == 3:
        s.check("the pipeline finishes within 3 restarts", False, err)
        break
    runs += 1
    proc = start_pipeline()
got = sorted_json_lines("\n".join(v for _, _, _, v in s.consume(out)))
s.check(f"output after the broker's restart ({runs} runs) equals the uninterrupted run",
        got == expected, f"{len(got)} records, expected {len(expected)}; missing "
        f"{len(set(expected) - set(got))}, duplicates {len(got) - len(set(got))}")
s.end()
