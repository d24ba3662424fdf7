"""Blind answer rules: what a reader that sees only the question and its options — no video, no transcript —
would answer, and what a uniform guess scores. Every score vidcot reports stands beside them (the card's shortcut
audit in `data_cards.audit`, `vidcot audit`, `vidcot eval`), so they are defined once, here.

Rules (each gives an answer per item, or None where it does not apply):

- `constant`: the one answer most often right within the problem type (the best constant letter for multiple
  choice), fitted on the items themselves — an upper bound for any constant answer;
- `question_majority`: the answer most often right for the same question template (quoted text and numbers
  blanked), leave-one-out, so an item never votes for itself; for multiple choice, the option whose text is the
  template's majority answer ("No" for absence questions), else the majority letter;
- `absence_no`: "No" to every "Is a "…" visible / Is the phrase "…" spoken" question;
- `listed_order`: clips in the order they are listed ("1, 2, 3");
- `count_one`: "1" to every "How many" question.

Chance per item: 1 / options for multiple choice, 1 / k! for ordering k clips, and for open answers 1 / the number
of distinct answers its question template has among the items (a uniform guess among the answers in use).
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

RULES = ("constant", "question_majority", "absence_no", "listed_order", "count_one")
# The rules that exploit one known construction prior, each over the items it applies to.
PRIOR_RULES = ("absence_no", "listed_order", "count_one")
RULE_TITLES = {
    "constant": "best constant answer",
    "question_majority": "question-only majority answer",
    "absence_no": "absence → No",
    "listed_order": "ordering → listed order",
    "count_one": "count → 1",
}
MARGIN = 0.05  # a rule more than this above chance is a shortcut
MIN_ITEMS = 20  # fewer items than this: the audit reports but does not flag

_QUOTED = re.compile(r'"[^"]*"')
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_LETTER = re.compile(r"^\s*\(?([A-Z])(?:[.):]|\s|$)")
_OPTION = re.compile(r"^\s*([A-Z])[.)]\s*(.*)$", re.S)
_ABSENCE = re.compile(r'^Is (?:a|an|the phrase) ".+" (?:visible|spoken) anywhere in the video\?$')
_CLIP_LINE = re.compile(r"^\s*\d+\.\s", re.M)


@dataclass(frozen=True)
class BlindItem:
    """What a blind rule may read (question, options, problem type) and the gold answer it is scored against."""

    question: str
    problem_type: str
    answer: str
    options: tuple[str, ...] = ()


def question_template(question: str) -> str:
    """The question with quoted text and numbers blanked: questions that differ only in those share it."""
    return " ".join(_NUMBER.sub("#", _QUOTED.sub('"…"', question)).split())


def option_map(options: Sequence[str]) -> dict[str, str]:
    """letter -> option text (options written "A. text"; unlettered ones take A, B, … by position)."""
    out = {}
    for i, opt in enumerate(options):
        m = _OPTION.match(opt)
        out[m.group(1) if m else chr(ord("A") + i)] = (m.group(2) if m else opt).strip()
    return out


def canonical(answer: str | None, problem_type: str, options: Sequence[str] = ()) -> str | None:
    """A normal form of an answer: equal forms are the same answer (letters, clip lists, numbers, words)."""
    if answer is None or not answer.strip():
        return None
    if problem_type == "multiple choice":
        m = _LETTER.match(answer)
        if m:
            return m.group(1)
        wanted = " ".join(answer.lower().split())
        return next((k for k, v in option_map(options).items() if " ".join(v.lower().split()) == wanted), None)
    if problem_type == "ordering":
        nums = re.findall(r"\d+", answer)
        return ",".join(nums) or None
    if problem_type in ("numerical", "regression"):
        m = _NUMBER.search(answer.replace(",", ""))
        return f"{float(m.group()):g}" if m else None
    return " ".join(answer.lower().split())


def is_absence_question(question: str) -> bool:
    return bool(_ABSENCE.match(question.strip()))


def listed_clips(question: str) -> int:
    """How many numbered clips an ordering question lists."""
    return len(_CLIP_LINE.findall(question))


def _majority(counts: Counter[str]) -> str | None:
    if not counts:
        return None
    top = max(counts.values())
    return min(k for k, n in counts.items() if n == top)


def _letter_of_text(item: BlindItem, text: str) -> str | None:
    return next((k for k, v in option_map(item.options).items() if v.lower() == text.lower()), None)


def _gold_text(item: BlindItem) -> str | None:
    letter = canonical(item.answer, item.problem_type, item.options)
    return option_map(item.options).get(letter or "")


def blind_answers(items: Sequence[BlindItem]) -> dict[str, list[str | None]]:
    """Each rule's answer to each item (None: the rule does not apply or has nothing to say)."""
    gold = [canonical(it.answer, it.problem_type, it.options) for it in items]
    by_type: dict[str, Counter[str]] = defaultdict(Counter)
    for it, g in zip(items, gold, strict=True):
        if g is not None:
            by_type[it.problem_type][g] += 1
    best = {t: _majority(c) for t, c in by_type.items()}
    out: dict[str, list[str | None]] = {r: [] for r in RULES}
    peers = _template_answers(items, gold)
    for it, g in zip(items, gold, strict=True):
        key = (it.problem_type, question_template(it.question))
        out["constant"].append(best.get(it.problem_type))
        out["question_majority"].append(_loo_majority(it, g, peers[key]))
        mc = it.problem_type == "multiple choice"
        out["absence_no"].append(_letter_of_text(it, "No") if mc and is_absence_question(it.question) else None)
        k = listed_clips(it.question)
        listed = ", ".join(map(str, range(1, k + 1))) if it.problem_type == "ordering" and k else None
        out["listed_order"].append(listed)
        counting = it.problem_type == "numerical" and it.question.lower().startswith("how many")
        out["count_one"].append("1" if counting else None)
    return out


