"""Visual evidence per keyframe behind one backend interface: classic offline vision, or a vision-language model."""

from curation.evidence.stage import EvidenceConfig, EvidenceStage

__all__ = ["EvidenceConfig", "EvidenceStage"]
