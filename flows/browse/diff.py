"""Draft vs refined chain: a word-level diff rendered as two escaped columns with <del> and <ins> marks."""

from __future__ import annotations

import difflib
import re

from flows.browse.markup import Html, h, tag

# Words and the whitespace after them stay together, so the marked text keeps its original spacing.
_TOKEN = re.compile(r"\S+\s*|\s+")


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def side_by_side(draft: str, refined: str | None) -> tuple[Html, Html, int]:
    """(draft with removed words in <del>, refined with added words in <ins>, number of changed spans).

    Each token is escaped before it is wrapped, so chains that contain markup are shown as text.
    """
    if refined is None:
        return h(draft), tag("span", "(no refined chain)", class_="muted"), 0
    a, b = tokens(draft), tokens(refined)
    left: list[str] = []
    right: list[str] = []
    changes = 0
    matcher = difflib.SequenceMatcher(a=[t.strip() for t in a], b=[t.strip() for t in b], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        old, new = "".join(a[i1:i2]), "".join(b[j1:j2])
        if op == "equal":
            left.append(h(old))
            right.append(h(new))
            continue
        changes += 1
        if old:
            left.append(tag("del", old))
        if new:
            right.append(tag("ins", new))
    return Html("".join(left)), Html("".join(right)), changes
