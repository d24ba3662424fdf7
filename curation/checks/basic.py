"""The verifier's first checks: format, length, language, answer, grounding, citations, self-consistency and
near-duplicates (each with the reason codes it had before the verifier became a list of checks)."""

from __future__ import annotations

import re

from curation.checks.base import SKIP, Chain, Check, Verdict
from schemas import TaskRecord
from trainers.rewards import AnswerConfig, answer_score, parse_completion
from trainers.vocab import word_set

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
STOPWORDS = word_set(
    "a an the is are was were be been it its this that these those of in on at to from by with for and or but "
    "not no so as if then than there here what which who when where how why do does did has have had i we you "
    "he she they them his her their our my can will would should could shot video answer seconds"
)
MIN_WORDS_FOR_STOPWORDS = 8


def english_like(text: str, min_ascii: float = 0.9, min_stopwords: float = 0.05) -> bool:
    """Whether at least `min_ascii` of the letters are ASCII and (from 8 words on) at least `min_stopwords` of the
    words are common English function words — a cheap check that catches other scripts, languages and soup."""
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


def agreement(
    answers: list[str | None], task: TaskRecord, agree_score: float = 0.5, answer: AnswerConfig | None = None
) -> tuple[str | None, float]:
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
            return answer_score(a, b, task.problem_type, task.options, answer) >= agree_score
        except ValueError:
            return a.strip() == b.strip()

    support = [sum(agrees(a, b) for b in answers) for a in answers]
    best = max(range(len(answers)), key=lambda i: (support[i], -i))
    return answers[best], support[0] / len(answers)


class FormatCheck(Check):
    """Exactly `<think>…</think><answer>…</answer>`."""

    name = "format"
    reasons = ("bad_format",)

    def judge(self, chain: Chain) -> Verdict:
        return None if chain.format_score >= 1.0 else self.fail("not <think>…</think><answer>…</answer>")


class LengthCheck(Check):
    """The think part has [min_think_chars, max_think_chars] characters."""

    name = "length"
    reasons = ("too_short", "too_long")

    def judge(self, chain: Chain) -> Verdict:
        n, cfg = len(chain.think), self.config
        if n < cfg.min_think_chars:
            return self.fail(f"{n} < {cfg.min_think_chars} characters", "too_short")
        if n > cfg.max_think_chars:
            return self.fail(f"{n} > {cfg.max_think_chars} characters", "too_long")
        return None


class LanguageCheck(Check):
    """English by script and function words (`english_like`)."""

    name = "language"
    reasons = ("not_english",)

    def judge(self, chain: Chain) -> Verdict:
        cfg = self.config
        ok = english_like(chain.think, cfg.min_ascii_letters, cfg.min_stopword_ratio)
        return None if ok else self.fail("too few ASCII letters or English function words")


class AnswerCheck(Check):
    """The answer scores at least `min_accuracy` against the silver answer (the trainers' `answer_score`)."""

    name = "answer"
    reasons = ("wrong_answer",)

    def judge(self, chain: Chain) -> Verdict:
        if chain.accuracy >= self.config.min_accuracy - 1e-9:
            return None
        return self.fail(f"{chain.answer!r} vs silver {chain.task.answer!r}: accuracy {chain.accuracy:.2f}")


class GroundingCheck(Check):
    """Refinement's grounding score (`cot.grounding`, supported / checked claims) is at least `min_grounding`."""

    name = "grounding"
    reasons = ("low_grounding",)

    def judge(self, chain: Chain) -> Verdict:
        g = chain.cot.grounding
        return None if g >= self.config.min_grounding else self.fail(f"grounding {g:.2f} < {self.config.min_grounding}")


class CitationsCheck(Check):
    """(With the view.) The chain cites evidence (`uncited` when `require_citations`), and at least
    `min_citation_accuracy` of its citations are valid (`trainers.citations`)."""

    name = "citations"
    reasons = ("bad_citations", "uncited")
    needs_view = True

    def judge(self, chain: Chain) -> Verdict:
        cfg = self.config
        report = chain.citations(cfg.citation_tol_s)
        if report is None or report.checked == 0:
            return self.fail("cites no evidence", "uncited") if cfg.require_citations else None
        if report.accuracy < cfg.min_citation_accuracy - 1e-9:
            return self.fail("; ".join(report.errors[:3]))
        return None


class SelfConsistencyCheck(Check):
    """(With K samples.) The chain's answer is the majority of its K samples, with at least `min_agreement` of
    them agreeing; sets `cot.confidence` to that share."""

    name = "self_consistency"
    reasons = ("low_agreement",)

    def judge(self, chain: Chain) -> Verdict:
        cfg = self.config
        if not cfg.self_consistency or not chain.samples:
            return SKIP
        drawn = [parse_completion(s).answer for s in chain.samples[: cfg.self_consistency]]
        majority, share = agreement([chain.answer, *drawn], chain.task, cfg.agree_score, cfg.answer)
        chain.cot.confidence = share
        # Ties go to the chain itself, so a different majority means most samples answer otherwise.
        if share < cfg.min_agreement or majority != chain.answer:
            return self.fail(f"{share:.2f} of {len(drawn) + 1} answers agree; majority {majority!r}")
        return None


class NearDuplicateCheck(Check):
    """Token-shingle Jaccard below `near_duplicate_jaccard` against every chain already accepted for the same task
    (in this batch, an earlier batch, or — via `remember` — an earlier run)."""

    name = "near_duplicate"
    reasons = ("near_duplicate",)

    def __init__(self, config) -> None:  # type: ignore[no-untyped-def]
        super().__init__(config)
        self.seen: dict[str, list[set[tuple[str, ...]]]] = {}

    def shingles_of(self, text: str) -> set[tuple[str, ...]]:
        return shingles(parse_completion(text).think or text, self.config.shingle_words)

    def judge(self, chain: Chain) -> Verdict:
        mine = self.shingles_of(chain.text)
        for other in self.seen.get(chain.task.task_id, []):
            score = jaccard(mine, other)
            if score >= self.config.near_duplicate_jaccard:
                return self.fail(f"Jaccard {score:.2f} with an accepted chain of the same task")
        return None

    def remember(self, task_id: str, text: str) -> None:
        self.seen.setdefault(task_id, []).append(self.shingles_of(text))

    def accepted(self, chain: Chain) -> None:
        self.remember(chain.task.task_id, chain.text)
