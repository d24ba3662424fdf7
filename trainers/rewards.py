"""Reward functions shared by the verifier, the trainers and eval.

Every function follows TRL's reward convention: ``f(completions, **dataset_columns) -> list[float]``, one
float per completion. A completion is a string or a chat message list (``[{"role": "assistant", ...}]``).
Dataset columns (``solution``, ``problem_type``, ``options``, ...) arrive as keyword lists aligned with
``completions``; other keywords (TRL also passes ``prompts``, ``trainer_state``, ...) are ignored.

A completion is **well formed** when it is exactly one ``<think>…</think>`` followed by exactly one
``<answer>…</answer>``, with nothing but whitespace around them. The answer scored is the content of the
single ``<answer>`` block; zero or several ``<answer>`` blocks give no answer (two answers never pay).

Answer strings (``TaskRecord.answer`` / ``RlRecord.solution``) per ``problem_type``. Task generators write
exactly these, and they are what a model is asked to put in ``<answer>``. Each score is in [0, 1].

- ``multiple choice``: the option letter, ``"B"``; options are stored ``["A. red", "B. blue", ...]``.
  Score 1 when the prediction names the letter (``B``, ``b``, ``B.``, ``(B)``, ``B) blue``) or equals the
  option's text (``blue``), else 0.
- ``numerical``: a decimal number string, ``"3"`` or ``"12.5"``. Score 1 within ``numeric_rel_tol`` (1 %) of
  the truth, else 0; the prediction may carry a sign, thousands commas, unit words (``"1,234.5 m"``, ``"-3"``,
  ``"three"``).
- ``OCR``: the text as seen. Score 1 − WER over lower-cased, punctuation-free words, clipped at 0.
- ``free-form``: a short text. Score: token F1 (SQuAD normalisation: case, punctuation, articles).
- ``regression``: a decimal number string. Score 1 − min(1, |p − t| / |t|) (absolute error when t = 0).
- ``span``: ``"[12.40, 15.00]"`` (seconds). Score: temporal IoU. Predictions may also be written
  ``"12.4-15"``, ``"12.4 to 15 s"`` or ``"0:12.4 - 0:15"``; reversed spans are swapped.
- ``ordering``: comma-separated shot numbers in true order, ``"3, 1, 2"``. Score 1 when identical; for another
  permutation of the same shots max(0, Kendall tau) (so no credit for orders no better than random); else 0.
- ``box``: a JSON list of ``{"time", "x1", "y1", "x2", "y2"}`` (seconds; coordinates normalised to [0, 1]).
  Score: spatio-temporal IoU = sum of box IoU over matched times / number of distinct times in either list
  (times match greedily to the nearest within ``box_time_tol``, 0.5 s).
"""

from __future__ import annotations

import functools
import json
import math
import re
import string
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from schemas import PROBLEM_TYPES
from trainers.citations import check_text_view_citations, cited_shots, parse_text_view
from trainers.geometry import box_iou
from trainers.vocab import DECIMAL, NUMBER_WORDS
from trainers.wer import plain_words, word_error_rate

# ----------------------------------------------------------------------------------------------------
# Parsing completions


@dataclass
class Parsed:
    """The parts of a completion: the reasoning, the answer, and whether the tag layout is exactly right."""

    think: str | None
    answer: str | None
    well_formed: bool


_THINK = re.compile(r"<think>(.*?)</think>", re.DOTALL)
_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_WELL_FORMED = re.compile(r"\s*<think>(.*?)</think>\s*<answer>(.*?)</answer>\s*", re.DOTALL)
_TAGS = ("<think>", "</think>", "<answer>", "</answer>")


def parse_completion(text: str) -> Parsed:
    """Split a completion into think and answer, and check the tag layout.

    ``answer`` is the content of the only ``<answer>`` block (stripped), or None when there is none or more
    than one; ``think`` likewise. ``well_formed`` needs each of the four tags exactly once, think before
    answer, and only whitespace outside them.
    """
    text = text or ""
    thinks = _THINK.findall(text)
    answers = _ANSWER.findall(text)
    think = thinks[0].strip() if len(thinks) == 1 else None
    answer = answers[0].strip() if len(answers) == 1 else None
    well_formed = all(text.count(t) == 1 for t in _TAGS) and _WELL_FORMED.fullmatch(text) is not None
    return Parsed(think=think, answer=answer, well_formed=well_formed)


