#!/usr/bin/env python3
"""HTTP checks of the edge Worker running under workerd (started by scripts/edge/test.sh).

Two edge instances run from the same build:
  EDGE_URL       forwards to a real api-fn (API_URL) on a fresh Postgres (DATABASE_URL);
  EDGE_ECHO_URL  forwards to scripts/edge/echo_origin.py (ECHO_URL), which reports exactly what
                 it received, so forwarding can be checked byte for byte.
Every test sends its own CF-Connecting-IP (wrangler dev keeps a client-supplied one), so the
per-client rate limits of one test never affect another.
Prints `edge: N passed, M failed` last and exits non-zero on any failure.
"""
import base64
import gzip
import html
import http.client
import importlib.util
import itertools
import json
import os
import random
import subprocess
import sys
import time
import tomllib
import unittest
import uuid
from urllib.parse import urlsplit

EDGE_URL = os.environ["EDGE_URL"]
EDGE_ECHO_URL = os.environ["EDGE_ECHO_URL"]
ECHO_URL = os.environ["ECHO_URL"]
API_URL = os.environ["API_URL"]
# the edge's proof: api-fn answers only requests that carry it (calls made here straight to api-fn add it)
ORIGIN_SECRET = os.environ["ORIGIN_SECRET"]
PROOF = {"x-prikke-edge": ORIGIN_SECRET}
DATABASE_URL = os.environ["DATABASE_URL"]
ROOT = os.environ["PRIKKE_ROOT"]
EXAMPLES = os.path.join(ROOT, "edge", "content", "examples")

LANDING_BUDGET = 28_000
SECURITY_HEADERS = ("content-security-policy", "strict-transport-security", "x-content-type-options", "referrer-policy", "x-frame-options")
_addresses = itertools.count(1)
_network = random.randrange(256)  # another run against the same edge uses other addresses


def client_ip():
    """A client address no other test (of this run) uses."""
    n = next(_addresses)
    return f"10.{_network}.{n // 250}.{n % 250 + 1}"


class Reply:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def header(self, name):
        return self.headers.get(name)

    def text(self):
        return self.body.decode("utf-8")

    def json(self):
        return json.loads(self.body)


def request(base, method, path, body=None, headers=None, ip=None, conn=None, chunked=False):
    """One request; `ip` becomes CF-Connecting-IP. Pass `conn` to reuse a connection."""
    url = urlsplit(base)
    own = conn is None
    conn = conn or http.client.HTTPConnection(url.hostname, url.port, timeout=15)
    headers = dict(headers or {})
    headers.setdefault("cf-connecting-ip", ip or client_ip())
    try:
        conn.request(method, path, body=body, headers=headers, encode_chunked=chunked)
        response = conn.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        if own:
            conn.close()


