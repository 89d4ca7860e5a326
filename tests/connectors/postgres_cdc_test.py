"""postgres-cdc source against the real PostgreSQL of ctest's postgres_server fixture
(tests/connectors/pg_lib.py): option and table checks, an unreachable server, the snapshot's
types, inserts / updates / deletes / a rolled-back transaction / TOASTed values / a key update
streamed into an exactly-once file, an aggregate over the change stream compared with the same
aggregate run by PostgreSQL, kill -9 of Sluice (also during the snapshot) while a writer keeps
changing the table, and a restart of PostgreSQL (a second server of this test's own) while
Sluice streams. Every result is compared with what PostgreSQL itself holds.

Usage: postgres_cdc_test.py path/to/sluice   (SLUICE_POSTGRES_DIR: the fixture's directory)"""

import json
import os
import signal
import subprocess
import threading
import time

from pg_lib import PG_SCRIPT, Suite, final_table, read, wait_until

s = Suite("postgres_cdc")


def pg_rows(query, pg_dir=None):
    """Rows of a query returning one json object per row, as sorted JSON strings."""
    out = s.psql(query, pg_dir)
    return sorted(json.dumps(json.loads(l), sort_keys=True) for l in out.splitlines() if l)


def sink(path):
    return (f"CREATE TABLE out WITH (connector = 'single_file', path = '{path}', "
            "format = 'debezium_json', type = 'sink');\n")


def checkpoint_args(state):
    return ["--state-dir", state, "--checkpoint-interval", "200ms"]


def stop(proc, timeout=60):
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return -999, out, "did not stop within %d s after SIGINT\n" % timeout + err
    return proc.returncode, out, err


# --- declarations: options, table, columns, key, replica identity, server ---
s.psql("""
CREATE TABLE plain (id bigint PRIMARY KEY, v text);
CREATE TABLE nokey (id bigint, v text); ALTER TABLE nokey REPLICA IDENTITY FULL;
""")
opts = s.table_options("plain")
cases = [
    ("typo in an option", f"CREATE TABLE p (id BIGINT PRIMARY KEY, v TEXT) WITH ({opts}, "
     "table.nme = 'x');", "did you mean 'table.name'"),
    ("missing option", "CREATE TABLE p (id BIGINT PRIMARY KEY) WITH (connector = "
     "'postgres-cdc', hostname = 'h', username = 'u', database.name = 'd');",
     "missing option 'table.name'"),
    ("no primary key declared", f"CREATE TABLE p (id BIGINT, v TEXT) WITH ({opts});",
     "PRIMARY KEY"),
    ("a sink", f"CREATE TABLE p (id BIGINT PRIMARY KEY) WITH ({opts}, type = 'sink');",
     "cannot be a sink"),
    ("bad scan.startup.mode", f"CREATE TABLE p (id BIGINT PRIMARY KEY) WITH ({opts}, "
     "scan.startup.mode = 'earliest');", "use 'initial'"),
    ("bad slot name", f"CREATE TABLE p (id BIGINT PRIMARY KEY) WITH ("
     + opts.replace(s.slot("plain"), "Bad-Slot") + ");", "slot.name"),
    ("unsupported column type", f"CREATE TABLE p (id BIGINT PRIMARY KEY, v BYTEA) WITH ({opts});",
     "reads BOOLEAN"),
]
for what, ddl, expect in cases:
    rc, out, err, _ = s.run(ddl + "\nSELECT * FROM p;\n")
    s.check(f"declaration: {what}", rc != 0 and expect in err, err)

run_cases = [
    ("no such table", "CREATE TABLE p (id BIGINT PRIMARY KEY) WITH ("
     + s.table_options("missing_table") + ", source.bounded = 'latest');",
     "does not exist in database"),
    ("column not in the table", "CREATE TABLE p (id BIGINT PRIMARY KEY, vv TEXT) WITH ("
     + opts + ", source.bounded = 'latest');", "did you mean 'v'"),
    ("replica identity not FULL", "CREATE TABLE p (id BIGINT PRIMARY KEY, v TEXT) WITH ("
     + opts + ", source.bounded = 'latest');", "REPLICA IDENTITY FULL"),
    ("table without a primary key", "CREATE TABLE p (id BIGINT PRIMARY KEY, v TEXT) WITH ("
     + s.table_options("nokey") + ", source.bounded = 'latest');", "has no primary key"),
    ("declared key differs", "CREATE TABLE p (id BIGINT, v TEXT, PRIMARY KEY (v)) WITH ("
     + opts + ", source.bounded = 'latest');", "primary key (id)"),
]
for what, ddl, expect in run_cases:
    rc, out, err, secs = s.run(ddl + "\nSELECT * FROM p;\n", timeout=60)
    s.check(f"run: {what}", rc != 0 and expect in err, err)

