"""`vidcot export` formats, one module per format. Each module has a docstring (its `--help` text: the first
paragraph) and `write(con, out, options) -> {file relative to out: rows}`."""

from __future__ import annotations

import textwrap
from types import ModuleType

from flows.exports import hf, llamafactory, swift, trl, verl, video_r1, webdataset

FORMATS: dict[str, ModuleType] = {
    "hf": hf,
    "video-r1": video_r1,
    "trl": trl,
    "llamafactory": llamafactory,
    "swift": swift,
    "verl": verl,
    "webdataset": webdataset,
}


def help_text() -> str:
    """Each format's first docstring paragraph, as a `--help` list."""
    lines = []
    for name, module in FORMATS.items():
        first = (module.__doc__ or "").strip().split("\n\n", 1)[0]
        lines.append(textwrap.fill(f"- `{name}`: " + " ".join(first.split()), 116, subsequent_indent="  "))
    return "\n".join(lines)
