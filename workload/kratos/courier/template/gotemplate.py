"""Go templates (``text/template`` and ``html/template`` with the Sprig functions) for Python.

Parse once, render many::

    templates = TemplateSet(html=True)
    templates.parse("email.body.gotmpl", source)
    body = templates.execute("email.body.gotmpl", {"RecoveryCode": "123456"})

A source that does not parse raises :class:`TemplateSyntaxError` (with its name, line and column);
running one can raise :class:`TemplateExecutionError`. HTML sets escape every value for where it lands
(text, attribute, URL, script), as ``html/template`` does; text sets print values as they are.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from kratos.courier.template.gotmpl import nodes
from kratos.courier.template.gotmpl.builtins import BUILTINS, Func
from kratos.courier.template.gotmpl.errors import TemplateError, TemplateExecutionError, TemplateSyntaxError
from kratos.courier.template.gotmpl.executor import Execution
from kratos.courier.template.gotmpl.parser import parse
from kratos.courier.template.gotmpl.sprig import SPRIG

__all__ = [
    "FUNCS",
    "TemplateError",
    "TemplateExecutionError",
    "TemplateSet",
    "TemplateSyntaxError",
]

FUNCS: Mapping[str, Func] = {**BUILTINS, **SPRIG}
_PREDEFINED = ("html", "urlquery")


class TemplateSet:
    """Named templates that can call each other (Go's ``*template.Template`` and its associates)."""

    def __init__(self, html: bool = False, funcs: Mapping[str, Func] = FUNCS) -> None:
        self.html = html
        self.funcs = funcs
        self._trees: dict[str, nodes.Tree] = {}

    def parse(self, name: str, text: str) -> None:
        """Add the templates of ``text``: its body as ``name``, and each ``define``/``block`` it holds.

        A later source replaces same-named templates of an earlier one (``ParseFS`` of several files).
        """
        trees = parse(name, text, self.funcs)
        if self.html:
            for tree in trees.values():
                _check_predefined(tree)
        for tree_name, tree in trees.items():
            if tree_name not in self._trees or not nodes.is_empty(tree.root):
                self._trees[tree_name] = tree

    def __contains__(self, name: object) -> bool:
        return name in self._trees

    def __iter__(self) -> Iterator[str]:
        return iter(self._trees)

    def execute(self, name: str, data: Any) -> str:
        """Render template ``name`` with ``data`` as dot."""
        return Execution(self._trees, self.funcs, self.html).run(name, data)


def _check_predefined(tree: nodes.Tree) -> None:
    """``html``/``urlquery`` may only end a pipeline in an HTML template (Go's ErrPredefinedEscaper)."""
    for node in _walk(tree.root):
        if not isinstance(node, nodes.ActionNode):
            continue
        for cmd in node.pipe.cmds[:-1]:
            first = cmd.args[0]
            if isinstance(first, nodes.IdentifierNode) and first.name in _PREDEFINED:
                line, column = tree.source.where(first.start)
                message = f'predefined escaper "{first.name}" disallowed in template'
                raise TemplateSyntaxError(tree.source.name, line, message, column)


def _walk(node: nodes.Node) -> Iterator[nodes.Node]:
    yield node
    if isinstance(node, nodes.ListNode):
        for item in node.items:
            yield from _walk(item)
    elif isinstance(node, nodes.IfNode | nodes.RangeNode):
        yield from _walk(node.body)
        if node.else_body is not None:
            yield from _walk(node.else_body)