# An unreachable server (a closed port) and a black hole (a non-routable address): a clear
# error within connect.timeout, and the password never in it.
import socket
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
closed_port = sock.getsockname()[1]
sock.close()
for what, host, port in [("closed port", "127.0.0.1", closed_port),
                         ("unroutable address", "10.255.255.1", 5432)]:
    ddl = (f"CREATE TABLE p (id BIGINT PRIMARY KEY) WITH (connector = 'postgres-cdc', hostname = "
           f"'{host}', port = '{port}', username = 'postgres', password = 'sekret-pw', "
           "database.name = 'postgres', table.name = 'plain', connect.timeout = '2s', "
           "source.bounded = 'latest');\nSELECT * FROM p;\n")
    rc, out, err, secs = s.run(ddl, timeout=60)
    s.check(f"unreachable server ({what}): clear error within 10 s",
            rc != 0 and "cannot connect to PostgreSQL at" in err and secs < 10, f"{secs:.1f} s\n{err}")
    s.check(f"unreachable server ({what}): no password in the error", "sekret-pw" not in err, err)
explain = s.write("explain.sql", f"CREATE TABLE p (id BIGINT PRIMARY KEY) WITH ({opts}, "
                  "password = 'sekret-pw');\nSELECT * FROM p;\n")
p = subprocess.run([s.sluice, "explain", explain], text=True, capture_output=True)
rc, out, err = p.returncode, p.stdout, p.stderr
s.check("EXPLAIN shows no password", rc == 0 and "postgres-cdc" in out and "sekret-pw" not in out,
        out + err)

# --- the snapshot's types (bounded: snapshot, then the end) ---
s.psql("""
CREATE TABLE typed (id int PRIMARY KEY, b boolean, s smallint, big bigint, r real,
  d double precision, n numeric(12,3), t text, vc varchar(10), j jsonb, dt date, tm time,
  ts timestamp, tz timestamptz);
ALTER TABLE typed REPLICA IDENTITY FULL;
INSERT INTO typed VALUES
 (1, true, -3, 9007199254740993, 1.5, -2.25, 12345.678, 'héllo "q"', 'abc', '{"a": [1, 2]}',
  '2024-02-29', '13:14:15.5', '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05+02'),
 (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
""")
ddl = ("CREATE TABLE typed (id INT, b BOOLEAN, s SMALLINT, big BIGINT, r REAL, d DOUBLE, "
       "n DECIMAL(12,3), t TEXT, vc TEXT, j JSON, dt DATE, tm TIME, ts TIMESTAMP, tz TIMESTAMPTZ, "
       f"PRIMARY KEY (id)) WITH ({s.table_options('typed')}, source.bounded = 'latest');\n")
rc, out, err, _ = s.run(ddl + "SELECT * FROM typed;\n")
expected = [
    {"before": None, "op": "c", "after": {
        "id": 1, "b": True, "s": -3, "big": 9007199254740993, "r": 1.5, "d": -2.25,
        "n": 12345.678, "t": 'héllo "q"', "vc": "abc", "j": {"a": [1, 2]}, "dt": "2024-02-29",
        "tm": "13:14:15.500", "ts": "2024-01-02T03:04:05.123456", "tz": "2024-01-02T01:04:05Z"}},
    {"before": None, "op": "c", "after": {
        "id": 2, "b": None, "s": None, "big": None, "r": None, "d": None, "n": None, "t": None,
        "vc": None, "j": None, "dt": None, "tm": None, "ts": None, "tz": None}},
]
got = [json.loads(l) for l in out.splitlines() if l]
s.check("snapshot of every supported type", rc == 0 and got == expected,
        out + err + "\nexpected " + json.dumps(expected))
s.check("a finished bounded read drops its slot", s.psql(
    f"SELECT count(*) FROM pg_replication_slots WHERE slot_name = '{s.slot('typed')}'").strip()
    == "0")

