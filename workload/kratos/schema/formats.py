"""JSON Schema ``format`` checks, matching upstream's validator (``ory/jsonschema`` formats).

Only strings are checked; unknown formats (and ``no-validate``) always pass.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from datetime import date
from urllib.parse import urlsplit

from jsonschema import FormatChecker

from kratos.schema.normalize import is_phone

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-\u0080-\U0010ffff]+"
_LOCAL_PART = re.compile(rf'(?:{_ATEXT}(?:\.{_ATEXT})*|"(?:[^"\\\r\n]|\\.)*")')
_LABEL = re.compile(r"[A-Za-z0-9-]{1,63}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = r"\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})"
_DATE_TIME = re.compile(rf"\d{{4}}-\d{{2}}-\d{{2}}T{_TIME}")
_FULL_TIME = re.compile(_TIME)
_IPV4_GROUP = re.compile(r"[+-]?\d+")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def is_hostname(value: str) -> bool:
    """RFC 1034/1123 host name: dot-separated labels of ASCII letters, digits and inner hyphens."""
    value = value.removesuffix(".")
    if not value or len(value) > 253 or value[0] == "-":
        return False
    return all(_LABEL.fullmatch(label) and not label.endswith("-") for label in value.split("."))


def is_email(value: str) -> bool:
    """Check an RFC 5322 addr-spec: ``local@host`` with a dot-atom or quoted local part."""
    if len(value) > 254 or "@" not in value:
        return False
    local, _, domain = value.rpartition("@")
    return len(local.encode()) <= 64 and is_hostname(domain) and bool(_LOCAL_PART.fullmatch(local))


def is_date(value: str) -> bool:
    """RFC 3339 full-date."""
    if not _DATE.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _valid_clock(value: str) -> bool:
    hour, minute, second = (int(part) for part in value[:8].split(":"))
    offset = value[8:].lstrip(".0123456789")
    if offset != "Z" and (int(offset[1:3]) > 23 or int(offset[4:6]) > 59):
        return False
    return hour < 24 and minute < 60 and second < 60


def is_time(value: str) -> bool:
    """RFC 3339 full-time (with a zone)."""
    return bool(_FULL_TIME.fullmatch(value)) and _valid_clock(value)


def is_date_time(value: str) -> bool:
    """RFC 3339 date-time."""
    return bool(_DATE_TIME.fullmatch(value)) and is_date(value[:10]) and _valid_clock(value[11:])


def is_ipv4(value: str) -> bool:
    """Dotted quad, each group 0..255."""
    groups = value.split(".")
    return len(groups) == 4 and all(_IPV4_GROUP.fullmatch(g) and 0 <= int(g) <= 255 for g in groups)


def is_ipv6(value: str) -> bool:
    """Check an IPv6 address (IPv4-mapped forms allowed)."""
    if ":" not in value or "%" in value:
        return False
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return True


def is_uri_reference(value: str) -> bool:
    """Check a URI or relative reference."""
    if _CONTROL.search(value) or _BAD_ESCAPE.search(value):
        return False
    try:
        urlsplit(value)
    except ValueError:
        return False
    return True


def is_uri(value: str) -> bool:
    """Check an absolute URI."""
    return bool(_SCHEME.match(value)) and is_uri_reference(value)


def is_regex(value: str) -> bool:
    """Check that a regular expression compiles."""
    try:
        re.compile(value)
    except re.error:
        return False
    return True


def is_json_pointer(value: str) -> bool:
    """RFC 6901 JSON pointer (not the URI fragment form)."""
    if value and not value.startswith("/"):
        return False
    return re.search(r"~(?![01])", value) is None


def is_relative_json_pointer(value: str) -> bool:
    """Check a relative JSON pointer: a non-negative integer then ``#`` or a JSON pointer."""
    match = re.match(r"(0|[1-9]\d*)", value)
    if not match:
        return False
    rest = value[match.end() :]
    return rest == "#" or is_json_pointer(rest)


_CHECKS: dict[str, Callable[[str], bool]] = {
    "date-time": is_date_time,
    "date": is_date,
    "time": is_time,
    "hostname": is_hostname,
    "email": is_email,
    "tel": is_phone,
    "ip-address": is_ipv4,
    "ipv4": is_ipv4,
    "ipv6": is_ipv6,
    "uri": is_uri,
    "iri": is_uri,
    "uri-reference": is_uri_reference,
    "uriref": is_uri_reference,
    "iri-reference": is_uri_reference,
    "uri-template": is_uri_reference,
    "regex": is_regex,
    "json-pointer": is_json_pointer,
    "relative-json-pointer": is_relative_json_pointer,
    "no-validate": lambda _: True,
}


def check_format(name: str, value: object) -> bool:
    """Whether ``value`` satisfies format ``name`` (non-strings and unknown formats pass)."""
    check = _CHECKS.get(name)
    return check is None or not isinstance(value, str) or check(value)


def _checker() -> FormatChecker:
    checker = FormatChecker(formats=())
    for name in _CHECKS:
        checker.checks(name)(lambda value, name=name: check_format(name, value))
    return checker


FORMAT_CHECKER = _checker()
