"""Cold starts of a Lambda function binary under a Lambda Runtime API emulator (no AWS needed).

    cold_start.py BINARY EVENT_JSON RUNS    (the function's environment: this process's, plus the
                                             AWS_LAMBDA_* variables the runtime requires)

For each run it starts BINARY afresh, serves it EVENT_JSON as its first invocation on
`GET /2018-06-01/runtime/invocation/next` (with the request-id and deadline headers the runtime
needs), and times, from just before the process is spawned:
  init   - until its first `next` call (what Lambda reports as Init Duration);
  first  - until its answer to that invocation arrives (a cold start as a caller sees it).
The answer must be a 2xx response, else the run fails. Prints one JSON object per run and then
a summary line `cold-start: …` with the median and p90 of both.
"""
import http.server
import json
import os
import statistics
import subprocess
import sys
import threading
import time


class Emulator(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, event):
        super().__init__(("127.0.0.1", 0), Handler)
        self.event = event
        self.reset()

    def handle_error(self, request, client_address):
        pass  # a stopped process resets its last poll's connection; that is expected here

    def reset(self):
        self.served = False
        self.t_next = None
        self.answer = None
        self.answered = threading.Event()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        em = self.server
        if not self.path.endswith("/runtime/invocation/next"):
            return self.reply(404, b"{}")
        if em.t_next is None:
            em.t_next = time.perf_counter()
        if em.served:  # one invocation per process: hold later polls until the process is stopped
            em.answered.wait(60)
            return  # the process is stopped right after its answer; close this poll unanswered
        em.served = True
        body = json.dumps(em.event).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.send_header("lambda-runtime-aws-request-id", "cold-start-1")
        self.send_header("lambda-runtime-deadline-ms", str(int(time.time() * 1000) + 30_000))
        self.send_header("lambda-runtime-invoked-function-arn", "arn:aws:lambda:eu-central-1:123456789012:function:prikke-api")
        self.send_header("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000")
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        em = self.server
        data = self.rfile.read(int(self.headers.get("content-length") or 0))
        if "/invocation/" in self.path and self.path.endswith("/response"):
            em.answer = ("response", time.perf_counter(), data)
        else:
            em.answer = ("error", time.perf_counter(), data)
        self.reply(202, b"{}")
        em.answered.set()

    def reply(self, code, body):
        self.send_response(code)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def main(binary, event_path, runs):
    with open(event_path) as f:
        event = json.load(f)
    inits, firsts = [], []
    for i in range(runs):
        # an emulator (and port) per process, so a stopped process's last poll cannot take the
        # next one's event
        em = Emulator(event)
        threading.Thread(target=em.serve_forever, daemon=True).start()
        env = dict(os.environ)
        env.update({
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{em.server_address[1]}",
            "AWS_LAMBDA_FUNCTION_NAME": "prikke-api",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        })
        t0 = time.perf_counter()
        proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        ok = em.answered.wait(30)
        proc.kill()
        _, stderr = proc.communicate()
        em.shutdown()
        em.server_close()
        if not ok:
            sys.exit(f"run {i + 1}: no answer within 30 s; the function said:\n{stderr.decode(errors='replace')[-2000:]}")
        kind, t_answer, data = em.answer
        status = json.loads(data).get("statusCode") if kind == "response" else None
        if kind != "response" or not (200 <= int(status or 0) < 300):
            sys.exit(f"run {i + 1}: the function answered {kind} {data[:500]!r}")
        init, first = (em.t_next - t0) * 1000, (t_answer - t0) * 1000
        inits.append(init)
        firsts.append(first)
        print(json.dumps({"run": i + 1, "init_ms": round(init, 2), "first_response_ms": round(first, 2), "status": status}), flush=True)
    print(
        f"cold-start: {runs} runs of {os.path.basename(binary)}: init median {statistics.median(inits):.1f} ms, "
        f"p90 {percentile(inits, 90):.1f} ms; first response answered median {statistics.median(firsts):.1f} ms, "
        f"p90 {percentile(firsts, 90):.1f} ms"
    )


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