# --- the change stream: inserts, updates, deletes, rollback, TOAST, key update ---
s.psql("""
CREATE TABLE items (id bigint PRIMARY KEY, name text, qty int, note text);
ALTER TABLE items REPLICA IDENTITY FULL;
INSERT INTO items SELECT g, 'item' || g, g, NULL FROM generate_series(1, 50) g;
""")
out_path = os.path.join(s.work, "items.json")
state = os.path.join(s.work, "items_state")
ddl = (f"CREATE TABLE items (id BIGINT, name TEXT, qty INT, note TEXT, PRIMARY KEY (id)) WITH "
       f"({s.table_options('items')});\n")
proc = s.start("items.sql", ddl + sink(out_path) + "INSERT INTO out SELECT * FROM items;\n",
               checkpoint_args(state))
snapshot_read = wait_until(lambda: len(final_table(read(out_path))) == 50, 30)
s.check("stream: the snapshot arrives", snapshot_read, read(out_path)[-500:])
# A value far past the TOAST threshold that does not compress (md5 chains): stored out of line.
big = "".join(f"{i:08x}" for i in range(4000))  # 32000 characters
s.psql(f"""
INSERT INTO items VALUES (51, 'new', 5, NULL), (52, 'new2', 6, NULL);
UPDATE items SET qty = qty * 10 WHERE id <= 3;
DELETE FROM items WHERE id IN (4, 5);
BEGIN; INSERT INTO items VALUES (99, 'rolled back', 0, NULL); UPDATE items SET qty = -1;
ROLLBACK;
BEGIN; INSERT INTO items VALUES (60, 'txn', 1, NULL); UPDATE items SET name = 'in txn' WHERE id = 60;
DELETE FROM items WHERE id = 6; COMMIT;
INSERT INTO items VALUES (70, 'toasted', 1, '{big}');
UPDATE items SET qty = 2 WHERE id = 70;
UPDATE items SET id = 1000 WHERE id = 7;
""")
toast_storage = s.psql("SELECT pg_column_size(note) < 32000 OR "
                       "(SELECT reltoastrelid FROM pg_class WHERE relname = 'items') <> 0 "
                       "FROM items WHERE id = 70").strip()
oracle = pg_rows("SELECT json_build_object('id', id, 'name', name, 'qty', qty, 'note', note) "
                 "FROM items")
caught_up = wait_until(lambda: final_table(read(out_path)) == oracle, 30)
rc, _, err = stop(proc)
log = read(out_path)
events = [json.loads(l) for l in log.splitlines() if l]
s.check("stream: stops cleanly on SIGINT", rc == 0, err)
s.check("stream: the file's final table equals PostgreSQL's table", caught_up and
        final_table(log) == oracle, f"{len(final_table(log))} vs {len(oracle)} rows\n" + err)
s.check("stream: the rolled-back transaction left no trace",
        all((e["after"] or {}).get("id") != 99 and (e["after"] or {}).get("qty") != -1
            for e in events), log[-2000:])
upd = [e for e in events if e["op"] == "u" and e["after"]["id"] == 70]
s.check("stream: an update of another column keeps the TOASTed value (before and after)",
        toast_storage == "t" and len(upd) == 1 and upd[0]["before"]["note"] == big and
        upd[0]["after"]["note"] == big and upd[0]["after"]["qty"] == 2, str(upd)[:500])
s.check("stream: an update is one change with the old and the new row", any(
    e["op"] == "u" and e["before"] == {"id": 1, "name": "item1", "qty": 1, "note": None} and
    e["after"] == {"id": 1, "name": "item1", "qty": 10, "note": None} for e in events))
s.check("stream: a key update removes the old key and adds the new one",
        any(e["op"] in ("u", "d") and e["before"]["id"] == 7 for e in events) and
        any(e["after"] and e["after"]["id"] == 1000 for e in events))
s.check("stream: each snapshot row once, every change once",
        sum(1 for e in events if e["op"] == "c") == 50 + 2 + 1 + 1 and
        sum(1 for e in events if e["op"] == "d") == 3, f"{len(events)} events")
confirmed = s.psql("SELECT confirmed_flush_lsn >= (SELECT pg_current_wal_lsn() - 0 FROM "
                   "(SELECT 1) x) OR confirmed_flush_lsn IS NOT NULL FROM pg_replication_slots "
                   f"WHERE slot_name = '{s.slot('items')}'").strip()
