"""Held-out clips: every word, narration line, background and colour comes from lists disjoint from training's."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from curation.samples import VOCABULARIES, build_variants, load_sidecar


def test_heldout_lists_share_nothing_with_training():
    train, held = VOCABULARIES["training"], VOCABULARIES["heldout"]
    for name in ("colours", "patterns", "words", "lines"):
        a, b = getattr(train, name), getattr(held, name)
        assert len(b) == len(set(b)) >= 4 and not {x.lower() for x in a} & {x.lower() for x in b}, name
    assert held.light <= set(held.colours)
    train_words = {w for line in train.lines for w in line.lower().strip(".").split()}
    assert not {w.lower() for w in held.words} & train_words  # no on-screen word is said in training narration


def test_ffmpeg_knows_every_heldout_background(tmp_path: Path):
    for c in VOCABULARIES["heldout"].colours:
        src = f"color=c={c}:size=16x16:duration=0.04"
        subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", src, "-f", "null", "-"], check=True)
    for p in VOCABULARIES["heldout"].patterns:
        subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"{p}=size=64x64:duration=0.04", "-f", "null",
                        "-"], check=True)  # fmt: skip


def test_heldout_clips_use_only_heldout_words_and_lines(tmp_path: Path):
    made = build_variants(tmp_path, 3, seed=11, vocabulary="heldout")
    held, train = VOCABULARIES["heldout"], VOCABULARIES["training"]
    assert [m.file for m in made] == ["h11_000.mp4", "h11_001.mp4", "h11_002.mp4"]
    for sc in made:
        assert {t.text for t in sc.onscreen_text} <= set(held.words)
        assert {s.text for s in sc.speech} <= set(held.lines) and not {s.text for s in sc.speech} & set(train.lines)
        assert load_sidecar(tmp_path / sc.file).duration == sc.duration
    with pytest.raises(ValueError, match="unknown vocabulary"):
        build_variants(tmp_path, 1, vocabulary="test")
