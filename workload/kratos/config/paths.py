"""Walking the model tree by key path: the known keys, their types and constraints."""

from __future__ import annotations

import types
from collections.abc import Iterator, Sequence
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

Loc = Sequence[str | int]


def key_name(name: str, field: FieldInfo) -> str:
    """Return the key of a field as written in the YAML (its alias when it has one)."""
    return field.alias or name


def unwrap(annotation: Any) -> Any:
    """Strip ``Annotated[...]`` and ``| None`` from a type annotation."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def model_of(annotation: Any) -> type[BaseModel] | None:
    """Return the model class an annotation stands for, if any."""
    target = unwrap(annotation)
    return target if isinstance(target, type) and issubclass(target, BaseModel) else None


def is_structured(annotation: Any) -> bool:
    """Whether values of this type are objects or lists (given as JSON in environment variables)."""
    target = unwrap(annotation)
    return model_of(target) is not None or get_origin(target) in (list, dict) or target in (list, dict)


def is_list(annotation: Any) -> bool:
    """Whether values of this type are lists."""
    target = unwrap(annotation)
    return get_origin(target) is list or target is list


def literal_choices(annotation: Any) -> tuple[Any, ...]:
    """Return the allowed values of a ``Literal`` annotation (or of a list of them), else ``()``."""
    target = unwrap(annotation)
    if get_origin(target) is list:
        target = unwrap(get_args(target)[0])
    return get_args(target) if get_origin(target) is Literal else ()


def bounds(field: FieldInfo) -> tuple[Any, Any]:
    """Return the (minimum, maximum) constraints of a numeric field, ``None`` where unbounded."""
    low = high = None
    for meta in field.metadata:
        if isinstance(meta, annotated_types.Ge):
            low = meta.ge
        elif isinstance(meta, annotated_types.Le):
            high = meta.le
    return low, high


def field_at(root: type[BaseModel], loc: Loc) -> tuple[FieldInfo | None, type[BaseModel] | None]:
    """Find the field an error location points at, and the model that holds (or should hold) it."""
    model: type[BaseModel] | None = root
    annotation: Any = None
    field: FieldInfo | None = None
    for part in loc:
        if isinstance(part, str) and model is not None:
            field = fields_by_key(model).get(part)
            if field is None:
                return None, model
            annotation = field.annotation
            model = model_of(annotation)
        elif annotation is not None and get_origin(unwrap(annotation)) in (list, dict):
            annotation = get_args(unwrap(annotation))[-1]
            model = model_of(annotation)
            field = FieldInfo.from_annotation(annotation)
        else:
            return None, None
    return field, model


def fields_by_key(model: type[BaseModel]) -> dict[str, FieldInfo]:
    """Return a model's fields keyed as they are written in the YAML."""
    return {key_name(name, field): field for name, field in model.model_fields.items()}


def known_paths(
    model: type[BaseModel], prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], FieldInfo]]:
    """Yield every key path of the model tree, parents before their children."""
    for key, field in fields_by_key(model).items():
        path = (*prefix, key)
        yield path, field
        child = model_of(field.annotation)
        if child is not None:
            yield from known_paths(child, path)


def dotted(loc: Loc) -> str:
    """Render a location as ``a.b[0].c``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text
