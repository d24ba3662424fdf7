"""Checks that the reasoning derives the answer: coherence, relevance, support and consistency.

The analysis is in `curation.checks.analysis` and `trainers.claims.contradictions` (shared with the
trainers); these objects give it reason codes and thresholds.
"""

from __future__ import annotations

from curation.checks.analysis import coherence, relevance, support
from curation.checks.base import Chain, Check, Verdict
from trainers.claims import contradictions


class CoherenceCheck(Check):
    """No repeated n-gram loop, no token salad (spaced colons between digits, clock runs, broken words), no
    truncated sentence."""

    name = "coherence"
    reasons = ("incoherent",)

    def judge(self, chain: Chain) -> Verdict:
        why = coherence(chain.think)
        return None if why is None else self.fail(why)


class RelevanceCheck(Check):
    """A question about a time range or a shot cites evidence inside it; (with the view) cited evidence overlaps
    the task's own evidence (its shots, keyframes, transcript segments)."""

    name = "relevance"
    reasons = ("irrelevant_evidence",)

    def judge(self, chain: Chain) -> Verdict:
        why = relevance(chain.think, chain.task, chain.view, self.config.relevance_tol_s)
        return None if why is None else self.fail(why)


class SupportCheck(Check):
    """The reasoning before "So the answer is" states the evidence that decides the chain's answer, per problem
    type (`curation.checks.analysis.support`)."""

    name = "support"
    reasons = ("unsupported_answer",)

    def judge(self, chain: Chain) -> Verdict:
        why = support(chain.think, chain.task, chain.answer, chain.view)
        return None if why is None else self.fail(why)


class ConsistencyCheck(Check):
    """(With the view.) Nothing claimed that the cited evidence contradicts: counts, colours, on-screen text,
    quoted speech, absences, times outside the video, shot numbers, the video's length and number of shots
    (`trainers.claims.contradictions`)."""

    name = "consistency"
    reasons = ("contradicted",)
    needs_view = True

    def judge(self, chain: Chain) -> Verdict:
        assert chain.view is not None
        tol = self.config.citation_tol_s
        found = contradictions(chain.think, chain.view, tol, tol)
        return None if not found else self.fail("; ".join(c.describe() for c in found[:3]))
