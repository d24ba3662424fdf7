"""The training pools: `sft` (chat messages), `rl` (prompts with verifiable targets) and `pairs` (preferences).

Every row takes its split from its task (so from its video: no video is in two splits), its prompt from
`trainers.textview.task_messages` (the same system + user turns the trainers and eval use), and refers to the
video file and keyframe ids — never to image bytes. The text view in the prompt and the keyframe ids (the image
inputs) are what the sample's viewing budget allows (`curation.budget`); `budget_used`, `budget_frames` and
`budget_tokens` record how much of it the row takes. Prompts list each shot's keyframe ids (`cite_keyframes`),
so a policy can cite them the way evidence-bound chains do (`trainers.citations`).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import Field

from curation.admission import rl_rule, row_rule
from curation.budget import BudgetConfig, ViewSelection, select_view
from curation.collection import Batches, Collection, StageRows
from curation.difficulty import Difficulty, Estimates
from curation.negatives import pair_sides
from curation.stage import Rejected, Stage, StageConfig
from curation.verify import chain_text
from schemas import (
    CotRecord,
    Message,
    NegativeRecord,
    PairRecord,
    RejectRecord,
    RlRecord,
    SftRecord,
    TaskRecord,
    VideoView,
)
from trainers.templates import TASK_SYSTEM, TASK_USER
from trainers.textview import task_messages, task_prompt_hash


class PoolsConfig(StageConfig):
    """How pool rows are built."""

    max_keyframes: int = Field(8, ge=1, description="keyframe ids referenced per row")
    subtitles: bool = Field(True, description="include the transcript in prompts")
    rl_skip_leaky: bool = Field(False, description="leave subtitle-answerable tasks out of the RL pool")
    keep_prompt_answerable: bool = Field(
        False,
        description="keep tasks whose prompt prints the answer (duration, shot count, shot times; "
        "curation/tasks/answerable.py) in the pools; off: they are left out of sft, rl and pairs",
    )
    pairs_per_task: int = Field(2, ge=0)
    cite_keyframes: bool = Field(True, description="list each shot's keyframe ids in prompts (citable evidence)")
    budget: BudgetConfig = Field(default_factory=BudgetConfig, description="viewing budget per row")


def row_id(*parts: str) -> str:
    """Deterministic id of a pool row."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:20]


