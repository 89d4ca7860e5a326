"""Scaffolding shared by the Python test drivers of connectors: counting checks, writing SQL
files into a work directory and running `sluice run` on them.

    checks = testlib.Checks("mqtt")
    runner = testlib.Runner(sluice_binary, work_dir)
    rc, out, err, seconds = runner.run(sql)
    checks.check("what it asserts", rc == 0, err)
    checks.finish()   # prints "mqtt: N passed, M failed", exits 1 on a failure or no check

A suite that ran no check fails too: a driver that stops early must not pass."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Checks:
    """Counts passed and failed checks and prints each one (only the failures when `quiet`).
    With `work`, finish() removes that directory after a clean run and keeps it otherwise."""

    def __init__(self, name, work=None, quiet=False):
        self.name = name
        self.work = work
        self.quiet = quiet
        self.passed = 0
        self.failed = 0

    def check(self, what, ok, detail=""):
        if ok:
            self.passed += 1
            if not self.quiet:
                print(f"ok: {what}")
        else:
            self.failed += 1
            print(f"FAIL: {what}" + (f"\n{str(detail)[:3000]}" if detail else ""))
        return ok

    def finish(self, on_failure=None):
        """Prints the counts and exits: 1 on a failure or when no check ran. `on_failure` is
        called first when the run failed (e.g. to print a log)."""
        print(f"{self.name}: {self.passed} passed, {self.failed} failed")
        ok = self.failed == 0 and self.passed > 0
        if not ok:
            if on_failure:
                on_failure()
            if self.work:
                print(f"work directory kept: {self.work}")
        elif self.work:
            shutil.rmtree(self.work, ignore_errors=True)
        sys.exit(0 if ok else 1)


class Runner:
    """Writes SQL into `work` and runs `sluice run` on it; `args` go before any per-call ones."""

    def __init__(self, sluice, work, args=()):
        self.sluice = sluice
        self.work = work
        self.args = list(args)

    def write(self, name, text):
        path = os.path.join(self.work, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def run(self, sql, args=(), timeout=120, env=None):
        """Runs `sql` to its end: (exit status, stdout, stderr, seconds)."""
        path = self.write("q.sql", sql)
        start = time.time()
        p = subprocess.run([self.sluice, "run", path, *self.args, *args], text=True,
                           capture_output=True, timeout=timeout,
                           env=dict(os.environ, **(env or {})))
        return p.returncode, p.stdout, p.stderr, time.time() - start

    def start(self, name, sql, args=(), env=None, stdout=subprocess.PIPE):
        """Starts `sql` (written to `name`) without waiting: the Popen."""
        path = self.write(name, sql)
        return subprocess.Popen([self.sluice, "run", path, *self.args, *args], text=True,
                                stdout=stdout, stderr=subprocess.PIPE,
                                env=dict(os.environ, **(env or {})))


class RowsRun:
    """A started `sluice run` (a Popen with piped stdout and stderr) whose JSON output rows are
    gathered in `rows` as they come; stop() ends it with SIGINT: (exit status, stderr), also
    kept in `err`."""

    def __init__(self, proc):
        import threading
        self.proc = proc
        self.rows = []
        self.err = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        import json
        for line in self.proc.stdout:
            if line.strip():
                self.rows.append(json.loads(line))

    def wait_rows(self, n, timeout=60):
        """Waits until `n` rows came (True), the run ended or `timeout` seconds passed."""
        deadline = time.time() + timeout
        while time.time() < deadline and len(self.rows) < n and self.proc.poll() is None:
            time.sleep(0.05)
        return len(self.rows) >= n

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(timeout=10)
        self.err = self.proc.stderr.read()
        return self.proc.returncode, self.err


def free_port():
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc, timeout=60):
    """Stops a `sluice run` with SIGINT: (exit status, stdout, stderr); -999 when it did not
    stop within `timeout` seconds (then it is killed)."""
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return -999, out or "", f"did not stop within {timeout} s after SIGINT\n{err}"
    return proc.returncode, out or "", err


def wait_until(cond, timeout, interval=0.1):
    """Polls `cond` until it holds or `timeout` seconds pass; its last value."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(interval)
    return cond()


def json_rows_of_dir(directory):
    """The rows of the JSON-lines files a filesystem sink wrote into `directory` (its hidden
    in-progress files left out), each as JSON text with sorted keys, in file order."""
    import glob
    import json
    rows = []
    for path in sorted(glob.glob(os.path.join(directory, "*"))):
        if not os.path.basename(path).startswith("."):
            with open(path) as f:
                rows += [json.dumps(json.loads(line), sort_keys=True)
                         for line in f.read().splitlines() if line.strip()]
    return rows


def copy_with_crashes(runner, sql, out_dir, state_dir, rows, crash_after=(), parallelism=1,
                      last_parallelism=None, timeout=120):
    """The kill-and-restore test of a source: runs `sql` (which copies the source into a
    filesystem sink at `out_dir`) with checkpoints every 100 ms in `state_dir`. Each entry of
    `crash_after` is one run that crashes (SLUICE_FAULT after_rows) once that many rows reached
    the sink; a last run (at `last_parallelism`, by default `parallelism`) goes on until
    `out_dir` holds `rows` rows and is then stopped. Returns (the last run finished cleanly, the number of runs that crashed, the
    last run's stderr)."""
    args = ["--set", "batch_size=200", "--state-dir", state_dir, "--checkpoint-interval",
            "100ms"]
    crashes = 0
    for after in crash_after:
        proc = runner.start("crash.sql", sql, [*args, "--parallelism", str(parallelism)],
                            stdout=subprocess.DEVNULL,
                            env={"SLUICE_FAULT":
                                 f"after_rows:filesystem sink:{after},pace_sources:2000"})
        proc.wait(timeout=300)
        crashes += proc.returncode != 0
    last = parallelism if last_parallelism is None else last_parallelism
    proc = runner.start("crash.sql", sql, [*args, "--parallelism", str(last)],
                        stdout=subprocess.DEVNULL)
    done = wait_until(lambda: len(json_rows_of_dir(out_dir)) >= rows, timeout, interval=0.2)
    rc, _, err = stop(proc)
    return done and rc == 0, crashes, err
