"""An SMTP sink for the courier benchmark: accepts every message (cleartext, no auth) and reports it.

Runs as its own process (``run.py`` pins it to core 1), so its CPU is not the courier's. It prints
``ready <port>`` once listening, then one line per accepted message: the ``CLOCK_MONOTONIC`` time it
arrived and the message's token, the recovery code of the text body (``-`` when there is none). The
monotonic clock is system-wide on Linux, so the parent compares these times with its own. Usage:

    python benchmarks/courier/sink.py --port 2525
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import sys
import time

from aiosmtpd.smtp import SMTP, Envelope, Session

TOKEN = re.compile(rb"following code:\r?\n\r?\n(\d{6,})\r?\n")
"""The recovery code in the plain-text part (quoted-printable leaves digits and short lines alone)."""


class Counter:
    """The aiosmtpd handler: accept, find the token, print a line."""

    def __init__(self) -> None:
        self.out = sys.stdout.buffer

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.original_content or b""
        found = TOKEN.search(content)
        token = found.group(1) if found else b"-"
        self.out.write(b"%.6f %s\n" % (time.monotonic(), token))
        self.out.flush()
        return "250 Message accepted for delivery"


async def serve(port: int) -> None:
    """Listen on 127.0.0.1:``port`` until SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    handler = Counter()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="sink.bench.example.com", timeout=60),
        host="127.0.0.1",
        port=port,
        reuse_address=True,
    )
    stopped = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopped.set)
    sys.stdout.write(f"ready {port}\n")
    sys.stdout.flush()
    async with server:
        await stopped.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency of the workload
        asyncio.run(serve(args.port))
    else:
        uvloop.run(serve(args.port))


if __name__ == "__main__":
    main()