def _template_answers(items: Sequence[BlindItem], gold: Sequence[str | None]) -> dict[tuple[str, str], Counter[str]]:
    """(problem type, template) -> how often each answer is right (option texts for multiple choice)."""
    found: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for it, g in zip(items, gold, strict=True):
        key = (it.problem_type, question_template(it.question))
        for answer in _vote_keys(it, g):
            found[key][answer] += 1
    return found


def _vote_keys(item: BlindItem, gold: str | None) -> list[str]:
    if gold is None:
        return []
    if item.problem_type != "multiple choice":
        return [gold]
    text = _gold_text(item)
    return [f"letter:{gold}", *([f"text:{text.lower()}"] if text else [])]


def _loo_majority(item: BlindItem, gold: str | None, counts: Counter[str]) -> str | None:
    others = counts - Counter(_vote_keys(item, gold))
    if item.problem_type != "multiple choice":
        return _majority(others)
    texts = Counter({k[5:]: n for k, n in others.items() if k.startswith("text:")})
    for text, _ in sorted(texts.items(), key=lambda kv: (-kv[1], kv[0])):
        letter = _letter_of_text(item, text)
        if letter:
            return letter
    letter = _majority(Counter({k[7:]: n for k, n in others.items() if k.startswith("letter:")}))
    return letter


def chance(items: Sequence[BlindItem]) -> list[float]:
    """What a uniform guess scores on each item (see the module docstring)."""
    gold = [canonical(it.answer, it.problem_type, it.options) for it in items]
    distinct: dict[tuple[str, str], set[str]] = defaultdict(set)
    for it, g in zip(items, gold, strict=True):
        if g is not None:
            distinct[(it.problem_type, question_template(it.question))].add(g)
    out = []
    for it, g in zip(items, gold, strict=True):
        if it.problem_type == "multiple choice" and it.options:
            out.append(1 / len(it.options))
        elif it.problem_type == "ordering":
            k = listed_clips(it.question) or len((g or "").split(","))
            out.append(1 / math.factorial(max(k, 1)))
        else:
            n = len(distinct[(it.problem_type, question_template(it.question))])
            out.append(1 / n if n else 0.0)
    return out


def matches(answer: str | None, item: BlindItem) -> bool:
    """Whether a rule's answer is the item's gold answer (exact, in normal form)."""
    got = canonical(answer, item.problem_type, item.options)
    return got is not None and got == canonical(item.answer, item.problem_type, item.options)


_QUESTION = re.compile(r"Question: (.*?)\n(?:Options:\n|Answer format:)", re.S)


def prompt_question(user_text: str) -> str:
    """The question of a task prompt (`trainers.textview.task_messages`' user turn), or "" if none is found."""
    found = _QUESTION.findall(user_text)
    return found[-1].strip() if found else ""


@dataclass
class RuleScore:
    """What one blind rule scores on the items it answers, beside a uniform guess on those items."""

    rule: str
    items: int
    score: float
    chance: float
    flagged: bool  # more than MARGIN above chance, on at least MIN_ITEMS items

    @property
    def title(self) -> str:
        return RULE_TITLES[self.rule]


@dataclass
class TypeAudit:
    """The shortcut audit of one problem type in one pool (or the tasks table)."""

    pool: str
    problem_type: str
    items: int
    chance: float
    rules: list[RuleScore]
    letters: dict[str, int]  # how often each letter is the answer (multiple choice)
    absence_items: int
    yes_share: float | None  # share of absence questions answered Yes (None: none asked)

    @property
    def flagged(self) -> list[RuleScore]:
        return [r for r in self.rules if r.flagged]


def audit_items(pool: str, items: Sequence[BlindItem]) -> list[TypeAudit]:
    """Per problem type: every rule's score next to chance, the letter counts and the absence Yes share."""
    out = []
    for kind in sorted({it.problem_type for it in items}):
        mine = [it for it in items if it.problem_type == kind]
        answers, odds = blind_answers(mine), chance(mine)
        rules = []
        for rule in RULES:
            on = [i for i, a in enumerate(answers[rule]) if a is not None or rule not in PRIOR_RULES]
            if not on:
                continue
            score = sum(matches(answers[rule][i], mine[i]) for i in on) / len(on)
            level = sum(odds[i] for i in on) / len(on)
            rules.append(RuleScore(rule, len(on), score, level, len(on) >= MIN_ITEMS and score > level + MARGIN))
        letters: Counter[str] = Counter()
        asked = [it for it in mine if is_absence_question(it.question)]
        yes = 0
        for it in mine:
            letter = canonical(it.answer, kind, it.options) if kind == "multiple choice" else None
            if letter:
                letters[letter] += 1
        for it in asked:
            yes += (_gold_text(it) or "").lower() == "yes"
        out.append(
            TypeAudit(
                pool, kind, len(mine), sum(odds) / len(mine), rules, dict(sorted(letters.items())), len(asked),
                yes / len(asked) if asked else None,
            )
        )  # fmt: skip
    return out