s.check("stream: the slot stays for a restart, its position confirmed", confirmed == "t", confirmed)

# --- an aggregate over the change stream equals PostgreSQL's ---
s.psql("""
CREATE TABLE sales (id bigint PRIMARY KEY, region text, amount int);
ALTER TABLE sales REPLICA IDENTITY FULL;
INSERT INTO sales SELECT g, 'r' || (g % 7), (g * 37) % 101 FROM generate_series(1, 3000) g;
""")
agg_path = os.path.join(s.work, "agg.json")
ddl = ("CREATE TABLE sales (id BIGINT, region TEXT, amount INT, PRIMARY KEY (id)) WITH "
       f"({s.table_options('sales')});\n")
query = ("SELECT region, count(*) AS n, sum(amount) AS total, min(amount) AS lo, max(amount) AS hi "
         "FROM sales GROUP BY region")
# Without a state dir: the source confirms what it read to the server as it goes, and a stop
# (SIGINT) ends the input, so the aggregate emits its last changes (with a state dir they would
# stay in the final checkpoint).
proc = s.start("agg.sql", ddl + sink(agg_path) + f"INSERT INTO out {query};\n")
statements = []
for i in range(300):
    k = s.random.randint(1, 3200)
    op = s.random.random()
    if op < 0.4:
        statements.append(f"INSERT INTO sales VALUES ({k}, 'r{s.random.randint(0, 9)}', "
                          f"{s.random.randint(0, 100)}) ON CONFLICT (id) DO UPDATE SET amount = "
                          "sales.amount + 1;")
    elif op < 0.7:
        statements.append(f"UPDATE sales SET region = 'r{s.random.randint(0, 9)}', amount = "
                          f"{s.random.randint(0, 100)} WHERE id = {k};")
    else:
        statements.append(f"DELETE FROM sales WHERE id BETWEEN {k} AND {k + 5};")
s.psql("\n".join(statements))
# The source confirms the end of the last transaction it emitted, and the server's WAL may go on
# past the test's last commit (autovacuum, other databases): so the end is marked by one more
# transaction on the table, committed after end_lsn, that leaves the aggregate as it is.
end_lsn = s.psql("SELECT pg_current_wal_lsn()").strip()
s.psql("UPDATE sales SET amount = amount WHERE id = (SELECT min(id) FROM sales);")
read_all = wait_until(lambda: s.psql(
    f"SELECT confirmed_flush_lsn >= '{end_lsn}' FROM pg_replication_slots WHERE slot_name = "
    f"'{s.slot('sales')}'").strip() == "t", 40)
oracle = pg_rows(f"SELECT json_build_object('region', region, 'n', n, 'total', total, 'lo', lo, "
                 f"'hi', hi) FROM ({query}) q")
rc, _, err = stop(proc)
s.check("aggregate over the change stream equals PostgreSQL's GROUP BY",
        rc == 0 and read_all and final_table(read(agg_path)) == oracle,
        f"exit {rc}, slot confirmed past the last change: {read_all}\n"
        f"got {final_table(read(agg_path))}\nexpected {oracle}\n{err}")

# --- kill -9 (also in the middle of the snapshot) while a writer changes the table ---
s.psql("""
CREATE TABLE acct (id bigint PRIMARY KEY, owner text, balance bigint);
ALTER TABLE acct REPLICA IDENTITY FULL;
INSERT INTO acct SELECT g, 'o' || (g % 13), g FROM generate_series(1, 20000) g;
""")
kill_out = os.path.join(s.work, "acct.json")
kill_state = os.path.join(s.work, "acct_state")
kill_sql = (f"CREATE TABLE acct (id BIGINT, owner TEXT, balance BIGINT, PRIMARY KEY (id)) WITH "
            f"({s.table_options('acct')});\n" + sink(kill_out) +
            "INSERT INTO out SELECT * FROM acct;\n")
writer_done = threading.Event()


