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
