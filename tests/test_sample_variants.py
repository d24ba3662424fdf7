"""Varied generated clips (`vidcot samples --variants N --seed S`): their sidecars are exact, a seed fixes them."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

from curation.samples import build_variants, load_sidecar


def probe(path: Path) -> dict:
    cmd = ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)]
    return json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_variants_match_their_sidecars_and_a_seed_fixes_them(tmp_path: Path) -> None:
    made = build_variants(tmp_path / "a", 4, seed=5)
    assert [s.file for s in made] == [f"v5_{i:03d}.mp4" for i in range(4)]
    for sc in made:
        media = tmp_path / "a" / sc.file
        info = probe(media)
        assert abs(float(info["format"]["duration"]) - sc.duration) <= 0.05, sc.file
        assert ("audio" in {s["codec_type"] for s in info["streams"]}) == sc.has_audio == bool(sc.speech)
        shots = [0.0, *sc.cuts, sc.duration]
        assert 1 <= len(sc.cuts) <= 3 and shots == sorted(shots)
        for span in sc.speech:  # each line is spoken within its own shot
            shot = max(i for i, t in enumerate(shots[:-1]) if t <= span.start)
            assert shots[shot] < span.start < span.end <= shots[shot + 1], sc.file
        for box in sc.shapes:
            assert box["start"] in shots and box["end"] in shots and box["x"] + box["w"] <= 640
        assert load_sidecar(media) == sc
    again = build_variants(tmp_path / "b", 2, seed=5)
    assert [digest(tmp_path / "b" / s.file) for s in again] == [digest(tmp_path / "a" / s.file) for s in made[:2]]
    other = build_variants(tmp_path / "c", 4, seed=6)
    assert {digest(tmp_path / "c" / s.file) for s in other}.isdisjoint(digest(tmp_path / "a" / s.file) for s in made)
    assert len({s.notes for s in made + other}) > 4  # the seeds give different shot contents