def psql(query):
    out = subprocess.run(["psql", DATABASE_URL, "-tAc", query], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def waitlist_rows(email):
    escaped = email.replace("'", "''")
    return int(psql(f"SELECT count(*) FROM waitlist WHERE lower(email) = lower('{escaped}')"))


class EdgeCase(unittest.TestCase):
    def assert_security_headers(self, reply, csp_must_contain="frame-ancestors 'none'"):
        for name in SECURITY_HEADERS:
            self.assertTrue(reply.header(name), f"missing {name}")
        self.assertIn(csp_must_contain, reply.header("content-security-policy"))
        self.assertIn("max-age=63072000", reply.header("strict-transport-security"))
        self.assertEqual(reply.header("x-content-type-options"), "nosniff")
        self.assertEqual(reply.header("referrer-policy"), "strict-origin-when-cross-origin")

    def assert_problem(self, reply, status, type_slug):
        self.assertEqual(reply.status, status, reply.body[:300])
        self.assertEqual(reply.header("content-type"), "application/problem+json")
        problem = reply.json()
        self.assertEqual(problem["type"], f"https://prikke.eu/problems/{type_slug}")
        self.assertEqual(problem["status"], status)
        self.assertTrue(problem["detail"])
        return problem

    def flood_until_limited(self, base, path, limit, headers=None):
        """Sends up to 3x `limit` requests from one new client; returns the first 429 and its index."""
        ip = client_ip()
        url = urlsplit(base)
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        try:
            for i in range(1, 3 * limit + 1):
                reply = request(base, "GET", path, headers=headers, ip=ip, conn=conn)
                if reply.status == 429:
                    return reply, i
                self.assertIn(reply.status, (200, 404), reply.body[:200])
        finally:
            conn.close()
        self.fail(f"no 429 after {3 * limit} requests to {path}")


class Pages(EdgeCase):
    PAGES = {
        "/": "Jobs done, <em>til punkt og prikke</em>",
        "/docs": "<h1>Getting started</h1>",
        "/docs/api": 'href="/api/v1/openapi.json"',
        "/docs/cron": "<h1>Cron syntax</h1>",
        "/docs/webhooks": "<h1>Webhooks and signatures</h1>",
        "/use-cases": "Use cases",
        "/status": "<h1>Prikke status</h1>",
    }

    def test_every_page_renders_as_html_with_security_headers(self):
        for path, marker in self.PAGES.items():
            with self.subTest(path=path):
                reply = request(EDGE_URL, "GET", path)
                self.assertEqual(reply.status, 200)
                self.assertEqual(reply.header("content-type"), "text/html; charset=utf-8")
                self.assert_security_headers(reply, "default-src 'none'")
                self.assertIn(marker, reply.text())
                self.assertNotIn("<script", reply.text())

    def test_landing_page_has_features_example_pricing_and_waitlist(self):
        page = request(EDGE_URL, "GET", "/").text()
        self.assertIn('id="features"', page)
        self.assertIn("https://prikke.eu/api/v1/jobs", page)
        self.assertIn("def verify(secret", page)
        for cell in ("Free", "Pro &middot; &euro;29/month", "5,000 / month", "250,000 / month", "Unlimited"):
            self.assertIn(cell, page)
        self.assertIn('<form class="waitlist" method="post" action="/waitlist">', page)

    def test_landing_page_stays_within_its_size_budget(self):
        total = 0
        for path, content_type in (("/", "text/html"), ("/assets/site.css", "text/css"), ("/favicon.svg", "image/svg+xml")):
            reply = request(EDGE_URL, "GET", path)
            self.assertEqual(reply.status, 200, path)
            self.assertTrue(reply.header("content-type").startswith(content_type), path)
            total += len(gzip.compress(reply.body, 9))
        self.assertLessEqual(total, LANDING_BUDGET)

    def test_head_answers_headers_without_a_body(self):
        reply = request(EDGE_URL, "HEAD", "/docs")
        self.assertEqual(reply.status, 200)
        self.assertEqual(reply.header("content-type"), "text/html; charset=utf-8")
        self.assertEqual(reply.body, b"")

    def test_unknown_paths_are_404_for_browsers_and_clients(self):
        page = request(EDGE_URL, "GET", "/nope")
        self.assertEqual(page.status, 404)
        self.assertEqual(page.header("content-type"), "text/html; charset=utf-8")
        self.assert_security_headers(page)
        self.assert_problem(request(EDGE_URL, "GET", "/nope", headers={"accept": "application/json"}), 404, "not-found")

    def test_writing_to_a_page_is_405_with_allow(self):
        reply = request(EDGE_URL, "POST", "/docs", body=b"x", headers={"content-type": "text/plain"})
        self.assertEqual(reply.status, 405)
        self.assertEqual(reply.header("allow"), "GET, HEAD")

    def test_status_page_shows_what_api_fn_reports(self):
        reported = json.loads(request(API_URL, "GET", "/status.json", headers=PROOF).body)
        page = request(EDGE_URL, "GET", "/status").text()
        self.assertIn("API and dashboard</strong>&nbsp;&middot; Operational", page)
        scheduler = "Operational" if reported["scheduler"]["up"] else "Down"
        self.assertIn(f"Scheduler and delivery</strong>&nbsp;&middot; {scheduler}", page)

    def test_status_page_says_unknown_when_the_origin_is_too_slow(self):
        started = time.monotonic()
        reply = request(EDGE_ECHO_URL, "GET", "/status")
        elapsed = time.monotonic() - started
        self.assertEqual(reply.status, 200)
        self.assertIn("Status unknown", reply.text())
        self.assertLess(elapsed, 4.0, "the edge must give up on /status.json before the origin's 5 s")


class Health(EdgeCase):
    def test_health_is_up_when_api_fn_is(self):
        reply = request(EDGE_URL, "GET", "/health")
        self.assertEqual(reply.status, 200)
        self.assertEqual(reply.header("content-type"), "application/json")
        body = reply.json()
        self.assertEqual(set(body), {"sha", "env", "up", "deps"})
        self.assertEqual(body["env"], "test")
        self.assertTrue(body["sha"])
        self.assertIs(body["up"], True)
        self.assertEqual(body["deps"], {"api": True})

    def test_health_is_503_when_the_origin_is_not_a_healthy_api_fn(self):
        reply = request(EDGE_ECHO_URL, "GET", "/health")
        self.assertEqual(reply.status, 503)
        self.assertEqual(reply.json()["up"], False)
        self.assertEqual(reply.json()["deps"], {"api": False})


class Waitlist(EdgeCase):
    def test_json_sign_up_is_stored_once(self):
        email = f"ada.{uuid.uuid4().hex[:10]}@example.eu"
        ip = client_ip()
        first = request(EDGE_URL, "POST", "/waitlist", json.dumps({"email": email}), {"content-type": "application/json"}, ip)
        self.assertEqual(first.status, 201, first.body)
        self.assertEqual(first.json(), {"status": "added"})
        self.assert_security_headers(first)
        again = request(EDGE_URL, "POST", "/waitlist", json.dumps({"email": email.upper()}), {"content-type": "application/json"}, ip)
        self.assertEqual(again.status, 200, again.body)
        self.assertEqual(again.json(), {"status": "already_listed"})
        self.assertEqual(waitlist_rows(email), 1)

    def test_form_sign_up_answers_with_a_page_and_is_stored_once(self):
        email = f"grace.{uuid.uuid4().hex[:10]}@example.eu"
        form = {"content-type": "application/x-www-form-urlencoded"}
        first = request(EDGE_URL, "POST", "/waitlist", f"email={email.replace('@', '%40')}", form)
        self.assertEqual(first.status, 200, first.body[:300])
        self.assertEqual(first.header("content-type"), "text/html; charset=utf-8")
        self.assertIn("You are on the list", first.text())
        self.assertIn(email, first.text())
        self.assert_security_headers(first)
        again = request(EDGE_URL, "POST", "/waitlist", f"email={email}", form)
        self.assertEqual(again.status, 200)
        self.assertIn("You were already on the list", again.text())
        self.assertEqual(waitlist_rows(email), 1)

    def test_a_bad_email_is_refused_with_a_clear_message_and_not_stored(self):
        reply = request(EDGE_URL, "POST", "/waitlist", json.dumps({"email": "ada.example.eu"}), {"content-type": "application/json"})
        problem = self.assert_problem(reply, 422, "invalid-email")
        self.assertEqual(problem["detail"], 'An email address needs exactly one "@", as in name@example.com.')
        self.assertEqual(waitlist_rows("ada.example.eu"), 0)
        page = request(EDGE_URL, "POST", "/waitlist", "email=ada%40localhost", {"content-type": "application/x-www-form-urlencoded"})
        self.assertEqual(page.status, 422)
        self.assertIn("The domain &quot;localhost&quot; is not valid", page.text())
        self.assertIn('value="ada@localhost"', page.text(), "the form is offered again with what was typed")

    def test_other_media_types_and_missing_fields_are_explained(self):
        self.assert_problem(request(EDGE_URL, "POST", "/waitlist", "ada@example.eu", {"content-type": "text/plain"}), 415, "unsupported-media-type")
        self.assert_problem(request(EDGE_URL, "POST", "/waitlist", "{", {"content-type": "application/json"}), 400, "malformed-json")
        self.assert_problem(request(EDGE_URL, "POST", "/waitlist", "{}", {"content-type": "application/json"}), 422, "invalid-email")

    def test_sign_ups_are_rate_limited_per_client(self):
        limit = rate_limit("WAITLIST_LIMITER")["limit"]
        ip = client_ip()
        statuses = []
        for i in range(limit + 1):
            reply = request(EDGE_URL, "POST", "/waitlist", json.dumps({"email": f"flood{i}-{uuid.uuid4().hex[:6]}@example.eu"}), {"content-type": "application/json"}, ip)
            statuses.append(reply.status)
        self.assertEqual(statuses[:limit], [201] * limit)
        self.assert_problem(reply, 429, "rate-limited")
        self.assertTrue(1 <= int(reply.header("retry-after")) <= 60)
        other = request(EDGE_URL, "POST", "/waitlist", json.dumps({"email": "other@example.eu"}), {"content-type": "application/json"})
        self.assertIn(other.status, (200, 201), "another client is not limited")


def rate_limit(binding):
    with open(os.path.join(ROOT, "wrangler.toml"), "rb") as f:
        config = tomllib.load(f)
    return next(r["simple"] for r in config["ratelimits"] if r["name"] == binding)


class Forwarding(EdgeCase):
    def echo(self, method, path, body=None, headers=None, ip=None, chunked=False):
        reply = request(EDGE_ECHO_URL, method, path, body, headers, ip, chunked=chunked)
        self.assertEqual(reply.status, 200, reply.body[:300])
        self.assertEqual(reply.header("x-echo"), "yes")
        self.assert_security_headers(reply)
        return reply, reply.json()

    def test_method_path_query_headers_and_body_arrive_intact(self):
        payload = bytes(range(256)) * 40 + b"\x00end"
        for method in ("POST", "PUT", "PATCH", "DELETE", "OPTIONS", "GET"):
            with self.subTest(method=method):
                body = None if method == "GET" else payload
                headers = {"content-type": "application/octet-stream", "authorization": "Bearer pk_live_x.sk_live_y",
                           "idempotency-key": "k-1", "x-custom": "kept", "cookie": "session=abc"}
                _, seen = self.echo(method, f"/api/v1/echo/{method.lower()}?a=1&b=%C3%A5", body, headers)
                self.assertEqual(seen["method"], method)
                self.assertEqual(seen["path"], f"/api/v1/echo/{method.lower()}?a=1&b=%C3%A5")
                received = dict(seen["headers"])
                for name, value in headers.items():
                    if body is None and name == "content-type":
                        continue
                    self.assertEqual(received.get(name), value, name)
                self.assertEqual(base64.b64decode(seen["body_b64"]), body or b"")

    def test_head_is_forwarded_and_answered_without_a_body(self):
        reply = request(EDGE_ECHO_URL, "HEAD", "/api/v1/jobs")
        self.assertEqual(reply.status, 200)
        self.assertEqual(reply.header("x-echo"), "yes")
        self.assertEqual(reply.body, b"")
        self.assert_security_headers(reply)
        self.assertIn("/api/v1/jobs", json.loads(request(ECHO_URL, "GET", "/received").body))

    def test_app_ping_and_billing_are_forwarded_too(self):
        for path in ("/app/jobs?page=2", "/ping/tok_123/fail", "/billing/webhook"):
            _, seen = self.echo("POST", path, b"ping", {"content-type": "text/plain", "x-signature": "ab" * 32})
            self.assertEqual(seen["path"], path)
            self.assertEqual(dict(seen["headers"]).get("x-signature"), "ab" * 32, "the provider's signature travels")

    def test_the_edge_names_the_client_and_drops_forged_forwarding_headers(self):
        ip = client_ip()
        _, seen = self.echo("GET", "/api/whoami", headers={"x-forwarded-for": "6.6.6.6", "x-real-ip": "6.6.6.6",
                                                             "x-prikke-edge": "forged"}, ip=ip)
        received = dict(seen["headers"])
        self.assertEqual(received["x-prikke-edge"], ORIGIN_SECRET, "the edge's own proof, never the client's")
        self.assertEqual(received["x-forwarded-for"], ip)
        self.assertNotIn("x-real-ip", received)
        self.assertEqual(received["x-forwarded-host"], urlsplit(EDGE_ECHO_URL).netloc)
        self.assertEqual(received["x-forwarded-proto"], "http")

    def test_a_chunked_body_within_the_limit_arrives_intact(self):
        parts = [b"a" * 70_000, b"b" * 70_000, b"c"]
        _, seen = self.echo("POST", "/api/chunked", iter(parts), {"content-type": "application/octet-stream"}, chunked=True)
        self.assertEqual(base64.b64decode(seen["body_b64"]), b"".join(parts))

    def test_oversized_bodies_are_refused_with_413_before_reaching_the_origin(self):
        big = b"x" * (1024 * 1024 + 1)
        declared = request(EDGE_ECHO_URL, "POST", "/api/too-big-declared", big, {"content-type": "application/octet-stream"})
        self.assert_problem(declared, 413, "payload-too-large")
        self.assert_security_headers(declared)
        chunked = request(EDGE_ECHO_URL, "POST", "/api/too-big-chunked", iter([big[:600_000], big[600_000:]]),
                          {"content-type": "application/octet-stream"}, chunked=True)
        self.assert_problem(chunked, 413, "payload-too-large")
        received = json.loads(request(ECHO_URL, "GET", "/received").body)
        self.assertNotIn("/api/too-big-declared", received)
        self.assertNotIn("/api/too-big-chunked", received)

    def test_redirects_cookies_statuses_and_origin_policies_come_back_as_sent(self):
        redirect = request(EDGE_ECHO_URL, "GET", "/api/echo/redirect")
        self.assertEqual(redirect.status, 302, "passed on, not followed")
        self.assertEqual(redirect.header("location"), "/app/elsewhere")
        self.assert_security_headers(redirect)
        cookies = request(EDGE_ECHO_URL, "GET", "/api/echo/cookies")
        self.assertEqual(cookies.headers.get_all("set-cookie"), ["a=1; Path=/", "b=2; Path=/"])
        for status in (201, 404, 409, 503):
            reply = request(EDGE_ECHO_URL, "GET", f"/api/echo/status/{status}")
            self.assertEqual(reply.status, status)
            self.assertEqual(reply.json(), {"echo": "status"})
            self.assert_security_headers(reply)
        csp = request(EDGE_ECHO_URL, "GET", "/api/echo/csp").header("content-security-policy")
        self.assertEqual(csp, "default-src 'self'; script-src 'self'; frame-ancestors 'none'")

    def test_responses_stream_through(self):
        url = urlsplit(EDGE_ECHO_URL)
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=8)
        try:
            conn.request("GET", "/api/echo/stream", headers={"cf-connecting-ip": client_ip()})
            response = conn.getresponse()
            self.assertEqual(response.status, 200)
            first = response.read1(64)
            self.assertTrue(first.startswith(b"first;"), "the first part arrives while the origin still holds the rest")
            request(ECHO_URL, "POST", "/release-stream", b"")
            rest = response.read()
        finally:
            conn.close()
        self.assertEqual(first + rest, b"first;second;third")

    def test_an_origin_that_hangs_up_is_a_502_problem(self):
        reply = request(EDGE_ECHO_URL, "GET", "/api/echo/hangup")
        self.assert_problem(reply, 502, "origin-unavailable")
        self.assert_security_headers(reply)

    def test_clients_are_rate_limited_with_retry_after(self):
        limit = rate_limit("REQUEST_LIMITER")["limit"]
        reply, count = self.flood_until_limited(EDGE_ECHO_URL, "/api/echo/status/200", limit)
        self.assertGreaterEqual(count, limit + 1)
        self.assert_problem(reply, 429, "rate-limited")
        self.assertTrue(1 <= int(reply.header("retry-after")) <= 10)
        page, _ = self.flood_until_limited(EDGE_URL, "/favicon.svg", limit)
        self.assertEqual(page.header("content-type"), "text/html; charset=utf-8")
        self.assertTrue(page.header("retry-after"))