class PoolsStage(Stage[PoolsConfig, TaskRecord, SftRecord]):
    """Builds sft, rl and pairs rows from tasks, verified chains, negatives and difficulties."""

    name = "pools"
    Config = PoolsConfig
    version = 1
    reads = ("videos", "frames", "tasks", "cot", "negatives")
    writes = ("sft", "rl", "pairs")
    needs = ("tasks", "verify", "negatives", "difficulty")
    prompts = (TASK_SYSTEM, TASK_USER)

    def run(self, collection: Collection, batches: Batches) -> StageRows:
        """The three pools of the collection; items the difficulty rule drops are rejected from `rl`."""
        tasks, cots, views = collection.rows("tasks"), collection.rows("cot"), collection.views
        negatives = collection.rows("negatives")
        est: Estimates | None = collection.extra("difficulty")
        rl, rejects = self.rl(
            tasks, views, negatives, est.difficulties if est else (), keep=est.keep if est else None
        )
        rows: dict[str, list[Any]] = {
            "sft": self.sft(tasks, cots, views), "rl": rl, "pairs": self.pairs(tasks, cots, views, negatives)
        }  # fmt: skip
        return StageRows(
            rows=rows,
            rejected=[Rejected(r.reason, r.detail, r.video_id, r.item_id, r.path) for r in rejects],
            stats={"pools": {k: len(v) for k, v in rows.items()}},
        )

    def selection(self, task: TaskRecord, view: VideoView) -> ViewSelection:
        """What a row of this task sees within the budget (text view and keyframes)."""
        cfg = self.config
        return select_view(task, view, cfg.budget, cfg.subtitles, cfg.cite_keyframes, max_frames=cfg.max_keyframes)

    def _prompt(self, task: TaskRecord, view: VideoView, sel: ViewSelection | None = None) -> list[Message]:
        sel = sel or self.selection(task, view)
        return task_messages(task, view, subtitles=self.config.subtitles, view_text=sel.text)

    def worth_a_row(self, task: TaskRecord) -> bool:
        """Whether a task goes into the pools: not when its prompt prints the answer (unless kept by config)."""
        return row_rule(task, self.config.keep_prompt_answerable) is None

    def sft(self, tasks: list[TaskRecord], cots: Iterable[CotRecord], views: dict[str, VideoView]) -> list[SftRecord]:
        """One row per accepted chain: system + user prompt, the chain as the assistant turn."""
        by_id = {t.task_id: t for t in tasks if self.worth_a_row(t)}
        prov = self.provenance(task_prompt_hash())
        rows = []
        for cot in cots:
            task = by_id.get(cot.task_id)
            if not cot.accepted or task is None or task.video_id not in views:
                continue
            view = views[task.video_id]
            sel = self.selection(task, view)
            rows.append(
                SftRecord(
                    sample_id=row_id("sft", cot.cot_id),
                    task_id=task.task_id,
                    video_id=task.video_id,
                    split=task.split,
                    problem_type=task.problem_type,
                    messages=[*self._prompt(task, view, sel), Message("assistant", chain_text(cot))],
                    video_path=view.video.path,
                    keyframe_ids=sel.frame_ids,
                    provenance=prov,
                    budget_used=sel.used,
                    budget_frames=sel.frames,
                    budget_tokens=sel.tokens,
                )
            )
        return rows

    def rl(
        self,
        tasks: list[TaskRecord],
        views: dict[str, VideoView],
        negatives: Iterable[NegativeRecord] = (),
        difficulties: Iterable[Difficulty] = (),
        keep: Callable[[Difficulty], Rejected | None] | None = None,
    ) -> tuple[list[RlRecord], list[RejectRecord]]:
        """One row per task with a verifiable target; `keep` (e.g. `DifficultyStage.keep`) may drop items by
        difficulty. A task without a measured difficulty gets null, never a made-up value. Returns rows and
        rejects."""
        neg_ids: dict[str, list[str]] = defaultdict(list)
        for n in negatives:
            neg_ids[n.anchor_id].append(n.negative_id)
        diff = {d.task_id: d for d in difficulties}
        prov = self.provenance(task_prompt_hash())
        # which policy's pass@K the difficulty column is (the card's provenance table shows it)
        prov.models = [*prov.models, *sorted({f"difficulty policy: {d.policy}" for d in diff.values() if d.policy})]
        rows, rejects = [], []
        for task in tasks:
            view = views.get(task.video_id)
            if view is None:
                continue
            d = diff.get(task.task_id)
            # The task's own rules first: the difficulty stage does not estimate a task they leave out.
            why = rl_rule(task, self.config.keep_prompt_answerable, self.config.rl_skip_leaky)
            if why is None and d is not None and keep is not None:
                why = keep(d)
            if why is not None:
                rejects.append(
                    RejectRecord(self.name, why.reason, why.detail, view.video.path, task.video_id, task.task_id, prov)
                )
                continue
            sel = self.selection(task, view)
            rows.append(
                RlRecord(
                    sample_id=row_id("rl", task.task_id),
                    task_id=task.task_id,
                    video_id=task.video_id,
                    split=task.split,
                    problem_type=task.problem_type,
                    prompt=self._prompt(task, view, sel),
                    solution=task.answer,
                    options=list(task.options),
                    span=task.span,
                    difficulty=d.difficulty if d is not None else None,
                    negatives=neg_ids.get(task.task_id, []),
                    video_path=view.video.path,
                    provenance=prov,
                    keyframe_ids=sel.frame_ids,
                    budget_used=sel.used,
                    budget_frames=sel.frames,
                    budget_tokens=sel.tokens,
                )
            )
        return rows, rejects

    def pairs(
        self,
        tasks: list[TaskRecord],
        cots: Iterable[CotRecord],
        views: dict[str, VideoView],
        negatives: Iterable[NegativeRecord] = (),
    ) -> list[PairRecord]:
        """Preference pairs per task: accepted chain vs a rejected chain or a near-miss answer (see negatives)."""
        by_task: dict[str, list[CotRecord]] = defaultdict(list)
        for c in cots:
            by_task[c.task_id].append(c)
        neg_by_task: dict[str, list[NegativeRecord]] = defaultdict(list)
        for n in negatives:
            neg_by_task[n.anchor_id].append(n)
        prov = self.provenance(task_prompt_hash())
        rows = []
        for task in tasks:
            view = views.get(task.video_id)
            if view is None or task.task_id not in by_task or not self.worth_a_row(task):
                continue
            sides = pair_sides(task, by_task[task.task_id], neg_by_task[task.task_id], self.config.pairs_per_task)
            for chosen, rejected, reason in sides:
                rows.append(
                    PairRecord(
                        pair_id=row_id("pair", chosen.cot_id, rejected),
                        task_id=task.task_id,
                        video_id=task.video_id,
                        split=task.split,
                        prompt=self._prompt(task, view),
                        chosen=chain_text(chosen),
                        rejected=rejected,
                        reason=reason,
                        provenance=prov,
                    )
                )
        return rows
