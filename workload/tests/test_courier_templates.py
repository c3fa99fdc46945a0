"""Courier templates: built-ins, upstream's templates as overrides, precedence, and refusals at start-up."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from config_data import MINIMAL
from netutil import loopback_server

from kratos.config import ConfigError, load_config
from kratos.config.sections import Courier
from kratos.courier.template.gotemplate import TemplateExecutionError, TemplateSet
from kratos.courier.template.loader import load_templates
from kratos.courier.template.templates import CourierTemplates, RenderedEmail
from kratos.courier.template.types import LAYOUTS, TemplateFile, TemplateType

UPSTREAM = Path(__file__).parent / "data" / "upstream-templates"
IDENTITY = {
    "id": "9f6c1bd8-8b5e-4a4b-9f36-2f1f0f6b1c11",
    "traits": {"email": "ann@example.com", "name": {"first": "Ann"}},
}
DATA: dict[str, Any] = {
    "To": "ann@example.com",
    "RecoveryCode": "246810",
    "RecoveryURL": "https://auth.example.com/self-service/recovery?flow=f1&token=t1",
    "VerificationCode": "135791",
    "VerificationURL": "https://auth.example.com/self-service/verification?flow=f2&code=135791",
    "LoginCode": "112233",
    "RegistrationCode": "445566",
    "Identity": IDENTITY,
    "Traits": IDENTITY["traits"],
    "RequestURL": "https://auth.example.com/self-service/login",
    "RequestURLDomain": "auth.example.com",
    "TransientPayload": {},
    "ExpiresInMinutes": 15,
    "ChangedAt": "2026-04-21T12:00:00Z",
    "AddedAt": "2026-04-21T12:00:00Z",
}


def load(courier: dict[str, Any] | None = None, **kwargs: Any) -> CourierTemplates:
    return asyncio.run(load_templates(Courier.model_validate(courier or {}), **kwargs))


def refused(courier: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(courier)
    return caught.value.problems


def b64(text: str) -> str:
    return "base64://" + base64.b64encode(text.encode()).decode()


# --- built-in templates --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [t for t in TemplateType if t is not TemplateType.STUB])
def test_every_built_in_template_renders(kind: TemplateType) -> None:
    templates = load()
    email = templates.email(kind, DATA)
    assert email.subject
    assert email.subject == email.subject.strip()
    assert "\n" not in email.subject
    assert email.html.startswith("<p>")
    assert email.plaintext.startswith("Hello,")
    for text in (email.subject, email.html, email.plaintext):
        assert "<no value>" not in text
    code = {
        "recovery_code_valid": "246810",
        "verification_code_valid": "135791",
        "login_code_valid": "112233",
        "registration_code_valid": "445566",
    }.get(kind)
    if code:
        assert code in email.subject
        assert code in email.html
        assert code in email.plaintext
        assert "15 minutes" in email.plaintext
    if LAYOUTS[kind].has_sms:
        sms = templates.sms(kind, DATA)
        assert len(sms) <= 160
        if code:
            assert sms.startswith(code)
            assert sms.endswith(f"@auth.example.com #{code}")
    else:
        with pytest.raises(ValueError, match="has no SMS template"):
            templates.sms(kind, DATA)


def test_built_in_links_are_escaped_for_html_only() -> None:
    templates = load()
    email = templates.email("recovery_valid", DATA)
    escaped = "https://auth.example.com/self-service/recovery?flow=f1&amp;token=t1"
    assert f'<a href="{escaped}">{escaped}</a>' in email.html
    assert DATA["RecoveryURL"] in email.plaintext
    email = templates.email("verification_code_valid", {**DATA, "VerificationURL": ""})
    assert "Or open this link" not in email.html
    assert "Or open this link" not in email.plaintext


def test_sms_without_a_request_domain_has_no_origin_line() -> None:
    sms = load().sms("login_code_valid", {"LoginCode": "012345", "ExpiresInMinutes": 10})
    assert sms == "012345 is your sign-in code. It works for 10 minutes."


def test_stub_and_unknown_types() -> None:
    templates = load()
    stub = {"To": "a@b.c", "Subject": "s", "Body": "plain", "HTMLBody": "<b>rich</b>"}
    assert templates.email("stub", stub) == RenderedEmail("s", "<b>rich</b>", "plain")
    assert templates.email("stub", {"Subject": "s", "Body": "plain"}).html == "plain"
    assert templates.sms("stub", {"Body": "hi"}) == "hi"
    with pytest.raises(ValueError, match="unknown template type 'recovery'"):
        templates.email("recovery", DATA)


# --- upstream's built-in templates, as a user's override directory ---------------------------------


def test_upstream_templates_work_as_an_override_directory() -> None:
    templates = load({"template_override_path": str(UPSTREAM)})
    for kind, layout in LAYOUTS.items():
        for part in layout.files:
            assert templates.origin(kind, part) == str(UPSTREAM / layout.directory / part.value)
    email = templates.email("recovery_code_valid", DATA)
    assert email.subject == "Use code 246810 to recover access to your account"
    assert email.plaintext == (
        "Recover access to your account by entering the following code:\n\n246810\n\n"
        "If this was not you, do nothing. This code expires in 15 minutes.\n"
    )
    link = templates.email("verification_valid", DATA).html
    assert '<a href="https://auth.example.com/self-service/verification?flow=f2&amp;code=135791">' in link
    assert templates.sms("recovery_code_valid", DATA) == (
        "Your recovery code is: 246810\n\n@auth.example.com #246810\n"
    )
    assert templates.sms("login_code_valid", {**DATA, "RequestURLDomain": ""}) == (
        "Your login code is: 112233\n\nIt expires in 15 minutes.\n"
    )
    assert templates.sms("verification_code_valid", DATA).endswith("\n@auth.example.com #135791\n")
    assert (
        "Account ID: 9f6c1bd8-8b5e-4a4b-9f36-2f1f0f6b1c11"
        in templates.email("authenticator_key_added", DATA).plaintext
    )
    # upstream's own template reads "ID", which identity JSON does not have: Go prints <no value>
    changed = templates.email("verifiable_address_changed", DATA)
    assert "Account ID: <no value>" in changed.plaintext
    assert "<strong>Account ID:</strong> <br/>" in changed.html
    assert "Changed at: 2026-04-21T12:00:00Z" in changed.plaintext


def test_upstream_otp_template_parses() -> None:
    templates = TemplateSet()
    templates.parse("sms.body.gotmpl", (UPSTREAM / "otp" / "sms.body.gotmpl").read_text())
    assert templates.execute("sms.body.gotmpl", {"Code": "9"}) == "Your verification code is: 9\n"


# --- precedence ----------------------------------------------------------------------------------


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_override_directory_replaces_only_the_files_it_has(tmp_path: Path) -> None:
    write(tmp_path, "recovery_code/valid/email.body.gotmpl", "<h1>{{ .RecoveryCode }}</h1>")
    templates = load({"template_override_path": str(tmp_path)})
    email = templates.email("recovery_code_valid", DATA)
    assert email.html == "<h1>246810</h1>"
    assert email.subject == "Your account recovery code: 246810"  # built-in
    assert email.plaintext.startswith("Hello,\n\nEnter this code")  # built-in, not the HTML body
    assert templates.origin("recovery_code_valid", TemplateFile.EMAIL_SUBJECT) == "builtin"


def test_override_files_share_definitions_with_their_siblings(tmp_path: Path) -> None:
    directory = "verification_code/valid"
    body = (
        '{{ if eq .TransientPayload.lang "de" }}{{ template "de" . }}{{ else }}{{ template "en" . }}{{ end }}'
    )
    write(tmp_path, f"{directory}/email.body.plaintext.gotmpl", body)
    write(
        tmp_path,
        f"{directory}/email.body.plaintext.de.gotmpl",
        '{{ define "de" }}Code: {{ .VerificationCode }}{{ end }}',
    )
    write(
        tmp_path,
        f"{directory}/email.body.plaintext.en.gotmpl",
        '{{ define "en" }}Your code: {{ .VerificationCode }}{{ end }}',
    )
    write(tmp_path, f"{directory}/email.body.gotmpl", "<p>{{ .VerificationCode }}</p>")
    templates = load({"template_override_path": str(tmp_path)})
    german = {**DATA, "TransientPayload": {"lang": "de"}}
    assert templates.email("verification_code_valid", german).plaintext == "Code: 135791"
    assert templates.email("verification_code_valid", DATA).plaintext == "Your code: 135791"


@pytest.fixture
def template_server() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A real HTTP server on loopback serving ``pages`` (path -> body); other paths are 404."""
    pages: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            self.wfile.write(body or b"not found")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with loopback_server(Handler) as server:
        yield server.base_url, pages