class RealApi(EdgeCase):
    def test_api_calls_reach_api_fn_and_come_back_intact(self):
        for method, path in (("GET", "/api/v1/no-such-thing"), ("POST", "/app/no-such-page"), ("GET", "/ping/no-such-token")):
            with self.subTest(path=path):
                direct = request(API_URL, method, path, b"{}" if method == "POST" else None, {"content-type": "application/json", **PROOF})
                via_edge = request(EDGE_URL, method, path, b"{}" if method == "POST" else None, {"content-type": "application/json"})
                self.assertEqual(via_edge.status, direct.status)
                self.assertEqual(via_edge.header("content-type"), direct.header("content-type"))
                self.assertEqual(via_edge.body, direct.body)
                self.assert_security_headers(via_edge)

    def test_api_fn_refuses_what_did_not_come_through_the_edge(self):
        email = f"skip-{int(time.time() * 1000)}@example.com"
        for path, body in (("/api/v1/jobs", b"{}"), ("/waitlist", json.dumps({"email": email}).encode()), ("/app/login", None)):
            for headers in ({}, {"x-prikke-edge": "not-the-secret"}):
                with self.subTest(path=path, headers=headers):
                    reply = request(API_URL, "POST" if body else "GET", path, body, {"content-type": "application/json", **headers})
                    self.assert_problem(reply, 403, "not-through-edge")
        self.assertEqual(waitlist_rows(email), 0, "nothing written")
        self.assertEqual(request(API_URL, "GET", "/health").status, 200, "health checks stay open")


