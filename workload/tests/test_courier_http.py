"""HTTP delivery (``delivery_strategy: http``) and SMS channels against a real HTTP server on loopback."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from config_data import MINIMAL
from hook_target import Answer, HookTarget, Recorded
from netutil import free_port

from kratos.config import ConfigError, KratosConfig, load_config
from kratos.courier.channel import Channel, DeliveryError
from kratos.courier.channels import build_channels
from kratos.courier.http_channel import HttpChannel
from kratos.courier.model import Message, MessageType
from kratos.courier.smtp import SmtpChannel

EMAIL_BODY = base64.b64encode(
    b"function(ctx) { to: ctx.recipient, subject: ctx.subject, text: ctx.body, html: ctx.html_body, "
    b"kind: ctx.message_type, template: ctx.template_type, code: ctx.template_data.recovery_code }"
).decode()
TWILIO_BODY = base64.b64encode(
    b"function(ctx) { To: ctx.recipient, Body: ctx.body, From: '+15550000000' }"
).decode()
CANCEL = base64.b64encode(
    b'function(ctx) if ctx.recipient == "blocked@example.org" then error "cancel" else {}'
).decode()


@pytest.fixture(scope="module")
def target() -> Iterator[HookTarget]:
    running = HookTarget().start()
    yield running
    running.stop()


def config(tmp_path: Path, courier: dict[str, Any]) -> KratosConfig:
    (tmp_path / "base.yml").write_text(MINIMAL)
    (tmp_path / "courier.yml").write_text(json.dumps({"courier": courier}))
    return load_config([tmp_path / "base.yml", tmp_path / "courier.yml"], env={})


def recovery(recipient: str = "user@example.org") -> Message:
    return Message(
        type=MessageType.EMAIL,
        recipient=recipient,
        subject="Recover access to your account",
        body="Your recovery code is 123456",
        template_type="recovery_code_valid",
        template_data={"to": recipient, "recovery_code": "123456"},
    )


def sms(recipient: str = "+15551234567") -> Message:
    return Message(
        type=MessageType.SMS,
        recipient=recipient,
        subject="",
        body="Your verification code is: 654321",
        template_type="verification_code_valid",
        template_data={"to": recipient, "verification_code": "654321"},
        channel="sms",
    )


def html(message: Message) -> str:
    return f"<p>{message.body}</p>"


def deliver(
    cfg: KratosConfig,
    channel_id: str,
    *messages: Message,
    render_html: Callable[[Message], str | None] = html,
    tune: Callable[[Channel], None] = lambda _: None,
) -> None:
    async def run() -> None:
        async with httpx.AsyncClient() as client:
            channel = build_channels(cfg, client, render_html)[channel_id]
            tune(channel)
            for message in messages:
                await channel.dispatch(message)

    asyncio.run(run())


def failure(cfg: KratosConfig, channel_id: str, message: Message, **kwargs: Any) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        deliver(cfg, channel_id, message, **kwargs)
    return caught.value


def headers(recorded: Recorded) -> dict[str, str]:
    return {name.lower(): value for name, value in recorded.headers.items()}


def test_emails_over_http_with_jsonnet_body_and_api_key(tmp_path: Path, target: HookTarget) -> None:
    cfg = config(
        tmp_path,
        {
            "delivery_strategy": "http",
            "http": {
                "request_config": {
                    "url": f"{target.url}/mail",
                    "method": "PUT",
                    "headers": {"X-Tenant": "acme"},
                    "body": f"base64://{EMAIL_BODY}",
                    "auth": {
                        "type": "api_key",
                        "config": {"name": "X-Api-Key", "value": "k3y", "in": "header"},
                    },
                }
            },
        },
    )
    deliver(cfg, "email", recovery())
    [got] = target.requests("/mail")
    assert got.method == "PUT"
    assert got.body == {
        "to": "user@example.org",
        "subject": "Recover access to your account",
        "text": "Your recovery code is 123456",
        "html": "<p>Your recovery code is 123456</p>",
        "kind": "email",
        "template": "recovery_code_valid",
        "code": "123456",
    }
    sent = headers(got)
    assert sent["x-api-key"] == "k3y"
    assert sent["x-tenant"] == "acme"
    assert sent["content-type"] == "application/json"


def test_upstream_default_body_and_basic_auth(tmp_path: Path, target: HookTarget) -> None:
    request = {
        "url": f"{target.url}/default",
        "auth": {"type": "basic_auth", "config": {"user": "courier", "password": "pa:ss"}},
    }
    cfg = config(tmp_path, {"delivery_strategy": "http", "http": {"request_config": request}})
    deliver(cfg, "email", recovery())
    [got] = target.requests("/default")
    assert got.method == "POST"
    assert got.body == {
        "recipient": "user@example.org",
        "template_type": "recovery_code_valid",
        "to": "user@example.org",
        "recovery_code": "123456",
        "recovery_url": None,
        "verification_url": None,
        "verification_code": None,
        "subject": "Recover access to your account",
        "body": "Your recovery code is 123456",
    }
    assert headers(got)["authorization"] == "Basic " + base64.b64encode(b"courier:pa:ss").decode()


def test_api_key_in_a_cookie_and_a_file_template(tmp_path: Path, target: HookTarget) -> None:
    template = tmp_path / "body.jsonnet"
    template.write_text("function(ctx) { recipient: ctx.recipient, has_html: 'html_body' in ctx }")
    request = {
        "url": f"{target.url}/cookie",
        "body": f"file://{template}",
        "auth": {"type": "api_key", "config": {"name": "session", "value": "abc", "in": "cookie"}},
    }
    cfg = config(tmp_path, {"delivery_strategy": "http", "http": {"request_config": request}})
    deliver(cfg, "email", recovery(), render_html=lambda _: None)
    [got] = target.requests("/cookie")
    assert got.body == {"recipient": "user@example.org", "has_html": False}
    assert headers(got)["cookie"] == "session=abc"


def test_a_refusing_endpoint_is_retried_with_status_and_body(tmp_path: Path, target: HookTarget) -> None:
    target.answers["/refuse"] = Answer(503, {"error": "over quota"})
    cfg = config(
        tmp_path, {"delivery_strategy": "http", "http": {"request_config": {"url": f"{target.url}/refuse"}}}
    )
    error = failure(cfg, "email", recovery())
    assert not error.permanent
    assert "status code 503" in str(error)
    assert error.details == {
        "channel": "email",
        "http_server": f"{target.url}/refuse",
        "status_code": 503,
        "response_body": '{"error": "over quota"}',
    }


def test_an_unreachable_or_slow_endpoint_is_retried(tmp_path: Path, target: HookTarget) -> None:
    down = config(
        tmp_path,
        {
            "delivery_strategy": "http",
            "http": {"request_config": {"url": f"http://127.0.0.1:{free_port()}/x"}},
        },
    )
    assert not failure(down, "email", recovery()).permanent
    target.answers["/slow"] = Answer(200, {}, delay=1.0)
    slow = config(
        tmp_path, {"delivery_strategy": "http", "http": {"request_config": {"url": f"{target.url}/slow"}}}
    )

    def short(channel: Channel) -> None:
        assert isinstance(channel, HttpChannel)
        channel.request.timeout = httpx.Timeout(0.2)

    error = failure(slow, "email", recovery(), tune=short)
    assert not error.permanent
    assert "did not answer in time" in str(error)


def test_a_cancelling_template_abandons_the_message(tmp_path: Path, target: HookTarget) -> None:
    cfg = config(
        tmp_path,
        {
            "delivery_strategy": "http",
            "http": {"request_config": {"url": f"{target.url}/cancel", "body": f"base64://{CANCEL}"}},
        },
    )
    assert failure(cfg, "email", recovery("blocked@example.org")).permanent
    deliver(cfg, "email", recovery("fine@example.org"))
    assert len(target.requests("/cancel")) == 1


def test_sms_channel_sends_a_form_and_email_stays_on_smtp(tmp_path: Path, target: HookTarget) -> None:
    rendered: list[Message] = []

    def spy(message: Message) -> str:
        rendered.append(message)
        return "<p>html</p>"

    cfg = config(
        tmp_path,
        {
            "smtp": {"connection_uri": "smtp://127.0.0.1:2525/?disable_starttls=true"},
            "channels": [
                {
                    "id": "sms",
                    "type": "http",
                    "request_config": {
                        "url": f"{target.url}/sms",
                        "headers": {"Content-Type": "application/x-www-form-urlencoded"},
                        "body": f"base64://{TWILIO_BODY}",
                        "auth": {"type": "basic_auth", "config": {"user": "AC123", "password": "tok"}},
                    },
                }
            ],
        },
    )

    async def channels() -> dict[str, Channel]:
        async with httpx.AsyncClient() as client:
            return build_channels(cfg, client, spy)

    built = asyncio.run(channels())
    assert sorted(built) == ["email", "sms"]
    assert isinstance(built["email"], SmtpChannel)
    deliver(cfg, "sms", sms(), render_html=spy)
    [got] = target.requests("/sms")
    assert isinstance(got.body, str)
    assert parse_qs(got.body) == {
        "To": ["+15551234567"],
        "Body": ["Your verification code is: 654321"],
        "From": ["+15550000000"],
    }
    assert headers(got)["content-type"] == "application/x-www-form-urlencoded"
    assert headers(got)["authorization"] == "Basic " + base64.b64encode(b"AC123:tok").decode()
    assert rendered == []  # an SMS has no HTML body


@pytest.mark.parametrize(
    ("courier", "expected"),
    [
        (
            {"channels": [{"id": "email", "request_config": {"url": "https://mail"}}]},
            "courier.channels[0].id: must be sms (the only channel upstream's schema allows; to send emails "
            "over HTTP set courier.delivery_strategy to http and courier.http.request_config)",
        ),
        (
            {"channels": [{"id": "sms", "type": "smtp", "request_config": {"url": "https://sms"}}]},
            "courier.channels[0].type: must be one of http",
        ),
        ({"channels": [{"id": "sms"}]}, "courier.channels[0].request_config: is required"),
        (
            {"delivery_strategy": "http"},
            "courier.http.request_config: is required when courier.delivery_strategy is http",
        ),
        (
            {"delivery_strategy": "http", "http": {"request_config": {"url": "mail.example.com"}}},
            "courier.http.request_config.url: must be an http:// or https:// URL",
        ),
        (
            {
                "delivery_strategy": "http",
                "http": {
                    "request_config": {
                        "url": "https://mail",
                        "auth": {"type": "basic_auth", "config": {"username": "u", "password": "hunter2"}},
                    }
                },
            },
            "courier.http.request_config.auth.config.user: is required for basic_auth",
        ),
        (
            {
                "delivery_strategy": "http",
                "http": {"request_config": {"url": "https://mail", "headers": {"X-A": "a\r\nX-B: b"}}},
            },
            "courier.http.request_config.headers: the value of X-A must not contain line breaks",
        ),
    ],
)
def test_bad_channel_configs_name_their_key(tmp_path: Path, courier: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config(tmp_path, courier)
    assert caught.value.problems == [expected]
    assert "hunter2" not in str(caught.value)
