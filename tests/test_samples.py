"""Each sample's sidecar matches the media: probed duration and stream presence."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from curation.samples import GENERATED, load_sidecar


def ffprobe(path: Path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


def test_sidecars_match_media(samples_dir: Path) -> None:
    media = sorted(p for p in samples_dir.iterdir() if not p.name.endswith(".json"))
    assert {m.name for m in media} >= set(GENERATED) | {"bikes.mp4", "Megamind.avi"}
    for m in media:
        truth = load_sidecar(m)
        info = ffprobe(m)
        kinds = {s["codec_type"] for s in info["streams"]}
        assert ("audio" in kinds) == truth.has_audio, m.name
        assert ("video" in kinds) == truth.has_video, m.name
        tol = 0.05 if truth.exact else 0.5
        assert abs(float(info["format"]["duration"]) - truth.duration) <= tol, m.name
        for span in truth.speech:
            assert 0 <= span.start < span.end <= truth.duration + 0.01 and span.text


def test_generation_is_deterministic(tmp_path: Path, samples_dir: Path) -> None:
    from curation.samples import build_samples

    build_samples(tmp_path, real=False)
    for name in ("cuts_narrated.mp4", "shapes.mp4"):
        assert (tmp_path / name).read_bytes() == (samples_dir / name).read_bytes(), name
