"""The verifier as a measured classifier: precision and recall of acceptance on a labelled chain set.

`tests/data/chains_labelled.jsonl` holds chains for real tasks of the sample videos and real clips (built by
`tests/data/chains_labelled_build.py` from a curated dataset; the videos' evidence is in
`chains_labelled_views.json`): skeletons and reworded skeletons labelled good, hand-written chains, and chains
broken on purpose in at least eight ways labelled bad. The verifier runs every check that needs no later stage
(`curation.skeleton.NOT_YET` left out), as drafting does. For each problem type with at least `MIN_CHAINS` chains,
and for the compositional tasks together, acceptance must have precision ≥ 0.95 (what it accepts is good) and
recall ≥ 0.85 (it accepts the good ones).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from curation.checks import DEFAULT_CHECKS, first_failure
from curation.skeleton import NOT_YET
from schemas import CotRecord, TaskRecord, VideoView, _build

DATA = Path(__file__).parent / "data"
MIN_CHAINS = 20
MIN_PRECISION = 0.95
MIN_RECALL = 0.85
BROKEN_KINDS = {
    "wrong_answer",
    "skipped_step",
    "contradicted_step",
    "invented_object",
    "wrong_time",
    "irrelevant_citation",
    "looping_text",
    "answer_not_derived",
}


@dataclass
class Score:
    """Acceptance against labels for one group of chains."""

    good_accepted: int = 0
    bad_accepted: int = 0
    good_rejected: int = 0
    bad_rejected: int = 0

    @property
    def chains(self) -> int:
        return self.good_accepted + self.bad_accepted + self.good_rejected + self.bad_rejected

    @property
    def precision(self) -> float:
        accepted = self.good_accepted + self.bad_accepted
        return self.good_accepted / accepted if accepted else 0.0

    @property
    def recall(self) -> float:
        good = self.good_accepted + self.good_rejected
        return self.good_accepted / good if good else 0.0


@cache
def labelled() -> tuple[list[dict[str, Any]], dict[str, VideoView]]:
    rows = [json.loads(line) for line in (DATA / "chains_labelled.jsonl").read_text().splitlines() if line.strip()]
    raw = json.loads((DATA / "chains_labelled_views.json").read_text())
    views = {vid: _build(VideoView, v) for vid, v in raw.items()}
    return rows, views


@cache
def verdicts() -> list[tuple[dict[str, Any], TaskRecord, str | None]]:
    """Each labelled chain, its task, and the reason the verifier rejects it (None: accepted)."""
    rows, views = labelled()
    checks = [c for c in DEFAULT_CHECKS if c not in NOT_YET]
    out = []
    for row in rows:
        task = _build(TaskRecord, row["task"])
        cot = CotRecord(row["chain_id"], task.task_id, task.video_id, "labelled", row["text"], None, None,
                        0.0, 0.0, 0.0, 0.0, 0.0, False, None)  # fmt: skip
        found = first_failure(cot, task, views[task.video_id], checks=checks)
        out.append((row, task, None if found is None else found.reason))
    return out


def scores() -> dict[str, Score]:
    """Per problem type, and "compositional" for every task with a program trace."""
    out: dict[str, Score] = defaultdict(Score)
    for row, task, reason in verdicts():
        groups = [task.problem_type] + (["compositional"] if task.trace else [])
        for g in groups:
            s = out[g]
            good, accepted = row["label"] == "good", reason is None
            s.good_accepted += good and accepted
            s.bad_accepted += (not good) and accepted
            s.good_rejected += good and not accepted
            s.bad_rejected += (not good) and not accepted
    return dict(out)


def report() -> str:
    """The table the README quotes."""
    lines = ["| problem type | chains | good | bad | precision | recall |", "|---|---|---|---|---|---|"]
    for g, s in sorted(scores().items()):
        good = s.good_accepted + s.good_rejected
        lines.append(f"| {g} | {s.chains} | {good} | {s.chains - good} | {s.precision:.3f} | {s.recall:.3f} |")
    return "\n".join(lines)


def test_the_set_is_large_and_broken_in_every_way() -> None:
    rows, views = labelled()
    assert len(rows) >= 300
    kinds = Counter(r["kind"] for r in rows)
    assert set(kinds) >= BROKEN_KINDS, kinds
    assert kinds["skeleton"] >= 60 and kinds["hand"] >= 10
    assert {r["label"] for r in rows if r["kind"] in BROKEN_KINDS} == {"bad"}
    generators = {r["task"]["generator"] for r in rows}
    assert {"compose_speech_vision", "compose_temporal", "compose_shots", "compose_change"} <= generators
    assert all(r["task"]["video_id"] in views for r in rows)


@pytest.mark.parametrize("group", ["multiple choice", "numerical", "OCR", "span", "ordering", "box", "compositional"])
def test_acceptance_precision_and_recall(group: str) -> None:
    s = scores().get(group)
    if s is None or s.chains < MIN_CHAINS:
        pytest.skip(f"{group}: fewer than {MIN_CHAINS} labelled chains")
    misses = [
        f"{row['chain_id']} {row['kind']} {row['label']} -> {reason}"
        for row, task, reason in verdicts()
        if (task.problem_type == group or (group == "compositional" and task.trace))
        and ((reason is None) != (row["label"] == "good"))
    ]
    assert s.precision >= MIN_PRECISION, (s, misses[:10])
    assert s.recall >= MIN_RECALL, (s, misses[:10])


def test_every_broken_kind_is_caught_somewhere() -> None:
    caught: Counter[str] = Counter()
    for row, _, reason in verdicts():
        if row["label"] == "bad" and reason is not None:
            caught[row["kind"]] += 1
    assert set(caught) >= BROKEN_KINDS, caught


if __name__ == "__main__":
    print(report())
