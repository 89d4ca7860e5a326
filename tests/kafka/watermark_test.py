"""Per-partition watermarks of the Kafka source against a real broker (tests/kafka/kafka_lib.py).

A source subtask's watermark is the minimum over the partitions it reads; a partition with no
record for `idle_micros` stops holding it back. The test runs an unbounded pipeline (tumbling
one-minute windows, output on stdout as windows close) over a 3-partition topic at parallelism 1:
  - partition 0 races ahead (minutes 0-4 at once, then a record of minute 5 every 0.3 s),
  - partition 1 is slow: it keeps receiving records of minute 0 for a while, then stops,
  - partition 2 never receives a record.
While partition 1 keeps sending, no window may close (a watermark per subtask would close
minutes 0-4 at once and drop partition 1's later records as late). Once partition 1 stops, both
it and the empty partition 2 go idle and the watermark follows partition 0: minutes 0-4 close
with every record of partition 1 counted (without idleness, partition 2 would hold it forever).

Usage: watermark_test.py path/to/sluice BROKER_DIR"""

import json
import os
import signal
import subprocess
import threading
import time

from kafka_lib import Suite

s = Suite("kafka_watermark")

topic = s.topic("wm")
s.create_topics((topic, 3))
IDLE_MICROS = 1_500_000

sql = s.write("wm.sql", f"""
CREATE TABLE ev (id BIGINT, ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH (connector = 'kafka', bootstrap_servers = '{s.bootstrap}', topic = '{topic}',
      format = 'json', type = 'source', source.offset = 'earliest',
      idle_micros = '{IDLE_MICROS}');
SELECT window_start, count(*) AS n FROM TUMBLE(ev, ts, INTERVAL '1' MINUTE) GROUP BY window_start;
""")


def minute(m, sec=0):
    return "2024-01-01T00:%02d:%02d" % (m, sec)


# Partition 0: 10 records per minute, minutes 0..4, then (below) records of minute 5, which
# stays open.
fast = [json.dumps({"id": i, "ts": minute(i // 10, i % 10)}) for i in range(50)]
s.produce(topic, fast, partition=0)

out_path = os.path.join(s.work, "wm.out")
out = open(out_path, "w")
proc = subprocess.Popen([s.sluice, "run", sql, "--parallelism", "1"], stdout=out,
                        stderr=subprocess.PIPE, text=True)

# Partition 1: a record of minute 0 (second 30 + k) every 0.3 s, well within idle_micros.
slow_sent = []
stop_slow = threading.Event()


def slow_producer():
    k = 0
    while not stop_slow.is_set() and k < 25:
        s.produce(topic, [json.dumps({"id": 1000 + k, "ts": minute(0, 30 + k)})], partition=1)
        slow_sent.append(k)
        k += 1
        time.sleep(0.3)


stop_fast = threading.Event()


def fast_producer():
    k = 0
    while not stop_fast.is_set():
        s.produce(topic, [json.dumps({"id": 2000 + k, "ts": minute(5, k % 50)})], partition=0)
        k += 1
        time.sleep(0.3)


t = threading.Thread(target=slow_producer)
t.start()
t_fast = threading.Thread(target=fast_producer)
t_fast.start()
time.sleep(5)  # partition 2 has been idle for more than idle_micros by now
held = open(out_path).read()
stop_slow.set()
t.join()
s.check("a slow partition holds the watermark back (no window closed while it sends), "
        "while the empty partition goes idle", held == "" and proc.poll() is None,
        f"output while partition 1 was sending: {held!r}")

# Partition 1 stops: after idle_micros it drops out too and minutes 0-4 close (partition 0
# keeps sending, so it stays active).
deadline = time.time() + 15
got = []
while time.time() < deadline:
    got = [json.loads(l) for l in open(out_path).read().splitlines() if l]
    if len(got) >= 5:
        break
    time.sleep(0.2)
closed_after = time.time() - (deadline - 15)
stop_fast.set()
t_fast.join()
proc.send_signal(signal.SIGINT)
try:
    proc.wait(timeout=30)
except subprocess.TimeoutExpired:
    proc.kill()
    proc.wait()
err = proc.stderr.read()
out.close()
want = {"2024-01-01 00:00:00": 10 + len(slow_sent)}
for m in range(1, 5):
    want["2024-01-01 00:%02d:00" % m] = 10
have = {r["window_start"].replace("T", " "): r["n"] for r in got}
s.check("once every slow partition is idle, the watermark follows the others: minutes 0-4 "
        "close with every record of the slow partition on time (none late)",
        have == want and "late" not in err, f"got {got}, want {want}; stderr: {err}")
s.check("the idle partitions released the watermark within idle_micros + 3 s",
        closed_after < IDLE_MICROS / 1e6 + 3, f"{closed_after:.1f} s")
print(f"kafka_watermark: {len(slow_sent)} slow records; windows closed {closed_after:.1f} s "
      "after the slow partition stopped")
s.end()