def completion_text(c: Any) -> str:
    """The text of a completion given as a string or as a chat message list (assistant turns joined)."""
    if c is None:
        return ""
    if isinstance(c, str):
        return c
    if isinstance(c, dict):
        return _content_text(c.get("content"))
    messages = list(c)
    assistant = [m for m in messages if isinstance(m, dict) and m.get("role", "assistant") == "assistant"]
    return "".join(_content_text(m.get("content")) for m in (assistant or messages) if isinstance(m, dict))


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    # Multimodal content: a list of parts such as {"type": "text", "text": "..."}.
    parts = [p for p in content if isinstance(p, dict) and p.get("type", "text") == "text"]
    return "".join(p.get("text", "") for p in parts)


# ----------------------------------------------------------------------------------------------------
# Numbers, spans, text


_NUMBER_WORDS = {w: i for i, w in enumerate(NUMBER_WORDS)}
_NUM = re.compile(r"[-+\u2212]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[-+\u2212]?\.\d+")


def parse_number(text: str | None) -> float | None:
    """The first number in ``text``: signs (also U+2212), thousands commas, unit words, number words."""
    if not text:
        return None
    m = _NUM.search(text)
    if m:
        s = m.group(0).replace(",", "").replace("\u2212", "-")
        try:
            return float(s)
        except ValueError:
            return None
    for word in re.findall(r"[a-z]+", text.lower()):
        if word in _NUMBER_WORDS:
            return float(_NUMBER_WORDS[word])
    return None


_TIME = rf"(?:\d+:)?(?:\d+:)?{DECIMAL}"
_SPAN_BRACKET = re.compile(rf"[\[(]\s*({_TIME})\s*s?\s*[,;]\s*({_TIME})\s*s?\s*[\])]")
_SPAN_RANGE = re.compile(
    rf"({_TIME})\s*(?:s|sec|secs|seconds?)?\s*(?:-|\u2013|\u2014|to|until|and|,)\s*({_TIME})", re.IGNORECASE
)


def _seconds(token: str) -> float:
    """'12.5' → 12.5, '1:02.5' → 62.5, '1:00:02' → 3602."""
    total = 0.0
    for part in token.split(":"):
        total = total * 60 + float(part)
    return total


def parse_span(text: str | None) -> tuple[float, float] | None:
    """A time span in seconds from ``"[s, e]"``, ``"s-e"`` or ``"s to e"`` (``m:ss`` too), sorted; else None.

    Times are non-negative on a video's timeline, so a ``-`` between numbers is a range separator.
    """
    if not text:
        return None
    m = _SPAN_BRACKET.search(text) or _SPAN_RANGE.search(text)
    if not m:
        return None
    a, b = _seconds(m.group(1)), _seconds(m.group(2))
    return (a, b) if a <= b else (b, a)


def temporal_iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Intersection over union of two time spans (reversed spans are normalised); 0 for empty unions."""
    a0, a1 = sorted(a)
    b0, b1 = sorted(b)
    inter = max(0.0, min(a1, b1) - max(a0, b0))
    union = max(a1, b1) - min(a0, b0)
    if union <= 0:
        return 1.0 if (a0, a1) == (b0, b1) else 0.0
    return inter / union


def token_f1(predicted: str, truth: str) -> float:
    """SQuAD-style token F1 (lower case, no punctuation, no articles)."""
    p, t = plain_words(predicted, True), plain_words(truth, True)
    if not p or not t:
        return float(p == t)
    common = sum((Counter(p) & Counter(t)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(t)
    return 2 * precision * recall / (precision + recall)


# ----------------------------------------------------------------------------------------------------
# Per-type answer scores

_OPTION = re.compile(r"^\s*([A-Za-z])\s*[.):]\s*(.*)$", re.DOTALL)
_BARE_LETTER = re.compile(r"^\(?\s*([A-Za-z])\s*\)?\s*[.):]?$")
_LETTER_THEN_TEXT = re.compile(r"^\(?\s*([A-Za-z])\s*[.):]\s+\S", re.DOTALL)


def _option_map(options: Iterable[str] | None) -> dict[str, str]:
    """{"A": "red", ...} from ["A. red", ...]; bare options are lettered in order."""
    out: dict[str, str] = {}
    for i, opt in enumerate(list(options) if options is not None else []):
        m = _OPTION.match(str(opt))
        if m:
            out[m.group(1).upper()] = m.group(2).strip()
        elif i < len(string.ascii_uppercase):
            out[string.ascii_uppercase[i]] = str(opt).strip()
    return out


def choice_letter(predicted: str, options: Iterable[str] | None = None) -> str | None:
    """The option letter a prediction names: ``B``, ``(B)``, ``B.``, ``B) blue`` or the option's text."""
    text = predicted.strip()
    m = _BARE_LETTER.match(text) or _LETTER_THEN_TEXT.match(text)
    if m:
        return m.group(1).upper()
    for letter, body in _option_map(options).items():
        if _same_text(text, body):
            return letter
    return None


