"""Every check by name (the names `VerifyConfig.checks` lists)."""

from __future__ import annotations

from curation.checks.anchoring import AnchoringCheck
from curation.checks.base import Check
from curation.checks.basic import (
    AnswerCheck,
    CitationsCheck,
    FormatCheck,
    GroundingCheck,
    LanguageCheck,
    LengthCheck,
    NearDuplicateCheck,
    SelfConsistencyCheck,
)
from curation.checks.reasoning import CoherenceCheck, ConsistencyCheck, RelevanceCheck, SupportCheck
from curation.checks.steps import StepsCheck

CHECKS: dict[str, type[Check]] = {
    c.name: c
    for c in (
        FormatCheck,
        LengthCheck,
        LanguageCheck,
        AnswerCheck,
        CoherenceCheck,
        GroundingCheck,
        CitationsCheck,
        RelevanceCheck,
        SupportCheck,
        ConsistencyCheck,
        StepsCheck,
        AnchoringCheck,
        SelfConsistencyCheck,
        NearDuplicateCheck,
    )
}
REASONS: dict[str, str] = {reason: c.name for c in CHECKS.values() for reason in c.reasons}
