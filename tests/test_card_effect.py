"""The card's 'What this data does' section: the ablation result stored with a dataset, rendered as numbers."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.records import sample_records
from data_cards.card import build_card
from data_cards.effect import EFFECT_FILE
from schemas.store import DatasetWriter

ABLATION = {
    "heldout": {"items": 180, "videos": 30},
    "variants": {
        "a": {"what": "every drafted chain", "rows": 300,
              "eval": {"with_subtitles": {"accuracy": 0.31, "accuracy_ci95": [0.25, 0.38]},
                       "without_subtitles": {"accuracy": 0.27, "accuracy_ci95": [0.2, 0.33]}}},
        "b": {"what": "accepted chains", "rows": 120,
              "eval": {"with_subtitles": {"accuracy": 0.42, "accuracy_ci95": [0.35, 0.5]},
                       "without_subtitles": {"accuracy": 0.36, "accuracy_ci95": [0.29, 0.43]}}},
    },
    "b_minus_a": {"with_subtitles": {"mean": 0.11, "low": 0.04, "high": 0.18},
                  "without_subtitles": {"mean": 0.09, "low": -0.01, "high": 0.17}},
}  # fmt: skip


def _dataset(root: Path) -> Path:
    with DatasetWriter(root) as w:
        for table, rows in sample_records("a" * 64).items():
            w.append(table, rows)
        w.commit()
    return root


def test_card_reports_the_ablation_stored_with_the_dataset(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "ds")
    (root / EFFECT_FILE).write_text(json.dumps(ABLATION))
    text = build_card(root).path.read_text()
    section = text.split("## What this data does", 1)[1]
    assert "180 items from 30 videos" in section
    assert "| SFT on (a) every drafted chain, 300 rows | 0.31 [0.25, 0.38] | 0.27 [0.20, 0.33] |" in section
    assert "| SFT on (b) accepted chains, 120 rows | 0.42 [0.35, 0.50] | 0.36 [0.29, 0.43] |" in section
    assert "with subtitles +0.110 [+0.040, +0.180]; without +0.090 [-0.010, +0.170]" in section


def test_card_without_a_measurement_says_so_and_a_broken_file_is_ignored(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "ds")
    assert "Not measured for this dataset" in build_card(root).path.read_text()
    (root / EFFECT_FILE).write_text("{not json")
    assert "Not measured for this dataset" in build_card(root).path.read_text()
