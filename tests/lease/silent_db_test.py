"""A leading coordinator whose lease database stops answering (docs/distributed.md, "Leases and
fencing"): its connection to the fixture's PostgreSQL goes through a TCP forwarder that the test
freezes with SIGSTOP, so the kernel still accepts its bytes but no answer ever comes (the case a
synchronous client call would wait on forever). The leader must give up once a whole TTL passed
without a renewal, exit with status 3 and say why, and its worker must leave; a second
coordinator reaching the database directly then takes the lease at epoch 2.

Usage: silent_db_test.py path/to/sluice   (SLUICE_POSTGRES_DIR: the postgres_server fixture)
"""

import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import testlib  # noqa: E402

SLUICE = sys.argv[1]
ROOT = testlib.ROOT
work = tempfile.mkdtemp(prefix="dist_lease_silent_db.")
checks = testlib.Checks("dist_lease_silent_db", work=work)
pg_dir = os.environ["SLUICE_POSTGRES_DIR"]
with open(os.path.join(pg_dir, "port")) as f:
    pg_port = int(f.read())

FORWARDER = r"""
import socket, sys, threading
listen = socket.socket()
listen.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listen.bind(("127.0.0.1", 0))
listen.listen(16)
print(listen.getsockname()[1], flush=True)
def pipe(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
while True:
    client, _ = listen.accept()
    server = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    threading.Thread(target=pipe, args=(client, server), daemon=True).start()
    threading.Thread(target=pipe, args=(server, client), daemon=True).start()
"""
forwarder = subprocess.Popen([sys.executable, "-c", FORWARDER, str(pg_port)],
                             stdout=subprocess.PIPE, text=True)
fwd_port = int(forwarder.stdout.readline())
job = f"silent{os.getpid()}"
conninfo_via = f"host=127.0.0.1 port={fwd_port} user=postgres dbname=postgres"
with open(os.path.join(pg_dir, "conninfo")) as f:
    conninfo = f.read().strip()

with open(os.path.join(work, "in.json"), "w") as f:
    for i in range(30000):
        f.write('{"ts": "2023-01-01T00:%02d:%02d", "k": "k%d"}\n' % ((i // 600) % 60,
                                                                    (i // 10) % 60, i % 7))
sql = os.path.join(work, "q.sql")
with open(sql, "w") as f:
    f.write(f"""CREATE TABLE src (ts TIMESTAMP, k TEXT, WATERMARK FOR ts AS ts) WITH (
  connector = 'single_file', path = '{work}/in.json', format = 'json', type = 'source');
CREATE TABLE out WITH (connector = 'single_file', path = '{work}/out.json', format = 'json',
  type = 'sink');
INSERT INTO out SELECT k, count(*) AS n FROM src GROUP BY TUMBLE(INTERVAL '1 minute'), k;
""")

procs = []


def start(name, args, env=None):
    log = open(os.path.join(work, name + ".log"), "w")
    p = subprocess.Popen([SLUICE, *args], stdout=log, stderr=subprocess.STDOUT,
                         env=dict(os.environ, **(env or {})))
    procs.append(p)
    return p


def log_of(name):
    with open(os.path.join(work, name + ".log")) as f:
        return f.read()


def coordinator(name, url):
    port_file = os.path.join(work, name + ".port")
    return start(name, ["coordinator", sql, "-p", "1", "--workers", "1", "--job", job,
                        "--lease-ttl", "2s", "--lease-holder", name, "--heartbeat-timeout",
                        "300s", "--set", "batch_size=100", "--port-file", port_file],
                 {"SLUICE_LEASE_URL": url}), port_file


try:
    a, a_port = coordinator("a", conninfo_via)
    checks.check("a leads through the forwarder",
                 testlib.wait_until(lambda: os.path.exists(a_port)
                                    and os.path.getsize(a_port) > 0, 60), log_of("a"))
    with open(a_port) as f:
        port = f.read().strip()
    w = start("w", ["worker", "--coordinator", f"127.0.0.1:{port}", "--name", "w"],
              {"SLUICE_FAULT": "pace_sources:25000"})
    checks.check("its job runs", testlib.wait_until(lambda: "running" in log_of("a"), 60),
                 log_of("a"))

    # The database goes silent for a: bytes are accepted, nothing is answered.
    frozen_at = time.time()
    forwarder.send_signal(signal.SIGSTOP)
    try:
        rc = a.wait(timeout=90)
    except subprocess.TimeoutExpired:
        rc = "still running after 90 s"
    took = time.time() - frozen_at
    checks.check(f"a stops, status 3 ({rc}), {took:.1f} s after the database went silent",
                 rc == 3, log_of("a")[-2000:])
    checks.check("a says it could not renew and commits nothing",
                 f"job '{job}': coordinator 'a' could not renew its lease (epoch 1) for 2000 ms, "
                 "so another coordinator may hold it; stopping without committing"
                 in log_of("a"), log_of("a")[-2000:])
    try:
        wrc = w.wait(timeout=60)
    except subprocess.TimeoutExpired:
        wrc = 0
    checks.check(f"its worker leaves with an error ({wrc})", wrc != 0, log_of("w")[-1000:])

    # b reaches the database directly and takes the lease once a's ran out.
    b, b_port = coordinator("b", conninfo)
    checks.check("b takes over at epoch 2",
                 testlib.wait_until(lambda: f"coordinator 'b': leader of job '{job}' at epoch 2"
                                    in log_of("b"), 60), log_of("b")[-1000:])
    b.send_signal(signal.SIGKILL)
finally:
    forwarder.send_signal(signal.SIGCONT)
    forwarder.kill()
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait()

checks.finish()
