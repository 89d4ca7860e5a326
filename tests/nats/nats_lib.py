"""A small NATS client for the tests, over the server's text protocol (CONNECT, PUB, HPUB, SUB,
MSG, HMSG, PING/PONG), and the JetStream API requests the tests need (create and delete a
stream, publish with the stream's acknowledgement). Written here so the tests read and write the
real server through something independent of Sluice's client library."""

import json
import os
import socket
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "nats-test-server")


def start_server(directory, owner=None, user=None, password=None):
    args = [SCRIPT, "start", directory]
    if owner:
        args += ["--owner", str(owner)]
    if user:
        args += ["--user", user, "--pass", password]
    url = subprocess.run(args, check=True, text=True, capture_output=True).stdout.strip()
    return url, int(open(os.path.join(directory, "port")).read())


def stop_server(directory):
    subprocess.run([SCRIPT, "stop", directory], check=True)


class Client:
    def __init__(self, port, user=None, password=None, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout)
        self.sock.settimeout(timeout)
        self.buf = b""
        self.sid = 0
        self.inbox_n = 0
        self._line()  # INFO
        connect = {"verbose": False, "pedantic": False, "headers": True, "no_responders": True,
                   "protocol": 1}
        if user:
            connect.update(user=user, **{"pass": password})
        self.sock.sendall(b"CONNECT " + json.dumps(connect).encode() + b"\r\n")
        self.ping()

    def close(self):
        self.sock.close()

    def _fill(self):
        data = self.sock.recv(1 << 20)
        if not data:
            raise ConnectionError("NATS server closed the connection")
        self.buf += data

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode()

    def _bytes(self, n):
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def ping(self):
        self.sock.sendall(b"PING\r\n")
        while True:
            msg = self._next()
            if msg == "PONG":
                return

    def _next(self):
        """The next protocol item: "PONG", or (subject, reply, headers, payload) for messages."""
        while True:
            line = self._line()
            if line == "PING":
                self.sock.sendall(b"PONG\r\n")
            elif line == "PONG":
                return "PONG"
            elif line.startswith("-ERR"):
                raise RuntimeError(line)
            elif line.startswith("MSG "):
                parts = line.split()
                reply = parts[3] if len(parts) == 5 else None
                return (parts[1], reply, b"", self._bytes(int(parts[-1])))
            elif line.startswith("HMSG "):
                parts = line.split()
                reply = parts[3] if len(parts) == 6 else None
                hlen, total = int(parts[-2]), int(parts[-1])
                data = self._bytes(total)
                return (parts[1], reply, data[:hlen], data[hlen:])
            # +OK, INFO: ignored

    def publish(self, subject, payload, reply=None):
        if isinstance(payload, str):
            payload = payload.encode()
        head = f"PUB {subject} {reply + ' ' if reply else ''}{len(payload)}\r\n".encode()
        self.sock.sendall(head + payload + b"\r\n")

    def subscribe(self, subject):
        self.sid += 1
        self.sock.sendall(f"SUB {subject} {self.sid}\r\n".encode())
        return self.sid

    def next_msg(self, timeout=10):
        self.sock.settimeout(timeout)
        try:
            while True:
                item = self._next()
                if item != "PONG":
                    return item
        finally:
            self.sock.settimeout(10)

    def request(self, subject, payload, timeout=10):
        self.inbox_n += 1
        inbox = f"_INBOX.test.{os.getpid()}.{self.inbox_n}"
        sid = self.subscribe(inbox)
        self.publish(subject, payload, reply=inbox)
        subj, _, headers, data = self.next_msg(timeout)
        while subj != inbox:
            subj, _, headers, data = self.next_msg(timeout)
        self.sock.sendall(f"UNSUB {sid}\r\n".encode())
        return headers, data

    # --- JetStream ---
    def js_api(self, what, body=None):
        _, data = self.request(f"$JS.API.{what}", json.dumps(body or {}))
        answer = json.loads(data)
        if "error" in answer:
            raise RuntimeError(f"JetStream {what}: {answer['error']}")
        return answer

    def add_stream(self, name, subjects, retention="limits", storage="file"):
        return self.js_api(f"STREAM.CREATE.{name}", {"name": name, "subjects": subjects,
                                                       "retention": retention,
                                                       "storage": storage})

    def delete_stream(self, name):
        try:
            self.js_api(f"STREAM.DELETE.{name}")
        except RuntimeError:
            pass

    def stream_info(self, name):
        return self.js_api(f"STREAM.INFO.{name}")

    def js_publish_many(self, subject, payloads):
        """Publishes each payload and waits for the stream to acknowledge all of them."""
        self.inbox_n += 1
        inbox = f"_INBOX.jsack.{os.getpid()}.{self.inbox_n}"
        sid = self.subscribe(inbox)
        chunk = []
        for p in payloads:
            if isinstance(p, str):
                p = p.encode()
            chunk.append(f"PUB {subject} {inbox} {len(p)}\r\n".encode() + p + b"\r\n")
            if len(chunk) >= 1000:
                self.sock.sendall(b"".join(chunk))
                chunk = []
        if chunk:
            self.sock.sendall(b"".join(chunk))
        for _ in payloads:
            _, _, _, data = self.next_msg(30)
            answer = json.loads(data)
            if "error" in answer:
                raise RuntimeError(f"JetStream publish: {answer['error']}")
        self.sock.sendall(f"UNSUB {sid}\r\n".encode())

    def read_stream(self, name, count, timeout=30):
        """The payloads of the first `count` messages of a stream (a pull of an ephemeral
        consumer)."""
        info = self.js_api(f"CONSUMER.CREATE.{name}", {"stream_name": name, "config": {
            "deliver_policy": "all", "ack_policy": "none", "inactive_threshold": 60_000_000_000}})
        consumer = info["name"]
        self.inbox_n += 1
        inbox = f"_INBOX.pull.{os.getpid()}.{self.inbox_n}"
        sid = self.subscribe(inbox)
        self.publish(f"$JS.API.CONSUMER.MSG.NEXT.{name}.{consumer}",
                     json.dumps({"batch": count, "expires": int(timeout * 1e9)}), reply=inbox)
        out = []
        deadline = time.time() + timeout
        while len(out) < count and time.time() < deadline:
            subj, reply, headers, data = self.next_msg(timeout)
            if reply and reply.startswith("$JS.ACK."):
                out.append(data)
            elif headers.startswith(b"NATS/1.0 4"):
                break
        self.sock.sendall(f"UNSUB {sid}\r\n".encode())
        return out
