"""One config system for every command: a YAML or TOML file, `--set key.path=value` overrides, a pydantic model.

`vidcot curate`, `schedule`, `train` and `eval` all read their settings the same way:

1. ``read_config_file``: the file as a mapping (YAML ``.yaml``/``.yml`` or TOML ``.toml``);
2. ``apply_override`` for each ``--set key.path=value`` (the value is a YAML scalar or flow collection: ``10``,
   ``true``, ``[0.3, 0.5]``, ``{backend: embedded}``, or a plain string); dots nest;
3. ``validate``: the pydantic model of the command, whose errors become one ``ConfigError`` line naming every bad
   key (``sft.learning_rate: Input should be a valid number (got 'fast')``) and where it came from.

Models set ``extra="forbid"``, so an unknown key (a typo in the file, a bad ``--set`` path) is an error naming the
key and the keys known there. This module is the floor of the layers: it imports nothing of the project.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

M = TypeVar("M", bound=BaseModel)

_NUMBERS = (int, float, int | None, float | None)


class ConfigError(ValueError):
    """A config file or override that cannot be read or does not validate. The message is one line."""


class Settings(BaseModel):
    """Base of hand-written settings models: unknown keys are errors, and a boolean is not a number
    (pydantic's lax mode would read ``batch_size: true`` as 1)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if isinstance(value, bool) and field is not None and field.annotation in _NUMBERS:
            raise ValueError(f"Input should be a number, not a boolean ({value})")
        return value


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a key given twice in one mapping is an error (not: the last one wins)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark, f"the key {key!r} is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _yaml(text: str) -> Any:
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader)


