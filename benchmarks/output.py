"""Writing a benchmark's result document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_json(doc: dict[str, Any], *paths: Path | None) -> None:
    """`doc` as indented JSON into every path given (None skipped), folders made as needed."""
    text = json.dumps(doc, indent=1, default=str) + "\n"
    for path in paths:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
