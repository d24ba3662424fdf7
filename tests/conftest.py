"""Shared fixtures: the sample media (built once per machine into the vidcot cache) and a scratch dataset."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """All sample media with sidecars; generated deterministically, so a cached copy is as good as new."""
    from curation.llm.embedded import cache_root
    from curation.samples import build_samples

    out = cache_root() / "samples"
    build_samples(out)
    return out


@pytest.fixture
def dataset_dir(tmp_path: Path) -> Path:
    return tmp_path / "ds"
