"""The parse tree of a Go template (the shapes of ``text/template/parse``'s nodes)."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Source:
    """One parsed text: its name (a file or URL) and where its lines start, for error positions."""

    name: str
    text: str
    line_starts: list[int]

    @classmethod
    def of(cls, name: str, text: str) -> Source:
        """Index ``text``'s lines."""
        return cls(name, text, [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"])

    def where(self, pos: int) -> tuple[int, int]:
        """1-based line and column of offset ``pos``."""
        line = bisect.bisect_right(self.line_starts, pos)
        return line, pos - self.line_starts[line - 1] + 1


@dataclass(slots=True, eq=False)
class Node:
    """Any node: ``start``/``end`` are offsets into its :class:`Source` text."""

    start: int
    end: int


@dataclass(slots=True, eq=False)
class TextNode(Node):
    """Literal text; ``html_cache`` maps an HTML context to (output, context after)."""

    text: str
    html_cache: dict[Any, tuple[str, Any]] = field(default_factory=dict)


@dataclass(slots=True, eq=False)
class DotNode(Node):
    """``.``."""


@dataclass(slots=True, eq=False)
class NilNode(Node):
    """``nil``."""


@dataclass(slots=True, eq=False)
class BoolNode(Node):
    """``true`` / ``false``."""

    value: bool


@dataclass(slots=True, eq=False)
class StringNode(Node):
    """A quoted or raw string constant (already unquoted)."""

    value: str


@dataclass(slots=True, eq=False)
class NumberNode(Node):
    """A number or character constant; ``int_value``/``float_value`` are set where the text is one."""

    text: str
    int_value: int | None
    float_value: float | None
    ideal: int | float


@dataclass(slots=True, eq=False)
class FieldNode(Node):
    """``.A.B``: the field names."""

    names: tuple[str, ...]


@dataclass(slots=True, eq=False)
class VariableNode(Node):
    """``$x.A.B``: the variable, then field names."""

    name: str
    names: tuple[str, ...]


@dataclass(slots=True, eq=False)
class IdentifierNode(Node):
    """A function name."""

    name: str


@dataclass(slots=True, eq=False)
class ChainNode(Node):
    """``(pipeline).A.B``: fields taken from the value of a term."""

    node: Node
    names: tuple[str, ...]


@dataclass(slots=True, eq=False)
class CommandNode(Node):
    """One stage of a pipeline: an operand, or a function and its arguments."""

    args: list[Node]


@dataclass(slots=True, eq=False)
class PipeNode(Node):
    """``$x := a | b c``: declared (or assigned, ``is_assign``) variables and the commands."""

    decls: list[str]
    is_assign: bool
    cmds: list[CommandNode]


@dataclass(slots=True, eq=False)
class ListNode(Node):
    """A sequence of nodes."""

    items: list[Node]


@dataclass(slots=True, eq=False)
class ActionNode(Node):
    """``{{ pipeline }}``: printed unless it declares variables."""

    pipe: PipeNode


@dataclass(slots=True, eq=False)
class IfNode(Node):
    """``{{if}}``; ``kind`` is ``if`` or ``with`` (same shape)."""

    kind: str
    pipe: PipeNode
    body: ListNode
    else_body: ListNode | None


@dataclass(slots=True, eq=False)
class RangeNode(Node):
    """``{{range}}``."""

    pipe: PipeNode
    body: ListNode
    else_body: ListNode | None


@dataclass(slots=True, eq=False)
class BreakNode(Node):
    """``{{break}}``."""


@dataclass(slots=True, eq=False)
class ContinueNode(Node):
    """``{{continue}}``."""


@dataclass(slots=True, eq=False)
class TemplateNode(Node):
    """``{{template "name" pipeline}}``."""

    name: str
    pipe: PipeNode | None


@dataclass(slots=True, eq=False)
class Tree:
    """One named template: its body and the source it was written in."""

    name: str
    root: ListNode
    source: Source


def is_empty(node: Node) -> bool:
    """Go's ``IsEmptyTree``: only whitespace text."""
    if isinstance(node, ListNode):
        return all(is_empty(item) for item in node.items)
    return isinstance(node, TextNode) and not node.text.strip()
