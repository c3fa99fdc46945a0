"""The SMTP email channel against a real SMTP server (aiosmtpd) with real certificates (trustme)."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from config_data import MINIMAL
from netutil import free_port
from smtp_sink import SmtpSink

from kratos.config import ConfigError, load_config
from kratos.config.sections import Smtp
from kratos.courier.channel import DeliveryError
from kratos.courier.model import Message, MessageType
from kratos.courier.smtp import SmtpChannel, is_email_address

NAME = "mail.test"
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def trusted(monkeypatch: pytest.MonkeyPatch, ca_file: str) -> None:
    """The test CA is trusted as an operator would make it: ``SSL_CERT_FILE``."""
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)


def server_context(ca: trustme.CA, *, client_ca: bool = False) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(NAME).configure_cert(context)
    if client_ca:
        ca.configure_trust(context)
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


@pytest.fixture
def sink_factory() -> Iterator[Callable[..., SmtpSink]]:
    started: list[SmtpSink] = []

    def start(**kwargs: object) -> SmtpSink:
        sink = SmtpSink(**kwargs).start()  # type: ignore[arg-type]
        started.append(sink)
        return sink

    yield start
    for sink in started:
        sink.stop()


def message(recipient: str = "user@example.org", **kwargs: object) -> Message:
    fields: dict[str, object] = {"subject": "Hello", "body": "Your code is 123456.", "template_type": "stub"}
    fields.update(kwargs)
    return Message(type=MessageType.EMAIL, recipient=recipient, **fields)  # type: ignore[arg-type]


def send(
    uri: str,
    *messages: Message,
    html: Callable[[Message], str | None] = lambda _: None,
    **smtp: object,
) -> None:
    async def run() -> None:
        channel = SmtpChannel(Smtp(connection_uri=uri, **smtp), html)  # type: ignore[arg-type]
        try:
            for each in messages or (message(),):
                await channel.dispatch(each)
        finally:
            await channel.close()

    asyncio.run(run())


def failure(uri: str, *messages: Message, **smtp: Any) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        send(uri, *messages, **smtp)
    return caught.value


def test_cleartext_message_has_from_name_headers_and_ehlo_name(sink_factory: Callable[..., SmtpSink]) -> None:
    sink = sink_factory()
    send(
        f"smtp://127.0.0.1:{sink.port}/?disable_starttls=true",
        message(subject="Recover your account"),
        from_address="accounts@example.com",
        from_name="Example Accounts",
        headers={"X-SES-SOURCE-ARN": "arn:aws:ses:us-west-2:1:identity/example.com"},
        local_name="kratos.example.com",
    )
    [got] = sink.received
    assert not got.tls
    assert got.ehlo_name == "kratos.example.com"
    assert got.mail_from == "accounts@example.com"
    assert got.rcpt_tos == ["user@example.org"]
    assert got.message["From"] == "Example Accounts <accounts@example.com>"
    assert got.message["To"] == "user@example.org"
    assert got.message["Subject"] == "Recover your account"
    assert got.message["X-SES-SOURCE-ARN"] == "arn:aws:ses:us-west-2:1:identity/example.com"
    assert got.message["Message-ID"].endswith("@example.com>")
    assert got.message.get_content_type() == "text/plain"
    assert got.message.get_content().strip() == "Your code is 123456."


def test_cc_and_bcc_headers_receive_the_message_and_bcc_is_hidden(
    sink_factory: Callable[..., SmtpSink],
) -> None:
    sink = sink_factory()
    send(
        f"smtp://127.0.0.1:{sink.port}/?disable_starttls=true",
        headers={"Cc": "Support <support@example.com>", "Bcc": "audit@example.com"},
        from_name="Ünïcode Sender",
    )
    [got] = sink.received
    assert got.rcpt_tos == ["user@example.org", "support@example.com", "audit@example.com"]
    assert got.message["Cc"] == "Support <support@example.com>"
    assert got.message["Bcc"] is None
    assert str(got.message["From"]) == "Ünïcode Sender <no-reply@ory.kratos.sh>"


def test_a_from_name_with_line_breaks_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="from_name"):
        Smtp(from_name="Evil\r\nBcc: victim@example.com")


def test_html_alternative_and_non_ascii_text(sink_factory: Callable[..., SmtpSink]) -> None:
    sink = sink_factory()
    send(
        f"smtp://127.0.0.1:{sink.port}/?disable_starttls=true",
        message(subject="Grüße", body="Dein Code: 123456 · bis bald"),
        html=lambda m: f"<p>{m.body}</p>",
    )
    [got] = sink.received
    assert got.message.get_content_type() == "multipart/alternative"
    plain, html = got.message.iter_parts()
    assert plain.get_content_type() == "text/plain"
    assert plain.get_content().strip() == "Dein Code: 123456 · bis bald"
    assert html.get_content_type() == "text/html"
    assert html.get_content().strip() == "<p>Dein Code: 123456 · bis bald</p>"
    assert got.message["Subject"] == "Grüße"


def test_a_failing_html_renderer_still_sends_the_text(sink_factory: Callable[..., SmtpSink]) -> None:
    def broken(_: Message) -> str:
        raise RuntimeError("template missing")

    sink = sink_factory()
    send(f"smtp://127.0.0.1:{sink.port}/?disable_starttls=true", html=broken)
    assert sink.received[0].message.get_content_type() == "text/plain"


def test_starttls_with_skip_ssl_verify(sink_factory: Callable[..., SmtpSink], ca: trustme.CA) -> None:
    sink = sink_factory(starttls=server_context(ca))
    send(f"smtp://127.0.0.1:{sink.port}/?skip_ssl_verify=true")
    assert sink.received[0].tls


def test_starttls_checks_the_certificate_for_server_name(
    sink_factory: Callable[..., SmtpSink], ca: trustme.CA, trusted: None
) -> None:
    sink = sink_factory(starttls=server_context(ca))
    send(f"smtp://127.0.0.1:{sink.port}/?server_name={NAME}")
    assert sink.received[0].tls
    assert NAME in sink.sni
    mismatch = failure(f"smtp://127.0.0.1:{sink.port}/")  # the certificate is for mail.test, not the IP
    assert not mismatch.permanent
    assert "certificate" in str(mismatch).lower()
    assert len(sink.received) == 1


def test_starttls_refuses_an_untrusted_certificate(
    sink_factory: Callable[..., SmtpSink], ca: trustme.CA
) -> None:
    sink = sink_factory(starttls=server_context(ca))
    error = failure(f"smtp://127.0.0.1:{sink.port}/?server_name={NAME}")
    assert not error.permanent
    assert "certificate verify failed" in str(error)
    assert sink.received == []


def test_smtp_scheme_refuses_a_server_without_starttls(sink_factory: Callable[..., SmtpSink]) -> None:
    sink = sink_factory()
    error = failure(f"smtp://127.0.0.1:{sink.port}/")
    assert not error.permanent
    assert "does not offer STARTTLS" in str(error)
    assert error.details == {"smtp_server": f"127.0.0.1:{sink.port}"}
    assert sink.received == []


def test_implicit_tls(sink_factory: Callable[..., SmtpSink], ca: trustme.CA, trusted: None) -> None:
    sink = sink_factory(implicit_tls=server_context(ca))
    send(f"smtps://127.0.0.1:{sink.port}/?server_name={NAME}")
    assert sink.received[0].tls
    assert NAME in sink.sni


def test_login_over_tls_and_client_certificate(
    sink_factory: Callable[..., SmtpSink], ca: trustme.CA, trusted: None, tmp_path: Path
) -> None:
    client = ca.issue_cert("kratos-client.test")
    cert, key = tmp_path / "client.pem", tmp_path / "client.key"
    client.cert_chain_pems[0].write_to_path(str(cert))
    client.private_key_pem.write_to_path(str(key))
    sink = sink_factory(starttls=server_context(ca, client_ca=True), users={"courier": "s3cr:et/"})
    send(
        f"smtp://courier:s3cr%3Aet%2F@127.0.0.1:{sink.port}/?server_name={NAME}",
        client_cert_path=str(cert),
        client_key_path=str(key),
    )
    [got] = sink.received
    assert got.tls
    assert got.login == "courier"
    assert got.peer_cert is not None
    assert any(entry == ("DNS", "kratos-client.test") for entry in got.peer_cert["subjectAltName"])


def test_wrong_password_is_a_permanent_failure(
    sink_factory: Callable[..., SmtpSink], ca: trustme.CA, trusted: None
) -> None:
    sink = sink_factory(starttls=server_context(ca), users={"courier": "right"})
    error = failure(f"smtp://courier:wrong@127.0.0.1:{sink.port}/?server_name={NAME}")
    assert error.permanent  # upstream abandons a message on any 5xx answer
    assert error.details is not None
    assert error.details["smtp_code"] == 535
    assert "wrong" not in f"{error} {error.details}"
    assert sink.received == []


def test_no_password_over_cleartext_beyond_loopback(sink_factory: Callable[..., SmtpSink]) -> None:
    sink = sink_factory(host="127.0.0.2", users={"courier": "pw"})  # not a loopback *name*
    error = failure(f"smtp://courier:pw@127.0.0.2:{sink.port}/?disable_starttls=true")
    assert not error.permanent
    assert "cleartext" in str(error)
    assert sink.received == []
    local = sink_factory(users={"courier": "pw"})
    send(f"smtp://courier:pw@127.0.0.1:{local.port}/?disable_starttls=true")
    assert local.received[0].login == "courier"


def test_invalid_recipients_are_permanent(sink_factory: Callable[..., SmtpSink]) -> None:
    sink = sink_factory(refuse={"gone@example.org": "550 5.1.1 no such user", "full@example.org": "452 full"})
    uri = f"smtp://127.0.0.1:{sink.port}/?disable_starttls=true"
    for bad in ("not-an-address", "a@b@c", "user@example.org\r\nBcc: x@y.z", "Name <user@example.org>", ""):
        error = failure(uri, message(bad))
        assert error.permanent, bad
        assert "not a valid email address" in str(error)
    refused = failure(uri, message("gone@example.org"))
    assert refused.permanent
    assert refused.details == {
        "smtp_server": f"127.0.0.1:{sink.port}",
        "smtp_code": 550,
        "smtp_message": "5.1.1 no such user",
    }
    busy = failure(uri, message("full@example.org"))
    assert not busy.permanent
    assert busy.details is not None
    assert busy.details["smtp_code"] == 452
    send(uri)
    assert [r.rcpt_tos for r in sink.received] == [["user@example.org"]]


def test_address_check() -> None:
    for good in (
        "a@b.c",
        "user+tag@example.com",
        '"quoted local"@example.com',
        "jürgen@example.de",
        "a@[127.0.0.1]",
    ):
        assert is_email_address(good), good
    for bad in ("a b@c", "a@b,c@d", "<a@b>", "a@", "@b", "a@b.c ", " a@b.c", "a\n@b"):
        assert not is_email_address(bad), bad


def test_server_down_is_retried() -> None:
    port = free_port()
    error = failure(f"smtp://127.0.0.1:{port}/?disable_starttls=true")
    assert not error.permanent
    assert "unable to connect" in str(error)
    assert error.details == {"smtp_server": f"127.0.0.1:{port}"}


def test_private_ranges_can_be_refused() -> None:
    async def run() -> None:
        smtp = Smtp(connection_uri="smtp://127.0.0.1:2525/?disable_starttls=true")
        await SmtpChannel(smtp, lambda _: None, disallow_private_ip_ranges=True).dispatch(message())

    with pytest.raises(DeliveryError, match="private range"):
        asyncio.run(run())


def test_one_connection_for_many_messages_fast(sink_factory: Callable[..., SmtpSink]) -> None:
    sink = sink_factory()
    count = 400
    started = time.process_time()  # CPU time, so other work on the machine does not count
    send(
        f"smtp://127.0.0.1:{sink.port}/?disable_starttls=true",
        *(message(f"user{i}@example.org") for i in range(count)),
    )
    rate = count / (time.process_time() - started)  # the server's work in this process counts too
    assert len(sink.received) == count
    assert sink.connections == 1
    assert rate >= 200, f"{rate:.0f} messages per CPU second"


def test_a_connection_the_server_dropped_is_opened_again(sink_factory: Callable[..., SmtpSink]) -> None:
    sink = sink_factory(idle_timeout=0.2)

    async def run() -> None:
        smtp = Smtp(connection_uri=f"smtp://127.0.0.1:{sink.port}/?disable_starttls=true")
        channel = SmtpChannel(smtp, lambda _: None)
        await channel.dispatch(message("one@example.org"))
        await asyncio.sleep(0.6)
        await channel.dispatch(message("two@example.org"))
        await channel.close()

    asyncio.run(run())
    assert [r.rcpt_tos for r in sink.received] == [["one@example.org"], ["two@example.org"]]
    assert sink.connections == 2


def test_missing_connection_uri_fails_each_message() -> None:
    async def run() -> None:
        await SmtpChannel(Smtp(), lambda _: None).dispatch(message())

    with pytest.raises(DeliveryError, match=r"courier\.smtp\.connection_uri is not set"):
        asyncio.run(run())


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("smtp://user:hunter2@mail/", "must name the SMTP server's port"),
        ("smtp://user:hunter2@mail:70000/", "is not a valid URI"),
        ("smtp://user:hunter2@:25/", "must name the SMTP server's host"),
        (
            "smtps://user:hunter2@mail:465/?skip_ssl_verify=maybe",
            "the query parameter skip_ssl_verify must be true or false",
        ),
        ("http://user:hunter2@mail:25/", "must be an smtp:// or smtps:// URI"),
    ],
)
def test_invalid_uri_is_a_config_error_without_the_password(tmp_path: Path, uri: str, problem: str) -> None:
    (tmp_path / "a.yml").write_text(MINIMAL)
    (tmp_path / "b.yml").write_text(f"courier:\n  smtp:\n    connection_uri: '{uri}'\n")
    with pytest.raises(ConfigError) as caught:
        load_config([tmp_path / "a.yml", tmp_path / "b.yml"], env={})
    [line] = caught.value.problems
    assert line.startswith(f"courier.smtp.connection_uri: {problem}")
    assert "hunter2" not in str(caught.value)


def test_half_a_client_certificate_pair_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"courier\.smtp\.client_key_path: is required"):
        SmtpChannel(Smtp(connection_uri="smtps://mail:465/", client_cert_path="/c.pem"), lambda _: None)