def test_config_urls_beat_the_override_directory(
    tmp_path: Path, template_server: tuple[str, dict[str, bytes]]
) -> None:
    base_url, pages = template_server
    pages["/subject.gotmpl"] = b"  HTTP subject {{ .LoginCode }}  \n"
    overrides = tmp_path / "overrides"
    write(overrides, "login_code/valid/email.subject.gotmpl", "dir subject")
    write(overrides, "login_code/valid/email.body.gotmpl", "dir html")
    write(overrides, "login_code/valid/email.body.plaintext.gotmpl", "dir text")
    write(overrides, "login_code/valid/sms.body.gotmpl", "dir sms")
    plain = write(tmp_path, "plain.gotmpl", "file text {{ .LoginCode }}")
    courier = {
        "template_override_path": str(overrides),
        "templates": {
            "login_code": {
                "valid": {
                    "email": {
                        "subject": f"{base_url}/subject.gotmpl",
                        "body": {"plaintext": f"file://{plain}", "html": b64("<i>{{ .LoginCode }}</i>")},
                    },
                    "sms": {"body": {"plaintext": b64("sms {{ .LoginCode }}")}},
                }
            },
            "verifiable_address_changed": {"email": {"subject": b64("changed!")}},
        },
    }
    templates = load(courier)
    assert templates.email("login_code_valid", DATA) == RenderedEmail(
        "HTTP subject 112233", "<i>112233</i>", "file text 112233"
    )
    assert templates.sms("login_code_valid", DATA) == "sms 112233"
    assert templates.email("verifiable_address_changed", DATA).subject == "changed!"
    key = "courier.templates.login_code.valid.email.body.html"
    assert templates.origin("login_code_valid", TemplateFile.EMAIL_HTML) == key
    # a config URL for one file leaves the directory in charge of the others
    del courier["templates"]["login_code"]["valid"]["sms"]
    assert load(courier).sms("login_code_valid", DATA) == "dir sms"


