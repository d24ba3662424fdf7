"""The data model: one typed record per table, its Arrow schema, and the schema version."""

from __future__ import annotations

import dataclasses
import typing
from functools import cache
from typing import TYPE_CHECKING, Any

from schemas.arrow import arrow_schema, unwrap_optional
from schemas.bundle import VideoView
from schemas.common import Box, DetectedObject, Message, Provenance
from schemas.keys import KEYS, PARENTS, key_of
from schemas.media import (
    EvidenceRecord,
    FrameRecord,
    SegmentRecord,
    ShotRecord,
    VideoRecord,
    WordRecord,
)
from schemas.synthesis import (
    PROBLEM_TYPES,
    SPLITS,
    CotRecord,
    NegativeRecord,
    PairRecord,
    RejectRecord,
    RlRecord,
    SftRecord,
    TaskRecord,
    TraceStep,
)

SCHEMA_VERSION = 2

RECORDS: dict[str, type] = {
    "videos": VideoRecord,
    "shots": ShotRecord,
    "segments": SegmentRecord,
    "words": WordRecord,
    "frames": FrameRecord,
    "evidence": EvidenceRecord,
    "tasks": TaskRecord,
    "cot": CotRecord,
    "sft": SftRecord,
    "rl": RlRecord,
    "pairs": PairRecord,
    "negatives": NegativeRecord,
    "rejects": RejectRecord,
}
TABLES: tuple[str, ...] = tuple(RECORDS)
if TYPE_CHECKING:
    import pyarrow as pa

    SCHEMAS: dict[str, pa.Schema]


@cache
def _schemas() -> dict[str, pa.Schema]:
    return {name: arrow_schema(cls) for name, cls in RECORDS.items()}


def __getattr__(name: str) -> Any:
    """`SCHEMAS` is built on first use (it imports pyarrow, which commands that write no table do not need)."""
    if name == "SCHEMAS":
        return _schemas()
    raise AttributeError(f"module 'schemas' has no attribute {name!r}")


def schema_for(table: str) -> pa.Schema:
    """The Arrow schema of a table, with a clear error for an unknown name."""
    try:
        return _schemas()[table]
    except KeyError:
        raise KeyError(f"unknown table {table!r}; tables are: {', '.join(TABLES)}") from None


def to_arrow(table: str, records: list[Any]) -> pa.Table:
    """Turn a list of records of one table into an Arrow table with the table's schema."""
    cls = RECORDS[table]
    for r in records:
        if not isinstance(r, cls):
            raise TypeError(f"table {table!r} takes {cls.__name__}, got {type(r).__name__}")
    import pyarrow as pa

    rows = [dataclasses.asdict(r) for r in records]
    return pa.Table.from_pylist(rows, schema=schema_for(table))


def from_arrow(table: str, data: pa.Table) -> list[Any]:
    """Turn an Arrow table back into typed records (nested structs become their dataclasses)."""
    cls = RECORDS[table]
    return [_build(cls, row) for row in data.to_pylist()]


def _build(cls: type, row: dict[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        value = row.get(f.name)
        tp, optional = unwrap_optional(hints[f.name])
        if value is None and not optional and _has_default(f):
            continue  # a column added after the shard was written (absent, or null-filled): the field's default
        kwargs[f.name] = _coerce(tp, value)
    return cls(**kwargs)


def _has_default(f: dataclasses.Field) -> bool:
    return f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING


def _coerce(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return _build(tp, value)
    if typing.get_origin(tp) is list:
        (item,) = typing.get_args(tp)
        return [_coerce(item, v) for v in value]
    return value


__all__ = [
    "SCHEMA_VERSION",
    "RECORDS",
    "TABLES",
    "SCHEMAS",
    "PROBLEM_TYPES",
    "SPLITS",
    "schema_for",
    "to_arrow",
    "KEYS",
    "PARENTS",
    "key_of",
    "from_arrow",
    "Box",
    "DetectedObject",
    "Message",
    "Provenance",
    "VideoRecord",
    "ShotRecord",
    "SegmentRecord",
    "WordRecord",
    "FrameRecord",
    "EvidenceRecord",
    "TaskRecord",
    "TraceStep",
    "CotRecord",
    "SftRecord",
    "RlRecord",
    "PairRecord",
    "NegativeRecord",
    "RejectRecord",
    "VideoView",
]
