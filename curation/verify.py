"""The verifier: the last filter before a chain of thought enters the SFT pool.

Each chain (the refined text, else the draft) is scored with the same functions the trainers reward with
(`trainers.rewards.format_reward` / `accuracy_reward`), then checked in this order — the first failure is the
`reject_reason`:

==================  =========================================================================================
reason              rejected when
==================  =========================================================================================
(upstream reason)   refinement already dropped the chain (its reason is kept; scores are still filled)
bad_format          not exactly `<think>…</think><answer>…</answer>`
too_short/too_long  the think part is outside [min_think_chars, max_think_chars] characters
not_english         fewer than `min_ascii_letters` of its letters are ASCII, or (from 8 words on) fewer than
                    `min_stopword_ratio` of its words are common English function words ("the", "is", "at",
                    …) — a cheap check that catches other scripts, other languages and token soup
wrong_answer        accuracy against the silver answer < `min_accuracy` (1.0 by default: SFT rows are right)
low_grounding       the refinement's grounding score < `min_grounding`
uncited             (with views) the chain cites no evidence at all and `require_citations` is on
bad_citations       (with views) citation accuracy < `min_citation_accuracy`: a cited time outside the video, a
                    keyframe that does not exist or does not show what the sentence claims, quoted speech not
                    in the transcript at the cited time (`trainers.citations`; the reasons are kept in
                    `citation_errors`)
low_agreement       self-consistency (when samples are given): the chain's answer is not the majority of
                    its K samples, or the share agreeing with it (kept as `confidence`) < `min_agreement`
near_duplicate      token-shingle Jaccard ≥ `near_duplicate_jaccard` with a chain already accepted for the same
                    task (in this batch or an earlier one on this stage object)
==================  =========================================================================================
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from pydantic import Field

from curation.stage import Stage, StageConfig
from schemas import CotRecord, TaskRecord, VideoView
from trainers.citations import check_citations
from trainers.rewards import accuracy_reward, answer_score, format_reward, parse_completion

if TYPE_CHECKING:
    from curation.llm.base import LLMBackend

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
STOPWORDS = frozenset(
    (  # noqa: SIM905 - a word list reads better as text
        "a an the is are was were be been it its this that these those of in on at to from by with for and or but "
        "not no so as if then than there here what which who when where how why do does did has have had i we you "
        "he she they them his her their our my can will would should could shot video answer seconds"
    ).split()
)
MIN_WORDS_FOR_STOPWORDS = 8


class VerifyConfig(StageConfig):
    """Thresholds of the verifier (see the module docstring for what each rejects)."""

    min_accuracy: float = Field(1.0, ge=0.0, le=1.0)
    min_think_chars: int = Field(40, ge=0)
    max_think_chars: int = Field(4000, ge=1)
    min_ascii_letters: float = Field(0.9, ge=0.0, le=1.0)
    min_stopword_ratio: float = Field(0.05, ge=0.0, le=1.0)
    min_grounding: float = Field(0.5, ge=0.0, le=1.0)
    near_duplicate_jaccard: float = Field(0.8, gt=0.0, le=1.0)
    shingle_words: int = Field(3, ge=1)
    self_consistency: int = Field(0, ge=0, description="K samples per chain; 0 turns self-consistency off")
    min_agreement: float = Field(0.5, ge=0.0, le=1.0)
    agree_score: float = Field(0.5, ge=0.0, le=1.0, description="answer_score at which two answers agree")
    min_citation_accuracy: float = Field(1.0, ge=0.0, le=1.0, description="valid / checked citations to accept")
    require_citations: bool = Field(True, description="reject a chain that cites no evidence (`uncited`)")
    citation_tol_s: float = Field(0.5, ge=0.0, description="seconds a keyframe or quote may lie outside its range")


def chain_text(cot: CotRecord) -> str:
    """The text the verifier judges: the refined chain, or the draft when there is no refinement."""
    return cot.refined if cot.refined is not None else cot.draft


def english_like(text: str, min_ascii: float = 0.9, min_stopwords: float = 0.05) -> bool:
    """The letter-script and function-word heuristic of `not_english` (see the module docstring)."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return False
    if sum(c.isascii() for c in letters) / len(letters) < min_ascii:
        return False
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) < MIN_WORDS_FOR_STOPWORDS:
        return True
    return sum(w in STOPWORDS for w in words) / len(words) >= min_stopwords