def read_config_file(path: Path | str) -> dict[str, Any]:
    """A YAML (``.yaml``/``.yml``) or TOML (``.toml``) file as a mapping; an empty file is an empty mapping."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} not found")
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".yaml", ".yml"):
        raise ConfigError(f"config file {path}: expected a .yaml, .yml or .toml file")
    try:
        text = path.read_text()
        data = tomllib.loads(text) if suffix == ".toml" else _yaml(text)
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"config file {path} cannot be read: {e}") from None
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"config file {path} does not parse: {_one_line(str(e))}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: expected a mapping of sections at the top level")
    return data


def parse_value(text: str) -> Any:
    """A ``--set`` value: a YAML scalar or flow collection (numbers, booleans, lists, mappings), else the string."""
    try:
        return _yaml(text)
    except yaml.YAMLError:
        return text


def parse_assignment(assignment: str) -> tuple[list[str], Any]:
    """``key.path=value`` as (the key's parts, the parsed value)."""
    key, sep, value = assignment.partition("=")
    key = key.strip()
    parts = key.split(".")
    if not sep or not key or any(not p for p in parts):
        raise ConfigError(f"--set takes KEY.PATH=VALUE (e.g. shots.detector=content), got {assignment!r}")
    return parts, parse_value(value)


def set_path(doc: dict[str, Any], parts: list[str], value: Any, shown: str | None = None) -> None:
    """Set ``doc[p0][p1]…[pn] = value``, creating sections on the way; a scalar on the way is an error."""
    node = doc
    for i, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            where = ".".join(parts[: i + 1])
            raise ConfigError(f"--set {shown or '.'.join(parts)}: {where} is a value, not a section")
        node = child
    node[parts[-1]] = value


def apply_override(doc: dict[str, Any], assignment: str, section: str | None = None) -> None:
    """Apply ``--set key.path=value`` to a config mapping.

    With ``section`` the key is relative to that section (``lora.r=8`` sets ``sft.lora.r``); a key that starts
    with the section's own name (``sft.lora.r=8``) is accepted too.
    """
    parts, value = parse_assignment(assignment)
    shown = ".".join(parts)
    if section is not None:
        if parts[0] == section and len(parts) > 1:
            parts = parts[1:]
        parts = [section, *parts]
    set_path(doc, parts, value, shown)


def validate(model: type[M], doc: Mapping[str, Any], where: str) -> M:
    """``model`` from ``doc``; a validation error becomes one ``ConfigError`` line naming each bad key."""
    try:
        validated = model.model_validate(doc)
    except ValidationError as e:
        raise ConfigError(f"bad config ({where}): {describe_errors(e, model)}") from None
    bad = list(_non_finite(validated, []))
    if bad:
        shown = "; ".join(f"{key}: must be a finite number (got {value})" for key, value in bad)
        raise ConfigError(f"bad config ({where}): {shown}")
    return validated


def _non_finite(value: Any, loc: list[str]) -> Iterable[tuple[str, float]]:
    """(key path, value) of every NaN or infinite float in a validated config (``1e400`` reads as infinity)."""
    if isinstance(value, float):
        if not math.isfinite(value):
            yield ".".join(loc), value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _non_finite(getattr(value, name), [*loc, name])
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _non_finite(getattr(value, f.name), [*loc, f.name])
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from _non_finite(v, [*loc, str(k)])
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from _non_finite(v, [*loc, str(i)])


def load(
    model: type[M],
    path: Path | str | None = None,
    overrides: Iterable[str] = (),
    section: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> M:
    """Read ``path`` (optional), apply CLI ``options`` (dotted keys; None values are options not given) and then
    ``--set`` ``overrides`` (relative to ``section`` when given), and validate the whole document as ``model``."""
    doc = read_config_file(path) if path is not None else {}
    overrides = list(overrides)
    if section is not None:
        node = doc.setdefault(section, {})
        if not isinstance(node, dict):
            raise ConfigError(f"bad config ({path}): {section}: expected a section of settings, got {node!r}")
    for key, value in (options or {}).items():
        if value is not None:
            set_path(doc, [section, *key.split(".")] if section else key.split("."), value)
    for assignment in overrides:
        apply_override(doc, assignment, section)
    given = bool(overrides) or any(v is not None for v in (options or {}).values())
    return validate(model, doc, _where(path, given))


def _where(path: Path | str | None, command_line: bool) -> str:
    if path is None:
        return "command line" if command_line else "defaults"
    return f"{path} and the command line" if command_line else str(path)


def describe_errors(e: ValidationError, model: type[BaseModel] | None = None) -> str:
    """Pydantic's errors as one line: ``key.path: message (got value)`` joined by ``; ``."""
    problems = []
    for err in e.errors():
        loc = [str(p) for p in err["loc"]]
        key = ".".join(loc) or "config"
        kind = err["type"]
        if kind in ("extra_forbidden", "unexpected_keyword_argument"):
            known = _known_keys(model, loc[:-1]) if model is not None else []
            hint = f" (known: {', '.join(known)})" if known else ""
            problems.append(f"{key}: unknown key{hint}")
            continue
        msg = str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if not loc:
            problems.append(msg)
        elif kind == "missing":
            problems.append(f"{key}: required")
        elif kind in ("value_error", "assertion_error") or "input" not in err:
            problems.append(f"{key}: {msg}")
        else:
            problems.append(f"{key}: {msg} (got {_short(err['input'])})")
    return _one_line("; ".join(problems))


def _known_keys(model: Any, loc: list[str]) -> list[str]:
    """The field names of the (nested) model or dataclass at ``loc`` below ``model``; [] when not known."""
    tp: Any = model
    for part in loc:
        fields = _fields(tp)
        if fields is None or part not in fields:
            return []
        tp = fields[part]
    fields = _fields(tp)
    return sorted(fields) if fields else []


def _fields(tp: Any) -> dict[str, Any] | None:
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) in (typing.Union, type(int | None)) and len(args) == 1:
        tp = args[0]
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return {name: f.annotation for name, f in tp.model_fields.items()}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        return {f.name: hints.get(f.name) for f in dataclasses.fields(tp)}
    return None


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _one_line(text: str) -> str:
    return " ".join(text.split())
