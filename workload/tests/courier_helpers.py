"""Real parts for courier tests: string templates, a recording channel, and a dispatcher process.

``python courier_helpers.py DSN OUT [--delay S] [--lease S] [--pull-count N] [--until-empty]`` runs a
dispatcher whose channel appends each delivered message's id and its pid to OUT (one line, written at
once, so a killed process leaves what it sent).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import string
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kratos.courier.channel import DeliveryError
from kratos.courier.dispatcher import Dispatcher, DispatcherSettings
from kratos.courier.model import Message
from kratos.persistence.courier import MessageRepository
from kratos.persistence.database import Database


@dataclass(frozen=True)
class Rendered:
    """An email as templates render it."""

    subject: str
    html: str
    plaintext: str


class StringTemplates:
    """Templates from ``string.Template`` texts: ``{type: (subject, body)}``."""

    def __init__(self, texts: Mapping[str, tuple[str, str]]) -> None:
        self.texts = texts

    def email(self, template_type: str, data: Mapping[str, Any]) -> Rendered:
        subject, body = self.texts[template_type]
        text = string.Template(body).substitute(data)
        return Rendered(string.Template(subject).substitute(data), f"<p>{text}</p>", text)

    def sms(self, template_type: str, data: Mapping[str, Any]) -> str:
        return string.Template(self.texts[template_type][1]).substitute(data)


TEMPLATES = StringTemplates(
    {
        "recovery_code_valid": ("Recover access to your account", "Your recovery code is: $code"),
        "verification_code_valid": ("Please verify your email address", "Your code is: $code"),
    }
)


class RecordingChannel:
    """Delivers into a list (and a file), after ``delay`` seconds; fails as ``failures`` says."""

    def __init__(
        self,
        id: str = "email",
        *,
        delay: float = 0.0,
        out: Path | None = None,
        failures: dict[str, DeliveryError] | None = None,
    ) -> None:
        self.id = id
        self.delay = delay
        self.delivered: list[Message] = []
        self.failures = failures or {}
        self.in_flight = 0
        self.most_in_flight = 0
        self._out = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT) if out else None

    async def dispatch(self, message: Message) -> None:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        if message.recipient in self.failures:
            raise self.failures[message.recipient]
        self.delivered.append(message)
        if self._out is not None:
            os.write(self._out, f"{message.id} {os.getpid()}\n".encode())

    async def close(self) -> None:
        if self._out is not None:
            os.close(self._out)
            self._out = None


async def _run(args: argparse.Namespace) -> None:
    settings = DispatcherSettings(
        pull_count=args.pull_count, pull_wait=0.05, lease=args.lease, concurrency=args.concurrency
    )
    async with await Database.open(args.dsn) as db:
        channel = RecordingChannel(delay=args.delay, out=Path(args.out))
        dispatcher = Dispatcher(MessageRepository(db), {"email": channel}, settings)
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, dispatcher.stop)
        if args.until_empty:
            idle = 0
            while idle < 3:
                idle = idle + 1 if await dispatcher.run_once() == 0 else 0
                await asyncio.sleep(0.02 if idle else 0)
        else:
            await dispatcher.run()
        await dispatcher.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dsn")
    parser.add_argument("out")
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--lease", type=float, default=60.0)
    parser.add_argument("--pull-count", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--until-empty", action="store_true")
    asyncio.run(_run(parser.parse_args()))


if __name__ == "__main__":
    main()
