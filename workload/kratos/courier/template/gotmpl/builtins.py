"""Template functions: how one is declared (:class:`Func`), and Go's predefined ones.

A parameter kind says which Go type the function takes, so arguments are checked as Go checks them:
``str``, ``int``, ``float``, ``bool``, ``map``, ``list``, ``any`` (``interface{}``: a missing value is
nil) and ``value`` (``reflect.Value``: the argument exactly as it is, missing included).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kratos.courier.template.gotmpl import encode
from kratos.courier.template.gotmpl.errors import CallError
from kratos.courier.template.gotmpl.printf import sprint, sprintf, sprintln
from kratos.courier.template.gotmpl.values import MISSING, go_type, is_int, is_true, sprint_one

KIND_NAMES = {
    "str": "string",
    "int": "int",
    "float": "float64",
    "bool": "bool",
    "map": "map[string]interface {}",
    "list": "[]interface {}",
    "any": "interface {}",
    "value": "reflect.Value",
}


@dataclass(frozen=True, slots=True)
class Func:
    """A template function: ``fn`` takes ``params`` (kinds), then any number of ``variadic`` ones."""

    fn: Callable[..., Any]
    params: tuple[str, ...] = ()
    variadic: str | None = None


def func(*params: str, variadic: str | None = None) -> Callable[[Callable[..., Any]], Func]:
    """Declare a function's parameter kinds."""

    def wrap(fn: Callable[..., Any]) -> Func:
        return Func(fn, params, variadic)

    return wrap


def _nil(value: Any) -> bool:
    return value is None or value is MISSING


def _length(item: Any) -> int:
    if _nil(item):
        raise CallError("len of nil pointer")
    if isinstance(item, str):
        return len(item.encode("utf-8", "surrogateescape"))
    if isinstance(item, list | tuple | dict | bytes):
        return len(item)
    raise CallError(f"len of type {go_type(item)}")


def _index(item: Any, *indexes: Any) -> Any:
    if _nil(item):
        raise CallError("index of untyped nil")
    for index in indexes:
        if item is None:
            raise CallError("index of nil pointer")
        if isinstance(item, list | tuple | str | bytes):
            data = item.encode("utf-8", "surrogateescape") if isinstance(item, str) else item
            if not is_int(index):
                raise CallError(f"cannot index slice/array with type {go_type(index)}")
            if not 0 <= index < len(data):
                raise CallError(f"index out of range: {index}")
            item = data[index]
        elif isinstance(item, dict):
            if _nil(index):
                raise CallError("value is nil; should be of type string")
            if not isinstance(index, str):
                raise CallError(f"value has type {go_type(index)}; should be string")
            item = item.get(index)
        else:
            raise CallError(f"can't index item of type {go_type(item)}")
    return item


def _not(value: Any) -> bool:
    return not is_true(value)


_BASIC = ((bool, "bool"), (int, "int"), (float, "float"), (str, "string"))


def _kind(value: Any) -> str:
    if _nil(value):
        return "invalid"
    for cls, name in _BASIC:
        if isinstance(value, cls):
            return name
    return "other"


def _eq(first: Any, *others: Any) -> bool:
    if not others:
        raise CallError("missing argument for comparison")
    k1 = _kind(first)
    for other in others:
        k2 = _kind(other)
        if k1 != k2:
            if k1 != "invalid" and k2 != "invalid":
                raise CallError(f"incompatible types for comparison: {go_type(first)} and {go_type(other)}")
            continue
        if k1 == "invalid":
            return True
        if k1 == "other":
            raise CallError(f"non-comparable type {sprint_one(other)}: {go_type(other)}")
        if first == other:
            return True
    return False


def _ne(first: Any, second: Any) -> bool:
    return not _eq(first, second)


def _less(first: Any, second: Any) -> bool:
    k1, k2 = _kind(first), _kind(second)
    if k1 in ("invalid", "bool", "other") or k2 in ("invalid", "bool", "other"):
        raise CallError("invalid type for comparison")
    if k1 != k2:
        raise CallError(f"incompatible types for comparison: {go_type(first)} and {go_type(second)}")
    return first < second


def _le(first: Any, second: Any) -> bool:
    return _less(first, second) or _eq(first, second)


def _gt(first: Any, second: Any) -> bool:
    return not _le(first, second)


def _ge(first: Any, second: Any) -> bool:
    return not _less(first, second)


def _printf(fmt: str, *args: Any) -> str:
    return sprintf(fmt, list(args))


BUILTINS: dict[str, Func] = {
    # ``and`` and ``or`` are evaluated lazily by the executor; these entries declare them.
    "and": Func(lambda *args: args[-1], ("value",), "value"),
    "or": Func(lambda *args: args[-1], ("value",), "value"),
    "not": Func(_not, ("value",)),
    "len": Func(_length, ("value",)),
    "index": Func(_index, ("value",), "value"),
    "slice": Func(lambda item, *indexes: item, ("value",), "value"),
    "print": Func(lambda *args: sprint(list(args)), (), "any"),
    "println": Func(lambda *args: sprintln(list(args)), (), "any"),
    "printf": Func(_printf, ("str",), "any"),
    "html": Func(lambda *args: encode.html_escape_string(encode.eval_args(list(args))), (), "any"),
    "js": Func(lambda *args: encode.js_escape_string(encode.eval_args(list(args))), (), "any"),
    "urlquery": Func(lambda *args: encode.query_escape(encode.eval_args(list(args))), (), "any"),
    "eq": Func(_eq, ("value",), "value"),
    "ne": Func(_ne, ("value", "value")),
    "lt": Func(_less, ("value", "value")),
    "le": Func(_le, ("value", "value")),
    "gt": Func(_gt, ("value", "value")),
    "ge": Func(_ge, ("value", "value")),
}
