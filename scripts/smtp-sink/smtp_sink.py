"""A real SMTP server (aiosmtpd) for development and tests: it accepts every message and prints
each one as a JSON line on stdout (from, to, subject, message_id, list_unsubscribe, text, html,
and every header), so a test can read exactly what a mail client would have received.

    python smtp_sink.py [--port N] [--refuse-first N]

The first stdout line is `listening on 127.0.0.1:<port>` (port 0, the default, picks a free one).
`--refuse-first N` answers the first N messages with a 451 (temporary failure), for retry tests.
"""

import argparse
import asyncio
import email
import email.policy
import json
import sys

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, refuse_first):
        self.refuse_left = refuse_first

    async def handle_DATA(self, server, session, envelope):
        if self.refuse_left > 0:
            self.refuse_left -= 1
            print(json.dumps({"refused": True}), flush=True)
            return "451 4.3.0 try again later"
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        text = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        print(
            json.dumps(
                {
                    "from": envelope.mail_from,
                    "to": envelope.rcpt_tos,
                    "subject": str(msg["Subject"] or ""),
                    "message_id": str(msg["Message-ID"] or ""),
                    "list_unsubscribe": str(msg["List-Unsubscribe"] or ""),
                    "headers": {k: str(v) for k, v in msg.items()},
                    "text": text.get_content() if text else None,
                    "html": html.get_content() if html else None,
                }
            ),
            flush=True,
        )
        return "250 OK"


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--refuse-first", type=int, default=0)
    args = parser.parse_args()
    sink = Sink(args.refuse_first)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(sink, hostname="prikke-sink"), "127.0.0.1", args.port)
    host, port = server.sockets[0].getsockname()[:2]
    print(f"listening on {host}:{port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
