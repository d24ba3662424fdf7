"""Draft chains of thought, in one of three modes (`draft.mode`), one task at a time, in batches.

- `skeleton` (the default): code writes the reasoning from the evidence that produced the task's silver answer
  (`curation.skeleton`: observations with citations → inference → answer); the LLM is asked to rewrite it as
  fluent prose, and the rewrite replaces it only when it keeps every fact (cited times, keyframes, boxes, quotes,
  numbers, things named — nothing added, nothing dropped) and passes the citation and claim checks. Tasks whose
  evidence code does not know (user questions) are drafted in rationale mode. `cot.source` records `skeleton`,
  `polished` or `rationale` per chain.
- `rationale`: the LLM is shown the silver answer and explains it from the text view (STaR-style
  rationalisation; `cot.source = rationale`). `draft.answer_hint: true` is the old spelling of this mode.
- `blind`: the LLM reasons over the text view and answers without the silver answer (`draft.answer_hint: false`;
  `cot.source = blind`) — with a strong model behind an endpoint, this plus the verifier's checks is the real
  filter.

In rationale and blind mode the LLM reasons over the text view of the video. Small models cannot be trusted to
write `<think>…</think><answer>…</answer>` themselves (SmolLM2-135M loops), so the LLM is asked for two short
parts and the tags are composed here:

1. an observation, with the assistant turn prefilled `In shot `: the model names a shot and says what in it
   answers the question. The shot's time range from the shot table is inserted as the citation, so every
   draft cites real times — whether what it *says* about them is true is refinement's job;
2. the answer alone (prefilled `Answer:`), normalised to the task's answer format.

The chain is `<think>In shot 2 [4.00–8.00s], … So the answer is B.</think><answer>B</answer>`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from curation.admission import row_rule
from curation.budget import BudgetConfig, select_view
from curation.chains import dropped_draft, retry_later
from curation.collection import Batches, Collection, StageRows, Work
from curation.llm.base import GenRequest, GenResult, LLMBackend
from curation.llm.drafters import DrafterConfig, assign_drafters
from curation.llm.factory import LLMConfig, backend_from_config
from curation.llm.identity import llm_identity, llm_key
from curation.llm.prompts import DRAFT_ANSWER, DRAFT_HINT, DRAFT_OBSERVE, DRAFT_POLISH, SYSTEM_SHORT
from curation.skeleton import Skeleton, build_skeleton, polish_problem, verifier_problem
from curation.stage import Rejected, Stage, StageConfig, TimeLimit
from schemas import CotRecord, Message, ShotRecord, TaskRecord, VideoView
from trainers.citations import normalise_times
from trainers.claims import split_sentences
from trainers.rewards import choice_letter, ordering_items, parse_boxes, parse_number, parse_span
from trainers.templates import combined_hash
from trainers.textview import CONCLUSION, fmt_time, question_block, shot_evidence, summarise_evidence

log = logging.getLogger(__name__)

_SHOT_NO = re.compile(r"^\s*#?(\d+)\s*[,:.)]?\s*")
_WORD = re.compile(r"[a-z]+")


class DraftConfig(StageConfig):
    """Drafting settings. `max_chars` bounds the composed chain (longer drafts are rejected `too_long`)."""

    llm: LLMConfig = Field(default_factory=lambda: LLMConfig())
    subtitles: bool = True
    observe_tokens: int = Field(default=48, ge=4)
    answer_tokens: int = Field(default=24, ge=2)
    temperature: float = Field(default=0.0, ge=0)
    seed: int = 0
    max_chars: int = Field(default=1200, ge=64)
    mode: Literal["skeleton", "rationale", "blind"] = Field(
        default="skeleton",
        description="skeleton: code writes the reasoning from the task's evidence, the LLM only polishes it; "
        "rationale: the LLM is shown the silver answer and explains it; blind: the LLM reasons and answers "
        "alone (see the module docstring). `answer_hint: true/false` is the old spelling of rationale/blind",
    )
    polish: bool = Field(
        default=True,
        description="skeleton mode: ask the LLM to rewrite each skeleton as prose (kept only when it keeps every "
        "fact and passes the checks); false keeps the skeletons as they are",
    )
    polish_tokens: int = Field(default=160, ge=16, description="longest polished rewrite, in tokens")
    skeleton_tol_s: float = Field(default=0.5, ge=0, description="seconds a keyframe may lie outside a cited range")
    llms: list[DrafterConfig] = Field(
        default_factory=list,
        description="several drafting backends with weights (curation.llm.drafters); empty: just `llm`",
    )
    drafters_per_task: int = Field(default=1, ge=1, description="backends that each draft every task")
    budget: BudgetConfig = Field(default_factory=BudgetConfig, description="viewing budget of the drafting view")

    @model_validator(mode="before")
    @classmethod
    def _answer_hint(cls, data: Any) -> Any:
        # The old switch `answer_hint` names a mode: true = rationale, false = blind.
        if not isinstance(data, dict) or "answer_hint" not in data:
            return data
        data = dict(data)
        hint = data.pop("answer_hint")
        if hint is None:
            return data
        mode = "rationale" if hint else "blind"
        if data.get("mode", mode) != mode:
            raise ValueError(f"answer_hint: {hint} means mode {mode!r}, but mode is {data['mode']!r}; set only mode")
        data["mode"] = mode
        return data

    @property
    def answer_hint(self) -> bool:
        """Whether the drafting LLM is shown the silver answer (rationale mode; skeleton mode's fallback)."""
        return self.mode == "rationale"

    @field_validator("llms")
    @classmethod
    def _distinct(cls, value: list[DrafterConfig]) -> list[DrafterConfig]:
        # Chains are cached and identified by backend: two equal entries would draft the same chain twice.
        for i, d in enumerate(value):
            for j in range(i):
                if value[j].llm == d.llm:
                    raise ValueError(f"entries {j} and {i} name the same backend; raise its weight instead")
        return value

    def drafters(self) -> list[DrafterConfig]:
        """The drafting backends of a run: `llms`, or `llm` alone."""
        return list(self.llms) or [DrafterConfig(llm=self.llm)]


class DraftStage(Stage[DraftConfig, tuple[TaskRecord, VideoView], CotRecord]):
    """(task, video view) → a drafted `CotRecord` (refined None, scores 0, not accepted) or a `Rejected`.

    Reason codes: `llm_error`, `timeout`, `invalid_utf8`, `empty_output`, `no_answer`, `too_long`.
    """

    name: ClassVar[str] = "draft"
    timeout = TimeLimit(None, "to draft the chains")
    Config: ClassVar[type[StageConfig]] = DraftConfig
    PROMPTS = (SYSTEM_SHORT, DRAFT_OBSERVE, DRAFT_ANSWER)
    version = 2  # 2: a polished rewrite must name the same option letters as its skeleton
    reads = ("tasks",)
    writes = ("cot",)
    needs = ("tasks",)
    prompts = (*PROMPTS, DRAFT_HINT, DRAFT_POLISH)

    @classmethod
    def identity(cls, config: StageConfig, run: Any) -> list[str]:
        assert isinstance(config, DraftConfig)
        return [llm_identity(d.llm) for d in config.drafters()]

    def run(self, collection: Collection, batches: Batches) -> StageRows:
        """Draft every task with its assigned backends (`draft.llms`, `curation.llm.drafters`), each chain cached
        per task and backend. Chains come back grouped by backend, tasks in order within each.

        A task no pool takes whatever its chain (`curation.admission.row_rule`: its prompt prints the answer, unless
        `pools.keep_prompt_answerable`) is not drafted: no row would carry the chain (a third of the demo's tasks)."""
        cfg = self.config
        every: list[TaskRecord] = collection.rows("tasks")
        keep = collection.config.pools.keep_prompt_answerable
        tasks = [t for t in every if row_rule(t, keep) is None]
        if len(tasks) < len(every):
            log.info("draft: %d of %d tasks make no pool row whatever their chain; not drafted",
                     len(every) - len(tasks), len(every))  # fmt: skip
        drafters = cfg.drafters()
        plan = assign_drafters([t.task_id for t in tasks], drafters, cfg.drafters_per_task, cfg.seed)
        cots: list[CotRecord] = []
        for j, drafter in enumerate(drafters):
            mine = [t for t in tasks if j in plan[t.task_id]]
            if not mine:
                continue
            stage = DraftStage(cfg, collection.llm(drafter.llm))
            keys = [t.task_id if len(drafters) == 1 else f"{t.task_id}|{llm_key(drafter.llm)}" for t in mine]
            draft: Work[TaskRecord, CotRecord] = Work(stage, "chains", collection.views)
            cots += batches.map(keys, mine, draft, "cot", cacheable=lambda c: not retry_later(c), late=stage.failed)
        stats = {"drafted": sum(1 for c in cots if c.draft), "not_drafted": len(every) - len(tasks)}
        return StageRows(rows={"cot": cots}, stats=stats)

    def chains(self, tasks: list[TaskRecord], views: dict[str, VideoView]) -> list[CotRecord]:
        """A `cot` row per task: the drafted chain, or the failed draft with its reason."""
        results = self.process_batch([(t, views[t.video_id]) for t in tasks])
        return [self.failed(t, r) if isinstance(r, Rejected) else r for t, r in zip(tasks, results, strict=True)]

    def failed(self, task: TaskRecord, rejected: Rejected) -> CotRecord:
        """The `cot` row of a task whose draft failed (or was not started before the stage's timeout)."""
        model = self.backend.model_id if self.backend else "unknown"
        prov = self.provenance(prompt_hash=self.prompt_hash(self.config.mode))
        # Only the LLM's own drafting fails (a skeleton cannot): rationale in skeleton mode (its fallback), or blind.
        source = "blind" if self.config.mode == "blind" else "rationale"
        return dataclasses.replace(dropped_draft(task, rejected, model, prov), source=source)

    def __init__(self, config: DraftConfig | None = None, backend: LLMBackend | None = None) -> None:
        super().__init__(config)
        self.backend = backend  # pass one to share a loaded model between stages

    def setup(self) -> None:
        """Load the LLM once (unless one was passed in)."""
        if self.backend is None:
            self.backend = backend_from_config(self.config.llm)

    def models(self) -> list[str]:
        return [self.backend.model_id] if self.backend is not None else []

    @staticmethod
    def prompt_hash(hinted: bool | str = False) -> str:
        """Hash of every template a drafting mode uses (`hinted`: a mode, or True / False for rationale / blind)."""
        mode = hinted if isinstance(hinted, str) else "rationale" if hinted else "blind"
        extra = {"skeleton": (DRAFT_HINT, DRAFT_POLISH), "polished": (DRAFT_HINT, DRAFT_POLISH),
                 "rationale": (DRAFT_HINT,), "blind": ()}[mode]  # fmt: skip
        return combined_hash(*DraftStage.PROMPTS, *extra)

    def _question(self, task: TaskRecord, hinted: bool) -> dict[str, str]:
        """The question block, with the silver answer as a hint in rationale mode."""
        block = question_block(task)
        if hinted:
            block["question"] += "\n" + DRAFT_HINT.render(answer=hint_text(task))
        return block

    def process(self, item: tuple[TaskRecord, VideoView]) -> CotRecord | Rejected:
        """Draft one chain (prefer `process_batch`: the LLM is much faster on batches)."""
        return self.process_batch([item])[0]

    def process_batch(self, items: list[tuple[TaskRecord, VideoView]]) -> list[CotRecord | Rejected]:
        """Draft a chain per item in the configured mode, with batched LLM rounds for the whole list."""
        self.ensure_setup()
        if self.config.mode != "skeleton":
            return self._reason(items, hinted=self.config.mode == "rationale")
        tol = self.config.skeleton_tol_s
        skeletons = [build_skeleton(task, view, tol) for task, view in items]
        out: list[CotRecord | Rejected | None] = [None] * len(items)
        unknown = [i for i, sk in enumerate(skeletons) if sk is None]
        if unknown:  # evidence code does not know (user questions): the LLM explains the silver answer
            for i, res in zip(unknown, self._reason([items[i] for i in unknown], hinted=True), strict=True):
                out[i] = res
        built = [(i, sk) for i, sk in enumerate(skeletons) if sk is not None]
        polished = self._polish([(items[i], sk) for i, sk in built]) if self.config.polish else [None] * len(built)
        for (i, sk), rewrite in zip(built, polished, strict=True):
            task, view = items[i]
            chain = self._chain(task, rewrite, sk.answer, "polished") if rewrite is not None else None
            if isinstance(chain, CotRecord) and verifier_problem(chain, task, view) is None:
                out[i] = chain
            else:
                out[i] = self._chain(task, sk.think, sk.answer, "skeleton")
        return [o if o is not None else Rejected("llm_error", "no result") for o in out]

    def _polish(self, items: list[tuple[tuple[TaskRecord, VideoView], Skeleton]]) -> list[str | None]:
        """The LLM's rewrite of each skeleton, where it keeps every fact and passes the checks; else None."""
        if not items or self.backend is None:
            return [None] * len(items)
        requests = [
            self._request(
                DRAFT_POLISH.render(skeleton=sk.think, **question_block(task)),
                "",
                polish_budget(sk, self.config),
                ["\n"],  # one paragraph: a small model's next lines are lists and loops, and cost the most tokens
            )
            for (task, _), sk in items
        ]
        out: list[str | None] = []
        for ((_, view), sk), res in zip(items, self.backend.generate(requests), strict=True):
            rewrite = polished_think(res.text) if res.ok else ""
            same = " ".join(rewrite.split()) == " ".join(sk.think.split())
            ok = rewrite and not same and polish_problem(rewrite, sk.think, view, self.config.skeleton_tol_s) is None
            out.append(rewrite if ok else None)
        return out

    def _reason(self, items: list[tuple[TaskRecord, VideoView]], hinted: bool) -> list[CotRecord | Rejected]:
        """Rationale (`hinted`) or blind drafting: the LLM observes (and, blind, answers) over the text view."""
        if not items:
            return []
        assert self.backend is not None
        cfg = self.config
        source = "rationale" if hinted else "blind"
        context = self.backend.max_input_tokens
        budget = cfg.budget.within(context) if context else cfg.budget
        views = [select_view(task, view, budget, subtitles=cfg.subtitles).text for task, view in items]
        observe = self.backend.generate(
            [
                self._request(
                    DRAFT_OBSERVE.render(view=tv, **self._question(task, hinted)),
                    "In shot ",
                    cfg.observe_tokens,
                    ["\n"],
                )
                for (task, _), tv in zip(items, views, strict=True)
            ]
        )
        out: list[CotRecord | Rejected | None] = [None] * len(items)
        thinks: list[str] = [""] * len(items)
        for i, ((task, view), res) in enumerate(zip(items, observe, strict=True)):
            failure = gen_failure(res)
            if failure is not None:
                out[i] = failure
                continue
            thinks[i] = observation_text(res.text, view, task)
        pending = [i for i in range(len(items)) if out[i] is None]
        if hinted:
            # Rationale mode: the chain explains the silver answer, so no second round asks the model for it.
            for i in pending:
                out[i] = self._chain(items[i][0], thinks[i], items[i][0].answer, source)
            return [o if o is not None else Rejected("llm_error", "no result") for o in out]
        answers = self.backend.generate(
            [
                self._request(
                    DRAFT_ANSWER.render(view=views[i], notes=thinks[i], **self._question(items[i][0], hinted)),
                    "Answer:",
                    cfg.answer_tokens,
                    stop=["\n"],
                )
                for i in pending
            ]
        )
        for i, res in zip(pending, answers, strict=True):
            out[i] = self._compose(items[i][0], thinks[i], res, source)
        return [o if o is not None else Rejected("llm_error", "no result") for o in out]

    def _request(self, user: str, prefill: str, max_new: int, stop: list[str] | None = None) -> GenRequest:
        return GenRequest(
            messages=[Message("system", SYSTEM_SHORT.text), Message("user", user)],
            max_new_tokens=max_new,
            temperature=self.config.temperature,
            seed=self.config.seed,
            prefill=prefill,
            stop=stop if stop is not None else ["\n\n"],
        )

    def _compose(self, task: TaskRecord, think: str, res: GenResult, source: str) -> CotRecord | Rejected:
        failure = gen_failure(res)
        if failure is not None:
            return failure
        raw = res.text.strip()
        if res.finish_reason == "length" and task.problem_type in ("OCR", "free-form"):
            return Rejected("too_long", f"answer ran past {self.config.answer_tokens} tokens: {raw[:80]!r}")
        answer = canonical_answer(task.problem_type, raw, task.options)
        if answer is None:
            return Rejected("no_answer", f"cannot read a {task.problem_type} answer from {raw[:80]!r}")
        return self._chain(task, think, answer, source)

    def _chain(self, task: TaskRecord, think: str, answer: str, source: str) -> CotRecord | Rejected:
        """The composed chain as a draft `CotRecord` written by `source` (`CotRecord.source`), or `too_long`."""
        text = compose_chain(think, answer)
        if len(text) > self.config.max_chars:
            return Rejected("too_long", f"{len(text)} chars > {self.config.max_chars}")
        assert self.backend is not None
        prov = self.provenance(prompt_hash=self.prompt_hash(source))
        # The text is part of the id: a chain drafted again differently is a different chain, never a silent no-op.
        key = f"{task.task_id}|{self.backend.model_id}|{prov.prompt_hash}|{prov.config_hash}|{text}"
        return CotRecord(
            cot_id=hashlib.sha256(key.encode()).hexdigest()[:16],
            task_id=task.task_id,
            video_id=task.video_id,
            model=self.backend.model_id,
            draft=text,
            refined=None,
            predicted_answer=answer,
            format_score=0.0,
            accuracy=0.0,
            grounding_draft=0.0,
            grounding=0.0,
            confidence=0.0,
            accepted=False,
            reject_reason=None,
            provenance=prov,
            source=source,
        )


def polish_budget(skeleton: Skeleton, config: DraftConfig) -> int:
    """Tokens a rewrite may take: a third more than the skeleton's (about 3.5 characters a token, citations are
    dense), at most `polish_tokens` — a rewrite keeps the facts, so it is not much longer."""
    return min(config.polish_tokens, 16 + int(len(skeleton.think) / 3.5 * 4 / 3))


def polished_think(generated: str) -> str:
    """The LLM's rewrite of a skeleton as a think text: its first paragraph, times in the normal form, without a
    conclusion of its own or answer tags (the chain's conclusion is composed in code)."""
    text = generated.strip().split("\n\n")[0]
    text = re.sub(r"</?(?:think|answer)>", " ", text)
    text = " ".join(normalise_times(" ".join(text.split())).split())
    return " ".join(s for s in split_sentences(text) if not s.startswith(CONCLUSION))


def hint_text(task: TaskRecord) -> str:
    """The silver answer as the drafting model should see it: the full option for multiple choice."""
    if task.problem_type == "multiple choice" and task.options:
        letter = task.answer.strip().upper()[:1]
        for opt in task.options:
            if opt.strip().upper().startswith(letter + "."):
                return opt.strip()
    return task.answer


def gen_failure(res: GenResult) -> Rejected | None:
    """A backend error as a draft reason code (timeouts, bad bytes and empty output keep their own codes)."""
    if res.error is None:
        return None
    if res.error in ("timeout", "invalid_utf8", "empty_output"):
        return Rejected(res.error, res.detail)
    return Rejected("llm_error", f"{res.error}: {res.detail}".strip(": "))


def compose_chain(think: str, answer: str) -> str:
    """`<think>{think} So the answer is {answer}.</think><answer>{answer}</answer>`."""
    think = think.strip()
    if think and think[-1] not in ".!?":
        think += "."
    end = "" if answer.endswith((".", "!", "?")) else "."
    return f"<think>{think} {CONCLUSION} {answer}{end}</think><answer>{answer}</answer>"


def observation_text(generated: str, view: VideoView, task: TaskRecord) -> str:
    """`In shot K [a–bs], …` from the model's continuation of `In shot `, cut to whole sentences.

    The model's shot number is kept when it names a real shot; otherwise the shot whose evidence shares most
    words with the question is cited, so the chain still cites the video's own times.
    """
    shots = sorted(view.shots, key=lambda s: s.start)
    lines = generated.strip().splitlines()
    text = " ".join(lines[0].split()) if lines else ""
    m = _SHOT_NO.match(text)
    number = int(m.group(1)) if m else None
    if m:
        text = text[m.end() :]
    if not shots:
        cite = f"In the video [{fmt_time(0.0)}–{fmt_time(view.duration)}s]"
    else:
        if number is None or not 1 <= number <= len(shots):
            number = best_shot(view, shots, task) + 1
        shot = shots[number - 1]
        cite = f"In shot {number} [{fmt_time(shot.start)}–{fmt_time(shot.end)}s]"
    text = text.removeprefix("[").lstrip(",;: ")
    text = whole_sentences(text)
    return f"{cite}, {text}" if text else f"{cite}."


def best_shot(view: VideoView, shots: list[ShotRecord], task: TaskRecord) -> int:
    """Index of the shot whose evidence summary shares most words with the question and options."""
    words = set(_WORD.findall((task.question + " " + " ".join(task.options)).lower()))
    scores = [len(words & set(_WORD.findall(summarise_evidence(shot_evidence(view, s)).lower()))) for s in shots]
    return max(range(len(shots)), key=lambda i: (scores[i], -i))


def whole_sentences(text: str) -> str:
    """Text up to its last sentence end; all of it when it has none."""
    cut = max(text.rfind(". "), text.rfind("! "), text.rfind("? "))
    if text.endswith((".", "!", "?")):
        return text
    return text[: cut + 1] if cut > 0 else text


def canonical_answer(problem_type: str, raw: str, options: list[str]) -> str | None:
    """The model's answer in the task's answer format (see trainers/rewards.py), or None if unreadable."""
    raw = raw.strip().strip("\"'` ")
    if not raw:
        return None
    if problem_type == "multiple choice":
        letter = choice_letter(raw, options)
        if letter is None:
            letters = {o.strip()[:1].upper() for o in options if o.strip()}
            m = re.search(r"\b([A-Z])\b", raw)
            letter = m.group(1) if m and m.group(1) in letters else None
        return letter
    if problem_type in ("numerical", "regression"):
        x = parse_number(raw)
        if x is None:
            return None
        return str(int(x)) if x.is_integer() else f"{x:.4f}".rstrip("0").rstrip(".")
    if problem_type == "span":
        span = parse_span(raw)
        return None if span is None else f"[{span[0]:.2f}, {span[1]:.2f}]"
    if problem_type == "ordering":
        items = ordering_items(raw)
        return None if items is None else ", ".join(str(i) for i in items)
    if problem_type == "box":
        boxes = parse_boxes(raw)
        return None if boxes is None else json.dumps(boxes)
    return raw.splitlines()[0].strip() or None
