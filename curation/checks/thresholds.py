"""The thresholds the checks read (`VerifyConfig` adds which checks run); below the checks, so a check's type
needs nothing above it."""

from __future__ import annotations

from pydantic import Field

from curation.stage import StageConfig
from trainers.rewards import AnswerConfig


class CheckThresholds(StageConfig):
    """Each check's thresholds (see `curation.checks`)."""

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
    relevance_tol_s: float = Field(0.5, ge=0.0, description="seconds a citation may lie outside the task's evidence")
    answer: AnswerConfig = Field(default_factory=AnswerConfig, description="set by the top-level `answer` section")
