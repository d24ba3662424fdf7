"""The verifier's configuration: which checks run, in which order (default: every registered check, in the
registry's order), and their thresholds (`CheckThresholds`, what the checks themselves read)."""

from __future__ import annotations

from pydantic import Field, field_validator

from curation.checks.registry import CHECKS
from curation.checks.thresholds import CheckThresholds

# The order the verifier runs its checks in by default; the first failing one is the chain's reject reason.
DEFAULT_CHECKS: tuple[str, ...] = tuple(CHECKS)


class VerifyConfig(CheckThresholds):
    """Which checks run (`checks`, in order) and the thresholds of each (see `curation.checks`)."""

    checks: list[str] = Field(default_factory=lambda: list(DEFAULT_CHECKS), description="check names, in order")

    @field_validator("checks")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [c for c in value if c not in CHECKS]
        if unknown:
            raise ValueError(f"unknown check(s) {unknown}; known: {', '.join(CHECKS)}")
        if len(set(value)) != len(value):
            raise ValueError(f"a check is listed twice: {value}")
        return value
