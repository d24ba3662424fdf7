"""Derive Arrow schemas from the typed records, so each table is defined exactly once.

pyarrow is imported when a schema is first asked for, not with this module: commands that never touch a table
(`vidcot shots`, `transcribe`) do not pay its import (~0.2 s)."""

from __future__ import annotations

import dataclasses
import types
import typing
from functools import cache
from typing import TYPE_CHECKING, Any, Union, get_args, get_origin, get_type_hints

if TYPE_CHECKING:
    import pyarrow as pa


@cache
def _scalars() -> dict[Any, pa.DataType]:
    import pyarrow as pa

    return {str: pa.string(), int: pa.int64(), float: pa.float64(), bool: pa.bool_(), bytes: pa.binary()}


def unwrap_optional(tp: Any) -> tuple[Any, bool]:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
        raise TypeError(f"unsupported union {tp!r}")
    return tp, False


def arrow_type(tp: Any) -> pa.DataType:
    """Map a Python type annotation to an Arrow type (scalars, lists, nested dataclasses)."""
    import pyarrow as pa

    tp, _ = unwrap_optional(tp)
    scalars = _scalars()
    if tp in scalars:
        return scalars[tp]
    origin = get_origin(tp)
    if origin in (list, typing.List):  # noqa: UP006
        (item,) = get_args(tp)
        return pa.list_(arrow_type(item))
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return pa.struct(arrow_fields(tp))
    raise TypeError(f"no Arrow mapping for {tp!r}")


def arrow_fields(cls: type) -> list[pa.Field]:
    import pyarrow as pa

    hints = get_type_hints(cls)
    fields = []
    for f in dataclasses.fields(cls):
        _, nullable = unwrap_optional(hints[f.name])
        fields.append(pa.field(f.name, arrow_type(hints[f.name]), nullable=nullable))
    return fields


def arrow_schema(cls: type) -> pa.Schema:
    """The Arrow schema of a record class; non-optional fields are non-nullable."""
    import pyarrow as pa

    return pa.schema(arrow_fields(cls))
