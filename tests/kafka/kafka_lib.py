"""Helpers of the Kafka connector tests: the broker that ctest's kafka_broker fixture started
(scripts/kafka-test-broker), topics, producing and reading records with kcat, and running sluice.

A test that needs the broker fails (never skips) when it is not there."""

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BROKER_SCRIPT = os.path.join(ROOT, "scripts", "kafka-test-broker")


class Suite:
    def __init__(self, name):
        if len(sys.argv) < 3:
            sys.exit(f"usage: {sys.argv[0]} path/to/sluice BROKER_DIR")
        self.name = name
        self.sluice = sys.argv[1]
        self.broker_dir = sys.argv[2]
        bootstrap_file = os.path.join(self.broker_dir, "bootstrap")
        if not os.path.exists(bootstrap_file):
            sys.exit(f"{name}: FAIL: no Kafka broker in {self.broker_dir} (ctest's kafka_broker "
                     "fixture starts one: scripts/kafka-test-broker start DIR)")
        self.bootstrap = open(bootstrap_file).read().strip()
        self.run_id = f"{int(time.time() * 1000) % 10**9}_{os.getpid()}"
        self.work = tempfile.mkdtemp(prefix=f"sluice_{name}_")
        self.passed = 0
        self.failed = 0
        seed = int(os.environ.get("SLUICE_TEST_SEED", os.getpid()))
        print(f"{name}: seed {seed}, broker {self.bootstrap}")
        self.random = random.Random(seed)

    def topic(self, base):
        return f"{base}_{self.run_id}"

    def create_topics(self, *pairs):
        """create_topics((name, partitions), ...)"""
        args = [BROKER_SCRIPT, "create-topic", self.broker_dir]
        for name, partitions in pairs:
            args += [name, str(partitions)]
        subprocess.run(args, check=True)

    def produce(self, topic, records, partition=None, transactional_id=None):
        """records: values, or (key, value) pairs; one kcat call (one transaction with
        transactional_id)."""
        lines = []
        keyed = any(isinstance(r, tuple) for r in records)
        for r in records:
            if keyed:
                k, v = r
                assert "\t" not in k and "\n" not in v
                lines.append(f"{k}\t{v}")
            else:
                assert "\n" not in r
                lines.append(r)
        args = ["kcat", "-b", self.bootstrap, "-P", "-t", topic]
        if keyed:
            args += ["-K", "\t"]
        if partition is not None:
            args += ["-p", str(partition)]
        if transactional_id:
            args += ["-X", f"transactional.id={transactional_id}"]
        subprocess.run(args, input="\n".join(lines) + "\n", text=True, check=True,
                       stderr=subprocess.DEVNULL)

    def consume(self, topic, read_committed=True):
        """Every record of the topic as (partition, offset, key, value), via kcat."""
        fmt = "%p\\t%o\\t%k\\t%s\\n"
        out = subprocess.run(
            ["kcat", "-b", self.bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q",
             "-X", "isolation.level=" + ("read_committed" if read_committed else
                                          "read_uncommitted"), "-f", fmt],
            text=True, check=True, capture_output=True).stdout
        rows = []
        for line in out.splitlines():
            p, o, k, v = line.split("\t", 3)
            rows.append((int(p), int(o), k, v))
        return rows

    def write(self, name, text):
        path = os.path.join(self.work, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def run(self, sql, parallelism=1, args=(), env=None, timeout=120):
        """Runs sluice over `sql`; returns (exit code, stdout, stderr, seconds)."""
        path = self.write("q.sql", sql)
        start = time.time()
        e = dict(os.environ)
        e.update(env or {})
        p = subprocess.run([self.sluice, "run", path, "--parallelism", str(parallelism), *args],
                           text=True, capture_output=True, timeout=timeout, env=e)
        return p.returncode, p.stdout, p.stderr, time.time() - start

    def last_checkpoint(self, state_dir):
        """The number of the newest checkpoint in a state dir (0: none)."""
        if not os.path.isdir(state_dir):
            return 0
        ids = [int(d[4:]) for d in os.listdir(state_dir) if d.startswith("chk-")]
        return max(ids, default=0)

    def check(self, what, ok, detail=""):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL: {what}" + (f"\n{detail}" if detail else ""))

    def end(self):
        print(f"{self.name}: {self.passed} passed, {self.failed} failed")
        if self.failed == 0:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            print(f"{self.name}: inputs and outputs kept in {self.work}")
        sys.exit(0 if self.failed == 0 and self.passed > 0 else 1)


def sorted_json_lines(text):
    return sorted(json.dumps(json.loads(l), sort_keys=True) for l in text.splitlines() if l)


def final_table(text):
    """The final table a Debezium changelog describes, sorted; a row deleted more often than
    inserted shows as "NEGATIVE <row>", so that it cannot compare equal by accident."""
    import collections
    rows = collections.Counter()
    for line in text.splitlines():
        if not line:
            continue
        e = json.loads(line)
        e = e.get("payload", e)
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
