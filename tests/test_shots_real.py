"""shots on real footage, side by side with PySceneDetect's own command line on the same files.

The default detector must give the cuts that `scenedetect -i FILE detect-adaptive` gives at its defaults, within
one frame, on every real clip the project has and on a 65 s 720p clip built from them with cross-fades, a fade
through black, brightness flashes, lighting changes and camera-like motion (curation/footage.py). What
vidcot adds on top, fades, must be real gradual transitions; a cut that scenedetect places inside a cross-fade is
reported at the cross-fade's centre.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from curation.footage import HardClip, build_hard_clip, build_lighting_clip, real_clips, scenedetect_cuts
from curation.samples import assets_dir
from curation.shots import ShotsConfig, ShotsStage
from curation.transnet import weights_path
from trainers.embedded import cache_root

pytestmark = pytest.mark.slow

OPENCV_DATA = assets_dir() / "x" / "usr/share/doc/opencv-doc/examples/data"
FADE_TOLERANCE = 0.5  # seconds from a gradual transition's centre


@pytest.fixture(scope="module")
def hard_clip(samples_dir: Path) -> HardClip:
    if not (OPENCV_DATA / "vtest.avi").exists() or not (samples_dir / "Megamind.avi").exists():
        pytest.skip("the real clips need `make assets`")
    out = cache_root() / "hard_footage"
    out.mkdir(parents=True, exist_ok=True)
    return build_hard_clip(samples_dir, OPENCV_DATA, out / "hard720.mp4")


def ours(path: Path, **cfg: object) -> tuple[list[float], list[float], float]:
    """(cut times, fade times, one frame in seconds) from the shots stage."""
    stage = ShotsStage(ShotsConfig(**cfg))
    with_kind = stage.detect(str(path)).shots[1:]
    from curation.decode import FrameReader

    with FrameReader(path) as reader:
        frame = 1 / reader.fps
    return [s for s, _, k in with_kind if k == "cut"], [s for s, _, k in with_kind if k == "fade"], frame


def compare(path: Path, true_fades: list[float]) -> None:
    cli = scenedetect_cuts(path)
    cuts, fades, frame = ours(path)
    tol = frame + 1e-6
    for f in fades:
        assert any(abs(f - t) <= FADE_TOLERANCE for t in true_fades), f"{path.name}: fade at {f:.2f} is no fade"
    for c in cuts:
        assert any(abs(c - x) <= tol for x in cli), f"{path.name}: cut at {c:.2f} that scenedetect has not ({cli})"
    for x in cli:
        near_cut = any(abs(c - x) <= tol for c in cuts)
        in_fade = any(abs(f - x) <= 0.6 for f in fades)  # inside a 1 s cross-fade reported at its centre
        assert near_cut or in_fade, f"{path.name}: scenedetect's cut at {x:.2f} is missing ({cuts}, fades {fades})"
    # Where both report a cut, it is the same frame.
    same = [c for c in cuts if any(abs(c - x) < frame / 2 for x in cli)]
    assert len(same) == len(cuts), f"{path.name}: {cuts} vs {cli}"


def test_every_real_clip_matches_scenedetect(samples_dir: Path) -> None:
    clips = real_clips(samples_dir, OPENCV_DATA)
    if len(clips) < 4:
        pytest.skip("the real clips need `make assets`")
    for path in clips:
        compare(path, true_fades=[])


def test_hard_footage_matches_scenedetect(hard_clip: HardClip) -> None:
    compare(hard_clip.path, true_fades=[(a + b) / 2 for a, b in hard_clip.fades])


def test_lighting_changes_add_no_boundaries(samples_dir: Path, tmp_path: Path) -> None:
    """A brightening, a darkening that stays and a flash inside bikes.mp4's shots: the fade detectors add nothing,
    and the cuts are scenedetect's (which takes the flash's end for a cut, and so do we)."""
    if not (samples_dir / "bikes.mp4").exists():
        pytest.skip("bikes.mp4 needs `make setup`")
    path = build_lighting_clip(samples_dir, tmp_path / "lighting.mp4")
    cuts, fades, _ = ours(path)
    assert fades == []
    compare(path, true_fades=[])
    assert [round(c, 2) for c in cuts] == [1.2, 3.04, 5.48, 6.12, 7.48, 9.68]


def test_hard_footage_megamind_cuts_exact(hard_clip: HardClip) -> None:
    """Megamind.avi's own three cuts (film, MPEG-4 AVI) are found on the frame scenedetect finds them."""
    cuts, _, _ = ours(OPENCV_DATA / "Megamind.avi")
    assert [round(c, 2) for c in cuts] == [round(c, 2) for c in scenedetect_cuts(OPENCV_DATA / "Megamind.avi")]
    assert [round(c, 2) for c in cuts] == [4.13, 6.46, 8.38]


def test_transnetv2_on_real_clips(samples_dir: Path) -> None:
    if not weights_path().exists():
        pytest.skip("TransNetV2 weights need `make assets`")
    path = samples_dir / "bikes.mp4"
    cuts, fades, frame = ours(path, detector="transnetv2")
    cli = scenedetect_cuts(path)
    assert fades == []
    assert len(cuts) == len(cli) and all(abs(c - x) <= frame + 1e-6 for c, x in zip(cuts, cli, strict=True))
