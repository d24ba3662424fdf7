"""Inputs that cannot be opened — a FIFO, a link loop, a dangling link, a path longer than the OS allows, a device,
a raw H.264 stream — are each kept as an input and rejected by probe with a reason code and a truthful detail:
never a crash of the run, never a silent skip."""

from __future__ import annotations

import os
from pathlib import Path

import av
import numpy as np
import pytest

from curation.probe import ProbeConfig, ProbeStage
from flows.inputs import expand_inputs

EXTS = (".mp4", ".h264")


def _too_long(root: Path) -> Path:
    """A file under nested folders whose full path is longer than PATH_MAX (each folder name is fine)."""
    name = "d" * 200
    fd = os.open(root, os.O_RDONLY)
    parts = []
    for _ in range(25):
        os.mkdir(name, dir_fd=fd)
        nxt = os.open(name, os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = nxt
        parts.append(name)
    with open(os.open("deep.mp4", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "wb") as fh:
        fh.write(b"\0" * 100)
    os.close(fd)
    return root.joinpath(*parts, "deep.mp4")


def _raw_h264(path: Path) -> None:
    out = av.open(str(path), "w", format="h264")
    s = out.add_stream("libx264", rate=10)
    s.width = s.height = 64
    s.pix_fmt = "yuv420p"
    for i in range(20):
        for p in s.encode(av.VideoFrame.from_ndarray(np.full((64, 64, 3), i * 8, np.uint8), format="rgb24")):
            out.mux(p)
    for p in s.encode():
        out.mux(p)
    out.close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "in"
    root.mkdir()
    os.mkfifo(root / "fifo.mp4")
    os.symlink("loop.mp4", root / "loop.mp4")
    os.symlink("nowhere.mp4", root / "dangling.mp4")
    _raw_h264(root / "raw.h264")
    _too_long(root)
    return root


def test_nothing_in_a_folder_is_skipped_and_nothing_crashes(folder: Path) -> None:
    found = expand_inputs([folder], EXTS)
    names = sorted(p.name for p in found)
    assert names == ["dangling.mp4", "dd" * 100, "fifo.mp4", "loop.mp4", "raw.h264"] or names == sorted(
        ["dangling.mp4", "deep.mp4", "fifo.mp4", "loop.mp4", "raw.h264"]
    )
    stage = ProbeStage(ProbeConfig())
    reasons = {}
    for p in found:
        try:
            ProbeStage.item_key(p)  # curate turns an OSError here into an `unreadable` reject
        except OSError as e:
            reasons[p.name] = ("unreadable", str(e))
            continue
        out = stage.process(p)
        reasons[p.name] = (out.reason, out.detail)  # type: ignore[union-attr]
    assert reasons["fifo.mp4"] == ("unreadable", "a FIFO (named pipe), not a regular file")
    assert reasons["loop.mp4"][0] == "unreadable" and "Too many levels of symbolic links" in reasons["loop.mp4"][1]
    assert reasons["dangling.mp4"][0] == "unreadable" and "No such file" in reasons["dangling.mp4"][1]
    assert reasons["raw.h264"][0] == "decode_error" and "cannot seek in this h264 file" in reasons["raw.h264"][1]
    deep = next(v for k, v in reasons.items() if k.startswith("d") and k != "dangling.mp4")
    assert deep[0] == "unreadable" and "File name too long" in deep[1]


def test_a_device_given_directly_is_not_called_empty() -> None:
    out = ProbeStage(ProbeConfig()).process(Path("/dev/urandom"))
    assert (out.reason, out.detail) == ("unreadable", "a character device, not a regular file")  # type: ignore[union-attr]
    assert expand_inputs([Path("/dev/urandom")], EXTS) == [Path("/dev/urandom")]
