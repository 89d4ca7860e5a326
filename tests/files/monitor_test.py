#!/usr/bin/env python3
"""A filesystem source that monitors its path (source.monitor_interval) and a filesystem sink
that rolls files by inactivity on a timer (tests/files/README.md).

1. Without checkpoints: a pipeline over an empty directory runs; files that appear in it (each
   written under a hidden name and renamed, as a writer should) are read while it runs, and the
   sink's file becomes visible once no row arrived for rolling_policy.inactivity_interval —
   while the pipeline keeps running and no more rows come. Each file's rows arrive once.
2. With checkpoints (exactly-once sink): the pipeline reads two files and is killed (SIGKILL);
   a third file appears; the restored run reads only the new file: the visible rows are every
   input row exactly once (the oracle is the rows the test wrote).
3. The inactivity roll on the timer alone: as 1, but the rows carry an event time (WATERMARK
   FOR a column all rows hold the same value), so after the rows no watermark reaches the sink
   (the generator emits one only when it advances): nothing but the sink's timer can roll the
   file. (In 1 the rows are in processing time and the watermark follows the wall clock every
   100 ms, which checks the inactivity too.)

Conditions are polled with generous deadlines (no fixed sleeps), so the test holds under the
sanitizer build.

Usage: monitor_test.py SLUICE
"""
import glob
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import testlib  # noqa: E402

SLUICE = sys.argv[1]
work = tempfile.mkdtemp(prefix="sluice-files-monitor-")
checks = testlib.Checks("files_monitor", work=work, quiet=True)
check = checks.check
procs = []


def put(directory, name, ids):
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f".{name}.tmp")
    with open(tmp, "w") as f:
        for i in ids:
            f.write(json.dumps({"id": i, "v": f"row {i}", "ts": "2024-01-01 00:00:00"}) + "\n")
    os.rename(tmp, os.path.join(directory, name))


def visible(out):
    ids = []
    for path in glob.glob(f"{out}/**/*.json", recursive=True):
        if os.path.basename(path).startswith("."):
            continue
        for line in open(path):
            ids.append(json.loads(line)["id"])
    return sorted(ids)


def wait_for(what, cond, deadline=90):
    end = time.time() + deadline
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.1)
    print(f"timed out waiting for {what}")
    return False


def start(sql, extra=()):
    path = f"{work}/q-{len(procs)}.sql"
    with open(path, "w") as f:
        f.write(sql)
    p = subprocess.Popen([SLUICE, "run", path, "--parallelism", "2", *extra],
                         stdout=subprocess.DEVNULL, stderr=open(f"{work}/log.txt", "a"))
    procs.append(p)
    return p


def query(inp, out, roll, event_time=False):
    columns = ("id BIGINT, v TEXT, ts TIMESTAMP, WATERMARK FOR ts AS ts" if event_time
               else "id BIGINT, v TEXT")
    return f"""
CREATE TABLE src ({columns}) WITH (connector = 'filesystem', path = '{inp}',
  format = 'json', type = 'source', 'source.monitor_interval' = '200ms');
CREATE TABLE out WITH (connector = 'filesystem', path = '{out}', format = 'json', type = 'sink'
  {roll});
INSERT INTO out SELECT id, v FROM src;
"""


try:
    # 1. Monitoring and rolling by inactivity, no checkpoints.
    inp, out = f"{work}/in1", f"{work}/out1"
    os.makedirs(inp)
    p = start(query(inp, out, ", 'rolling_policy.inactivity_interval' = '1 second'"))
    time.sleep(0.5)  # the first listing finds nothing (not a condition the test asserts on)
    put(inp, "a.json", range(0, 100))
    check("a file that appears is read and its rows become visible without more input",
          wait_for("100 rows", lambda: len(visible(out)) >= 100), str(len(visible(out))))
    check("the pipeline still runs", p.poll() is None, f"rc {p.poll()}")
    put(inp, "b.json", range(100, 150))
    check("a second file is read",
          wait_for("150 rows", lambda: len(visible(out)) >= 150), str(len(visible(out))))
    check("each row once", visible(out) == list(range(150)), str(visible(out)[:20]))
    check("still running", p.poll() is None)
    p.send_signal(signal.SIGINT)
    p.wait(timeout=60)

    # 2. Checkpoints: kill, a new file, restore.
    inp, out, state = f"{work}/in2", f"{work}/out2", f"{work}/state"
    put(inp, "a.json", range(0, 300))
    put(inp, "b.json", range(300, 500))
    args = ("--state-dir", state, "--checkpoint-interval", "200ms")
    # Files stay open across checkpoints until a rolling policy closes them.
    sql = query(inp, out, ", 'rolling_policy.inactivity_interval' = '500ms'")
    p = start(sql, args)
    check("with checkpoints: both files' rows committed",
          wait_for("500 rows", lambda: len(visible(out)) >= 500), str(len(visible(out))))
    p.send_signal(signal.SIGKILL)
    p.wait()
    put(inp, "c.json", range(500, 530))
    p = start(sql, args)
    check("after a restore: the new file's rows committed",
          wait_for("530 rows", lambda: len(visible(out)) >= 530), str(len(visible(out))))
    # Give a re-read of a.json or b.json (the bug this guards against) time to show up: two
    # more checkpoints must complete after the new rows were visible.
    ckpts = lambda: max([0] + [int(d[4:]) for d in os.listdir(state)])  # noqa: E731
    n = ckpts()
    wait_for("two more checkpoints", lambda: ckpts() >= n + 2, 30)
    check("every row exactly once across the restore", visible(out) == list(range(530)),
          f"{len(visible(out))} rows")
    p.send_signal(signal.SIGKILL)
    p.wait()

    # 3. The timer alone rolls by inactivity: no watermark after the rows.
    inp, out = f"{work}/in3", f"{work}/out3"
    os.makedirs(inp)
    p = start(query(inp, out, ", 'rolling_policy.inactivity_interval' = '1 second'",
                    event_time=True))
    time.sleep(0.5)  # the first listing finds nothing (not a condition the test asserts on)
    put(inp, "a.json", range(0, 100))
    check("no watermark progress: the file rolls on the timer once rows stop",
          wait_for("100 rows", lambda: len(visible(out)) >= 100), str(len(visible(out))))
    check("no watermark progress: each row once", visible(out) == list(range(100)))
    check("no watermark progress: the pipeline still runs", p.poll() is None, f"rc {p.poll()}")
    p.send_signal(signal.SIGINT)
    p.wait(timeout=60)
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()


def show_log():
    print(open(f"{work}/log.txt").read()[-3000:])


checks.finish(show_log)
