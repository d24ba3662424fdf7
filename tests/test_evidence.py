"""Visual evidence: classic offline models on generated and real keyframes, and the VLM endpoint wire format."""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest

from curation.evidence import EvidenceConfig, EvidenceStage
from curation.evidence.classic import colour_names
from curation.probe import ProbeStage
from curation.shots import ShotsConfig, ShotsStage
from curation.stage import Rejected
from schemas import FrameRecord, VideoRecord


def keyframes(path: Path, per_shot: int = 1) -> list[FrameRecord]:
    rec = ProbeStage().process(path)
    assert isinstance(rec, VideoRecord)
    out = ShotsStage(ShotsConfig(keyframes_per_shot=per_shot)).process(rec)
    assert not isinstance(out, Rejected)
    return out[1]


@pytest.fixture(scope="module")
def classic() -> EvidenceStage:
    stage = EvidenceStage()
    stage.ensure_setup()
    return stage


def test_ocr_reads_title_cards(classic: EvidenceStage, samples_dir: Path) -> None:
    rows = classic.process(keyframes(samples_dir / "onscreen_text.mp4"))
    assert not isinstance(rows, Rejected)
    assert [r.ocr_text for r in rows] == ["OPEN 24 HOURS", "PLATFORM 9"]


def test_colours_and_motion_of_moving_shapes(classic: EvidenceStage, samples_dir: Path) -> None:
    rows = classic.process(keyframes(samples_dir / "shapes.mp4", per_shot=3))
    assert not isinstance(rows, Rejected) and len(rows) == 3
    assert rows[0].motion == 0.0 and all(r.motion > 0.0 for r in rows[1:])  # the shapes moved
    assert all(r.colours[0] == "black" for r in rows)
    assert all(r.brightness < 0.3 for r in rows)
    assert all(r.people == 0 and r.ocr_text == "" for r in rows)


def test_people_in_real_footage(classic: EvidenceStage, samples_dir: Path) -> None:
    rows = classic.process(keyframes(samples_dir / "Megamind.avi"))
    assert not isinstance(rows, Rejected)
    assert any(r.people >= 1 for r in rows)
    for r in rows:
        assert r.backend == "classic" and r.provenance is not None and r.provenance.stage == "evidence"
        for o in r.objects:
            assert 0.0 <= o.x1 <= o.x2 <= 1.0 and 0.0 <= o.y1 <= o.y2 <= 1.0 and o.score >= 0.4
            assert o.label and not o.label.startswith("coco-")


def test_colour_names() -> None:
    def solid(bgr: tuple[int, int, int]) -> np.ndarray:
        return np.full((90, 160, 3), bgr, np.uint8)

    assert colour_names(solid((0, 0, 255))) == ["red"]
    assert colour_names(solid((255, 0, 0))) == ["blue"]
    assert colour_names(solid((0, 200, 0))) == ["green"]
    assert colour_names(solid((0, 230, 230))) == ["yellow"]
    assert colour_names(solid((250, 250, 250))) == ["white"]
    assert colour_names(solid((10, 10, 10))) == ["black"]
    half = np.concatenate([solid((0, 0, 255)), solid((255, 0, 0))[:, :80]], axis=1)
    assert colour_names(half) == ["red", "blue"]


def test_bad_jpeg_is_rejected(classic: EvidenceStage, samples_dir: Path) -> None:
    frames = keyframes(samples_dir / "shapes.mp4")
    frames[0].jpeg = b"not a jpeg"
    out = classic.process(frames)
    assert isinstance(out, Rejected) and out.reason == "bad_keyframe"


class _VLM(BaseHTTPRequestHandler):
    """A tiny OpenAI-compatible server: answers with a caption naming the size of the image it received."""

    mode = "ok"
    requests: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        if self.mode == "error":
            self.send_response(503)
            self.end_headers()
            return
        if self.mode == "slow":
            time.sleep(1.0)
        url = body["messages"][0]["content"][1]["image_url"]["url"]
        assert url.startswith("data:image/jpeg;base64,")
        img = cv2.imdecode(np.frombuffer(base64.b64decode(url.split(",", 1)[1]), np.uint8), cv2.IMREAD_COLOR)
        reply = {"choices": [{"message": {"role": "assistant", "content": f" a {img.shape[1]}x{img.shape[0]} frame "}}]}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError):  # the client gave up (the timeout test)
            self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _VLM.mode, _VLM.requests = "ok", []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _VLM)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def endpoint(url: str, **cfg: object) -> EvidenceStage:
    return EvidenceStage(
        EvidenceConfig(
            backend="vlm-endpoint", endpoint_url=url, endpoint_model="test-vlm", api_key_env="VIDCOT_TEST_KEY", **cfg
        )
    )


def test_endpoint_captions(server: str, samples_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDCOT_TEST_KEY", "sekrit")
    frames = keyframes(samples_dir / "shapes.mp4", per_shot=2)
    rows = endpoint(server).process(frames)
    assert not isinstance(rows, Rejected)
    assert [r.caption for r in rows] == [f"a {f.width}x{f.height} frame" for f in frames]
    assert all(r.backend == "vlm-endpoint" for r in rows) and rows[1].motion > 0
    req = _VLM.requests[0]
    assert req["path"] == "/v1/chat/completions" and req["auth"] == "Bearer sekrit"
    assert req["body"]["model"] == "test-vlm"
    sent = req["body"]["messages"][0]["content"][1]["image_url"]["url"]
    assert base64.b64decode(sent.split(",", 1)[1]) == frames[0].jpeg


def test_endpoint_errors_reject_the_video(server: str, samples_dir: Path) -> None:
    frames = keyframes(samples_dir / "shapes.mp4")
    _VLM.mode = "error"
    out = endpoint(server, retries=1).process(frames)
    assert isinstance(out, Rejected) and out.reason == "vlm_endpoint_error"
    assert "HTTP 503" in out.detail and len(_VLM.requests) == 2  # retried once
    _VLM.mode = "slow"
    out = endpoint(server, retries=0, timeout=0.2).process(frames)
    assert isinstance(out, Rejected) and out.reason == "vlm_endpoint_error" and "timed out" in out.detail.lower()


def test_local_vlm_needs_a_model_directory(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="local_path"):
        EvidenceStage(EvidenceConfig(backend="vlm-local"))
    stage = EvidenceStage(EvidenceConfig(backend="vlm-local", local_path=str(tmp_path / "nope")))
    with pytest.raises(ValueError, match="not a model directory"):
        stage.setup()
