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

from curation.evidence import EvidenceConfig, EvidenceStage, ocr
from curation.evidence.base import decode_jpeg, repeats
from curation.evidence.colours import colour_names
from curation.evidence.detector import best_per_spot, confident_objects
from curation.probe import ProbeStage
from curation.shots import ShotsConfig, ShotsStage
from curation.stage import Rejected
from schemas import DetectedObject, FrameRecord, VideoRecord


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
    # Dull colours of real footage get no hue name they do not have: khaki wood, lamp-lit skin, a tan wall.
    assert colour_names(solid((60, 95, 110))) == []  # khaki (RGB 110, 95, 60): was "yellow"
    assert colour_names(solid((120, 160, 200))) == []  # skin (RGB 200, 160, 120): was "orange"
    assert colour_names(solid((30, 60, 90))) == ["brown"]  # dark wood
    assert colour_names(solid((119, 85, 51))) == ["blue"]  # slate blue (RGB 51, 85, 119)
    assert colour_names(solid((0, 165, 255))) == ["orange"]
    # Yellow-green tips at the edge of green grass are part of the green, not a yellow of their own.
    grass = np.concatenate([solid((0, 180, 60)), solid((0, 200, 200))[:, :30]], axis=1)
    assert colour_names(grass) == ["green"]


def test_a_still_shot_is_looked_at_once(classic: EvidenceStage, samples_dir: Path) -> None:
    frames = keyframes(samples_dir / "onscreen_text.mp4", per_shot=3)
    images = [decode_jpeg(f.jpeg) for f in frames]
    assert [f.shot_id for f in frames] == [frames[0].shot_id] * 3 + [frames[3].shot_id] * 3
    assert repeats(frames, images) == [0, 0, 0, 3, 3, 3]  # title cards: every keyframe repeats its shot's first
    rows = classic.process(frames)
    assert not isinstance(rows, Rejected)
    assert [r.ocr_text for r in rows] == ["OPEN 24 HOURS"] * 3 + ["PLATFORM 9"] * 3
    assert [r.colours for r in rows] == [["black"]] * 3 + [["white"]] * 3
    # Real footage moves: no keyframe of bikes.mp4 repeats another.
    real = keyframes(samples_dir / "bikes.mp4", per_shot=3)
    assert repeats(real, [decode_jpeg(f.jpeg) for f in real]) == list(range(len(real)))


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
        assert img is not None
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


def _obj(
    label: str, score: float, x1: float = 0.1, y1: float = 0.1, x2: float = 0.5, y2: float = 0.5
) -> DetectedObject:
    return DetectedObject(label, score, x1, y1, x2, y2)


def test_a_label_needs_its_class_threshold_and_a_repeat_in_the_shot_does_not_confirm_it() -> None:
    per_frame = [
        [_obj("microwave", 0.87)],  # a screen's interface, called "microwave" on every keyframe of the shot
        [_obj("microwave", 0.86), _obj("car", 0.46)],  # the repeat confirms nothing; the car is under its threshold
        [_obj("car", 0.7), _obj("person", 0.47, 0.6, 0.1, 0.9, 0.9)],  # both clear their class thresholds
    ]
    kept = confident_objects(per_frame, 0.9, {"person": 0.45, "car": 0.5}, 0.5)
    assert [[(o.label, o.score) for o in f] for f in kept] == [[], [], [("car", 0.7), ("person", 0.47)]]


def test_overlapping_boxes_with_different_labels_keep_the_best() -> None:
    cat, bird = _obj("cat", 0.6), _obj("bird", 0.42, 0.12, 0.1, 0.5, 0.52)
    assert best_per_spot([bird, cat], 0.5) == [cat]
    rider, bike = _obj("person", 0.9, 0.3, 0.0, 0.6, 0.8), _obj("bicycle", 0.8, 0.25, 0.5, 0.7, 1.0)
    assert best_per_spot([rider, bike], 0.5) == [rider, bike]  # a rider on a bike: two things
    kept = confident_objects([[_obj("bird", 0.68)], [cat, bird]], 0.4, {}, 0.5)
    assert kept == [[_obj("bird", 0.68)], [cat]]  # the bird under the cat is not kept, though it clears 0.4


