"""RabbitMQ Streams source benchmark: a RabbitMQ server of its own (scripts/rabbitmq-test-server)
on the same machine. M messages ({"id": n, "v": "value n"} JSON, ~30 bytes, as AMQP 1.0 data
sections) are published first with rstream (simple entries in batches of 1000, or sub-entry
batches of 100, uncompressed or gzip); then `SELECT id FROM e WHERE id = -1` (the end marker
published last: the filter passes one row) runs until that row comes out, and the sluice
process's CPU time at that moment is read from /proc. The server's CPU is not counted."""

import argparse
import asyncio
import os
import select
import subprocess
import tempfile
import time

from rstream import AMQPMessage, CompressionType, Producer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ap = argparse.ArgumentParser()
ap.add_argument("--messages", type=int, default=500000)
ap.add_argument("--mode", default="batch", choices=["batch", "sub", "gzip"])
ap.add_argument("--sluice", default=os.path.join(ROOT, "build", "release", "sluice"))
ap.add_argument("--server-dir", help="a running rabbitmq-test-server directory to use")
a = ap.parse_args()
work = tempfile.mkdtemp(prefix="sluice_rabbitmq_bench_")
script = os.path.join(ROOT, "scripts", "rabbitmq-test-server")
srv = a.server_dir
if not srv:
    srv = os.path.join(work, "server")
    subprocess.run([script, "start", srv, "--owner", str(os.getpid())], check=True)
port = int(open(os.path.join(srv, "port")).read())
M = a.messages
tick = os.sysconf("SC_CLK_TCK")
stream = f"bench_{a.mode}_{os.getpid()}"


def cpu(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / tick


async def publish():
    async with Producer("127.0.0.1", port=port, username="guest", password="guest") as p:
        await p.create_stream(stream)
        comp = CompressionType.Gzip if a.mode == "gzip" else CompressionType.No
        step = 1000 if a.mode == "batch" else 100
        for i in range(0, M, step):
            msgs = [AMQPMessage(body=f'{{"id": {n}, "v": "value {n}"}}'.encode())
                    for n in range(i, min(M, i + step))]
            if a.mode == "batch":
                await p.send_batch(stream, msgs)
            else:
                await p.send_sub_entry(stream, msgs, compression_type=comp)
        await p.send_wait(stream, AMQPMessage(body=b'{"id": -1, "v": "end"}'))

t = time.time()
asyncio.run(publish())
print(f"published {M} messages ({a.mode}) in {time.time() - t:.1f} s")
q = os.path.join(work, "q.sql")
open(q, "w").write(
    f"CREATE TABLE e (id BIGINT, v TEXT) WITH (connector = 'rabbitmq', host = '127.0.0.1', "
    f"port = '{port}', stream = '{stream}', source.offset = 'first', format = 'json');\n"
    "SELECT id FROM e WHERE id = -1;\n")
t = time.time()
p = subprocess.Popen([a.sluice, "run", q, "--parallelism", "1"], stdout=subprocess.PIPE,
                     stderr=subprocess.DEVNULL, text=True)
select.select([p.stdout], [], [], 600)
line = p.stdout.readline()
secs, used = time.time() - t, cpu(p.pid)
p.terminate()
p.wait()
assert '"id":-1' in line.replace(" ", ""), line
print(f"RabbitMQ stream ({a.mode}) -> filter: {M} messages, wall {secs:.2f} s, CPU {used:.2f} s, "
      f"{M / used / 1e3:.0f} k msgs per CPU-second, {M / secs / 1e3:.0f} k msgs/s")
if not a.server_dir:
    subprocess.run([script, "stop", srv])
