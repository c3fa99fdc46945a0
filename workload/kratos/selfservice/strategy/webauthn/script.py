"""``GET /.well-known/ory/webauthn.js``: the script the WebAuthn and passkey trigger nodes call into."""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from importlib import resources

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

SCRIPT_PATH = "/.well-known/ory/webauthn.js"
CONTENT_TYPE = "text/javascript; charset=UTF-8"


@cache
def webauthn_js() -> bytes:
    """The script's bytes (package data next to this module)."""
    return resources.files("kratos.selfservice.strategy.webauthn").joinpath("webauthn.js").read_bytes()


def webauthn_js_integrity() -> str:
    """The ``integrity`` of the ``webauthn_script`` node: ``sha512-`` and the base64 SHA-512 digest."""
    return "sha512-" + base64.b64encode(hashlib.sha512(webauthn_js()).digest()).decode("ascii")


def webauthn_js_url(public_base_url: str) -> str:
    """The script's address under the public base URL (the ``src`` of the ``webauthn_script`` node)."""
    return public_base_url.rstrip("/") + SCRIPT_PATH


async def _serve(_: Request) -> Response:
    # Upstream sets only the content type (no caching headers), so neither do we.
    return Response(webauthn_js(), headers={"Content-Type": CONTENT_TYPE})


def webauthn_js_routes() -> list[Route]:
    """The public route serving the script, for the public app to mount."""
    return [Route(SCRIPT_PATH, _serve, methods=["GET"], name="webauthn_js")]
