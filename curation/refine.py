"""Frame-conditioned refinement: check a draft's claims against the evidence of the times it cites, fix or drop it.

The claims and how each is checked are in `trainers.claims` (objects, counts, colours, on-screen text, speech,
absence, cited times). Before checking, cited times are rewritten into the normal citation form
(`trainers.citations.normalise_times`); after, every sentence that cites a time also cites the keyframes whose
evidence supports it (`trainers.citations.add_keyframes`), so refined chains are evidence-bound by construction,
whatever the drafting model wrote. Absence tasks get a sentence stating the checked absence
(`curation.tasks.absence.absence_statement`).

Unsupported claims → a second LLM pass that sees the evidence of the cited shots and rewrites the think; if the
rewrite still fails the check, a deterministic correction replaces each unsupported sentence with a statement of
what the keyframes of its range show (sentences citing times outside the video are dropped). Still unsupported,
or nothing left → `Rejected("unsupported_claims", <the claims>)`. The answer is never changed here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import Field

from curation.budget import BudgetConfig, fit_lines, required_shots
from curation.chains import dropped_refinement, retry_later
from curation.collection import Batches, Collection, StageRows, Work
from curation.draft import DraftStage, compose_chain, observation_text
from curation.llm.base import GenRequest, LLMBackend
from curation.llm.factory import LLMConfig, backend_from_config
from curation.llm.identity import llm_identity
from curation.llm.prompts import REFINE_REWRITE, SYSTEM_SHORT
from curation.stage import Rejected, Stage, StageConfig, TimeLimit
from curation.tasks.absence import absence_statement
from schemas import CotRecord, Message, TaskRecord, VideoView
from trainers.citations import add_keyframes, normalise_times
from trainers.claims import (
    KEYFRAME_CITE,
    NEUTRAL_GROUNDING,
    Claim,
    ClaimChecker,
    GroundingReport,
    check_chain,
    cited_ranges,
    evidence_statement,
    range_evidence,
    split_sentences,
)
from trainers.rewards import parse_completion
from trainers.templates import combined_hash
from trainers.textview import CONCLUSION, fmt_time, overlapping_shots, summarise_evidence

__all__ = [
    "NEUTRAL_GROUNDING",
    "Claim",
    "GroundingReport",
    "RefineConfig",
    "RefineStage",
    "check_chain",
    "cited_ranges",
    "evidence_statement",
    "overlapping_shots",
    "range_evidence",
    "split_sentences",
]


class RefineConfig(StageConfig):
    """Refinement settings. `llm: null` skips the rewrite pass (deterministic correction only)."""

    llm: LLMConfig | None = Field(default_factory=lambda: LLMConfig())
    time_tol_s: float = Field(default=0.5, ge=0)
    boundary_tol_s: float = Field(default=0.5, ge=0)
    rewrite_tokens: int = Field(default=64, ge=8)
    deterministic_fallback: bool = True
    temperature: float = Field(default=0.0, ge=0)
    seed: int = 0
    budget: BudgetConfig = Field(default_factory=BudgetConfig, description="viewing budget of the rewrite's evidence")


class RefineStage(Stage[RefineConfig, tuple[CotRecord, TaskRecord, VideoView], CotRecord]):
    """(draft cot, task, view) → the cot with `refined`, `grounding_draft`, `grounding` filled, or `Rejected`.

    Reason codes: `malformed_draft` (no think/answer to check), `unsupported_claims`.
    """

    name: ClassVar[str] = "refine"
    timeout = TimeLimit(None, "to refine the chains")
    Config: ClassVar[type[StageConfig]] = RefineConfig
    version = 1
    reads = ("tasks", "cot")
    writes = ("cot",)
    needs = ("draft",)
    prompts = (*DraftStage.PROMPTS, REFINE_REWRITE)

    @classmethod
    def identity(cls, config: StageConfig, run: Any) -> list[str]:
        llm = getattr(config, "llm", None)
        return [llm_identity(llm)] if llm is not None else []

    @classmethod
    def build(cls, collection: Collection) -> RefineStage:
        cfg: RefineConfig = collection.config.refine
        return cls(cfg, collection.llm(cfg.llm) if cfg.llm is not None else None)

    def run(self, collection: Collection, batches: Batches) -> StageRows:
        """Refine every drafted chain (cached per chain); chains already dropped pass through unchanged."""
        cots: list[CotRecord] = collection.rows("cot")
        by_task = {t.task_id: t for t in collection.rows("tasks")}
        views = collection.views
        tol, boundary = self.config.time_tol_s, self.config.boundary_tol_s

        def late(c: CotRecord, why: Rejected) -> CotRecord:
            return dropped_refinement(c, views[c.video_id], why, tol, boundary) if c.reject_reason is None else c

        keys = [c.cot_id for c in cots]
        refine: Work[CotRecord, CotRecord] = Work(self, "chains", views, by_task)
        refined = batches.map(keys, cots, refine, "cot", cacheable=lambda c: not retry_later(c), late=late)
        return StageRows(rows={"cot": refined})

    def chains(
        self, batch: list[CotRecord], views: Mapping[str, VideoView], tasks: Mapping[str, TaskRecord]
    ) -> list[CotRecord]:
        """Each chain refined, or dropped with its reason; chains dropped before pass through unchanged."""
        tol, boundary = self.config.time_tol_s, self.config.boundary_tol_s
        live = [c for c in batch if c.reject_reason is None]
        results = self.process_batch([(c, tasks[c.task_id], views[c.video_id]) for c in live])
        done = {
            c.cot_id: dropped_refinement(c, views[c.video_id], r, tol, boundary) if isinstance(r, Rejected) else r
            for c, r in zip(live, results, strict=True)
        }
        return [done.get(c.cot_id, c) for c in batch]

    def __init__(self, config: RefineConfig | None = None, backend: LLMBackend | None = None) -> None:
        super().__init__(config)
        self.backend = backend

    def setup(self) -> None:
        """Load the rewrite LLM once (unless one was passed in or the config has none)."""
        if self.backend is None and self.config.llm is not None:
            self.backend = backend_from_config(self.config.llm)

    def models(self) -> list[str]:
        return [self.backend.model_id] if self.backend is not None else []

    def process(self, item: tuple[CotRecord, TaskRecord, VideoView]) -> CotRecord | Rejected:
        """Refine one draft (prefer `process_batch`)."""
        return self.process_batch([item])[0]

    def check(self, think: str, view: VideoView) -> GroundingReport:
        """`check_chain` with this stage's tolerances."""
        return check_chain(think, view, self.config.time_tol_s, self.config.boundary_tol_s)

    def process_batch(self, items: list[tuple[CotRecord, TaskRecord, VideoView]]) -> list[CotRecord | Rejected]:
        """Check every draft; rewrite the unsupported ones in one batched LLM pass; correct or drop the rest."""
        self.ensure_setup()
        out: list[CotRecord | Rejected | None] = [None] * len(items)
        parsed: list[tuple[str, str, GroundingReport] | None] = [None] * len(items)
        drafted: list[float] = [0.0] * len(items)
        for i, (cot, task, view) in enumerate(items):
            p = parse_completion(cot.draft)
            if p.think is None or p.answer is None:
                out[i] = Rejected("malformed_draft", f"no single think/answer in {cot.draft[:80]!r}")
                continue
            drafted[i] = self.check(p.think, view).score
            think = self.prepare(p.think, task, view)
            report = self.check(think, view)
            parsed[i] = (think, p.answer, report)
            if not report.unsupported:
                out[i] = self._result(cot, self.finish(think, view), p.answer, drafted[i], report.score)
        todo = [i for i in range(len(items)) if out[i] is None]
        rewrites: dict[int, str] = {}
        if todo and self.backend is not None:
            reqs = [self._rewrite_request(items[i], parsed[i]) for i in todo]  # type: ignore[arg-type]
            for i, res in zip(todo, self.backend.generate(reqs), strict=True):
                if res.ok:
                    rewrites[i] = observation_text(res.text, items[i][2], items[i][1])
        for i in todo:
            cot, task, view = items[i]
            think, answer, report = parsed[i]  # type: ignore[misc]
            rewrite = rewrites.get(i)
            out[i] = self._fix(
                cot, task, view, think, answer, report, self.prepare(rewrite, task, view) if rewrite else None,
                drafted[i],
            )  # fmt: skip
        return [o if o is not None else Rejected("unsupported_claims", "no result") for o in out]

    def prepare(self, think: str, task: TaskRecord, view: VideoView) -> str:
        """The think with cited times in the normal form and, for an absence task, the checked absence stated."""
        think = " ".join(s for s in split_sentences(normalise_times(think)) if not s.startswith(CONCLUSION))
        statement = absence_statement(task, view)
        # compared without keyframe ids: a presence statement ("… show a dog.") gets them when the chain is built
        if statement and statement not in " ".join(KEYFRAME_CITE.sub("", think).split()):
            think = f"{think.rstrip()} {statement}".strip()
        return think

    def finish(self, think: str, view: VideoView) -> str:
        """The refined think: keyframe ids the model wrote are replaced by those whose evidence supports each
        time-citing sentence (chosen in code, so they exist and lie in the cited range)."""
        think = " ".join(KEYFRAME_CITE.sub("", think).split()).replace(" ,", ",").replace(" .", ".")
        return add_keyframes(think, view, self.config.time_tol_s)

    def _fix(
        self,
        cot: CotRecord,
        task: TaskRecord,
        view: VideoView,
        think: str,
        answer: str,
        report: GroundingReport,
        rewrite: str | None,
        g_draft: float,
    ) -> CotRecord | Rejected:
        candidates = [rewrite] if rewrite else []
        if self.config.deterministic_fallback:
            candidates.append(self.prepare(self.correct(think, view), task, view))
        last = report
        for new_think in candidates:
            if not new_think:
                continue
            last = self.check(new_think, view)
            if not last.unsupported:
                return self._result(cot, self.finish(new_think, view), answer, g_draft, last.score)
        claims = "; ".join(c.describe() for c in (last.unsupported or report.unsupported))
        return Rejected("unsupported_claims", f"grounding {report.score:.2f}: {claims}")

    def correct(self, think: str, view: VideoView) -> str:
        """Deterministic correction: keep supported sentences, restate unsupported ones from the evidence.

        A sentence whose cited range lies wholly outside the video is dropped; a partly outside one is restated
        for the part inside.
        """
        checker = ClaimChecker(view, self.config.time_tol_s, self.config.boundary_tol_s)
        kept: list[str] = []
        current = (0.0, view.duration)
        for sentence in split_sentences(think):
            if sentence.startswith(CONCLUSION):
                continue
            claims, current = checker.sentence(sentence, current)
            if all(c.supported for c in claims):
                kept.append(sentence)
                continue
            a, b = max(0.0, current[0]), min(view.duration, current[1])
            if a > b:
                continue
            statement = evidence_statement(view, a, b, self.config.time_tol_s)
            if statement and statement not in kept:
                kept.append(statement)
        return " ".join(kept)

    def _rewrite_request(self, item: tuple[CotRecord, TaskRecord, VideoView], parsed: tuple) -> GenRequest:
        _, task, view = item
        think, _, report = parsed
        ranges = [(c.start, c.end) for c in report.claims if c.kind == "time" and c.supported]
        shots = {s.shot_id: s for a, b in ranges for s in overlapping_shots(view, a, b)}
        if not shots:  # no supported citation: the shots the task depends on, else every shot (cut to the budget)
            need = set(required_shots(task, view))
            shots = {s.shot_id: s for s in view.shots if s.shot_id in need or not need}
        order = sorted(view.shots, key=lambda s: s.start)
        context = self.backend.max_input_tokens if self.backend is not None else None
        budget = self.config.budget.within(context) if context else self.config.budget
        lines = [
            f"Shot {order.index(s) + 1} [{fmt_time(s.start)}–{fmt_time(s.end)}s]: "
            + summarise_evidence(range_evidence(view, s.start, s.end, self.config.time_tol_s))
            for s in sorted(shots.values(), key=lambda s: s.start)
        ]
        lines = fit_lines(lines, budget)
        user = REFINE_REWRITE.render(
            question=task.question,
            evidence="\n".join(lines) or "nothing detected",
            unsupported=", ".join(f"{c.kind} {c.value!r}" for c in report.unsupported),
            think=think,
        )
        return GenRequest(
            messages=[Message("system", SYSTEM_SHORT.text), Message("user", user)],
            max_new_tokens=self.config.rewrite_tokens,
            temperature=self.config.temperature,
            seed=self.config.seed,
            prefill="In shot ",
            stop=["\n\n"],
        )

    def _result(self, cot: CotRecord, think: str, answer: str, g_draft: float, g: float) -> CotRecord:
        prov = self.provenance(prompt_hash=combined_hash(*DraftStage.PROMPTS, REFINE_REWRITE))
        prov.models = list(dict.fromkeys([cot.model, *prov.models]))  # the drafting model stays in provenance
        text = compose_chain(think, answer)
        return dataclasses.replace(
            cot, refined=text, predicted_answer=answer, grounding_draft=g_draft, grounding=g, provenance=prov
        )
