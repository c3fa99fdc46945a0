"""Splits Go template source into tokens, as ``text/template/parse``'s lexer does.

Text outside ``{{ }}`` is one token; ``{{- `` and `` -}}`` trim the whitespace next to them; comments
``{{/* */}}`` produce nothing. Errors use Go's wording (``unclosed action``, ``bad character U+0023 '#'``).
"""

from __future__ import annotations

from typing import NamedTuple

from kratos.courier.template.gotmpl.errors import TemplateSyntaxError
from kratos.courier.template.gotmpl.nodes import Source

LEFT, RIGHT = "{{", "}}"
SPACES = " \t\r\n"
KEYWORDS = frozenset(
    ("block", "break", "continue", "define", "else", "end", "if", "range", "template", "with")
)
_TERMINATORS = frozenset(" \t\r\n.,|:)(")


class Token(NamedTuple):
    """One lexeme: ``kind`` (``text``, ``field``, ``number``, a keyword, ...), its text and offset."""

    kind: str
    value: str
    pos: int


def _is_alnum(ch: str) -> bool:
    return ch == "_" or ch.isalpha() or ch.isdigit()


class Lexer:
    """Turns one template source into a list of :class:`Token`."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.src = source.text
        self.pos = 0
        self.tokens: list[Token] = []
        self.failure: TemplateSyntaxError | None = None

    def error(self, message: str, pos: int | None = None) -> TemplateSyntaxError:
        """A syntax error at ``pos`` (default: the current offset)."""
        line, column = self.source.where(self.pos if pos is None else pos)
        return TemplateSyntaxError(self.source.name, line, message, column)

    def run(self) -> list[Token]:
        """Lex the whole source; a lexical error becomes a final ``error`` token (see :attr:`failure`)."""
        try:
            return self._run()
        except TemplateSyntaxError as exc:
            self.failure = exc
            self.tokens.append(Token("error", exc.message, self.pos))
            return self.tokens

    def _run(self) -> list[Token]:
        src = self.src
        trim_next = False
        while True:
            start = self.pos
            found = src.find(LEFT, start)
            end = len(src) if found < 0 else found
            text_start = start
            if trim_next:
                while text_start < end and src[text_start] in SPACES:
                    text_start += 1
            text_end = end
            if (
                found >= 0
                and src.startswith("-", found + 2)
                and found + 3 < len(src)
                and src[found + 3] in SPACES
            ):
                trim_left = True
                while text_end > text_start and src[text_end - 1] in SPACES:
                    text_end -= 1
            else:
                trim_left = False
            if text_end > text_start:
                self.tokens.append(Token("text", src[text_start:text_end], text_start))
            if found < 0:
                self.tokens.append(Token("eof", "", len(src)))
                return self.tokens
            self.pos = found + 2 + (2 if trim_left else 0)
            if src.startswith("/*", self.pos):
                trim_next = self._comment(found)
            else:
                self.tokens.append(Token("left", LEFT, found))
                trim_next = self._action()

    def _at_right(self) -> tuple[bool, bool]:
        """Whether a closing delimiter starts here, and whether it carries a trim marker."""
        src, pos = self.src, self.pos
        if (
            pos + 1 < len(src)
            and src[pos] in SPACES
            and src[pos + 1] == "-"
            and src.startswith(RIGHT, pos + 2)
        ):
            return True, True
        return src.startswith(RIGHT, pos), False

    def _comment(self, start: int) -> bool:
        end = self.src.find("*/", self.pos + 2)
        if end < 0:
            raise self.error("unclosed comment", start)
        self.pos = end + 2
        at_right, trim = self._at_right()
        if not at_right:
            raise self.error("comment ends before closing delimiter")
        self.pos += 4 if trim else 2
        return trim

    def _action(self) -> bool:
        """Lex the inside of one action up to and including its ``}}``; returns whether it trims after."""
        src = self.src
        depth = 0
        emit = self.tokens.append
        while True:
            at_right, trim = self._at_right()
            if at_right:
                if depth:
                    raise self.error("unclosed left paren")
                emit(Token("right", RIGHT, self.pos))
                self.pos += 4 if trim else 2
                return trim
            if self.pos >= len(src):
                raise self.error("unclosed action")
            ch = src[self.pos]
            start = self.pos
            if ch in SPACES:
                while self.pos < len(src) and src[self.pos] in SPACES:
                    self.pos += 1
                    if self._at_right()[1]:
                        break
                emit(Token("space", src[start : self.pos], start))
            elif ch == "=":
                self.pos += 1
                emit(Token("assign", "=", start))
            elif ch == ":":
                if not src.startswith(":=", start):
                    raise self.error("expected :=")
                self.pos += 2
                emit(Token("declare", ":=", start))
            elif ch == "|":
                self.pos += 1
                emit(Token("pipe", "|", start))
            elif ch == '"':
                emit(Token("string", self._quoted('"', "unterminated quoted string"), start))
            elif ch == "'":
                emit(Token("char", self._quoted("'", "unterminated character constant"), start))
            elif ch == "`":
                end = src.find("`", start + 1)
                if end < 0:
                    raise self.error("unterminated raw quoted string", start)
                self.pos = end + 1
                emit(Token("raw", src[start : self.pos], start))
            elif ch == "$":
                self._word(start + 1)
                emit(Token("var", src[start : self.pos], start))
            elif ch == "." and not (start + 1 < len(src) and src[start + 1].isdigit()):
                self._word(start + 1)
                word = src[start : self.pos]
                emit(Token("dot" if word == "." else "field", word, start))
            elif ch in "+-." or ch.isdigit():
                emit(Token("number", self._number(), start))
            elif _is_alnum(ch):
                self._word(start)
                word = src[start : self.pos]
                if word in KEYWORDS:
                    emit(Token(word, word, start))
                elif word in ("true", "false"):
                    emit(Token("bool", word, start))
                elif word == "nil":
                    emit(Token("nil", word, start))
                else:
                    emit(Token("ident", word, start))
            elif ch == "(":
                depth += 1
                self.pos += 1
                emit(Token("lparen", ch, start))
            elif ch == ")":
                depth -= 1
                if depth < 0:
                    raise self.error("unexpected right paren")
                self.pos += 1
                emit(Token("rparen", ch, start))
            elif ord(ch) < 0x80 and ch.isprintable():
                self.pos += 1
                emit(Token("char_op", ch, start))
            else:
                raise self.error(f"bad character {_rune(ch)}")

    def _word(self, start: int) -> None:
        """Consume an identifier's letters from ``start``; it must end at a terminator."""
        src = self.src
        pos = start
        while pos < len(src) and _is_alnum(src[pos]):
            pos += 1
        self.pos = pos
        if pos < len(src) and src[pos] not in _TERMINATORS and not src.startswith(RIGHT, pos):
            raise self.error(f"bad character {_rune(src[pos])}", pos)

    def _quoted(self, quote: str, unterminated: str) -> str:
        src = self.src
        start = self.pos
        pos = start + 1
        while True:
            if pos >= len(src) or src[pos] == "\n":
                raise self.error(unterminated, start)
            ch = src[pos]
            if ch == "\\":
                pos += 2
                continue
            pos += 1
            if ch == quote:
                break
        self.pos = pos
        return src[start:pos]

    def _number(self) -> str:
        src = self.src
        start = pos = self.pos
        if src[pos] in "+-":
            pos += 1
        digits = "0123456789_"
        if src.startswith(("0x", "0X"), pos):
            pos, digits = pos + 2, "0123456789abcdefABCDEF_"
        elif src.startswith(("0o", "0O"), pos):
            pos, digits = pos + 2, "01234567_"
        elif src.startswith(("0b", "0B"), pos):
            pos, digits = pos + 2, "01_"
        pos = _skip(src, pos, digits)
        if pos < len(src) and src[pos] == ".":
            pos = _skip(src, pos + 1, digits)
        exponent = "eE" if len(digits) == 11 else "pP" if len(digits) == 23 else ""
        if exponent and pos < len(src) and src[pos] in exponent:
            pos += 1
            if pos < len(src) and src[pos] in "+-":
                pos += 1
            pos = _skip(src, pos, "0123456789_")
        if pos < len(src) and _is_alnum(src[pos]):
            raise self.error(f"bad number syntax: {src[start : pos + 1]!r}".replace("'", '"'), start)
        self.pos = pos
        return src[start:pos]


def _skip(src: str, pos: int, chars: str) -> int:
    while pos < len(src) and src[pos] in chars:
        pos += 1
    return pos


def _rune(ch: str) -> str:
    """Go's ``%#U``: ``U+0023 '#'``."""
    code = ord(ch)
    return f"U+{code:04X} '{ch}'" if ch.isprintable() else f"U+{code:04X}"
