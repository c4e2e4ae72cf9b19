#!/usr/bin/env python3
"""The demo receiver scripts/dev starts: an HTTP endpoint that checks each delivery's Standard
Webhooks signature (webhook-id, webhook-timestamp, webhook-signature: v1,<base64 HMAC-SHA256 of
"id.timestamp.body" under the secret>) and prints one line per delivery. Standard library only.

    demo-receiver.py --port 9911 --secret whsec_...   (or PRIKKE_DEMO_SECRET in the environment)

Answers 200 to a delivery whose signature verifies and whose timestamp is within 5 minutes of
now, 401 otherwise (so the run's history shows the failure too).
"""

import argparse
import base64
import hashlib
import hmac
import http.server
import json
import os
import sys
import time

TOLERANCE_SECS = 300


def verify(secret, headers, body):
    """(ok, why): the signature check a receiver should make."""
    msg_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not (msg_id and timestamp and signatures):
        return False, "missing webhook-id, webhook-timestamp or webhook-signature"
    try:
        age = time.time() - int(timestamp)
    except ValueError:
        return False, "webhook-timestamp is not a number"
    if abs(age) > TOLERANCE_SECS:
        return False, f"timestamp is {age:.0f} s away from now"
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return True, "signature ok"
    return False, "no signature matches the secret"


def handler(secret):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            ok, why = verify(secret, self.headers, body)
            preview = body.decode("utf-8", "replace")
            if len(preview) > 120:
                preview = preview[:117] + "..."
            print(f"{time.strftime('%H:%M:%S')} {self.command} {self.path} webhook-id={self.headers.get('webhook-id')} "
                  f"{'verified' if ok else 'REJECTED'}: {why} body={preview}", flush=True)
            self.send_response(200 if ok else 401)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps({"received": ok}).encode())

        do_PUT = do_POST
        do_PATCH = do_POST
        do_GET = do_POST
        do_DELETE = do_POST

        def log_message(self, *args):
            pass

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9911)
    parser.add_argument("--secret", default=os.environ.get("PRIKKE_DEMO_SECRET"))
    args = parser.parse_args()
    if not args.secret:
        sys.exit("demo-receiver: pass --secret whsec_... (the organization's signing secret)")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), handler(args.secret))
    print(f"listening on http://127.0.0.1:{args.port}/", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
