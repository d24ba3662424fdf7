"""Synthesis over the whole collection: tasks → draft → refine → verify → negatives → difficulty → pools.

Collection-level because distractors, near-duplicates and splits look across videos. Drafts, refinements and
difficulty estimates (the LLM work) are cached per task by stage config hash, so a re-run or a resumed run only
generates what is new. Orchestration only: every decision lives in curation/.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pyarrow as pa

from curation.chains import dropped_draft, dropped_refinement
from curation.difficulty import Difficulty, DifficultyStage
from curation.draft import DraftStage
from curation.llm.base import LLMBackend
from curation.llm.drafters import assign_drafters
from curation.llm.factory import LLMConfig, backend_from_config
from curation.negatives import NegativesStage
from curation.pools import PoolsStage
from curation.refine import RefineStage
from curation.stage import Rejected
from curation.tasks import TasksStage
from curation.verify import VerifyStage, draw_samples, reason_counts
from curation.views import load_views
from flows.cache import Outcome
from flows.perception import RunContext
from flows.publish import existing_ids
from schemas import (
    CotRecord,
    Provenance,
    RejectRecord,
    TaskRecord,
    VideoView,
    from_arrow,
    schema_for,
    to_arrow,
)
from schemas.store import Dataset, DatasetWriter
from schemas.store.manifest import manifest_path

SYNTHESIS_STAGES = ("tasks", "draft", "refine", "verify", "negatives", "difficulty", "pools")
T = TypeVar("T")


@dataclass
class SynthesisSummary:
    tasks: int = 0
    drafted: int = 0
    cached: Counter[str] = field(default_factory=Counter)
    ran: Counter[str] = field(default_factory=Counter)  # items computed (not cached) by the per-task stages
    verdicts: Counter[str] = field(default_factory=Counter)
    grounding_draft: float = 0.0
    grounding_accepted: float = 0.0
    citation_draft: float = 0.0
    citation_accepted: float = 0.0
    by_model: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    absence_tasks: int = 0
    pools: dict[str, int] = field(default_factory=dict)
    stage_wall: dict[str, float] = field(default_factory=dict)
    rows_added: dict[str, int] = field(default_factory=dict)
    revision: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "tasks": self.tasks,
            "drafted": self.drafted,
            "cached": dict(self.cached),
            "ran": dict(self.ran),
            "verdicts": dict(self.verdicts),
            "grounding_draft_mean": round(self.grounding_draft, 4),
            "grounding_accepted_mean": round(self.grounding_accepted, 4),
            "citation_accuracy_draft_mean": round(self.citation_draft, 4),
            "citation_accuracy_accepted_mean": round(self.citation_accepted, 4),
            "absence_tasks": self.absence_tasks,
            "drafters": {
                m: {"chains": c["chains"], "accepted": c["accepted"],
                    "acceptance": round(c["accepted"] / c["chains"], 4) if c["chains"] else 0.0}
                for m, c in sorted(self.by_model.items())
            },  # fmt: skip
            "pools": self.pools,
            "stage_wall": {k: round(v, 3) for k, v in self.stage_wall.items()},
            "rows_added": self.rows_added,
            "revision": self.revision,
        }


def llm_hash(cfg: LLMConfig) -> str:
    return hashlib.sha256(cfg.model_dump_json().encode()).hexdigest()[:16]


class Backends:
    """One loaded LLM per distinct config, shared by draft, refine, self-consistency and difficulty."""

    def __init__(self) -> None:
        self._loaded: dict[str, LLMBackend] = {}

    def get(self, cfg: LLMConfig) -> LLMBackend:
        key = cfg.model_dump_json()
        if key not in self._loaded:
            self._loaded[key] = backend_from_config(cfg)
        return self._loaded[key]

    def close(self) -> None:
        for b in self._loaded.values():
            b.close()


# Failures of the LLM backend rather than of the chain: not cached, so a re-run retries them.
TRANSIENT = frozenset({"llm_error", "timeout"})


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _cached_per_task(
    ctx: RunContext,
    stage: str,
    config_hash: str,
    keys: list[str],
    compute: Callable[[list[int]], list[CotRecord]],
    batch: int,
    tick: Callable[[int], None],
    summary: SynthesisSummary,
) -> list[CotRecord]:
    """Look each key up in the stage cache; compute the misses in batches (caching each); return all, in order."""
    out: list[CotRecord | None] = [None] * len(keys)
    misses = []
    for i, key in enumerate(keys):
        if ctx.cache.get(stage, config_hash, key) is not None:
            out[i] = from_arrow("cot", ctx.cache.table(stage, config_hash, key, "cot"))[0]
            summary.cached[stage] += 1
        else:
            misses.append(i)
    tick(len(keys) - len(misses))
    summary.ran[stage] += len(misses)
    for part in chunks(misses, batch):
        t0 = time.perf_counter()
        rows = compute(list(part))
        per = (time.perf_counter() - t0) / max(1, len(part))
        for i, row in zip(part, rows, strict=True):
            if (row.reject_reason or "").rsplit(":", 1)[-1] not in TRANSIENT:  # a down endpoint is asked again
                ctx.cache.put(
                    stage, config_hash, Outcome(stage, keys[i], "ok", seconds=per), {"cot": to_arrow("cot", [row])}
                )
            out[i] = row
        tick(len(part))
    return [r for r in out if r is not None]


def run_synthesis(
    writer: DatasetWriter,
    ctx: RunContext,
    stages: list[str],
    progress: Any,
    summary: SynthesisSummary,
) -> list[RejectRecord]:
    """Run the synthesis stages named in `stages` over every video in the dataset; stage rows in `writer`."""
    cfg = ctx.config
    backends = Backends()
    rejects: list[RejectRecord] = []
    wall = summary.stage_wall

    def bar(name: str, total: int) -> Callable[[int], None]:
        task_id = progress.add_task(name, total=total, note="")
        return lambda n: progress.update(task_id, advance=n)

    t0 = time.perf_counter()
    views: dict[str, VideoView] = load_views(ctx.dataset)
    tasks_stage = TasksStage(cfg.tasks)
    tasks, task_rejects = tasks_stage.generate(list(views.values()))
    rejects += task_rejects
    summary.tasks = len(tasks)
    summary.absence_tasks = sum(t.generator == "absence" for t in tasks)
    bar("tasks", 1)(1)
    wall["tasks"] = time.perf_counter() - t0
    published: dict[str, list[Any]] = {"tasks": tasks}
    cots: list[CotRecord] = []
    try:
        if "draft" in stages:
            t0 = time.perf_counter()
            per_task = min(cfg.draft.drafters_per_task, len(cfg.draft.drafters()))
            cots = _draft(ctx, tasks, views, backends, bar("draft", len(tasks) * per_task), summary)
            summary.drafted = sum(1 for c in cots if c.draft)
            wall["draft"] = time.perf_counter() - t0
        by_task = {t.task_id: t for t in tasks}
        if "refine" in stages and cots:
            t0 = time.perf_counter()
            rcfg = cfg.refine
            refine = RefineStage(rcfg, backends.get(rcfg.llm) if rcfg.llm is not None else None)
            todo = cots

            def do_refine(idx: list[int]) -> list[CotRecord]:
                live = [i for i in idx if todo[i].reject_reason is None]
                res = refine.process_batch([(todo[i], by_task[todo[i].task_id], views[todo[i].video_id]) for i in live])
                done: dict[int, CotRecord] = {}
                for i, r in zip(live, res, strict=True):
                    v = views[todo[i].video_id]
                    done[i] = (
                        dropped_refinement(todo[i], v, r, rcfg.time_tol_s, rcfg.boundary_tol_s)
                        if isinstance(r, Rejected)
                        else r
                    )
                return [done.get(i, todo[i]) for i in idx]

            key = cfg.draft.config_hash()
            cots = _cached_per_task(
                ctx, "refine", f"{rcfg.config_hash()}-{key}", [c.cot_id for c in cots], do_refine, cfg.run.llm_batch,
                bar("refine", len(cots)), summary,
            )  # fmt: skip
            wall["refine"] = time.perf_counter() - t0
        if "verify" in stages and cots:
            t0 = time.perf_counter()
            verify = VerifyStage(cfg.verify)
            # Chains of earlier runs count for near-duplicates, but a chain is never a duplicate of itself.
            current = {c.cot_id for c in cots}
            verify.remember(c for c in from_arrow("cot", _read_existing(ctx, "cot")) if c.cot_id not in current)
            pairs_in = [(c, by_task[c.task_id]) for c in cots]
            samples = None
            if cfg.verify.self_consistency > 0:
                samples = draw_samples(
                    backends.get(cfg.draft.drafters()[0].llm), pairs_in, views, cfg.verify.self_consistency
                )
            cots = verify.process_batch(pairs_in, samples=samples, views=views)
            summary.verdicts = reason_counts(cots)
            accepted = [c for c in cots if c.accepted]
            drafted = [c for c in cots if c.draft]
            summary.grounding_draft = sum(c.grounding_draft for c in drafted) / max(1, len(drafted))
            summary.grounding_accepted = sum(c.grounding for c in accepted) / max(1, len(accepted))
            summary.citation_draft = sum(c.citation_accuracy_draft for c in drafted) / max(1, len(drafted))
            summary.citation_accepted = sum(c.citation_accuracy for c in accepted) / max(1, len(accepted))
            for c in cots:
                summary.by_model[c.model]["chains"] += 1
                summary.by_model[c.model]["accepted"] += int(c.accepted)
            bar("verify", 1)(1)
            wall["verify"] = time.perf_counter() - t0
        published["cot"] = cots
        negatives = []
        if "negatives" in stages:
            t0 = time.perf_counter()
            neg = NegativesStage(cfg.negatives)
            neg.ensure_setup()
            negatives = neg.mine(list(views.values()), tasks, cots)
            published["negatives"] = negatives
            bar("negatives", 1)(1)
            wall["negatives"] = time.perf_counter() - t0
        difficulties: list[Difficulty] = []
        diff_stage = None
        if "difficulty" in stages:
            t0 = time.perf_counter()
            diff_stage = DifficultyStage(backends.get(cfg.policy), cfg.difficulty)
            difficulties = _difficulties(ctx, diff_stage, tasks, views, bar("difficulty", len(tasks)), summary)
            wall["difficulty"] = time.perf_counter() - t0
        if "pools" in stages:
            t0 = time.perf_counter()
            pools = PoolsStage(cfg.pools)
            published["sft"] = pools.sft(tasks, cots, views)
            rl, rl_rejects = pools.rl(
                tasks, views, negatives, difficulties, keep=diff_stage.keep if diff_stage else None
            )
            published["rl"] = rl
            rejects += rl_rejects
            published["pairs"] = pools.pairs(tasks, cots, views, negatives)
            summary.pools = {k: len(published[k]) for k in ("sft", "rl", "pairs")}
            bar("pools", 1)(1)
            wall["pools"] = time.perf_counter() - t0
    finally:
        backends.close()
    for table, rows in published.items():
        summary.rows_added[table] = _append_new(writer, ctx, table, rows)
    return rejects


ID_COLUMN = {"tasks": "task_id", "cot": "cot_id", "sft": "sample_id", "rl": "sample_id", "pairs": "pair_id",
             "negatives": "negative_id"}  # fmt: skip


def _read_existing(ctx: RunContext, table: str) -> pa.Table:
    if not manifest_path(ctx.dataset).exists():
        return schema_for(table).empty_table()
    return Dataset(ctx.dataset).read(table)


def _append_new(writer: DatasetWriter, ctx: RunContext, table: str, rows: list[Any]) -> int:
    """Append rows whose id the dataset does not have yet (a re-run adds nothing twice)."""
    have = existing_ids(ctx.dataset, table, ID_COLUMN[table])
    fresh = sorted(
        (r for r in rows if getattr(r, ID_COLUMN[table]) not in have), key=lambda r: getattr(r, ID_COLUMN[table])
    )
    return writer.append(table, fresh) if fresh else 0


def _draft(
    ctx: RunContext,
    tasks: list[TaskRecord],
    views: dict[str, VideoView],
    backends: Backends,
    tick: Callable[[int], None],
    summary: SynthesisSummary,
) -> list[CotRecord]:
    """Draft every task with its assigned backends (`draft.llms`, `curation.llm.drafters`); cached per task and
    backend. Chains come back grouped by backend, tasks in order within each."""
    cfg = ctx.config
    drafters = cfg.draft.drafters()
    plan = assign_drafters([t.task_id for t in tasks], drafters, cfg.draft.drafters_per_task, cfg.draft.seed)
    dh = cfg.draft.config_hash()
    cots: list[CotRecord] = []
    for j, drafter in enumerate(drafters):
        mine = [t for t in tasks if j in plan[t.task_id]]
        if not mine:
            continue
        draft = DraftStage(cfg.draft, backends.get(drafter.llm))
        dprov = draft.provenance(prompt_hash=draft.prompt_hash(cfg.draft.answer_hint))
        model = draft.backend.model_id if draft.backend else "unknown"

        def do_draft(idx: list[int], mine: list[TaskRecord] = mine, draft: DraftStage = draft, model: str = model,
                     dprov: Provenance = dprov) -> list[CotRecord]:  # fmt: skip
            res = draft.process_batch([(mine[i], views[mine[i].video_id]) for i in idx])
            return [
                dropped_draft(mine[i], r, model, dprov) if isinstance(r, Rejected) else r
                for i, r in zip(idx, res, strict=True)
            ]

        keys = [t.task_id if len(drafters) == 1 else f"{t.task_id}|{llm_hash(drafter.llm)}" for t in mine]
        cots += _cached_per_task(ctx, "draft", dh, keys, do_draft, cfg.run.llm_batch, tick, summary)
    return cots


def _difficulties(
    ctx: RunContext,
    stage: DifficultyStage,
    tasks: list[TaskRecord],
    views: dict[str, VideoView],
    tick: Callable[[int], None],
    summary: SynthesisSummary,
) -> list[Difficulty]:
    """pass@K per task, cached per task (the policy's K samples are the most expensive LLM work of a run)."""
    h = f"{stage.config.config_hash()}-{llm_hash(ctx.config.policy)}"
    found: dict[str, Difficulty] = {}
    misses = []
    for t in tasks:
        hit = ctx.cache.get("difficulty", h, t.task_id)
        if hit is None:
            misses.append(t)
            continue
        s = hit.stats
        found[t.task_id] = Difficulty(
            t.task_id, int(s["samples"]), int(s["correct"]), int(s["errors"]), s["difficulty"]
        )
        summary.cached["difficulty"] += 1
    tick(len(tasks) - len(misses))
    summary.ran["difficulty"] += len(misses)
    for part in chunks(misses, max(1, ctx.config.run.llm_batch // stage.config.k)):
        for d in stage.estimate(list(part), views):
            stats = {"samples": d.samples, "correct": d.correct, "errors": d.errors, "difficulty": d.difficulty}
            ctx.cache.put("difficulty", h, Outcome("difficulty", d.task_id, "ok", stats=stats), {})
            found[d.task_id] = d
        tick(len(part))
    return [found[t.task_id] for t in tasks]
