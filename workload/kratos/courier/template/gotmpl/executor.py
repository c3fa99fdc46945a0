"""Runs a parsed template against data, with ``text/template``'s evaluation rules and error texts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from kratos.courier.template.gotmpl import htmlescape
from kratos.courier.template.gotmpl import nodes as n
from kratos.courier.template.gotmpl.builtins import KIND_NAMES, Func
from kratos.courier.template.gotmpl.errors import ArgumentError, CallError, TemplateExecutionError
from kratos.courier.template.gotmpl.values import MISSING, go_type, is_int, is_true, sprint_one

MAX_DEPTH = 100
_NO_FINAL: Final = object()
_BREAK, _CONTINUE = 1, 2
_PREDEFINED = ("html", "urlquery")


class _Failure(Exception):
    """An error at ``node``, turned into :class:`TemplateExecutionError` with its position."""

    def __init__(self, node: n.Node, message: str) -> None:
        super().__init__(message)
        self.node = node
        self.message = message
        self.tree: n.Tree | None = None


def _check(value: Any, kind: str, node: n.Node) -> Any:
    """Go's ``validateType``: an evaluated argument against a parameter kind."""
    if kind == "value":
        return value
    if kind == "any":
        return None if value is MISSING else value
    if value is MISSING or value is None:
        raise _Failure(node, f"invalid value; expected {KIND_NAMES[kind]}")
    ok = (
        (kind == "str" and isinstance(value, str))
        or (kind == "int" and is_int(value))
        or (kind == "float" and isinstance(value, float))
        or (kind == "bool" and isinstance(value, bool))
        or (kind == "map" and isinstance(value, dict))
        or (kind == "list" and isinstance(value, list | tuple))
    )
    if not ok:
        raise _Failure(node, f"wrong type for value; expected {KIND_NAMES[kind]}; got {go_type(value)}")
    return value