def _word(text: str, conf: float, line: int = 0) -> ocr.Word:
    return ocr.Word(text, conf, 0, (0, line), (0.0, 0.0, 0.1, 0.1))


def test_ocr_words_are_kept_by_confidence_characters_and_dictionary() -> None:
    words = ocr.dictionary()
    assert {"frame", "open", "platform"} <= words  # from /usr/share/dict or tesseract's own English dictionary
    cfg = ocr.OcrConfig()

    def kept(*line: tuple[str, float]) -> str:
        return " ".join(w.text for w in ocr.keep_words([_word(t, c) for t, c in line], cfg, words))

    assert kept(("Frame", 96), ("=", 94), ("15", 94)) == "Frame = 15"
    assert kept(("PTS", 96), ("=", 91), ("1.4s", 91)) == "PTS = 1.4s"
    assert kept(("PLATFORM", 96), ("9", 96)) == "PLATFORM 9"
    # Reads of texture seen on real keyframes: no anchor word, mixed case, letters and digits mixed, low confidence.
    assert kept(("if", 70), ("hy", 65)) == ""
    assert kept(("45°", 40), ("vet", 52), ("es", 30), ("Cc", 61), ("wee", 45)) == ""
    assert kept(("ar", 85), ("4d", 88)) == ""
    assert kept(("UN", 90)) == ""
    assert kept(("4", 95)) == ""  # a lone digit is a speck more often than a number
    assert kept(("OPEN", 96), ("wEe", 90), ("HOURS", 96), ("=", 90)) == "OPEN HOURS"  # no symbol at a line's end
    assert not ocr.plausible("l1ght", words) and not ocr.plausible("|", words) and ocr.plausible("12:05", words)


def test_text_regions_find_text_and_not_texture() -> None:
    rng = np.random.default_rng(0)
    noise = cv2.GaussianBlur(rng.integers(0, 255, (360, 640, 3), dtype=np.uint8), (5, 5), 0)
    assert ocr.text_regions(noise) == []
    card = np.full((360, 640, 3), 40, np.uint8)
    cv2.putText(card, "EXIT 12", (150, 200), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (255, 255, 255), 5)
    (tw, th), _ = cv2.getTextSize("EXIT 12", cv2.FONT_HERSHEY_SIMPLEX, 2.0, 5)
    (x, y, w, h), *rest = ocr.text_regions(card)
    assert not rest and abs(x - 150) <= 10 and abs(y - (200 - th)) <= 10 and abs(w - tw) <= 20
    assert [[w.label for w in f] for f in ocr.read_text([noise, card])] == [[], ["EXIT", "12"]]


def test_classic_reports_confidences_and_models(classic: EvidenceStage, samples_dir: Path) -> None:
    rows = classic.process(keyframes(samples_dir / "onscreen_text.mp4"))
    assert not isinstance(rows, Rejected)
    for r in rows:
        assert [w.label for w in r.ocr_words] == r.ocr_text.split()
        assert r.ocr_confidence == min(w.score for w in r.ocr_words) and r.ocr_confidence >= 0.6
        assert all(0 <= w.x1 < w.x2 <= 1 and 0 <= w.y1 < w.y2 <= 1 for w in r.ocr_words)
        assert r.faces == len(r.face_boxes) == 0
    assert any("CenterFace" in m for m in classic.models())
    assert classic.version >= 2  # cache keys change with the logic


def test_unknown_class_in_thresholds_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="evidence.class_thresholds"):
        EvidenceStage(EvidenceConfig(class_thresholds={"unicorn": 0.5}))