def shingles(text: str, n: int = 3) -> set[tuple[str, ...]]:
    """Sets of `n` consecutive lower-cased words (the whole text as one shingle when it is shorter)."""
    words = [w.lower() for w in re.findall(r"\w+", text)]
    if len(words) <= n:
        return {tuple(words)}
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def jaccard(a: set, b: set) -> float:
    """|a ∩ b| / |a ∪ b| (0 for two empty sets)."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def agreement(answers: list[str | None], task: TaskRecord, agree_score: float = 0.5) -> tuple[str | None, float]:
    """Self-consistency over answers (the chain's first): (majority answer, share agreeing with the chain's).

    Two answers agree when `answer_score` of one against the other reaches `agree_score` (so spans agree by
    IoU, numbers within tolerance, letters exactly). The majority is the answer most others agree with; ties go to
    the earlier answer.
    """
    if not answers:
        return None, 0.0

    def agrees(a: str | None, b: str | None) -> bool:
        if a is None or b is None:
            return False
        try:
            return answer_score(a, b, task.problem_type, task.options) >= agree_score
        except ValueError:
            return a.strip() == b.strip()

    support = [sum(agrees(a, b) for b in answers) for a in answers]
    best = max(range(len(answers)), key=lambda i: (support[i], -i))
    return answers[best], support[0] / len(answers)


class VerifyStage(Stage[VerifyConfig, tuple[CotRecord, TaskRecord], CotRecord]):
    """Scores chains and sets `accepted` / `reject_reason`; counts reasons in `self.reasons`."""

    name = "verify"
    Config = VerifyConfig

    def __init__(self, config: VerifyConfig | None = None) -> None:
        super().__init__(config)
        self.reasons: Counter[str] = Counter()
        self._accepted: dict[str, list[set[tuple[str, ...]]]] = {}

    def remember(self, cots: Iterable[CotRecord]) -> None:
        """Register chains accepted by an earlier run, so new near-duplicates of them are rejected."""
        for cot in cots:
            if cot.accepted:
                self._accepted.setdefault(cot.task_id, []).append(self._shingles(cot))

    def cite(self, cot: CotRecord, view: VideoView) -> None:
        """Check the citations of the chain and of its draft against the video; fill the citation columns."""
        tol = self.config.citation_tol_s
        think = parse_completion(chain_text(cot)).think
        report = check_citations(think, view, tol) if think else None
        cot.citation_accuracy = report.accuracy if report else 0.0
        cot.citations_checked = report.checked if report else 0
        cot.citation_errors = list(report.errors) if report else []
        draft = parse_completion(cot.draft).think if cot.draft else None
        cot.citation_accuracy_draft = check_citations(draft, view, tol).accuracy if draft else 0.0

    def _shingles(self, cot: CotRecord) -> set[tuple[str, ...]]:
        parsed = parse_completion(chain_text(cot))
        return shingles(parsed.think or chain_text(cot), self.config.shingle_words)

    def process(self, item: tuple[CotRecord, TaskRecord]) -> CotRecord:
        """Verify one chain (see `process_batch`)."""
        return self.process_batch([item])[0]

    def process_batch(
        self,
        items: list[tuple[CotRecord, TaskRecord]],
        samples: dict[str, list[str]] | None = None,
        views: dict[str, VideoView] | None = None,
    ) -> list[CotRecord]:
        """Fill format_score, predicted_answer, accuracy (and confidence with samples); set accepted/reason.

        `samples` maps cot_id to K sampled completions of the same task (see `draw_samples`); used only when
        `self_consistency` > 0. With `views` (video_id → view) every chain's citations — and its draft's — are
        checked too (`citation_accuracy`, `citation_accuracy_draft`, `citations_checked`, `citation_errors`).
        Records are updated in place and returned in order.
        """
        if views is not None:
            for cot, _ in items:
                if cot.video_id in views:
                    self.cite(cot, views[cot.video_id])
        if not items:
            return []
        texts = [chain_text(c) for c, _ in items]
        fmt = format_reward(texts)
        acc = accuracy_reward(
            texts,
            solution=[t.answer for _, t in items],
            problem_type=[t.problem_type for _, t in items],
            options=[t.options for _, t in items],
        )
        for (cot, task), text, f, a in zip(items, texts, fmt, acc, strict=True):
            parsed = parse_completion(text)
            cot.format_score, cot.accuracy, cot.predicted_answer = f, a, parsed.answer
            reason = cot.reject_reason or self._check(
                cot, task, parsed.think or "", f, a, samples, cited=views is not None and cot.video_id in views
            )
            cot.accepted, cot.reject_reason = reason is None, reason
            if reason is None:
                self._accepted.setdefault(cot.task_id, []).append(self._shingles(cot))
            else:
                self.reasons[reason] += 1
        self.reasons["accepted"] += sum(c.accepted for c, _ in items)
        return [c for c, _ in items]

    def _check(
        self,
        cot: CotRecord,
        task: TaskRecord,
        think: str,
        format_score: float,
        accuracy: float,
        samples: dict[str, list[str]] | None,
        cited: bool = False,
    ) -> str | None:
        cfg = self.config
        if format_score < 1.0:
            return "bad_format"
        if len(think) < cfg.min_think_chars:
            return "too_short"
        if len(think) > cfg.max_think_chars:
            return "too_long"
        if not english_like(think, cfg.min_ascii_letters, cfg.min_stopword_ratio):
            return "not_english"
        if accuracy < cfg.min_accuracy - 1e-9:
            return "wrong_answer"
        if cot.grounding < cfg.min_grounding:
            return "low_grounding"
        if cited and cfg.require_citations and cot.citations_checked == 0:
            return "uncited"
        if cited and cot.citations_checked and cot.citation_accuracy < cfg.min_citation_accuracy - 1e-9:
            return "bad_citations"
        if cfg.self_consistency and samples and cot.cot_id in samples:
            drawn = [parse_completion(s).answer for s in samples[cot.cot_id][: cfg.self_consistency]]
            majority, share = agreement([cot.predicted_answer, *drawn], task, cfg.agree_score)
            cot.confidence = share
            # Ties go to the chain itself, so a different majority means most samples answer otherwise.
            if share < cfg.min_agreement or majority != cot.predicted_answer:
                return "low_agreement"
        mine = self._shingles(cot)
        if any(jaccard(mine, other) >= cfg.near_duplicate_jaccard for other in self._accepted.get(cot.task_id, [])):
            return "near_duplicate"
        return None


def reason_counts(cots: Iterable[CotRecord]) -> Counter[str]:
    """Chains per verdict: "accepted" or the reject reason — what the manifest summary records."""
    return Counter("accepted" if c.accepted else (c.reject_reason or "unverified") for c in cots)


def draw_samples(
    backend: LLMBackend,
    items: list[tuple[CotRecord, TaskRecord]],
    views: dict[str, VideoView],
    k: int,
    temperature: float = 0.8,
    max_new_tokens: int = 256,
    seed: int = 0,
) -> dict[str, list[str]]:
    """K sampled completions per chain's task from an `LLMBackend`, for self-consistency; failed samples are
    left out. Completions start from a `<think>` prefill (small models need it) which is put back in the text."""
    from curation.llm.base import GenRequest
    from trainers.textview import task_messages

    requests, owners = [], []
    for cot, task in items:
        messages = task_messages(task, views[task.video_id], subtitles=True)
        for i in range(k):
            requests.append(GenRequest(messages, max_new_tokens, temperature, seed + i, prefill="<think>"))
            owners.append(cot.cot_id)
    out: dict[str, list[str]] = {cot.cot_id: [] for cot, _ in items}
    for owner, result in zip(owners, backend.generate(requests), strict=True):
        if result.error is None:
            out[owner].append("<think>" + result.text)
    return out
