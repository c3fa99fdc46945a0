"""A web hook target on loopback: records every request and answers as each path is told to."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


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
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

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
                time.sleep(answer.delay)
                payload = json.dumps(answer.body).encode() if answer.body is not None else b""
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = do_PUT = do_GET = _handle  # noqa: N815 - the handler's naming

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
