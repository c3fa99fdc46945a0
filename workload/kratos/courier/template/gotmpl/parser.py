"""Builds the parse tree of one template source, following ``text/template/parse``'s grammar and errors."""

from __future__ import annotations

from collections.abc import Collection

from kratos.courier.template.gotmpl import nodes as n
from kratos.courier.template.gotmpl.errors import TemplateSyntaxError
from kratos.courier.template.gotmpl.lexer import Lexer, Token
from kratos.courier.template.gotmpl.literals import parse_number, unquote
from kratos.courier.template.gotmpl.values import go_quote

_OPERAND_START = frozenset(
    ("bool", "char", "dot", "field", "ident", "number", "nil", "raw", "string", "var", "lparen")
)
_NOT_EXECUTABLE = (n.BoolNode, n.DotNode, n.NilNode, n.NumberNode, n.StringNode)


class _End(n.Node):
    """``{{end}}`` (only while parsing)."""

    __slots__ = ()


class _Else(n.Node):
    """``{{else}}`` (only while parsing)."""

    __slots__ = ()


def parse(name: str, text: str, funcs: Collection[str]) -> dict[str, n.Tree]:
    """Every template in ``text``: the main one under ``name`` and each ``define``/``block``."""
    return _Parser(name, text, funcs).run()


def _describe(token: Token) -> str:
    """How Go's error messages show a token."""
    if token.kind == "eof":
        return "EOF"
    if token.kind in (
        "if",
        "else",
        "end",
        "range",
        "with",
        "define",
        "template",
        "block",
        "break",
        "continue",
    ):
        return f"<{token.value}>"
    if token.kind == "space":
        return "space"
    text = token.value
    quoted = '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return quoted if len(text) <= 10 else '"' + quoted[1:11] + '"...'