def _same_text(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and plain_words(a) == plain_words(b) and bool(b.strip())


def ordering_items(text: str | None) -> list[int] | None:
    """Shot numbers in order from ``"3, 1, 2"`` (also ``"3 1 2"``, ``"3 -> 1 -> 2"``); None if none."""
    if not text:
        return None
    items = [int(x) for x in re.findall(r"\d+", text)]
    return items or None


def kendall_tau(predicted: Sequence[int], truth: Sequence[int]) -> float | None:
    """Kendall tau between two orderings of the same items; None unless they are permutations."""
    if len(predicted) != len(truth) or sorted(predicted) != sorted(truth) or len(set(truth)) != len(truth):
        return None
    n = len(truth)
    if n < 2:
        return 1.0
    rank = {item: i for i, item in enumerate(predicted)}
    pos = [rank[item] for item in truth]
    concordant = sum(1 for i in range(n) for j in range(i + 1, n) if pos[i] < pos[j])
    pairs = n * (n - 1) // 2
    return (2 * concordant - pairs) / pairs


def parse_boxes(text: str | None) -> list[dict[str, float]] | None:
    """Boxes from a JSON list (or single object) of {time, x1, y1, x2, y2}; None when unparseable."""
    if not text:
        return None
    m = re.search(r"[\[{].*[\]}]", text, re.DOTALL)
    if not m:
        return None
    try:
        data = json.loads(m.group(0))
    except json.JSONDecodeError:
        return None
    if isinstance(data, dict):
        data = [data]
    boxes = []
    for b in data if isinstance(data, list) else []:
        try:
            boxes.append({k: float(b[k]) for k in ("time", "x1", "y1", "x2", "y2")})
        except (KeyError, TypeError, ValueError):
            return None
    return boxes or None



def spatio_temporal_iou(predicted: list[dict[str, float]], truth: list[dict[str, float]], time_tol: float) -> float:
    """Sum of box IoU over matched times / number of distinct times in either list (greedy nearest match)."""
    unmatched = list(range(len(predicted)))
    total, matched = 0.0, 0
    for t in sorted(truth, key=lambda b: b["time"]):
        best = min(unmatched, key=lambda i: abs(predicted[i]["time"] - t["time"]), default=None)
        if best is not None and abs(predicted[best]["time"] - t["time"]) <= time_tol:
            unmatched.remove(best)
            total += box_iou(predicted[best], t)
            matched += 1
    union = len(truth) + len(predicted) - matched
    return total / union if union else 0.0


@dataclass
class AnswerConfig:
    """Tolerances of the per-type answer scores."""

    numeric_rel_tol: float = 0.01
    numeric_abs_tol: float = 1e-6
    box_time_tol: float = 0.5

    def __post_init__(self) -> None:
        for name in ("numeric_rel_tol", "numeric_abs_tol", "box_time_tol"):
            value = getattr(self, name)
            if not value >= 0:  # also NaN
                raise ValueError(f"{name} must be >= 0 (got {value})")


def answer_score(
    predicted: str | None,
    solution: str,
    problem_type: str,
    options: Sequence[str] | None = None,
    config: AnswerConfig | None = None,
) -> float:
    """Score a predicted answer against the solution for its problem type, in [0, 1] (see the module doc)."""
    if predicted is None:
        return 0.0
    cfg = config or AnswerConfig()
    predicted, solution = str(predicted), str(solution)
    if problem_type == "multiple choice":
        truth = choice_letter(solution, options) or solution.strip().upper()
        return float(choice_letter(predicted, options) == truth)
    if problem_type == "numerical":
        p, t = parse_number(predicted), parse_number(solution)
        if p is None or t is None:
            return 0.0
        return float(math.isclose(p, t, rel_tol=cfg.numeric_rel_tol, abs_tol=cfg.numeric_abs_tol))
    if problem_type == "OCR":
        return max(0.0, 1.0 - word_error_rate(solution, predicted))
    if problem_type == "free-form":
        return token_f1(predicted, solution)
    if problem_type == "regression":
        p, t = parse_number(predicted), parse_number(solution)
        if p is None or t is None:
            return 0.0
        err = abs(p - t) / abs(t) if t != 0 else abs(p - t)
        return 1.0 - min(1.0, err)
    if problem_type == "span":
        ps, ts = parse_span(predicted), parse_span(solution)
        return temporal_iou(ps, ts) if ps and ts else 0.0
    if problem_type == "ordering":
        po, to = ordering_items(predicted), ordering_items(solution)
        if not po or not to:
            return 0.0
        if po == to:
            return 1.0
        tau = kendall_tau(po, to)
        return max(0.0, tau) if tau is not None else 0.0
    if problem_type == "box":
        pb, tb = parse_boxes(predicted), parse_boxes(solution)
        return spatio_temporal_iou(pb, tb, cfg.box_time_tol) if pb and tb else 0.0
    raise ValueError(f"unknown problem_type {problem_type!r}; expected one of {', '.join(PROBLEM_TYPES)}")


# ----------------------------------------------------------------------------------------------------
# TRL reward functions


@dataclass
class TiouConfig:
    """Shaping of the temporal-IoU reward.

    reward = IoU + ``bonus`` for each threshold in ``thresholds`` that IoU reaches − length penalty, where the
    penalty is ``length_coef × min(1, (ratio − max_ratio) / max_ratio)`` once the predicted span is more than
    ``max_ratio`` times as long as the truth (so covering the whole video to catch the truth does not pay).
    Range: [−length_coef, 1 + bonus × len(thresholds)].
    """

    thresholds: tuple[float, ...] = (0.3, 0.5, 0.7)
    bonus: float = 0.1
    max_ratio: float = 2.0
    length_coef: float = 0.5


@dataclass
class LengthConfig:
    """Penalty on the completion's length in characters: 0 up to ``soft``, linearly down to −1 at ``hard``."""

    soft: int = 1200
    hard: int = 2400


def _rows_of_type(
    ptype: str,
    score: Callable[[str | None, str], float],
    completions: Sequence[Any],
    solution: Sequence[str],
    problem_type: Sequence[str],
) -> list[float]:
    """``score(answer, solution)`` for the rows of problem type ``ptype``; 0.0 for the other rows."""
    return [
        score(parse_completion(completion_text(c)).answer, s) if pt == ptype else 0.0
        for c, s, pt in zip(completions, solution, problem_type, strict=True)
    ]


def format_reward(completions: Sequence[Any], **kw: Any) -> list[float]:
    """1.0 for a well-formed ``<think>…</think><answer>…</answer>`` completion, else 0.0."""
    return [float(parse_completion(completion_text(c)).well_formed) for c in completions]


def accuracy_reward(
    completions: Sequence[Any],
    solution: Sequence[str],
    problem_type: Sequence[str],
    options: Sequence[Sequence[str] | None] | None = None,
    config: AnswerConfig | None = None,
    **kw: Any,
) -> list[float]:
    """``answer_score`` of each completion's ``<answer>`` against its row's solution (0 without an answer)."""
    opts = list(options) if options is not None else [None] * len(completions)
    return [
        answer_score(parse_completion(completion_text(c)).answer, s, pt, o, config)
        for c, s, pt, o in zip(completions, solution, problem_type, opts, strict=True)
    ]


def tiou_reward(
    completions: Sequence[Any],
    solution: Sequence[str],
    problem_type: Sequence[str],
    config: TiouConfig | None = None,
    **kw: Any,
) -> list[float]:
    """Shaped temporal IoU for ``span`` rows (see ``TiouConfig``); 0.0 for other problem types, bad spans."""
    cfg = config or TiouConfig()

    def shaped(answer: str | None, s: str) -> float:
        pred, truth = parse_span(answer), parse_span(s)
        if pred is None or truth is None:
            return 0.0
        iou = temporal_iou(pred, truth)
        reward = iou + cfg.bonus * sum(iou >= t for t in cfg.thresholds)
        true_len, pred_len = truth[1] - truth[0], pred[1] - pred[0]
        ratio = pred_len / true_len if true_len > 0 else (math.inf if pred_len > 0 else 1.0)
        if ratio > cfg.max_ratio:
            reward -= cfg.length_coef * min(1.0, (ratio - cfg.max_ratio) / cfg.max_ratio)
        return reward

    return _rows_of_type("span", shaped, completions, solution, problem_type)


def length_penalty(completions: Sequence[Any], config: LengthConfig | None = None, **kw: Any) -> list[float]:
    """0 for completions up to ``soft`` characters, linearly down to −1 at ``hard`` and beyond."""
    cfg = config or LengthConfig()
    out = []
    for c in completions:
        n = len(completion_text(c))
        out.append(-min(1.0, max(0.0, (n - cfg.soft) / max(1, cfg.hard - cfg.soft))))
    return out


def ordering_reward(
    completions: Sequence[Any], solution: Sequence[str], problem_type: Sequence[str], **kw: Any
) -> list[float]:
    """Dense ordering reward (1 + Kendall tau) / 2 for ``ordering`` rows: 1 exact, 0.5 no better than random,
    0 reversed or not a permutation of the true shots. 0.0 for other problem types."""

    def dense(answer: str | None, s: str) -> float:
        po, to = ordering_items(answer), ordering_items(s)
        tau = kendall_tau(po, to) if po and to else None
        return (1.0 + tau) / 2 if tau is not None else 0.0

    return _rows_of_type("ordering", dense, completions, solution, problem_type)


@dataclass
class CitationRewardConfig:
    """Citation reward: the share of a completion's citations that are valid against the text view it was given
    (``trainers.citations.check_text_view_citations``); ``tol`` seconds of slack for keyframes and quotes."""

    tol: float = 0.5


@dataclass
class BudgetRewardConfig:
    """Viewing-budget reward (see ``budget_reward``)."""

    bonus: float = 0.5
    repeat_penalty: float = 0.1
    max_repeats: int = 5
    correct_threshold: float = 0.5


def _prompt_text(prompt: Any) -> str:
    """The user text of a prompt given as a string or a chat message list."""
    if prompt is None:
        return ""
    if isinstance(prompt, str):
        return prompt
    return "\n".join(
        _content_text(m.get("content")) for m in prompt if isinstance(m, dict) and m.get("role", "user") == "user"
    )


def citation_reward(
    completions: Sequence[Any],
    prompts: Sequence[Any] | None = None,
    config: CitationRewardConfig | None = None,
    **kw: Any,
) -> list[float]:
    """Valid / checked citations of each completion's think, against the text view in its prompt: cited times
    in the video, keyframe ids listed in the cited shot, quoted speech in the transcript at the cited time
    (``trainers.citations``). 0.0 for a completion that cites nothing, has no think, or has no prompt."""
    cfg = config or CitationRewardConfig()
    ps = list(prompts) if prompts is not None else [None] * len(completions)
    out = []
    for c, p in zip(completions, ps, strict=True):
        think, view = parse_completion(completion_text(c)).think, _prompt_text(p)
        out.append(check_text_view_citations(think, view, cfg.tol).accuracy if think and view else 0.0)
    return out


def budget_reward(
    completions: Sequence[Any],
    solution: Sequence[str],
    problem_type: Sequence[str],
    options: Sequence[Sequence[str] | None] | None = None,
    prompts: Sequence[Any] | None = None,
    config: BudgetRewardConfig | None = None,
    answer: AnswerConfig | None = None,
    **kw: Any,
) -> list[float]:
    """Reward correct answers that look at less of the video; penalise looking at the same shot again.

    The shots a completion views are those its sentences cite (by time or keyframe id) among the shots of the
    text view in its prompt; a sentence is one viewing of each shot it cites. With n shots in the view, d distinct
    shots viewed and v viewings: ``bonus × (1 − d / n)`` when the answer's score reaches ``correct_threshold``
    and d ≥ 1 (citing nothing earns nothing), minus ``repeat_penalty × min(v − d, max_repeats)``.
    """
    cfg = config or BudgetRewardConfig()
    ps = list(prompts) if prompts is not None else [None] * len(completions)
    opts = list(options) if options is not None else [None] * len(completions)
    out = []
    for c, s, pt, o, p in zip(completions, solution, problem_type, opts, ps, strict=True):
        parsed = parse_completion(completion_text(c))
        view = _prompt_text(p)
        n = len(parse_text_view(view).shots) if view else 0
        if not parsed.think or n == 0:
            out.append(0.0)
            continue
        viewings = cited_shots(parsed.think, view)
        distinct = set().union(*viewings) if viewings else set()
        repeats = sum(len(v) for v in viewings) - len(distinct)
        correct = answer_score(parsed.answer, s, pt, o, answer) >= cfg.correct_threshold
        reward = cfg.bonus * (1.0 - len(distinct) / n) if correct and distinct else 0.0
        out.append(reward - cfg.repeat_penalty * min(repeats, cfg.max_repeats))
    return out


RewardFunc = Callable[..., list[float]]

REWARDS: dict[str, RewardFunc] = {
    "format": format_reward,
    "accuracy": accuracy_reward,
    "tiou": tiou_reward,
    "ordering": ordering_reward,
    "length": length_penalty,
    "citation": citation_reward,
    "budget": budget_reward,
}

DEFAULT_WEIGHTS: dict[str, float] = {
    "format": 0.5,
    "accuracy": 1.0,
    "tiou": 0.5,
    "ordering": 0.0,
    "length": 0.1,
    "citation": 0.0,  # off by default; e.g. 0.2 rewards evidence-bound reasoning
    "budget": 0.0,  # off by default; e.g. 0.1 for long videos
}


@dataclass
class RewardConfig:
    """Which rewards to use, their weights and coefficients. Rewards with weight 0 are left out."""

    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    answer: AnswerConfig = field(default_factory=AnswerConfig)
    tiou: TiouConfig = field(default_factory=TiouConfig)
    length: LengthConfig = field(default_factory=LengthConfig)
    citation: CitationRewardConfig = field(default_factory=CitationRewardConfig)
    budget: BudgetRewardConfig = field(default_factory=BudgetRewardConfig)

    def __post_init__(self) -> None:
        unknown = set(self.weights) - set(REWARDS)
        if unknown:
            raise ValueError(f"rewards.weights: unknown reward(s) {sorted(unknown)}; known {sorted(REWARDS)}")
        negative = {k: w for k, w in self.weights.items() if not 0 <= w < math.inf}
        if negative:
            raise ValueError(f"rewards.weights must be finite and >= 0 (got {negative})")


def build_rewards(config: RewardConfig | None = None) -> tuple[list[RewardFunc], list[float]]:
    """Reward functions bound to ``config`` and their weights.

    Ready for ``GRPOTrainer(reward_funcs=...)`` and ``GRPOConfig(reward_weights=...)``. Each is a
    ``functools.partial`` of a function above (picklable; TRL logs it under the function's name).
    """
    cfg = config or RewardConfig()
    bound: dict[str, Any] = {"accuracy": cfg.answer, "tiou": cfg.tiou, "length": cfg.length, "citation": cfg.citation}
    funcs: list[RewardFunc] = []
    weights = []
    for name, weight in cfg.weights.items():
        if weight == 0:
            continue
        func = REWARDS[name]
        if name == "budget":
            funcs.append(functools.partial(func, config=cfg.budget, answer=cfg.answer))
        else:
            funcs.append(functools.partial(func, config=bound[name]) if name in bound else func)
        weights.append(float(weight))
    return funcs, weights


def score_completion(
    text: str,
    solution: str,
    problem_type: str,
    options: Sequence[str] | None = None,
    config: RewardConfig | None = None,
    prompt: Any = None,
) -> dict[str, float]:
    """Every registered reward for one completion, by name, plus ``total`` (their weighted sum). The citation
    and budget rewards need the ``prompt`` (its text view); without it they are 0."""
    cfg = config or RewardConfig()
    every = RewardConfig(dict.fromkeys(REWARDS, 1.0), cfg.answer, cfg.tiou, cfg.length, cfg.citation, cfg.budget)
    funcs, _ = build_rewards(every)
    cols = {"solution": [solution], "problem_type": [problem_type], "options": [options], "prompts": [prompt]}
    scores = {name: f([text], **cols)[0] for name, f in zip(every.weights, funcs, strict=True)}
    scores["total"] = sum(cfg.weights.get(name, 0.0) * v for name, v in scores.items())
    return scores