def load_python_example():
    spec = importlib.util.spec_from_file_location("verify_example", os.path.join(EXAMPLES, "verify.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.verify


class DocExamples(EdgeCase):
    """The signature examples on the site verify published Standard Webhooks test vectors (the
    same ones domain::signing is tested with)."""
    SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    BODY = b'{"test": 2432232314}'
    SIGNED_AT = 1614265330
    SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    HEADERS = {"webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": "1614265330", "webhook-signature": SIGNATURE}
    RUST_LIBRARY_VECTOR = ("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
                           {"webhook-id": "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", "webhook-timestamp": "1649367553",
                            "webhook-signature": "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="},
                           b'{"email":"test@example.com","username":"test_user"}', 1649367553)
    # (name, secret, headers, body, now, expected)
    CASES = [
        ("valid", SECRET, HEADERS, BODY, SIGNED_AT + 10, True),
        ("second vector", *RUST_LIBRARY_VECTOR, True),
        ("tampered body", SECRET, HEADERS, b'{"test": 2432232315}', SIGNED_AT, False),
        ("wrong secret", RUST_LIBRARY_VECTOR[0], HEADERS, BODY, SIGNED_AT, False),
        ("stale timestamp", SECRET, HEADERS, BODY, SIGNED_AT + 301, False),
        ("from the future", SECRET, HEADERS, BODY, SIGNED_AT - 301, False),
        ("rotation, second signature matches", SECRET, {**HEADERS, "webhook-signature": f"v1,AAAA {SIGNATURE}"}, BODY, SIGNED_AT, True),
        ("unknown version", SECRET, {**HEADERS, "webhook-signature": SIGNATURE.replace("v1,", "v2,")}, BODY, SIGNED_AT, False),
        ("missing id", SECRET, {**HEADERS, "webhook-id": ""}, BODY, SIGNED_AT, False),
        ("malformed timestamp", SECRET, {**HEADERS, "webhook-timestamp": "16142653e3"}, BODY, SIGNED_AT, False),
    ]

    def test_python_example(self):
        verify = load_python_example()
        for name, secret, headers, body, now, expected in self.CASES:
            with self.subTest(name):
                self.assertIs(verify(secret, dict(headers), body, now), expected)

    def test_node_example(self):
        script = ("const {verify} = require(process.argv[1]);"
                  "const cases = JSON.parse(process.argv[2]);"
                  "console.log(JSON.stringify(cases.map(([secret, headers, body, now]) => verify(secret, headers, Buffer.from(body, 'base64'), now))));")
        cases = [[secret, headers, base64.b64encode(body).decode(), now] for _, secret, headers, body, now, _ in self.CASES]
        out = subprocess.run(["node", "-e", script, os.path.join(EXAMPLES, "verify.js"), json.dumps(cases)],
                             check=True, capture_output=True, text=True)
        self.assertEqual(json.loads(out.stdout), [expected for *_, expected in self.CASES])

    def test_the_docs_serve_these_examples(self):
        page = html.unescape(request(EDGE_URL, "GET", "/docs/webhooks").text())
        for name in ("verify.py", "verify.js"):
            with open(os.path.join(EXAMPLES, name)) as f:
                self.assertIn(f.read().rstrip(), page, name)


if __name__ == "__main__":
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = result.testsRun - failed - len(result.skipped)
    print(f"edge: {passed} passed, {failed} failed")
    sys.exit(0 if failed == 0 and result.testsRun > 0 else 1)