class _Parser:
    def __init__(self, name: str, text: str, funcs: Collection[str]) -> None:
        self.name = name
        self.source = n.Source.of(name, text)
        lexer = Lexer(self.source)
        self.tokens = lexer.run()
        self.lex_failure = lexer.failure
        self.at = 0
        self.funcs = funcs
        self.vars: list[str] = ["$"]
        self.range_depth = 0
        self.trees: dict[str, n.Tree] = {}

    # --- token stream ---------------------------------------------------------------------------

    def error(self, message: str, pos: int | None = None) -> TemplateSyntaxError:
        if pos is None:
            pos = self.tokens[max(self.at - 1, 0)].pos
        line, column = self.source.where(pos)
        return TemplateSyntaxError(self.name, line, message, column)

    def next(self) -> Token:
        token = self.tokens[self.at]
        if token.kind == "error":
            assert self.lex_failure is not None
            raise self.lex_failure
        if token.kind != "eof":
            self.at += 1
        return token

    def peek(self) -> Token:
        token = self.tokens[self.at]
        if token.kind == "error":
            assert self.lex_failure is not None
            raise self.lex_failure
        return token

    def next_non_space(self) -> Token:
        token = self.next()
        while token.kind == "space":
            token = self.next()
        return token

    def peek_non_space(self) -> Token:
        token = self.next_non_space()
        self.at -= 1 if token.kind != "eof" else 0
        return token

    def backup(self, count: int = 1) -> None:
        self.at -= count

    def expect(self, kind: str, context: str) -> Token:
        token = self.next_non_space()
        if token.kind != kind:
            raise self.unexpected(token, context)
        return token

    def unexpected(self, token: Token, context: str) -> TemplateSyntaxError:
        return self.error(f"unexpected {_describe(token)} in {context}", token.pos)

    def end_of_previous(self) -> int:
        token = self.tokens[self.at - 1]
        return token.pos + len(token.value)

    # --- templates ------------------------------------------------------------------------------

    def run(self) -> dict[str, n.Tree]:
        items: list[n.Node] = []
        while self.peek().kind != "eof":
            if self.peek().kind == "left":
                self.next()
                if self.next_non_space().kind == "define":
                    self.definition()
                    continue
                self.at = self.at - 1
                while self.tokens[self.at].kind != "left":
                    self.at -= 1
            node = self.text_or_action()
            if isinstance(node, _End | _Else):
                raise self.error(
                    f"unexpected {{{{{'end' if isinstance(node, _End) else 'else'}}}}}", node.start
                )
            items.append(node)
        self.add(n.Tree(self.name, n.ListNode(0, len(self.source.text), items), self.source))
        return self.trees

    def add(self, tree: n.Tree) -> None:
        existing = self.trees.get(tree.name)
        if existing is None or n.is_empty(existing.root):
            self.trees[tree.name] = tree
        elif not n.is_empty(tree.root):
            raise self.error(f"template: multiple definition of template {tree.name!r}".replace("'", '"'))

    def template_name(self, token: Token, context: str) -> str:
        if token.kind not in ("string", "raw"):
            raise self.unexpected(token, context)
        try:
            return unquote(token.value)
        except ValueError as exc:
            raise self.error(str(exc), token.pos) from None

    def definition(self) -> None:
        context = "define clause"
        name = self.template_name(self.next_non_space(), context)
        self.expect("right", context)
        saved_vars, self.vars = self.vars, ["$"]
        body, end = self.item_list()
        self.vars = saved_vars
        if not isinstance(end, _End):
            raise self.error(f"unexpected {{{{else}}}} in {context}", end.start)
        self.add(n.Tree(name, body, self.source))

    def item_list(self) -> tuple[n.ListNode, n.Node]:
        start = self.peek().pos
        items: list[n.Node] = []
        while self.peek_non_space().kind != "eof":
            node = self.text_or_action()
            if isinstance(node, _End | _Else):
                return n.ListNode(start, node.start, items), node
            items.append(node)
        raise self.error("unexpected EOF", self.peek().pos)

    def text_or_action(self) -> n.Node:
        token = self.next_non_space()
        if token.kind == "text":
            return n.TextNode(token.pos, token.pos + len(token.value), token.value)
        if token.kind == "left":
            return self.action()
        raise self.unexpected(token, "input")

    # --- actions --------------------------------------------------------------------------------

    def action(self) -> n.Node:
        token = self.next_non_space()
        kind = token.kind
        if kind == "block":
            return self.block(token)
        if kind in ("break", "continue"):
            if self.range_depth == 0:
                raise self.error(f"{{{{{kind}}}}} outside {{{{range}}}}", token.pos)
            self.expect("right", kind)
            cls = n.BreakNode if kind == "break" else n.ContinueNode
            return cls(token.pos, self.end_of_previous())
        if kind == "else":
            ahead = self.peek_non_space()
            if ahead.kind not in ("if", "with"):
                self.expect("right", "else")
            return _Else(token.pos, token.pos)
        if kind == "end":
            self.expect("right", "end")
            return _End(token.pos, token.pos)
        if kind in ("if", "with"):
            return self.if_or_with(kind, token)
        if kind == "range":
            return self.range(token)
        if kind == "template":
            return self.template(token, "template clause")
        self.backup()
        pipe = self.pipeline("command", "right")
        return n.ActionNode(token.pos, pipe.end, pipe)

    def control(self, context: str) -> tuple[n.PipeNode, n.ListNode, n.ListNode | None]:
        mark = len(self.vars)
        try:
            pipe = self.pipeline(context, "right")
            if context == "range":
                self.range_depth += 1
            body, following = self.item_list()
            if context == "range":
                self.range_depth -= 1
            else_body = None
            if isinstance(following, _Else):
                ahead = self.peek_non_space()
                if context in ("if", "with") and ahead.kind == context:
                    keyword = self.next_non_space()
                    nested = self.if_or_with(context, keyword)
                    else_body = n.ListNode(following.start, nested.end, [nested])
                else:
                    else_body, end = self.item_list()
                    if not isinstance(end, _End):
                        raise self.error("expected end; found {{else}}", end.start)
            return pipe, body, else_body
        finally:
            del self.vars[mark:]

    def if_or_with(self, kind: str, token: Token) -> n.IfNode:
        pipe, body, else_body = self.control(kind)
        return n.IfNode(token.pos, self.end_of_previous(), kind, pipe, body, else_body)

    def range(self, token: Token) -> n.RangeNode:
        pipe, body, else_body = self.control("range")
        return n.RangeNode(token.pos, self.end_of_previous(), pipe, body, else_body)

    def template(self, token: Token, context: str) -> n.TemplateNode:
        name = self.template_name(self.next_non_space(), context)
        pipe = None
        if self.next_non_space().kind != "right":
            self.backup()
            pipe = self.pipeline(context, "right")
        return n.TemplateNode(token.pos, self.end_of_previous(), name, pipe)

    def block(self, token: Token) -> n.TemplateNode:
        context = "block clause"
        name = self.template_name(self.next_non_space(), context)
        pipe = self.pipeline(context, "right")
        saved_vars, saved_depth = self.vars, self.range_depth
        self.vars, self.range_depth = ["$"], 0
        body, end = self.item_list()
        self.vars, self.range_depth = saved_vars, saved_depth
        if not isinstance(end, _End):
            raise self.error(f"unexpected {{{{else}}}} in {context}", end.start)
        self.add(n.Tree(name, body, self.source))
        return n.TemplateNode(token.pos, self.end_of_previous(), name, pipe)

    # --- pipelines ------------------------------------------------------------------------------

    def pipeline(self, context: str, end: str) -> n.PipeNode:
        start = self.peek_non_space().pos
        decls: list[str] = []
        is_assign = False
        while True:
            variable = self.peek_non_space()
            if variable.kind != "var":
                break
            self.next_non_space()
            after_variable = self.peek()
            following = self.peek_non_space()
            if following.kind in ("declare", "assign"):
                self.next_non_space()
                is_assign = following.kind == "assign"
                if is_assign and variable.value not in self.vars:
                    raise self.error(f'undefined variable "{variable.value}"', variable.pos)
                decls.append(variable.value)
                self.vars.append(variable.value)
                break
            if following.kind == "char_op" and following.value == ",":
                self.next_non_space()
                decls.append(variable.value)
                self.vars.append(variable.value)
                if context == "range" and len(decls) < 2:
                    ahead = self.peek_non_space()
                    if ahead.kind == "var":
                        continue
                    raise self.error("range can only initialize variables", ahead.pos)
                raise self.error(f"too many declarations in {context}", following.pos)
            if after_variable.kind == "space":
                self.at -= 1
                while self.tokens[self.at].kind != "var":
                    self.at -= 1
            else:
                self.backup()
            break
        cmds: list[n.CommandNode] = []
        while True:
            token = self.next_non_space()
            if token.kind == end:
                if not cmds:
                    raise self.error(f"missing value for {context}", token.pos)
                for index, cmd in enumerate(cmds[1:], start=1):
                    if isinstance(cmd.args[0], _NOT_EXECUTABLE):
                        raise self.error(f"non executable command in pipeline stage {index + 1}", cmd.start)
                return n.PipeNode(start, token.pos, decls, is_assign, cmds)
            if token.kind in _OPERAND_START:
                self.backup()
                cmds.append(self.command())
            else:
                raise self.unexpected(token, context)

    def command(self) -> n.CommandNode:
        start = self.peek_non_space().pos
        args: list[n.Node] = []
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                args.append(operand)
            token = self.next()
            if token.kind == "space":
                continue
            if token.kind in ("right", "rparen"):
                self.backup()
            elif token.kind != "pipe":
                raise self.unexpected(token, "operand")
            break
        if not args:
            raise self.error("empty command", start)
        return n.CommandNode(start, args[-1].end, args)

    def operand(self) -> n.Node | None:
        node = self.term()
        if node is None or self.peek().kind != "field":
            return node
        names: list[str] = []
        while self.peek().kind == "field":
            names.append(self.next().value[1:])
        end = self.end_of_previous()
        if isinstance(node, n.FieldNode):
            return n.FieldNode(node.start, end, node.names + tuple(names))
        if isinstance(node, n.VariableNode):
            return n.VariableNode(node.start, end, node.name, node.names + tuple(names))
        if isinstance(node, _NOT_EXECUTABLE):
            text = self.source.text[node.start : node.end]
            raise self.error(f"unexpected . after term {go_quote(text)}", node.start)
        return n.ChainNode(node.start, end, node, tuple(names))

    def term(self) -> n.Node | None:
        token = self.next_non_space()
        kind, value, pos = token
        end = pos + len(value)
        if kind == "ident":
            if value not in self.funcs:
                raise self.error(f'function "{value}" not defined', pos)
            return n.IdentifierNode(pos, end, value)
        if kind == "dot":
            return n.DotNode(pos, end)
        if kind == "nil":
            return n.NilNode(pos, end)
        if kind == "var":
            head, *fields = value.split(".")
            if head not in self.vars:
                raise self.error(f'undefined variable "{head}"', pos)
            return n.VariableNode(pos, end, head, tuple(fields))
        if kind == "field":
            return n.FieldNode(pos, end, tuple(value[1:].split(".")))
        if kind == "bool":
            return n.BoolNode(pos, end, value == "true")
        if kind in ("number", "char"):
            try:
                int_value, float_value, ideal = parse_number(value)
            except ValueError as exc:
                raise self.error(str(exc), pos) from None
            return n.NumberNode(pos, end, value, int_value, float_value, ideal)
        if kind == "lparen":
            pipe = self.pipeline("parenthesized pipeline", "rparen")
            return n.PipeNode(pos, self.end_of_previous(), pipe.decls, pipe.is_assign, pipe.cmds)
        if kind in ("string", "raw"):
            try:
                return n.StringNode(pos, end, unquote(value))
            except ValueError as exc:
                raise self.error(str(exc), pos) from None
        self.backup()
        return None
