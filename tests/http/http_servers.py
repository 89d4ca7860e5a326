"""Local HTTP servers for tests/http/http_test.py, on loopback ports, Python's standard library
only: a Server-Sent Events stream (with ids, event types, dropped connections, Last-Event-ID
resume, HTTP 204 at the end), a polled endpoint with scripted responses, a webhook receiver that
fails and is slow on demand, and a small WebSocket server (RFC 6455 handshake and frames)."""

import base64
import hashlib
import http.server
import json
import socket
import socketserver
import ssl
import struct
import threading
import time


class Threaded(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # a client that went away (sluice stopped or reconnecting) is expected


def start(server):
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    return server


class SseServer:
    """GET /events: events 1..len(events) after the request's Last-Event-ID; each connection
    sends at most `per_connection` events, then closes (a dropped connection) unless the stream
    is at its end, where it answers 204 on the next request (the stream is over)."""

    def __init__(self, events, per_connection=None, delay=0.0, retry_ms=None,
                 require_header=None, port=0):
        self.events = events  # list of (type or None, data text)
        self.per_connection = per_connection
        self.delay = delay
        self.retry_ms = retry_ms
        self.require_header = require_header
        self.last_event_ids = []  # Last-Event-ID of each request (None when absent)
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                last = self.headers.get("Last-Event-ID")
                outer.last_event_ids.append(last)
                if outer.require_header:
                    k, v = outer.require_header
                    if self.headers.get(k) != v:
                        self.send_response(401)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                start_at = int(last) if last else 0
                if start_at >= len(outer.events):
                    self.send_response(204)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                if outer.retry_ms is not None:
                    self.wfile.write(b"retry: %d\n\n" % outer.retry_ms)
                self.wfile.write(b": a comment, as keep-alives are\n\n")
                n = 0
                for i in range(start_at, len(outer.events)):
                    kind, data = outer.events[i]
                    text = "".join("data: %s\n" % line for line in data.split("\n"))
                    if kind:
                        text = "event: %s\n" % kind + text
                    text = "id: %d\n" % (i + 1) + text + "\n"
                    try:
                        self.wfile.write(text.encode())
                        self.wfile.flush()
                    except OSError:
                        return
                    n += 1
                    if outer.delay:
                        time.sleep(outer.delay)
                    if outer.per_connection and n >= outer.per_connection:
                        break
                self.close_connection = True

        self.server = start(Threaded(("127.0.0.1", port), Handler))
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d/events" % self.port

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class PollServer:
    """Any method on /poll: answers bodies[min(i, last)] for the i-th request that is accepted;
    `fail_every`: every n-th request gets 503 first; `expect`: (method, body, header, value)
    a request must match (else 400)."""

    def __init__(self, bodies, fail_every=None, expect=None):
        self.bodies = bodies
        self.fail_every = fail_every
        self.expect = expect
        self.requests = 0
        self.served = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def handle_any(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n).decode() if n else ""
                with outer.lock:
                    outer.requests += 1
                    req = outer.requests
                    status, text = 200, None
                    if outer.expect:
                        m, b, h, v = outer.expect
                        if self.command != m or body != b or self.headers.get(h) != v:
                            status, text = 400, "unexpected request %s %r" % (self.command, body)
                    if status == 200 and outer.fail_every and req % outer.fail_every == 0:
                        status, text = 503, "try again"
                    if status == 200:
                        text = outer.bodies[min(outer.served, len(outer.bodies) - 1)]
                        outer.served += 1
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = handle_any

        self.server = start(Threaded(("127.0.0.1", 0), Handler))
        self.url = "http://127.0.0.1:%d/poll" % self.server.server_address[1]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class WebhookServer:
    """POST /hook: records each accepted body. `fail_first`: the first attempt of every n-th
    distinct body gets 503 (retries succeed); `status`: answer every request with this;
    `delay`: seconds per request (a slow endpoint); tracks the most requests in flight."""

    def __init__(self, fail_every=None, status=None, delay=0.0):
        self.fail_every = fail_every
        self.status = status
        self.delay = delay
        self.bodies = []
        self.headers = []
        self.attempts = 0
        self.failed_once = set()
        self.inflight = 0
        self.max_inflight = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n).decode()
                with outer.lock:
                    outer.attempts += 1
                    outer.inflight += 1
                    outer.max_inflight = max(outer.max_inflight, outer.inflight)
                    status = outer.status or 200
                    if (status == 200 and outer.fail_every and
                            outer.attempts % outer.fail_every == 0 and
                            body not in outer.failed_once):
                        outer.failed_once.add(body)
                        status = 503
                if outer.delay:
                    time.sleep(outer.delay)
                with outer.lock:
                    outer.inflight -= 1
                    if status == 200:
                        outer.bodies.append(body)
                        outer.headers.append(dict(self.headers))
                reply = b"ok" if status == 200 else b"no such hook"
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.server = start(Threaded(("127.0.0.1", 0), Handler))
        self.url = "http://127.0.0.1:%d/hook" % self.server.server_address[1]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class WebsocketServer:
    """On each connection: the handshake, then reads `expect_subscriptions` text messages (kept
    in `subscriptions`, one list per connection), then sends the next messages of `messages`
    (the position is the server's: a new connection continues), at most `per_connection` of
    them before it closes the TCP connection without a close frame (a drop)."""

    def __init__(self, messages, expect_subscriptions=0, per_connection=None, tls=None):
        """`tls`: (certificate file, key file) for wss://."""
        self.messages = messages
        self.tls = None
        if tls:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(*tls)
        self.expect_subscriptions = expect_subscriptions
        self.per_connection = per_connection
        self.sent = 0
        self.subscriptions = []
        self.request_headers = []
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                outer.serve(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = start(Server(("127.0.0.1", 0), Handler))
        self.port = self.server.server_address[1]
        self.url = ("wss://localhost:%d/stream?x=1" if tls else
                    "ws://127.0.0.1:%d/stream?x=1") % self.port

    @staticmethod
    def read_exact(sock, n):
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    def read_frame(self, sock):
        b0, b1 = self.read_exact(sock, 2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", self.read_exact(sock, 2))[0]
        elif n == 127:
            n = struct.unpack(">Q", self.read_exact(sock, 8))[0]
        mask = self.read_exact(sock, 4) if b1 & 0x80 else b"\0\0\0\0"
        payload = bytes(c ^ mask[i % 4] for i, c in enumerate(self.read_exact(sock, n)))
        return b0 & 0x0F, payload

    @staticmethod
    def frame(payload, opcode=1):
        n = len(payload)
        if n < 126:
            head = struct.pack(">BB", 0x80 | opcode, n)
        elif n < 65536:
            head = struct.pack(">BBH", 0x80 | opcode, 126, n)
        else:
            head = struct.pack(">BBQ", 0x80 | opcode, 127, n)
        return head + payload

    def serve(self, sock):
        try:
            if self.tls:
                sock = self.tls.wrap_socket(sock, server_side=True)
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = sock.recv(4096)
                if not chunk:
                    return
                request += chunk
            lines = request.decode().split("\r\n")
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            self.request_headers.append((lines[0], headers))
            accept = base64.b64encode(hashlib.sha1(
                (headers["sec-websocket-key"] + GUID).encode()).digest()).decode()
            sock.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n" %
                          accept).encode())
            subs = []
            self.subscriptions.append(subs)
            while len(subs) < self.expect_subscriptions:
                op, payload = self.read_frame(sock)
                if op == 1:
                    subs.append(payload.decode())
            n = 0
            while self.sent < len(self.messages):
                sock.sendall(self.frame(self.messages[self.sent].encode()))
                self.sent += 1
                n += 1
                if self.per_connection and n >= self.per_connection:
                    sock.shutdown(socket.SHUT_RDWR)
                    return
            # All sent: stay open (answer pings) until the client goes.
            while True:
                op, payload = self.read_frame(sock)
                if op == 8:
                    sock.sendall(self.frame(payload[:2], 8))
                    return
                if op == 9:
                    sock.sendall(self.frame(payload, 10))
        except (ConnectionError, OSError, ValueError):
            return
        finally:
            sock.close()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
