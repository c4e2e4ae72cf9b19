#!/usr/bin/env python3
"""A real HTTP origin for the edge's forwarding checks: it answers every request under /api,
/app, /ping and /billing with a JSON description of exactly what it received (method, path with query,
headers, body as base64), and offers a few special paths to test responses:

  /api/echo/redirect    302 to /app/elsewhere (the edge must pass it on, not follow it)
  /api/echo/cookies     two Set-Cookie headers
  /api/echo/csp         its own Content-Security-Policy without frame-ancestors
  /api/echo/stream      a chunked response sent in parts, with a pause between them
  /api/echo/status/NNN  answers with status NNN
  /api/echo/hangup      closes the connection without answering
  /status.json          answers only after 5 s (the edge must give up sooner and say "unknown")
  /received             (asked directly, not through the edge) the paths received so far

Prints "listening on http://127.0.0.1:PORT" as its first line (bind port 0 by default).
"""
import base64
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STREAM_RELEASE = threading.Event()
NEVER = threading.Event()
RECEIVED = []
RECEIVED_LOCK = threading.Lock()


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        # One line per request on stderr (kept by scripts/edge/test.sh when a check fails).
        sys.stderr.write(f"{time.strftime('%H:%M:%S')}.{int(time.time() * 1000) % 1000:03d} {fmt % args}\n")

    def _body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return data, True
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length), False

    def _send(self, status, body, headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self):
        path = self.path
        if path == "/received":
            with RECEIVED_LOCK:
                return self._send(200, json.dumps(RECEIVED).encode(), [("Content-Type", "application/json")])
        with RECEIVED_LOCK:
            RECEIVED.append(path)
        if path == "/status.json":
            NEVER.wait(5)
            return self._send(200, b'{"api":{"up":true},"scheduler":{"up":true,"last_heartbeat_at":null,"lag_ms":1},"incidents":[]}',
                              [("Content-Type", "application/json")])
        body, chunked = self._body()
        if path.startswith("/api/echo/redirect"):
            return self._send(302, b"", [("Location", "/app/elsewhere")])
        if path.startswith("/api/echo/cookies"):
            return self._send(200, b"{}", [("Content-Type", "application/json"), ("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2; Path=/")])
        if path.startswith("/api/echo/csp"):
            return self._send(200, b"<p>dashboard</p>", [("Content-Type", "text/html"), ("Content-Security-Policy", "default-src 'self'; script-src 'self'")])
        if path.startswith("/api/echo/hangup"):
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return None
        if path.startswith("/api/echo/status/"):
            return self._send(int(path.rsplit("/", 1)[1]), b'{"echo":"status"}', [("Content-Type", "application/json")])
        if path.startswith("/api/echo/stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"first;", b"second;", b"third"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.flush()
                if part == b"first;":
                    # Hold the rest until the client has seen the first part (or give up after 10 s):
                    # proves the edge streams instead of buffering the whole answer.
                    STREAM_RELEASE.wait(10)
                    STREAM_RELEASE.clear()
            self.wfile.write(b"0\r\n\r\n")
            return None
        if path.startswith("/release-stream"):
            STREAM_RELEASE.set()
            return self._send(204, b"")
        report = {
            "method": self.command,
            "path": path,
            "headers": [[k.lower(), v] for k, v in self.headers.items()],
            "body_b64": base64.b64encode(body).decode(),
            "chunked": chunked,
        }
        return self._send(200, json.dumps(report).encode(), [("Content-Type", "application/json"), ("X-Echo", "yes")])

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = ThreadingHTTPServer(("127.0.0.1", port), Echo)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
