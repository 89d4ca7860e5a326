"""Shared by the service's API tests: start `sluice serve` on a free loopback port with its own
data directory, call the REST API with http.client, read Server-Sent Events, count checks.

A test script builds a Suite, calls Suite.start() (optionally with --db), runs its checks with
Suite.check(), and ends with Suite.finish() (exit status 1 when any check failed)."""

import atexit
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time


class Server:
    """One `sluice serve` process."""

    def __init__(self, binary, data_dir, extra_args=(), env=None):
        self.binary = binary
        self.data_dir = data_dir
        self.extra_args = list(extra_args)
        self.env = env
        self.proc = None
        self.port = None
        self.log_path = os.path.join(data_dir, "serve.log")

    def start(self, timeout=20):
        port_file = os.path.join(self.data_dir, "port")
        if os.path.exists(port_file):
            os.remove(port_file)
        log = open(self.log_path, "a")
        env = dict(os.environ)
        if self.env:
            env.update(self.env)
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--listen", "127.0.0.1:0", "--port-file", port_file,
             "--data-dir", self.data_dir, "--sse-heartbeat-ms", "300"] + self.extra_args,
            stdout=log, stderr=log, env=env)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("sluice serve exited with %s:\n%s" %
                                   (self.proc.returncode, self.log()))
            if os.path.exists(port_file):
                self.port = int(open(port_file).read().strip())
                # The port file is written before the listener accepts; wait for /ping.
                try:
                    if self.request("GET", "/api/v1/ping")[0] == 200:
                        return
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError("sluice serve did not start:\n" + self.log())

    def log(self):
        try:
            return open(self.log_path).read()
        except OSError:
            return ""

    def stop(self, sig=signal.SIGINT, timeout=60):
        if self.proc is None:
            return None
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc = None
        return rc

    def request(self, method, path, body=None, raw=None, headers=None, timeout=30):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        h = {"Content-Type": "application/json"} if data is not None else {}
        h.update(headers or {})
        conn.request(method, path, body=data, headers=h)
        resp = conn.getresponse()
        text = resp.read().decode()
        conn.close()
        ctype = resp.getheader("Content-Type", "")
        value = json.loads(text) if ctype.startswith("application/json") and text else text
        return resp.status, value

    def api(self, method, path, body=None, **kw):
        return self.request(method, "/api/v1" + path, body, **kw)

    def job_of(self, pipeline):
        """The pipeline's current job ({} when it has none or the request failed)."""
        st, body = self.api("GET", "/pipelines/%s/jobs" % pipeline)
        return body["data"][0] if st == 200 and body["data"] else {}

    def checkpoints(self, pipeline, job):
        """The job's checkpoints ([] when the request failed)."""
        st, body = self.api("GET", "/pipelines/%s/jobs/%s/checkpoints" % (pipeline, job))
        return body["data"] if st == 200 else []

    def events(self, path, last_event_id=None, max_events=None, until=None, timeout=30):
        """Reads Server-Sent Events from `path` (under /api/v1) until `max_events` row events,
        `until(event)` is true, the stream ends, or `timeout` seconds pass. Returns a list of
        dicts: {"id", "event", "data", "comment"}."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        conn.request("GET", "/api/v1" + path, headers=headers)
        resp = conn.getresponse()
        if resp.status != 200:
            raise RuntimeError("SSE %s: %s %s" % (path, resp.status, resp.read()))
        out = []
        current = {}
        rows = 0
        deadline = time.time() + timeout
        try:
            while time.time() < deadline:
                line = resp.fp.readline()
                if not line:
                    break
                line = line.decode().rstrip("\n")
                if line == "":
                    if current:
                        out.append(current)
                        if current.get("event") == "row":
                            rows += 1
                        if (max_events is not None and rows >= max_events) or \
                                (until is not None and until(current)) or \
                                current.get("event") in ("end", "lagged"):
                            break
                    current = {}
                elif line.startswith(":"):
                    current["comment"] = line[1:].strip()
                else:
                    key, _, value = line.partition(":")
                    current[key] = value[1:] if value.startswith(" ") else value
        finally:
            conn.close()
        return out


def postgres_url(name):
    """A new, empty database on the shared test PostgreSQL server (the postgres_server ctest
    fixture; SLUICE_POSTGRES_DIR names its directory) as a postgresql:// URL. Raises when the
    server is absent: a PostgreSQL test fails, never skips."""
    pg_dir = os.environ.get("SLUICE_POSTGRES_DIR")
    if not pg_dir or not os.path.exists(os.path.join(pg_dir, "port")):
        raise RuntimeError("no test PostgreSQL server: SLUICE_POSTGRES_DIR=%r (run under ctest, "
                           "whose postgres_server fixture starts one)" % pg_dir)
    port = open(os.path.join(pg_dir, "port")).read().strip()
    db = "sluice_%s_%d" % (name, os.getpid())
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts",
                          "postgres-test-server")
    subprocess.run([script, "psql", pg_dir, "-q", "-c", "DROP DATABASE IF EXISTS %s" % db],
                   check=True, capture_output=True)
    subprocess.run([script, "psql", pg_dir, "-q", "-c", "CREATE DATABASE %s" % db], check=True,
                   capture_output=True)
    return "postgresql://postgres@127.0.0.1:%s/%s" % (port, db)


class Suite:
    def __init__(self, name):
        self.name = name
        if len(sys.argv) < 2:
            sys.exit("usage: %s path/to/sluice" % sys.argv[0])
        self.binary = os.path.abspath(sys.argv[1])
        self.work = tempfile.mkdtemp(prefix="sluice-%s-" % name)
        self.passed = 0
        self.failed = 0
        self.servers = []
        # A script that dies with an exception leaves no server behind.
        atexit.register(self._kill_servers)

    def _kill_servers(self):
        for srv in self.servers:
            if srv.proc is not None and srv.proc.poll() is None:
                srv.proc.kill()
                srv.proc.wait()

    def server(self, data_dir=None, extra_args=(), env=None):
        d = data_dir or os.path.join(self.work, "data%d" % len(self.servers))
        os.makedirs(d, exist_ok=True)
        s = Server(self.binary, d, extra_args, env)
        self.servers.append(s)
        return s

    def check(self, what, ok, detail=""):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL: %s\n  %s" % (what, str(detail)[:2000]), flush=True)

    def wait_for(self, what, fn, timeout=30, interval=0.1):
        """Polls fn() until it returns a true value; returns it, or None after a failed check."""
        deadline = time.time() + timeout
        value = None
        while time.time() < deadline:
            value = fn()
            if value:
                return value
            time.sleep(interval)
        self.check(what + " (timed out after %ss)" % timeout, False, value)
        return None

    def finish(self):
        for s in self.servers:
            if s.proc is not None:
                s.stop(signal.SIGKILL)
        print("%s: %d passed, %d failed" % (self.name, self.passed, self.failed), flush=True)
        if self.failed == 0:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            print("work dir kept: " + self.work)
        sys.exit(1 if self.failed else 0)
