"""mqtt source and sink against a real broker (Debian's mosquitto, started here with
scripts/mosquitto-test-server: a plain and a TLS listener): option errors, unreachable brokers,
the sink read back with mosquitto_sub (QoS 0 and 1, TLS), the source fed with mosquitto_pub,
and the sink's at-least-once across kill -9 and restore (every row arrives, none lost).

Usage: mqtt_test.py path/to/sluice"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import testlib  # noqa: E402

SCRIPT = os.path.join(testlib.ROOT, "scripts", "mosquitto-test-server")
sluice = sys.argv[1]
work = tempfile.mkdtemp(prefix="sluice_mqtt_")
os.chmod(work, 0o755)  # the broker drops root for the mosquitto user, which reads its files
broker = os.path.join(work, "broker")
url = subprocess.run([SCRIPT, "start", broker, "--owner", str(os.getpid())], check=True,
                     text=True, capture_output=True).stdout.strip()
port = int(open(os.path.join(broker, "port")).read())
tls_port = int(open(os.path.join(broker, "tls_port")).read())
ca = os.path.join(broker, "ca.crt")
checks = testlib.Checks("mqtt")
check = checks.check
runner = testlib.Runner(sluice, work)
write, run = runner.write, runner.run


def subscribe(topic, count, tls=False, timeout=30):
    args = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(tls_port if tls else port), "-t", topic,
            "-q", "1", "-C", str(count), "-W", str(timeout)]
    if tls:
        args += ["--cafile", ca]
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)  # subscribed before anything is published
    return p


def received(p):
    out, _ = p.communicate(timeout=60)
    return [json.loads(l) for l in out.splitlines() if l]


rows = [{"id": i, "v": f"value {i}"} for i in range(200)]
src_file = write("rows.json", "\n".join(json.dumps(r) for r in rows) + "\n")
src = (f"CREATE TABLE src (id BIGINT, v TEXT) WITH (connector = 'single_file', path = "
       f"'{src_file}', format = 'json', type = 'source');\n")


def sink(options):
    return f"CREATE TABLE out WITH (connector = 'mqtt', type = 'sink', {options});\n"


# --- declarations ---
for what, options, expect in [
    ("typo", f"url = '{url}', topik = 'a'", "did you mean 'topic'"),
    ("QoS 2", f"url = '{url}', topic = 'a', qos = '2'", "QoS 0 or 1"),
    ("bad url", "url = 'http://x:1', topic = 'a'", "tcp://host:port"),
    ("wildcard in a sink topic", f"url = '{url}', topic = 'a/#'", "wildcards"),
    ("TLS without a CA", f"url = 'mqtts://127.0.0.1:{tls_port}', topic = 'a'", "tls.ca"),
]:
    rc, out, err, _ = run(src + sink(options) + "INSERT INTO out SELECT * FROM src;\n")
    check(f"declaration: {what}", rc != 0 and expect in err, err)

# --- unreachable brokers: a clear error within the timeout, no password ---
closed = testlib.free_port()
for what, u in [("closed port", f"tcp://127.0.0.1:{closed}"),
                ("unroutable address", "tcp://10.255.255.1:1883")]:
    rc, out, err, secs = run(src + sink(f"url = '{u}', topic = 'a', username = 'u', password = "
                                        "'sekret-pw', connect.timeout = '2s'") +
                             "INSERT INTO out SELECT * FROM src;\n", timeout=60)
    check(f"unreachable ({what}): clear error within 10 s",
          rc != 0 and "cannot connect to the MQTT broker" in err and secs < 10,
          f"{secs:.1f} s {err}")
    check(f"unreachable ({what}): no password in the error", "sekret-pw" not in err, err)

# --- sink: QoS 1 and QoS 0, read back by mosquitto_sub ---
for qos in (1, 0):
    sub = subscribe(f"sink/q{qos}", len(rows))
    rc, out, err, _ = run(src + sink(f"url = '{url}', topic = 'sink/q{qos}', qos = '{qos}'") +
                          "INSERT INTO out SELECT * FROM src;\n")
    got = received(sub)
    check(f"sink QoS {qos}: every row, in order, as JSON", rc == 0 and got == rows,
          f"{err}\n{len(got)} messages")

# --- sink over TLS; a CA that did not sign the broker's certificate is refused ---
sub = subscribe("sink/tls", len(rows), tls=True)
rc, out, err, _ = run(src + sink(f"url = 'mqtts://127.0.0.1:{tls_port}', topic = 'sink/tls', "
                                 f"tls.ca = '{ca}'") + "INSERT INTO out SELECT * FROM src;\n")
got = received(sub)
check("sink over TLS (mqtts://, tls.ca)", rc == 0 and got == rows, f"{err}\n{len(got)}")
other_ca = os.path.join(work, "other.crt")
subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                os.path.join(work, "other.key"), "-out", other_ca, "-days", "1", "-subj",
                "/CN=other"], check=True, capture_output=True)
rc, out, err, secs = run(src + sink(f"url = 'mqtts://127.0.0.1:{tls_port}', topic = 'x', "
                                    f"tls.ca = '{other_ca}', connect.timeout = '3s'") +
                         "INSERT INTO out SELECT * FROM src;\n", timeout=60)
check("TLS with a CA that did not sign the broker: refused within the timeout",
      rc != 0 and "cannot connect to the MQTT broker" in err and secs < 15, f"{secs:.1f} {err}")

# --- source: QoS 1 and 0, fed by mosquitto_pub, wildcard subscription ---
for qos in (1, 0):
    q = write("src.sql", f"CREATE TABLE m (id BIGINT, v TEXT) WITH (connector = 'mqtt', url = "
                         f"'{url}', topic = 'in{qos}/+', qos = '{qos}', format = 'json', "
                         "type = 'source');\nSELECT * FROM m;\n")
    # Parallelism 1: the rows keep the source's order up to the output.
    proc = subprocess.Popen([sluice, "run", q, "--parallelism", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    time.sleep(1.5)
    lines = "\n".join(json.dumps(r) for r in rows) + "\n"
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-t", f"in{qos}/a",
                    "-q", "1", "-l"], input=lines, text=True, check=True)
    time.sleep(1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    got = [json.loads(l) for l in out.splitlines() if l]
    check(f"source QoS {qos}: every message published, in order", proc.returncode == 0 and
          got == rows, f"{err}\n{len(got)} rows; first differences: " +
          str([(a, b) for a, b in zip(got, rows) if a != b][:3]))

# --- sink across kill -9: at-least-once (every row arrives; some may twice) ---
N = 20000
big = write("big.json", "\n".join(json.dumps({"id": i}) for i in range(N)) + "\n")
kill_sql = write("kill.sql", f"CREATE TABLE big (id BIGINT) WITH (connector = 'single_file', "
                 f"path = '{big}', format = 'json', type = 'source');\n" +
                 sink(f"url = '{url}', topic = 'kill/out'") + "INSERT INTO out SELECT * FROM big;\n")
# Into a file: a pipe nobody reads while the pipeline runs would fill and stall the subscriber.
sub_out = open(os.path.join(work, "kill_received.json"), "w")
sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-t", "kill/out",
                        "-q", "1", "-W", "120"], stdout=sub_out, text=True)
time.sleep(0.5)
state = os.path.join(work, "state")
kills = 0
for attempt in range(10):
    proc = subprocess.Popen([sluice, "run", kill_sql, "--set", "batch_size=200", "--state-dir",
                             state, "--checkpoint-interval", "100ms"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, SLUICE_FAULT="slow:mqtt sink:20000"))
    if kills < 3:
        time.sleep(0.6)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            continue
    proc.wait(timeout=300)
    break
err = proc.stderr.read()
time.sleep(1)
sub.send_signal(signal.SIGTERM)
sub.wait(timeout=30)
sub_out.close()
ids = [json.loads(l)["id"] for l in open(os.path.join(work, "kill_received.json")) if l.strip()]
check(f"sink kill -9 x{kills} and restore: every row arrives (at-least-once)",
      proc.returncode == 0 and set(ids) == set(range(N)),
      f"{err}\n{len(set(ids))} distinct of {N}, {len(ids)} messages")
print(f"mqtt: {len(ids) - len(set(ids))} rows published twice after {kills} kills")

subprocess.run([SCRIPT, "stop", broker])
checks.finish()
