"""Prometheus metrics for both ports."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response

REQUESTS = Counter("http_requests_total", "HTTP requests handled.", ["port", "method", "path", "status"])
DURATION = Histogram(
    "http_request_duration_seconds",
    "Time to handle an HTTP request.",
    ["port", "method", "path"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


def observe(port: str, method: str, path: str, status: int, seconds: float) -> None:
    """Count one request and its duration."""
    REQUESTS.labels(port, method, path, str(status)).inc()
    DURATION.labels(port, method, path).observe(seconds)


async def prometheus(_: Request) -> Response:
    """``GET /metrics/prometheus``: the text exposition format."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
