"""Step check: a chain for a compositional task states every step of the task's program trace, in order, each on
its own evidence (`schemas.TraceStep`, written by `curation.tasks.compose_*`).

A step is stated by a reasoning sentence that names the step's output (the phrase found, "shot 2", the object
seen, the count, the option's text), is negated exactly when the step found an absence ("shows no car"), and cites —
itself, or by the last range cited before it — only times within `relevance_tol_s` of the rows the step read.
Steps are looked for in order, each in the sentence that stated the
step before it or a later one: so a step's output is taken up only after the step that gave it. A stated step
must hold: every object, count, colour, text or quote its sentence claims is supported by the evidence of the range
it refers to (`trainers.claims`; the consistency check alone passes what the evidence is merely silent on, but a
step of a program that the evidence does not show is a wrong step).

=============  ==================================================================================================
reason         rejects a chain when
=============  ==================================================================================================
skipped_step   no sentence names a step's output
unlinked_step  the sentences naming it cite other evidence than the step read, or come before the step it follows
wrong_step     (view) the sentence stating it claims something the evidence of its range does not show
=============  ==================================================================================================
"""

from __future__ import annotations

import re

from curation.checks.analysis import Sentence, mentions, reasoning, sentences
from curation.checks.base import SKIP, Chain, Check, Verdict
from schemas import TraceStep, VideoView
from trainers.claims import _POINT, _SPAN, BOX_CITE, KEYFRAME_CITE, Claim, ClaimChecker, is_negated, split_sentences
from trainers.textview import fmt_time
from trainers.vocab import NUMBER_WORDS


def _prose(text: str) -> str:
    """A sentence without its citations (quotes kept: a phrase found is a step's output)."""
    return _POINT.sub(" ", _SPAN.sub(" ", KEYFRAME_CITE.sub(" ", BOX_CITE.sub(" ", text))))


def names(sentence: Sentence, output: str) -> bool:
    """Whether the sentence names a step's output (a count in digits or in words)."""
    prose = _prose(sentence.text)
    if output.isdigit():
        n = int(output)
        spelled = [output] + ([NUMBER_WORDS[n]] if n < len(NUMBER_WORDS) else [])
        return any(re.search(rf"\b{w}\b", prose, re.IGNORECASE) for w in spelled)
    return mentions(prose, output)


# Steps whose output is an absence ("shot 2's keyframes show no car"): stated only by a negated sentence.
NEGATED_OPS = frozenset({"not_before", "shot_lacks", "next_lacks", "never_shown"})


def on_evidence(sentence: Sentence, step: TraceStep, tol: float) -> bool:
    """Whether everything the sentence cites (or, when it cites nothing, the last range cited before it) lies
    within `tol` of the step's rows: a sentence that also cites other times (a summary over the whole video) does
    not state this one step."""
    ranges = sentence.ranges or ([sentence.current] if sentence.current else [])
    return bool(ranges) and all(step.start - tol <= a and b <= step.end + tol for a, b in ranges)


def states(sentence: Sentence, step: TraceStep, tol: float) -> bool:
    """Whether the sentence states the step: names its output, on its evidence, negated exactly when the step's
    output is an absence."""
    negated = is_negated(_prose(sentence.text))
    return negated == (step.op in NEGATED_OPS) and on_evidence(sentence, step, tol)


def unsupported_claims(think: str, view: VideoView, tol: float) -> list[list[Claim]]:
    """Per reasoning sentence (as `curation.checks.analysis.sentences` splits them), its unsupported content claims."""
    checker = ClaimChecker(view, tol, tol)
    current = (0.0, view.duration)
    out = []
    for text in split_sentences(reasoning(think)):
        claims, current = checker.sentence(text, current)
        out.append([c for c in claims if not c.supported and c.kind != "time"])
    return out


def step_problem(think: str, trace: list[TraceStep], view: VideoView | None, tol: float) -> tuple[str, str] | None:
    """(reason, detail) for the first step of `trace` the think text does not state in order on its evidence
    (see the module docstring), or None when it states them all."""
    said = sentences(think, view)
    wrong = unsupported_claims(think, view, tol) if view is not None else [[] for _ in said]
    at = 0
    for k, step in enumerate(trace, start=1):
        what = f"step {k} ({step.op}: {step.output!r} at [{fmt_time(step.start)}–{fmt_time(step.end)}s])"
        named = [i for i, s in enumerate(said) if names(s, step.output)]
        if not named:
            return "skipped_step", f"{what} is never stated"
        hit = next((i for i in named if i >= at and states(said[i], step, tol)), None)
        if hit is None:
            where = "before the step it follows" if all(i < at for i in named) else "without citing its evidence"
            return "unlinked_step", f"{what} is stated {where}"
        if wrong[hit]:
            return "wrong_step", f"{what}: {wrong[hit][0].describe()}"
        at = hit
    return None


class StepsCheck(Check):
    """A compositional task's chain states every step of its program trace in order, each on its evidence; skips
    tasks without a trace."""

    name = "steps"
    reasons = ("skipped_step", "unlinked_step", "wrong_step")

    def judge(self, chain: Chain) -> Verdict:
        trace = chain.task.trace
        if not trace:
            return SKIP
        found = step_problem(chain.think, trace, chain.view, self.config.relevance_tol_s)
        return None if found is None else self.fail(found[1], found[0])
