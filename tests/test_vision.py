"""Keyframes as image inputs: a vision-language policy trains (SFT, GRPO) and is evaluated with frames from `frames`.

The VLM is the LLaVA-shaped stand-in of tests/vlm_standin.py (SmolLM2-135M language model, tiny vision tower): a
real model and processor loaded by path, as a Qwen2.5-VL or SmolVLM directory would be.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from schemas import FrameRecord, Provenance
from schemas.store import DatasetWriter
from tests.vlm_standin import build_tiny_vlm
from trainers.config import EvalSettings, GrpoSettings, SftSettings
from trainers.data import load_rl, load_sft
from trainers.embedded import cache_root
from trainers.evaluate import evaluate, with_image_parts
from trainers.grpo import train_grpo
from trainers.sft import train_sft
from trainers.synthetic import build_pool
from trainers.textview import spread
from trainers.vision import KeyframeImages, is_vision_model

pytestmark = pytest.mark.slow
COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]  # keyframes at 0 s, 1 s, 2 s of every video
PROV = Provenance(stage="shots", config_hash="test", package_version="0")


def _jpeg(rgb: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (48, 32), rgb).save(buf, format="JPEG", quality=95)
    return buf.getvalue()


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny synthetic pool whose videos each have three solid-colour keyframes (listed out of time order)."""
    root = tmp_path_factory.mktemp("vision") / "pool"
    build_pool(root, videos=2, test_fraction=0.5, seed=7)
    from schemas.store.query import connect

    videos = [r[0] for r in connect(root).execute("SELECT DISTINCT video_id FROM sft ORDER BY 1").fetchall()]
    frames = [
        FrameRecord(vid, f"{vid}-f{i}", f"{vid}-s0", float(i), 48, 32, _jpeg(COLOURS[i]), "0" * 16, PROV)
        for vid in videos
        for i in (2, 0, 1)
    ]
    with DatasetWriter(root) as w:
        w.append("frames", frames)
        w.commit(config={"test": "frames"})
    return root


@pytest.fixture(scope="module")
def vlm() -> Path:
    return build_tiny_vlm(cache_root() / "test-models" / "tiny-llava")


def _colour(img: Image.Image) -> tuple[int, ...]:
    return tuple(round(c / 255) * 255 for c in img.getpixel((24, 16)))


def test_spread_keeps_ends_and_order():
    assert spread(list(range(10)), 3) == [0, 4, 9] and spread([1, 2], 5) == [1, 2]
    assert spread([1, 2, 3], 1) == [2] and spread([1, 2, 3], 0) == []


def test_rows_get_keyframes_in_time_order(pool: Path):
    train = load_sft(pool, "train", images=2)
    assert len(train) > 0
    for row in train:
        assert [_colour(i) for i in row["images"]] == [COLOURS[0], COLOURS[2]]  # first and last by time
    rl = load_rl(pool, "test", images=3)
    assert [_colour(i) for i in rl[0]["images"]] == COLOURS
    assert "images" not in load_sft(pool, "train").column_names  # text-only models get no images
    frames = KeyframeImages(pool, 4)
    vid = rl[0]["video_id"]
    assert [_colour(i) for i in frames.for_row(vid, [f"{vid}-f1"])] == [COLOURS[1]]  # the row's own keyframes
    assert frames.for_row("no-such-video") == []


def test_image_parts_go_before_the_user_text():
    prompt = [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}]
    got = with_image_parts(prompt, 2)
    assert got[0] == prompt[0]
    assert got[1]["content"] == [{"type": "image"}, {"type": "image"}, {"type": "text", "text": "q"}]


def test_vlm_trains_on_keyframes_and_eval_feeds_them(pool: Path, vlm: Path, tmp_path: Path):
    assert is_vision_model(vlm) and not is_vision_model(pool)
    sft = SftSettings(model=str(vlm), max_steps=1, batch_size=2, images=2, threads=1, save_steps=1)
    record = train_sft(pool, tmp_path / "sft", sft)
    assert record["steps"] == 1 and record["train_loss"] > 0
    assert is_vision_model(Path(record["model"]))
    grpo = GrpoSettings(
        model=str(tmp_path / "sft"), max_steps=1, batch_size=2, num_generations=2, images=2, threads=1,
        max_completion_length=8,
    )  # fmt: skip
    g = train_grpo(pool, tmp_path / "grpo", grpo)
    assert g["steps"] == 1
    result = evaluate(str(tmp_path / "grpo"), pool, EvalSettings(limit=2, max_new_tokens=8, threads=1, images=3))
    assert result["images_per_item"] == 3
    cond = result["conditions"]["with_subtitles"]
    assert cond["items"] == 2 and 0.0 <= cond["format_rate"] <= 1.0 and cond["tokens_per_item"] > 0
