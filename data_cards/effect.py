"""'What this data does': the card section that says how models trained on the data score on held-out items.

A curation pipeline earns its place only if the data it keeps trains better than the data it throws away, so the
card reports the ablation (`benchmarks/ablation.py`) when a result of it sits in the dataset directory as
`ablation.json`: held-out accuracy with 95% bootstrap intervals of SFT on every drafted chain, on the accepted
chains and on skeleton chains, the paired difference (accepted − drafted), and GRPO after the best SFT model.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

EFFECT_FILE = "ablation.json"
CONDITIONS = (("with_subtitles", "with subtitles"), ("without_subtitles", "without"))


def read_effect(root: Path) -> dict[str, Any] | None:
    """The ablation result stored with the dataset, or None (absent or unreadable: logged, never fatal)."""
    path = root / EFFECT_FILE
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text())
        return doc if isinstance(doc, dict) and "variants" in doc else None
    except (OSError, ValueError) as e:
        log.warning("ignoring %s: %s", path, e)
        return None


def _acc(ev: dict[str, Any], cond: str) -> str:
    c = ev.get(cond) or {}
    if "accuracy" not in c:
        return "—"
    low, high = c.get("accuracy_ci95") or (None, None)
    return f"{c['accuracy']:.2f} [{low:.2f}, {high:.2f}]" if low is not None else f"{c['accuracy']:.2f}"


def effect_section(doc: dict[str, Any] | None) -> str:
    """Markdown for the card: a table of held-out accuracy per trained model, and the paired differences."""
    out = ["## What this data does\n"]
    if doc is None:
        out.append("Not measured for this dataset: `benchmarks/ablation.py` trains on it and scores a fixed held-out "
                   f"set; put its result here as `{EFFECT_FILE}` and rebuild the card (`vidcot card`).\n")  # fmt: skip
        return "\n".join(out)
    held = doc.get("heldout", {})
    out.append(f"Held-out accuracy (95% bootstrap interval) on {held.get('items', '?')} items from "
               f"{held.get('videos', '?')} videos that no training row comes from "
               "(`benchmarks/ablation.py`):\n")  # fmt: skip
    rows = []
    for v, e in doc.get("variants", {}).items():
        rows.append(f"| SFT on ({v}) {e.get('what', '')}, {e.get('rows', '?')} rows | "
                    + " | ".join(_acc(e.get("eval", {}), c) for c, _ in CONDITIONS) + " |")  # fmt: skip
    if "grpo" in doc:
        g = doc["grpo"]
        rows.append(f"| GRPO after ({g.get('from')}), {g.get('steps')} steps | "
                    + " | ".join(_acc(g.get("eval", {}), c) for c, _ in CONDITIONS) + " |")  # fmt: skip
    out.append("| model | accuracy with subtitles | without |\n|---|---|---|\n" + "\n".join(rows) + "\n")
    diff = doc.get("b_minus_a")
    if diff:
        parts = [f"{label} {d['mean']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]"
                 for c, label in CONDITIONS if (d := diff.get(c))]  # fmt: skip
        out.append("Accepted − every drafted chain (paired): " + "; ".join(parts) + ".\n")
    if doc.get("finding"):
        out.append(str(doc["finding"]) + "\n")
    return "\n".join(out)
