"""CORS as upstream configures it."""

from __future__ import annotations

import re

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from kratos.config.sections import Cors


def cors_middleware(cors: Cors) -> Middleware:
    """CORS per ``serve.public.cors``: ``*`` inside an origin matches one label or more."""
    exact = [origin for origin in cors.allowed_origins if "*" not in origin or origin == "*"]
    wildcards = [origin for origin in cors.allowed_origins if "*" in origin and origin != "*"]
    pattern = "|".join(re.escape(origin).replace(r"\*", "[^/]+") for origin in wildcards)
    return Middleware(
        CORSMiddleware,  # type: ignore[arg-type]
        allow_origins=exact,
        allow_origin_regex=f"^(?:{pattern})$" if pattern else None,
        allow_methods=list(cors.allowed_methods),
        allow_headers=cors.allowed_headers,
        expose_headers=cors.exposed_headers,
        allow_credentials=cors.allow_credentials,
        max_age=cors.max_age,
    )
