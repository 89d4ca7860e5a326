"""Helpers of the postgres-cdc tests: the PostgreSQL server of ctest's postgres_server fixture
(scripts/postgres-test-server; SLUICE_POSTGRES_DIR), psql, running sluice, changelog files.

A test that needs the server fails (never skips) when it is not there."""

import collections
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PG_SCRIPT = os.path.join(ROOT, "scripts", "postgres-test-server")


class Suite:
    def __init__(self, name):
        if len(sys.argv) < 2:
            sys.exit(f"usage: {sys.argv[0]} path/to/sluice (SLUICE_POSTGRES_DIR set)")
        self.name = name
        self.sluice = sys.argv[1]
        self.pg_dir = os.environ.get("SLUICE_POSTGRES_DIR", "")
        if not self.pg_dir or not os.path.exists(os.path.join(self.pg_dir, "port")):
            sys.exit(f"{name}: FAIL: no PostgreSQL server in '{self.pg_dir}' (ctest's "
                     "postgres_server fixture starts one: scripts/postgres-test-server start DIR)")
        self.port = int(open(os.path.join(self.pg_dir, "port")).read().strip())
        self.run_id = f"{int(time.time() * 1000) % 10**8}_{os.getpid()}"
        self.work = tempfile.mkdtemp(prefix=f"sluice_{name}_")
        self.passed = 0
        self.failed = 0
        seed = int(os.environ.get("SLUICE_TEST_SEED", os.getpid()))
        print(f"{name}: seed {seed}, PostgreSQL on port {self.port}")
        self.random = random.Random(seed)
        # A database of this run's own (the server is shared by the run's suites and kept
        # across development re-runs); replication slots are per server, so they carry the id.
        self.db = f"cdc_{self.run_id}"
        self.psql(f"CREATE DATABASE {self.db}", db="postgres")

    def psql(self, sql, pg_dir=None, check=True, db=None):
        """Runs SQL (a script: each statement in its own transaction unless BEGIN/COMMIT say
        otherwise) in this run's database; returns the unaligned, tuples-only output."""
        p = subprocess.run([PG_SCRIPT, "psql", pg_dir or self.pg_dir, "-tA", "-F", "|", "-q",
                            "-d", db or (self.db if pg_dir is None else "postgres")],
                           input=sql, text=True, capture_output=True)
        if check and p.returncode != 0:
            raise RuntimeError(f"psql failed: {p.stderr}\n{sql[:500]}")
        return p.stdout

    def table_options(self, table, port=None, extra=""):
        return (f"connector = 'postgres-cdc', hostname = '127.0.0.1', port = '{port or self.port}', "
                f"username = 'postgres', database.name = '{self.db if port is None else 'postgres'}', "
                f"table.name = '{table}', slot.name = '{self.slot(table)}'{extra}")

    def slot(self, table):
        return f"{table}_{self.run_id}"[:63]

    def write(self, name, text):
        path = os.path.join(self.work, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def run(self, sql, args=(), timeout=120, env=None):
        path = self.write("q.sql", sql)
        start = time.time()
        p = subprocess.run([self.sluice, "run", path, *args], text=True, capture_output=True,
                           timeout=timeout, env=dict(os.environ, **(env or {})))
        return p.returncode, p.stdout, p.stderr, time.time() - start

    def start(self, sql_name, sql, args=(), env=None):
        path = self.write(sql_name, sql)
        return subprocess.Popen([self.sluice, "run", path, *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True,
                                env=dict(os.environ, **(env or {})))

    def check(self, what, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"ok: {what}")
        else:
            self.failed += 1
            print(f"FAIL: {what}" + (f"\n{detail[:3000]}" if detail else ""))

    def end(self):
        print(f"{self.name}: {self.passed} passed, {self.failed} failed")
        if self.failed == 0:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            print(f"{self.name}: inputs and outputs kept in {self.work}")
        sys.exit(0 if self.failed == 0 and self.passed > 0 else 1)


def final_table(text):
    """The final table a Debezium changelog describes, sorted; a row deleted more often than
    inserted shows as "NEGATIVE <row>", one inserted twice twice, so neither compares equal by
    accident."""
    rows = collections.Counter()
    for line in text.splitlines():
        if not line:
            continue
        e = json.loads(line)
        if e.get("before") is not None and e["op"] in ("u", "d"):
            rows[json.dumps(e["before"], sort_keys=True)] -= 1
        if e.get("after") is not None and e["op"] in ("c", "r", "u"):
            rows[json.dumps(e["after"], sort_keys=True)] += 1
    out = []
    for r, n in rows.items():
        if n < 0:
            out.append("NEGATIVE " + r)
        out.extend([r] * max(n, 0))
    return sorted(out)


def read(path):
    return open(path).read() if os.path.exists(path) else ""


def wait_until(pred, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.2)
    return pred()