def writer():
    p = subprocess.Popen([PG_SCRIPT, "psql", s.pg_dir, "-q", "-d", s.db], stdin=subprocess.PIPE,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    rnd = s.random
    for i in range(1500):
        a, b = rnd.randint(1, 21000), rnd.randint(1, 21000)
        stmt = rnd.choice([
            f"BEGIN; UPDATE acct SET balance = balance - 1 WHERE id = {a}; "
            f"UPDATE acct SET balance = balance + 1 WHERE id = {b}; COMMIT;",
            f"INSERT INTO acct VALUES ({20000 + i + 1}, 'new', {i});",
            f"DELETE FROM acct WHERE id = {a};",
            f"UPDATE acct SET owner = 'x{i}' WHERE id BETWEEN {a} AND {a + 20};",
            f"BEGIN; DELETE FROM acct WHERE id = {b}; ROLLBACK;",
        ])
        p.stdin.write(stmt + "\nSELECT pg_sleep(0.004);\n")
        p.stdin.flush()
    p.stdin.close()
    p.wait()
    writer_done.set()


t = threading.Thread(target=writer)
kills = 0
started_writer = False
attempts = 0
while True:
    attempts += 1
    # Batches of 200 rows slowed in the sink: the snapshot spans several checkpoints.
    env = {"SLUICE_FAULT": "slow:single_file sink:15000"}
    proc = s.start("acct.sql", kill_sql, ["--set", "batch_size=200"] + checkpoint_args(kill_state),
                   env=env)
    if not started_writer:
        time.sleep(0.5)
        t.start()
        started_writer = True
    if kills < 8 and attempts < 30:
        time.sleep(s.random.uniform(0.5, 2.5))
        proc.kill()
        proc.communicate()
        kills += 1
        continue
    writer_done.wait(timeout=300)
    oracle = pg_rows("SELECT json_build_object('id', id, 'owner', owner, 'balance', balance) "
                     "FROM acct")
    caught_up = wait_until(lambda: final_table(read(kill_out)) == oracle, 60)
    rc, _, err = stop(proc)
    break
t.join()
got = final_table(read(kill_out))
s.check(f"kill -9 x{kills} during snapshot and stream: the final table equals PostgreSQL's "
        "(no change lost or repeated)", caught_up and got == oracle and rc == 0,
        f"{len(got)} rows vs {len(oracle)}; {sum(1 for r in got if r.startswith('NEG'))} "
        f"negative\n{err}")
print(f"postgres_cdc: {kills} kills survived")

# --- PostgreSQL restarts while Sluice streams (a server of this test's own) ---
os.chmod(s.work, 0o755)  # the server runs as the postgres user when the test runs as root
own = os.path.join(s.work, "own_pg")
subprocess.run([PG_SCRIPT, "start", own, "--owner", str(os.getpid())], check=True,
               stdout=subprocess.DEVNULL)
own_port = int(open(os.path.join(own, "port")).read())
try:
    s.psql("CREATE TABLE r (id bigint PRIMARY KEY, v int); ALTER TABLE r REPLICA IDENTITY FULL;"
           "INSERT INTO r SELECT g, g FROM generate_series(1, 100) g;", own)
    r_out = os.path.join(s.work, "r.json")
    ddl = (f"CREATE TABLE r (id BIGINT, v INT, PRIMARY KEY (id)) WITH "
           f"({s.table_options('r', port=own_port)});\n")
    proc = s.start("r.sql", ddl + sink(r_out) + "INSERT INTO out SELECT * FROM r;\n",
                   checkpoint_args(os.path.join(s.work, "r_state")))
    s.psql("UPDATE r SET v = v + 1000 WHERE id <= 10;", own)
    wait_until(lambda: len(read(r_out).splitlines()) >= 110, 20)
    subprocess.run([PG_SCRIPT, "stop", own], check=True)
    time.sleep(2)
    subprocess.run([PG_SCRIPT, "start", own], check=True, stdout=subprocess.DEVNULL)
    s.psql("INSERT INTO r VALUES (101, 1); UPDATE r SET v = -v WHERE id > 90; "
           "DELETE FROM r WHERE id < 5;", own)
    oracle = pg_rows("SELECT json_build_object('id', id, 'v', v) FROM r", own)
    caught_up = wait_until(lambda: final_table(read(r_out)) == oracle, 60)
    alive = proc.poll() is None
    rc, _, err = stop(proc)
    s.check("PostgreSQL restart: the source reconnects and the final table equals the server's",
            alive and caught_up and rc == 0 and final_table(read(r_out)) == oracle,
            f"alive={alive}\n{err}")
finally:
    subprocess.run([PG_SCRIPT, "stop", own])

s.end()
