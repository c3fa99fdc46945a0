"""The Go template engine against real Go, and its errors, escaping and speed.

``data/gotemplate/expected.json`` holds what Go 1.26 with Sprig v3.3 printed for each case in
``cases.json`` (recorded by ``tests/record_go_templates.py``); every case must give the same output,
or fail where Go fails.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from kratos.courier.template.gotemplate import (
    TemplateError,
    TemplateExecutionError,
    TemplateSet,
    TemplateSyntaxError,
)

DATA = Path(__file__).parent / "data" / "gotemplate"
CASES = json.loads((DATA / "cases.json").read_text())
GO = {result["name"]: result for result in json.loads((DATA / "expected.json").read_text())["results"]}

# Where this engine is deliberately stricter or words an error differently, Go's message is not compared.
OWN_WORDING = {
    "assign_undefined": "refused when parsed (Go fails only when the assignment runs)",
    "len_nil": "Go leaks a reflect panic text",
    "no_such_template": "same text, but Go reports it before running anything",
}


def render(source: str, data: Any = None, html: bool = False, name: str = "t") -> str:
    templates = TemplateSet(html=html)
    templates.parse(name, source)
    return templates.execute(name, data)


def _go_message(error: str) -> str:
    """Go's error text without its ``template: name:line:col:`` and ``executing ... at <...>:`` parts."""
    text = re.sub(r"^(html/)?template: ?[^:]*:\d+(:\d+)?: ", "", error)
    return re.sub(r'^executing "[^"]*" at <.*?>: ', "", text)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_matches_go(case: dict[str, Any]) -> None:
    expected = GO[case["name"]]
    if "error" not in expected:
        output = render(case["template"], case.get("data"), case.get("html", False), name=case["name"])
        assert output == expected["output"]
        return
    with pytest.raises(TemplateError) as caught:
        render(case["template"], case.get("data"), case.get("html", False), name=case["name"])
    assert caught.value.name == case["name"]
    if case["name"] not in OWN_WORDING:
        assert _go_message(expected["error"]) in str(caught.value)


def test_syntax_error_names_the_source_line_and_column() -> None:
    source = "Hello,\n\n{{ .RecoveryCode }\n"
    name = "courier/templates/recovery_code/valid/email.body.gotmpl"
    with pytest.raises(TemplateSyntaxError) as caught:
        render(source, name=name)
    error = caught.value
    assert (error.name, error.line, error.column) == (name, 3, 18)
    assert str(error) == f'template {name}: line 3, column 18: unexpected "}}" in operand'


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ if .X }}open", "unexpected EOF"),
        ("{{ nosuchfunc . }}", 'function "nosuchfunc" not defined'),
        ("{{ $undefined }}", 'undefined variable "$undefined"'),
        ("{{ end }}", "unexpected {{end}}"),
        ("{{ .A | 3 }}", "non executable command in pipeline stage 2"),
        ("text {{ .X", "unclosed action"),
    ],
)
def test_what_does_not_parse(source: str, message: str) -> None:
    with pytest.raises(TemplateSyntaxError, match=re.escape(message)):
        render(source)


def test_execution_errors() -> None:
    with pytest.raises(TemplateExecutionError, match=r"error calling index: can't index item of type int"):
        render("{{ index .N 0 }}", {"N": 5})
    with pytest.raises(
        TemplateExecutionError, match=r"line 2, column 10: .*at <\.N>: wrong type for value; expected string"
    ):
        render("ok\n{{ upper .N }}", {"N": 5})
    with pytest.raises(TemplateExecutionError, match=r'template "missing" not defined'):
        render('{{ template "missing" }}')


def test_missing_keys_print_no_value_in_text_and_nothing_in_html() -> None:
    data = {"Identity": {"traits": {"email": "a@example.com"}}}
    source = "{{ .Identity.traits.email }}|{{ .Identity.traits.nickname }}|{{ .Nope.deeper.still }}"
    assert render(source, data) == "a@example.com|<no value>|<no value>"
    assert render(source, data, html=True) == "a@example.com||"
    assert render('{{ .Identity.traits.nickname | default "friend" }}', data) == "friend"
    with pytest.raises(TemplateExecutionError, match=r"nil pointer evaluating interface \{\}\.first"):
        render("{{ .Name.first }}", {"Name": None})


def test_html_escapes_hostile_values_for_where_they_land() -> None:
    hostile = "\"><script>alert('x')</script>"
    data = {"N": hostile, "U": "javascript:alert(1)", "Q": "a&b c"}
    source = '<p title="{{ .N }}">{{ .N }}</p><a href="{{ .U }}">x</a><a href="/s?q={{ .Q }}">y</a>'
    out = render(source, data, html=True)
    assert "<script>" not in out
    assert "'" not in out.replace("href='", "")
    assert out == (
        '<p title="&#34;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;">'
        "&#34;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</p>"
        '<a href="#ZgotmplZ">x</a><a href="/s?q=a%26b%20c">y</a>'
    )
    assert render("{{ .N }}", data) == hostile  # text templates print values as they are


def test_html_comments_are_dropped_and_text_is_untouched() -> None:
    assert render("a<!-- {{ .X }} -->b &amp; c", {"X": 1}, html=True) == "ab &amp; c"


def test_trim_markers_and_comments() -> None:
    source = "<ul>\n  {{- range .L }}\n  <li>{{ . }}</li>\n  {{- end }}\n</ul>"
    source += "{{/* gone */}}\n{{- /* also */ -}}\n!"
    assert render(source, {"L": ["a", "b"]}) == "<ul>\n  <li>a</li>\n  <li>b</li>\n</ul>!"


def test_defines_from_one_source_are_used_by_another() -> None:
    templates = TemplateSet(html=True)
    templates.parse("email.body.gotmpl", '{{ template "greeting" . }} <b>{{ .Code }}</b>')
    templates.parse("email.body.de.gotmpl", '{{ define "greeting" }}Hallo {{ .Name }}{{ end }}')
    assert (
        templates.execute("email.body.gotmpl", {"Name": "<Eve>", "Code": "1"}) == "Hallo &lt;Eve&gt; <b>1</b>"
    )
    templates.parse("later.gotmpl", '{{ define "greeting" }}Hi{{ end }}')
    assert templates.execute("email.body.gotmpl", {"Code": "1"}) == "Hi <b>1</b>"


def test_predefined_escaper_inside_a_pipeline_is_refused_in_html() -> None:
    with pytest.raises(TemplateSyntaxError, match='predefined escaper "html" disallowed'):
        render("{{ .X | html | upper }}", html=True)
    assert render("{{ .X | html | upper }}", {"X": "<a>"}) == "&LT;A&GT;"


def test_date_uses_local_time_and_go_layouts() -> None:
    moment = 1700000000
    expected = datetime.fromtimestamp(moment).astimezone().strftime("%Y-%m-%d %H:%M")
    assert render('{{ date "2006-01-02 15:04" .T }}', {"T": moment}) == expected
    now = render('{{ now | date "2006" }}')
    assert now == str(datetime.now().astimezone().year)
