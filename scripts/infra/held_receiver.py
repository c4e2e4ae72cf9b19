"""A real HTTP receiver on 127.0.0.1 that holds each request until told to answer, so a delivery
can be kept in flight while its sender is stopped (container.sh's drain check).

    held_receiver.py < RELEASE_FIFO

First stdout line: `listening on 127.0.0.1:<port>`. For each request it prints `held <method>
<path>`, reads one line from stdin (any line releases one request), answers 200 and prints
`answered <path>`.
"""
import http.server
import sys
import threading

release = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length") or 0))
        print(f"held {self.command} {self.path}", flush=True)
        with release:
            if not sys.stdin.readline():
                print("stdin closed: answering anyway", flush=True)
        body = b"ok\n"
        self.send_response(200)
        self.send_header("content-type", "text/plain")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        print(f"answered {self.path}", flush=True)

    do_GET = do_PUT = do_POST

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"listening on 127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()
