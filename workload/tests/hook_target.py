"""A web hook target on loopback: records every request and answers as each path is told to."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from netutil import LoopbackServer


@dataclass
class Recorded:
    """One request the target received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Answer:
    """How the target answers a path: status, JSON body, and a delay in seconds."""

    status: int = 200
    body: Any = None
    delay: float = 0.0


@dataclass
class HookTarget:
    """The running target; ``answers`` maps paths to :class:`Answer`."""

    answers: dict[str, Answer] = field(default_factory=dict)
    received: list[Recorded] = field(default_factory=list)
    server: LoopbackServer | None = None
    stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.base_url

    def requests(self, path: str) -> list[Recorded]:
        return [r for r in self.received if r.path == path]

    def start(self) -> HookTarget:
        target = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
                target.received.append(Recorded(self.command, self.path, dict(self.headers), body))
                answer = target.answers.get(self.path, Answer(204))
                if target.stopping.wait(answer.delay):
                    return  # stopping: the client gave up long ago
                payload = json.dumps(answer.body).encode() if answer.body is not None else b""
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the client timed out and left
                    pass

            do_POST = do_PUT = do_GET = _handle  # noqa: N815 - the handler's naming

            def log_message(self, *args: object) -> None:
                pass

        self.server = LoopbackServer(Handler).start()
        return self

    def stop(self) -> None:
        """Stop serving and wait for every request being handled (none outlives the test session)."""
        self.stopping.set()
        if self.server is not None:
            self.server.stop()