# --- refusals ------------------------------------------------------------------------------------


def test_a_broken_override_file_is_refused_with_its_path_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "recovery_code/valid/email.body.gotmpl", "Hi,\n\nyour code:\n{{ .RecoveryCode }\n")
    write(tmp_path, "login_code/valid/sms.body.gotmpl", "{{ if .LoginCode }}never closed")
    problems = refused({"template_override_path": str(tmp_path)})
    assert problems == [
        f'courier.template_override_path: template {path}: line 4, column 18: unexpected "}}" in operand',
        "courier.template_override_path: template "
        f"{tmp_path / 'login_code/valid/sms.body.gotmpl'}: line 1, column 32: unexpected EOF",
    ]


def test_broken_or_unreachable_config_urls_name_their_key(
    tmp_path: Path, template_server: tuple[str, dict[str, bytes]]
) -> None:
    base_url, pages = template_server
    pages["/bad.gotmpl"] = b"ok\n{{ nosuch .X }}"
    problems = refused(
        {
            "templates": {
                "recovery": {
                    "valid": {"email": {"subject": b64("{{ .RecoveryURL ")}},
                    "invalid": {"email": {"body": {"html": f"{base_url}/bad.gotmpl"}}},
                },
                "login_code": {"valid": {"email": {"body": {"plaintext": f"{base_url}/gone.gotmpl"}}}},
                "registration_code": {"valid": {"email": {"subject": f"file://{tmp_path}/absent.gotmpl"}}},
            }
        }
    )
    assert sorted(problems) == sorted(
        [
            "courier.templates.recovery.valid.email.subject: template base64://...: line 1, column 17: "
            "unclosed action",
            f"courier.templates.recovery.invalid.email.body.html: template {base_url}/bad.gotmpl: line 2, "
            'column 4: function "nosuch" not defined',
            "courier.templates.login_code.valid.email.body.plaintext: unable to load "
            f"{base_url}/gone.gotmpl: unable to fetch: HTTP status 404",
            f"courier.templates.registration_code.valid.email.subject: unable to load "
            f"file://{tmp_path}/absent.gotmpl: no such file",
        ]
    )


