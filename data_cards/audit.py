"""The shortcut audit: what blind rules — readers of the question and options alone — score on a dataset's tasks
and pools, per problem type, beside a uniform guess.

Data whose answers a blind rule can guess teaches the guess: "always B", "absence questions are answered No",
"clips are listed in time order", "counts are 1". The rules and chance are defined in `schemas.shortcuts`; a rule
more than `MARGIN` above chance on a type with at least `MIN_ITEMS` items is flagged. `vidcot audit DATASET`
prints the table (`--json` the records); the dataset card carries it as a section.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from schemas.shortcuts import MARGIN, MIN_ITEMS, BlindItem, TypeAudit, audit_items
from schemas.store import Dataset

POOLS = ("tasks", "sft", "rl")
TASK_COLUMNS = ["task_id", "problem_type", "question", "answer", "options"]


def dataset_items(root: Path | str, revision: int | None = None) -> dict[str, list[BlindItem]]:
    """pool -> its rows as blind items: `tasks` itself, and the sft and rl rows joined to their tasks."""
    ds = Dataset(root, revision)
    tasks = ds.read("tasks", TASK_COLUMNS).to_pylist()
    by_id = {
        t["task_id"]: BlindItem(t["question"], t["problem_type"], t["answer"], tuple(t["options"] or ())) for t in tasks
    }
    out = {"tasks": list(by_id.values())}
    for pool in POOLS[1:]:
        ids = ds.read(pool, ["task_id"]).column("task_id").to_pylist()
        out[pool] = [by_id[i] for i in ids if i in by_id]
    return out


def audit_dataset(root: Path | str, revision: int | None = None) -> list[TypeAudit]:
    """The audit of every pool and problem type of a dataset."""
    return [a for pool, items in dataset_items(root, revision).items() for a in audit_items(pool, items)]


def audit_json(audits: list[TypeAudit]) -> dict[str, Any]:
    """The audit as plain JSON: one entry per pool and problem type, and the flagged rules."""
    rows = [{**dataclasses.asdict(a), "rules": [{**dataclasses.asdict(r), "title": r.title} for r in a.rules]}
            for a in audits]  # fmt: skip
    flagged = [f"{a.pool} / {a.problem_type}: {r.title}" for a in audits for r in a.flagged]
    return {"margin": MARGIN, "min_items": MIN_ITEMS, "audits": rows, "flagged": flagged}


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def audit_table(audits: list[TypeAudit]) -> str:
    """A Markdown table: pool, type, items, chance, then each rule's score (flagged ones marked)."""
    head = ["pool", "problem type", "items", "chance", "rule", "items answered", "rule score", "flag"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for a in audits:
        for r in a.rules:
            flag = "**shortcut**" if r.flagged else ("" if r.items >= MIN_ITEMS else f"(< {MIN_ITEMS} items)")
            cells = [a.pool, a.problem_type, a.items, _pct(a.chance), r.title, r.items, f"{_pct(r.score)} vs "
                     f"{_pct(r.chance)}", flag]  # fmt: skip
            lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def balance_lines(audits: list[TypeAudit]) -> list[str]:
    """One line per pool: its multiple-choice letter counts and the Yes share of its absence questions."""
    out = []
    for a in audits:
        if a.problem_type != "multiple choice":
            continue
        letters = ", ".join(f"{k} {v}" for k, v in a.letters.items()) or "none"
        yes = f"{_pct(a.yes_share)} of {a.absence_items}" if a.absence_items else "no absence questions"
        out.append(f"- {a.pool}: answer letters {letters}; absence questions answered Yes: {yes}")
    return out


def audit_section(audits: list[TypeAudit]) -> str:
    """The card's "Shortcut audit" section."""
    flagged = [f"{a.pool} / {a.problem_type}: {r.title}" for a in audits for r in a.flagged]
    out = ["## Shortcut audit\n"]
    out.append(
        "What a reader of the question and options alone — no video, no transcript — scores, per pool and problem "
        "type, beside a uniform guess on the same items (`vidcot audit DATASET`). Rules: the best constant answer, "
        "the question template's majority answer (leave-one-out), and the construction priors (absence → No, "
        f"ordering → listed order, count → 1) on the items they apply to. A rule more than {MARGIN:.2f} above "
        f"chance on at least {MIN_ITEMS} items is a shortcut the data would teach.\n"
    )
    out.append(
        ("**Shortcuts found:** " + "; ".join(flagged) + ".\n") if flagged else "No blind rule beats chance here.\n"
    )
    out.append("\n".join(balance_lines(audits)) + "\n")
    out.append(audit_table(audits) if audits else "No tasks.\n")
    return "\n".join(part.strip("\n") + "\n" for part in out)
