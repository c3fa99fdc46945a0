"""The errors a Go template raises: one while it is parsed, one while it runs."""

from __future__ import annotations


class TemplateError(Exception):
    """A template could not be parsed or executed; ``name`` is its source, ``line`` where it went wrong."""

    def __init__(self, name: str, line: int, message: str, column: int | None = None) -> None:
        self.name = name
        self.line = line
        self.column = column
        self.message = message
        where = f"line {line}" if column is None else f"line {line}, column {column}"
        super().__init__(f"template {name}: {where}: {message}")


class TemplateSyntaxError(TemplateError):
    """The template text does not parse (or names a function or variable that does not exist)."""


class TemplateExecutionError(TemplateError):
    """Running the template failed: a function call went wrong, an operand has the wrong type, ..."""


class CallError(Exception):
    """Raised by a template function; the executor reports it as ``error calling <name>: <message>``."""


class ArgumentError(Exception):
    """An argument does not fit the function's parameter; reported without the ``error calling`` prefix."""