class Execution:
    """One run of a template: the output so far, the variables in scope and the HTML context."""

    def __init__(self, trees: Mapping[str, n.Tree], funcs: Mapping[str, Func], html: bool) -> None:
        self.trees = trees
        self.funcs = funcs
        self.html = html
        self.ctx = htmlescape.INITIAL
        self.out: list[str] = []
        self.vars: list[list[Any]] = []
        self.tree: n.Tree | None = None
        self.depth = 0

    def run(self, name: str, data: Any) -> str:
        """Execute template ``name`` with ``data`` as dot and ``$``; returns the output."""
        tree = self.trees.get(name)
        if tree is None:
            raise TemplateExecutionError(name, 0, f'no such template "{name}"')
        self.tree = tree
        self.vars = [["$", data]]
        try:
            self.walk(data, tree.root)
        except _Failure as failure:
            raise self.failure(failure) from None
        except RecursionError:
            raise TemplateExecutionError(tree.name, 0, "exceeded maximum template depth") from None
        return "".join(self.out)

    def failure(self, failure: _Failure) -> TemplateExecutionError:
        """The public error for a failure, with the position of the node it happened at."""
        tree = failure.tree or self.tree
        assert tree is not None
        line, column = tree.source.where(failure.node.start)
        text = tree.source.text[failure.node.start : failure.node.end]
        message = f'executing "{tree.name}" at <{text}>: {failure.message}'
        return TemplateExecutionError(tree.source.name, line, message, column)

    # --- statements -----------------------------------------------------------------------------

    def walk(self, dot: Any, node: n.Node) -> int:
        """Execute ``node``; returns a break/continue signal for the enclosing ``range``."""
        kind = type(node)
        if kind is n.TextNode:
            assert isinstance(node, n.TextNode)
            self.write_text(node)
        elif kind is n.ListNode:
            assert isinstance(node, n.ListNode)
            for item in node.items:
                signal = self.walk(dot, item)
                if signal:
                    return signal
        elif kind is n.ActionNode:
            assert isinstance(node, n.ActionNode)
            self.action(dot, node)
        elif kind is n.IfNode:
            assert isinstance(node, n.IfNode)
            return self.if_or_with(dot, node)
        elif kind is n.RangeNode:
            assert isinstance(node, n.RangeNode)
            return self.range(dot, node)
        elif kind is n.TemplateNode:
            assert isinstance(node, n.TemplateNode)
            self.template(dot, node)
        elif kind is n.BreakNode:
            return _BREAK
        elif kind is n.ContinueNode:
            return _CONTINUE
        return 0

    def write_text(self, node: n.TextNode) -> None:
        """Write literal text (in HTML: through the context tracker)."""
        if not self.html:
            self.out.append(node.text)
            return
        cached = node.html_cache.get(self.ctx)
        if cached is None:
            cached = htmlescape.transition(self.ctx, node.text)
            node.html_cache[self.ctx] = cached
        self.out.append(cached[0])
        self.ctx = cached[1]

    def action(self, dot: Any, node: n.ActionNode) -> None:
        """Evaluate an action and print its value unless it declares variables."""
        pipe = node.pipe
        if self.html:
            last = pipe.cmds[-1].args[0]
            if isinstance(last, n.IdentifierNode) and last.name in _PREDEFINED and not pipe.decls:
                self.predefined(dot, pipe, last.name)
                return
        value = self.pipeline(dot, pipe)
        if pipe.decls:
            return
        if self.html:
            text, self.ctx = htmlescape.escape(self.ctx, [value])
            self.out.append(text)
        else:
            self.out.append(sprint_one(value))

    def predefined(self, dot: Any, pipe: n.PipeNode, name: str) -> None:
        """``{{ x | html }}`` in an HTML template: merged with the context's own escaping, as Go does."""
        final: Any = _NO_FINAL
        for cmd in pipe.cmds[:-1]:
            final = self.command(dot, cmd, final)
        cmd = pipe.cmds[-1]
        args = [self.arg(dot, arg, "any") for arg in cmd.args[1:]]
        if final is not _NO_FINAL:
            args.append(None if final is MISSING else final)
        text, self.ctx = htmlescape.escape(self.ctx, args, name)
        self.out.append(text)

    def if_or_with(self, dot: Any, node: n.IfNode) -> int:
        """``if`` / ``with``, with their ``else`` branches."""
        mark = len(self.vars)
        try:
            value = self.pipeline(dot, node.pipe)
            if is_true(value):
                return self.walk(value if node.kind == "with" else dot, node.body)
            if node.else_body is not None:
                return self.walk(dot, node.else_body)
            return 0
        finally:
            del self.vars[mark:]

    def range(self, dot: Any, node: n.RangeNode) -> int:
        """``range`` over a list, a map (in key order), or an integer."""
        mark = len(self.vars)
        try:
            value = self.pipeline(dot, node.pipe)
            decls = len(node.pipe.decls)
            if isinstance(value, list | tuple):
                pairs: Any = enumerate(value)
            elif isinstance(value, dict):
                pairs = ((key, value[key]) for key in sorted(value))
            elif is_int(value):
                if decls > 1:
                    raise _Failure(node.pipe, f"can't use {value} to iterate over more than one variable")
                pairs = ((i, i) for i in range(value))
            elif value is MISSING or value is None:
                pairs = ()
            else:
                raise _Failure(node.pipe, f"range can't iterate over {sprint_one(value)}")
            ran = False
            for key, item in pairs:
                ran = True
                if decls == 1:
                    self.vars[-1][1] = item
                elif decls == 2:
                    self.vars[-2][1] = key
                    self.vars[-1][1] = item
                inner = len(self.vars)
                signal = self.walk(item, node.body)
                del self.vars[inner:]
                if signal == _BREAK:
                    break
            if not ran and node.else_body is not None:
                return self.walk(dot, node.else_body)
            return 0
        finally:
            del self.vars[mark:]

    def template(self, dot: Any, node: n.TemplateNode) -> None:
        """``{{template}}``: run another template with a fresh ``$``."""
        tree = self.trees.get(node.name)
        if tree is None:
            raise _Failure(node, f'template "{node.name}" not defined')
        value = MISSING if node.pipe is None else self.pipeline(dot, node.pipe)
        if self.depth >= MAX_DEPTH:
            raise _Failure(node, f"exceeded maximum template depth ({MAX_DEPTH})")
        saved_vars, saved_tree = self.vars, self.tree
        self.vars, self.tree = [["$", value]], tree
        self.depth += 1
        try:
            self.walk(value, tree.root)
        except _Failure as failure:
            failure.tree = failure.tree or tree
            raise
        finally:
            self.depth -= 1
            self.vars, self.tree = saved_vars, saved_tree

    # --- expressions ----------------------------------------------------------------------------

    def pipeline(self, dot: Any, pipe: n.PipeNode) -> Any:
        """Evaluate a pipeline, each command getting the previous value as last argument."""
        value: Any = _NO_FINAL
        for cmd in pipe.cmds:
            value = self.command(dot, cmd, value)
            if value is None:
                value = MISSING  # Go digs the nil out of an interface{}: an invalid value.
        for name in pipe.decls:
            if pipe.is_assign:
                self.assign(name, value)
            else:
                self.vars.append([name, value])
        return value

    def assign(self, name: str, value: Any) -> None:
        """``$x = value``."""
        for entry in reversed(self.vars):
            if entry[0] == name:
                entry[1] = value
                return

    def variable(self, node: n.Node, name: str) -> Any:
        """The value of ``$name``."""
        for entry in reversed(self.vars):
            if entry[0] == name:
                return entry[1]
        raise _Failure(node, f"undefined variable: {name}")

    def command(self, dot: Any, cmd: n.CommandNode, final: Any) -> Any:
        """Evaluate one command of a pipeline."""
        first = cmd.args[0]
        kind = type(first)
        if kind is n.FieldNode:
            assert isinstance(first, n.FieldNode)
            return self.fields(first, dot, first.names, cmd.args, final)
        if kind is n.IdentifierNode:
            assert isinstance(first, n.IdentifierNode)
            return self.call(dot, first, cmd, final)
        if kind is n.VariableNode:
            assert isinstance(first, n.VariableNode)
            value = self.variable(first, first.name)
            return self.fields(first, value, first.names, cmd.args, final) if first.names else value
        if kind is n.ChainNode:
            assert isinstance(first, n.ChainNode)
            base = self.operand(dot, first.node)
            return self.fields(first, base, first.names, cmd.args, final)
        if len(cmd.args) > 1 or final is not _NO_FINAL:
            raise _Failure(first, f"can't give argument to non-function {self.text(first)}")
        if kind is n.NilNode:
            raise _Failure(first, "nil is not a command")
        return self.operand(dot, first)

    def text(self, node: n.Node) -> str:
        """The source text of ``node``."""
        assert self.tree is not None
        return self.tree.source.text[node.start : node.end]

    def operand(self, dot: Any, node: n.Node) -> Any:
        """The value of a term that is not called with arguments."""
        if isinstance(node, n.DotNode):
            return dot
        if isinstance(node, n.StringNode):
            return node.value
        if isinstance(node, n.NumberNode):
            return node.ideal
        if isinstance(node, n.BoolNode):
            return node.value
        if isinstance(node, n.NilNode):
            return None
        if isinstance(node, n.PipeNode):
            mark = len(self.vars)
            value = self.pipeline(dot, node)
            del self.vars[mark:]
            return value
        if isinstance(node, n.CommandNode):
            return self.command(dot, node, _NO_FINAL)
        return self.command(dot, n.CommandNode(node.start, node.end, [node]), _NO_FINAL)

    def fields(
        self, node: n.Node, receiver: Any, names: tuple[str, ...], args: list[n.Node], final: Any
    ) -> Any:
        """Follow field names from ``receiver`` (map keys; missing ones give no value)."""
        has_args = len(args) > 1 or final is not _NO_FINAL
        for index, name in enumerate(names):
            if receiver is MISSING:
                return MISSING
            if receiver is None:
                raise _Failure(node, f"nil pointer evaluating interface {{}}.{name}")
            if not isinstance(receiver, dict):
                raise _Failure(node, f"can't evaluate field {name} in type interface {{}}")
            if has_args and index == len(names) - 1:
                raise _Failure(node, f"{name} is not a method but has arguments")
            receiver = receiver.get(name, MISSING)
        return receiver

    def call(self, dot: Any, ident: n.IdentifierNode, cmd: n.Node, final: Any) -> Any:
        """Call a function with the arguments of ``cmd`` (and the piped ``final`` value)."""
        name = ident.name
        spec = self.funcs[name]
        arg_nodes = cmd.args[1:] if isinstance(cmd, n.CommandNode) else []
        count = len(arg_nodes) + (final is not _NO_FINAL)
        fixed = len(spec.params)
        if spec.variadic is not None and count < fixed:
            raise _Failure(ident, f"wrong number of args for {name}: want at least {fixed} got {count}")
        if spec.variadic is None and count != fixed:
            raise _Failure(ident, f"wrong number of args for {name}: want {fixed} got {count}")
        if name in ("and", "or"):
            return self.and_or(dot, name, arg_nodes, final)
        values = []
        for index, node in enumerate(arg_nodes):
            values.append(
                self.arg(dot, node, spec.params[index] if index < fixed else spec.variadic or "any")
            )
        if final is not _NO_FINAL:
            kind = spec.params[count - 1] if count - 1 < fixed else spec.variadic or "any"
            values.append(_check(final, kind, ident))
        try:
            return spec.fn(*values)
        except CallError as exc:
            raise _Failure(cmd, f"error calling {name}: {exc}") from None
        except ArgumentError as exc:
            raise _Failure(cmd, str(exc)) from None
        except (ArithmeticError, ValueError, TypeError, IndexError, KeyError) as exc:
            raise _Failure(cmd, f"error calling {name}: {exc}") from None

    def and_or(self, dot: Any, name: str, arg_nodes: list[n.Node], final: Any) -> Any:
        """``and``/``or`` stop at the first operand that decides the result, as Go's do."""
        value: Any = None
        stop_when = name == "or"
        for node in arg_nodes:
            value = self.arg(dot, node, "value")
            if is_true(value) == stop_when:
                return value
        if final is not _NO_FINAL:
            value = final
        return value

    def arg(self, dot: Any, node: n.Node, kind: str) -> Any:
        """Evaluate one argument for a parameter of ``kind`` (constants are typed as Go types them)."""
        if isinstance(node, n.NilNode):
            if kind in ("any", "value", "map", "list"):
                return None
            raise _Failure(node, f"cannot assign nil to {KIND_NAMES[kind]}")
        if isinstance(node, n.StringNode | n.NumberNode | n.BoolNode):
            return self.constant(node, kind)
        if isinstance(node, n.IdentifierNode):
            return _check(self.call(dot, node, node, _NO_FINAL), kind, node)
        return _check(self.operand(dot, node), kind, node)

    def constant(self, node: n.StringNode | n.NumberNode | n.BoolNode, kind: str) -> Any:
        """A constant for a parameter of ``kind``, typed as Go types untyped constants."""
        if kind in ("any", "value"):
            return node.ideal if isinstance(node, n.NumberNode) else node.value
        if kind == "str" and isinstance(node, n.StringNode):
            return node.value
        if kind == "bool" and isinstance(node, n.BoolNode):
            return node.value
        if isinstance(node, n.NumberNode):
            if kind == "int" and node.int_value is not None:
                return node.int_value
            if kind == "float" and node.float_value is not None:
                return node.float_value
        expected = {"str": "string", "int": "integer", "float": "float", "bool": "bool"}.get(kind)
        if expected is None:
            raise _Failure(node, f"can't handle {self.text(node)} for arg of type {KIND_NAMES[kind]}")
        raise _Failure(node, f"expected {expected}; found {self.text(node)}")
