"""Safe HTML building: every value from the data is escaped unless it is already `Html`.

Transcripts, OCR text, questions and chains are untrusted input. Pages are built only from `Html` pieces, and the
one way to turn a data value into markup is `h()`, which escapes it; so escaping cannot be forgotten at a call site.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

VOID = frozenset({"img", "input", "br", "hr", "meta"})


class Html(str):
    """A string that is already safe markup (built by this module from escaped parts)."""


def h(value: Any) -> Html:
    """Escape a value for HTML text or a quoted attribute; `Html` passes through unchanged, None becomes ''."""
    if isinstance(value, Html):
        return value
    if value is None:
        return Html("")
    if isinstance(value, float):
        value = f"{value:.3g}" if abs(value) < 1e-3 and value != 0 else f"{value:,.2f}".rstrip("0").rstrip(".")
    return Html(html.escape(str(value), quote=True))


def join(parts: Iterable[Any], sep: str = "") -> Html:
    """Concatenate pieces, escaping any that are not `Html`."""
    return Html(h(sep).join(h(p) for p in parts))


def tag(name: str, /, *children: Any, **attrs: Any) -> Html:
    """`<name attrs>children</name>`; attribute values are escaped, `class_` is written `class`, None is left out."""
    rendered = "".join(
        f' {k.rstrip("_").replace("_", "-")}="{h(v)}"' if v is not True else f" {k.rstrip('_').replace('_', '-')}"
        for k, v in attrs.items()
        if v is not None and v is not False
    )
    if name in VOID:
        return Html(f"<{name}{rendered}>")
    return Html(f"<{name}{rendered}>{join(children)}</{name}>")


def link(href: str, text: Any, **attrs: Any) -> Html:
    return tag("a", text, href=href, **attrs)


def path_part(value: str) -> str:
    """One URL path segment (ids come from the data too)."""
    return quote(value, safe="")


def table(headers: list[str], rows: Iterable[list[Any]], class_: str | None = None) -> Html:
    """A table: header names are text; each cell is escaped unless it is `Html`."""
    head = tag("thead", tag("tr", *[tag("th", c) for c in headers]))
    body = tag("tbody", *[tag("tr", *[tag("td", c) for c in row]) for row in rows])
    return tag("table", head, body, class_=class_)


def definition_list(items: Iterable[tuple[str, Any]]) -> Html:
    return tag("dl", *[Html(tag("dt", k) + tag("dd", v)) for k, v in items])


def seconds(t: float | None) -> str:
    """A time on the video's timeline, as 1:02.35 (or 4.20s under a minute)."""
    if t is None:
        return "–"
    if t < 60:
        return f"{t:.2f}s"
    m, s = divmod(t, 60)
    return f"{int(m)}:{s:05.2f}"