def test_unknown_template_keys_are_config_errors(tmp_path: Path) -> None:
    extra = tmp_path / "extra.yml"
    extra.write_text(
        "courier:\n  templates:\n    recovery_code:\n      valid:\n        email:\n          subjct: base64://eA==\n"
        "    login:\n      valid: {}\n"
    )
    base = tmp_path / "base.yml"
    base.write_text(MINIMAL)
    with pytest.raises(ConfigError) as caught:
        load_config([base, extra], env={})
    assert caught.value.problems == [
        'courier.templates.recovery_code.valid.email.subjct: is not a known key (did you mean "subject"?)',
        'courier.templates.login: is not a known key (did you mean "login_code"?)',
    ]


# --- data from users ----------------------------------------------------------------------------


def test_hostile_traits_are_escaped_in_html_bodies_only(tmp_path: Path) -> None:
    directory = "verification/valid"
    write(
        tmp_path,
        f"{directory}/email.body.gotmpl",
        '<p>Hi {{ .Identity.traits.name }}</p><a href="{{ .Identity.traits.site }}">site</a>',
    )
    write(tmp_path, f"{directory}/email.body.plaintext.gotmpl", "Hi {{ .Identity.traits.name }}")
    write(tmp_path, f"{directory}/email.subject.gotmpl", "Hi {{ .Identity.traits.name }}")
    name = '<img src=x onerror="alert(1)">'
    identity = {"id": "i1", "traits": {"name": name, "site": "javascript:alert(1)"}}
    email = load({"template_override_path": str(tmp_path)}).email(
        "verification_valid", {"Identity": identity}
    )
    assert email.html == (
        '<p>Hi &lt;img src=x onerror=&#34;alert(1)&#34;&gt;</p><a href="#ZgotmplZ">site</a>'
    )
    assert email.plaintext == f"Hi {name}"
    assert email.subject == f"Hi {name}"


def test_missing_values_and_execution_errors(tmp_path: Path) -> None:
    directory = "recovery_code/valid"
    write(tmp_path, f"{directory}/email.body.gotmpl", "<p>[{{ .Identity.traits.nickname }}]</p>")
    write(tmp_path, f"{directory}/email.body.plaintext.gotmpl", "[{{ .Identity.traits.nickname }}]")
    write(tmp_path, f"{directory}/sms.body.gotmpl", "{{ index .Identity.traits 0 }}")
    templates = load({"template_override_path": str(tmp_path)})
    email = templates.email("recovery_code_valid", DATA)
    assert (email.html, email.plaintext) == ("<p>[]</p>", "[<no value>]")
    with pytest.raises(
        TemplateExecutionError, match=r"error calling index: value has type int; should be string"
    ):
        templates.sms("recovery_code_valid", DATA)
