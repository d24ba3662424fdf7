"""CTranslate2 as the embedded model's runtime: the conversion is made once and reused (atomically), the factory
picks it for `embedded`, and both local backends keep the same output contract on the same prompts."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from curation.llm import ct2_backend, transformers_backend
from curation.llm.base import GenRequest, LLMBackend
from curation.llm.factory import LLMConfig, backend_from_config
from curation.llm.identity import llm_identity
from schemas import Message
from trainers import embedded


def ask(text: str, **kw: Any) -> GenRequest:
    return GenRequest(messages=[Message("user", text)], **kw)


class FakeConverter:
    """Stands in for `ctranslate2.converters.TransformersConverter`: writes model.bin (or fails half-way)."""

    calls: list[tuple[str, str]] = []
    fail = False

    def __init__(self, model: str, copy_files: list[str] | None = None, **_: Any) -> None:
        self.model, self.copy_files = model, copy_files or []

    def convert(self, output_dir: str, quantization: str = "", force: bool = False) -> str:
        FakeConverter.calls.append((self.model, quantization))
        out = Path(output_dir)
        out.mkdir(parents=True)
        (out / "config.json").write_text("{}")
        if FakeConverter.fail:
            raise RuntimeError("converter died")
        (out / "model.bin").write_bytes(b"weights")
        for f in self.copy_files:
            (out / f).write_bytes((Path(self.model) / f).read_bytes())
        return output_dir


@pytest.fixture
def fake_converter(monkeypatch: pytest.MonkeyPatch) -> type[FakeConverter]:
    import ctranslate2.converters

    FakeConverter.calls, FakeConverter.fail = [], False
    monkeypatch.setattr(ctranslate2.converters, "TransformersConverter", FakeConverter)
    return FakeConverter


def hf_dir(root: Path) -> Path:
    d = root / "hf-model"
    d.mkdir()
    (d / "config.json").write_text("{}")
    (d / "tokenizer.json").write_text("{}")
    (d / "model.safetensors").write_bytes(b"w")
    return d


def test_conversion_is_made_once_and_reused(tmp_path, fake_converter):
    src, target = hf_dir(tmp_path), tmp_path / "out-int8"
    assert embedded.convert_ct2(src, target) == target
    assert embedded.convert_ct2(src, target) == target
    assert fake_converter.calls == [(str(src), "int8")]  # the second call found model.bin and converted nothing
    assert (target / "tokenizer.json").is_file()  # tokenizer files travel with the weights
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp dir left


def test_a_failed_conversion_leaves_nothing_and_the_next_one_succeeds(tmp_path, fake_converter):
    src, target = hf_dir(tmp_path), tmp_path / "out-int8"
    fake_converter.fail = True
    with pytest.raises(RuntimeError, match="converter died"):
        embedded.convert_ct2(src, target)
    assert not target.exists() and [p.name for p in tmp_path.iterdir()] == ["hf-model"]
    fake_converter.fail = False
    assert (embedded.convert_ct2(src, target) / "model.bin").is_file()
    with pytest.raises(FileNotFoundError, match="config.json"):
        embedded.convert_ct2(tmp_path / "nothing", tmp_path / "x")


def test_any_hf_model_by_path_converts_into_the_cache_once_per_version(tmp_path, monkeypatch, fake_converter):
    monkeypatch.setenv("VIDCOT_CACHE", str(tmp_path / "cache"))
    src = hf_dir(tmp_path)
    first = embedded.ct2_dir_for(src)
    assert first.parent == tmp_path / "cache" / "models" / "ct2" and first == embedded.ct2_dir_for(src)
    assert len(fake_converter.calls) == 1
    os.utime(src / "model.safetensors", ns=(1, 1))  # new weights: a new conversion
    assert embedded.ct2_dir_for(src) != first and len(fake_converter.calls) == 2
    assert embedded.ct2_dir_for(first) == first  # a CTranslate2 directory is used as it is


def test_factory_embedded_is_ctranslate2_and_transformers_stays_selectable(monkeypatch):
    made: list[tuple[str, Any, dict[str, Any]]] = []

    def recorder(name: str) -> Any:
        def init(self: Any, model_path: Any = None, **kw: Any) -> None:
            made.append((name, model_path, kw))

        return init

    monkeypatch.setattr(ct2_backend.CT2Backend, "__init__", recorder("ct2"))
    monkeypatch.setattr(transformers_backend.TransformersBackend, "__init__", recorder("transformers"))
    backend_from_config(LLMConfig(intra_threads=2))
    backend_from_config(LLMConfig(backend="transformers"))
    backend_from_config(LLMConfig(backend="transformers", model="/m/sft"))
    backend_from_config(LLMConfig(backend="ctranslate2", model="/m/sft"))
    assert [(n, p) for n, p, _ in made] == [("ct2", None), ("transformers", None), ("transformers", "/m/sft"),
                                            ("ct2", "/m/sft")]  # fmt: skip
    assert made[0][2]["intra_threads"] == 2
    # the runtime is part of the model's identity (int8 CTranslate2 writes other text than fp32 transformers)
    assert "ctranslate2" in llm_identity(LLMConfig()) and "int8" in llm_identity(LLMConfig())
    assert llm_identity(LLMConfig(backend="transformers")) == embedded.MODEL_ID
    assert LLMConfig(intra_threads=4).model_dump(exclude={"intra_threads"}) == LLMConfig().model_dump(
        exclude={"intra_threads"}
    )
    assert "intra_threads" in LLMConfig.execution_only


# ---- the real embedded model on both runtimes ------------------------------------------------------------------


@pytest.mark.slow
def test_the_embedded_conversion_is_real_and_reused(tmp_path, monkeypatch):
    real = embedded.embedded_model_dir()
    monkeypatch.setenv("VIDCOT_CACHE", str(tmp_path))
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / real.name).symlink_to(real)
    out = embedded.embedded_ct2_dir()
    assert out == tmp_path / "models" / f"{real.name}-ct2-int8"
    assert {"model.bin", "config.json", "tokenizer.json"} <= {p.name for p in out.iterdir()}
    stamp = (out / "model.bin").stat().st_mtime_ns
    import ctranslate2.converters

    monkeypatch.setattr(ctranslate2.converters, "TransformersConverter", None)  # a second conversion would fail
    assert embedded.embedded_ct2_dir() == out and (out / "model.bin").stat().st_mtime_ns == stamp


@pytest.fixture(scope="module")
def backends():
    made = {
        "ctranslate2": ct2_backend.CT2Backend(batch_size=4, intra_threads=1),
        "transformers": transformers_backend.TransformersBackend(batch_size=4, torch_threads=1),
    }
    yield made
    for b in made.values():
        b.close()


QUESTIONS = ["What colour is the sky?", "Name a fruit.", "What is 2 + 3?", "Say hello to Ana.", "Name a dog breed."]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ctranslate2", "transformers"])
def test_both_backends_keep_the_output_contract_on_the_same_prompts(backends, name):
    backend: LLMBackend = backends[name]
    assert ("ctranslate2" in backend.model_id and "int8" in backend.model_id) == (name == "ctranslate2")
    reqs = [ask(q, max_new_tokens=8) for q in QUESTIONS]
    batched = backend.generate(reqs)  # 5 requests with batch_size 4
    assert len(batched) == len(QUESTIONS)
    for r in batched:
        assert r.ok and r.text.strip() and 1 <= r.tokens <= 8 and r.finish_reason in ("stop", "length")
    assert [r.text for r in backend.generate(reqs)] == [r.text for r in batched]  # greedy: deterministic
    old = backend.max_input_tokens  # type: ignore[attr-defined]
    backend.max_input_tokens = 150  # type: ignore[attr-defined]
    try:
        think, too_long, counted = backend.generate(
            [
                ask("Is the sky blue?", max_new_tokens=6, prefill="<think>", stop=["</think>"]),
                ask("word " * 200, max_new_tokens=6),
                ask("Count from 1 to 30.", max_new_tokens=24, stop=["3"]),
            ]
        )
    finally:
        backend.max_input_tokens = old  # type: ignore[attr-defined]
    assert think.ok and "<think>" not in think.text and "</think>" not in think.text
    assert too_long.error == "prompt_too_long" and too_long.text == "" and too_long.finish_reason == "error"
    # the stop string ends the row (and is cut): the reply is the text before the first "3"
    assert counted.ok and "3" not in counted.text and counted.finish_reason == "stop"
    if name == "ctranslate2":
        assert counted.tokens < 24  # the row stopped at the "3" while its batch went on
    samples = backend.sample([ask("Name a colour.", max_new_tokens=6, temperature=0.9, seed=1)] * 2, 3)
    assert [len(s) for s in samples] == [3, 3]
    assert all(r.ok and 1 <= r.tokens <= 6 for s in samples for r in s)


@pytest.mark.slow
def test_ct2_stops_a_prompts_samples_once_settled_in_the_same_call(backends):
    backend = backends["ctranslate2"]
    reqs = [ask(q, max_new_tokens=12, temperature=0.9) for q in QUESTIONS[:3]]
    seen: list[tuple[int, int]] = []

    def first_one_settles(i: int, done: list) -> bool:
        seen.append((i, len(done)))
        return True

    settled = backend.sample(reqs, 4, first_one_settles)
    assert [len(s) for s in settled] == [1, 1, 1]  # the other three samples of each prompt were stopped
    assert sorted(i for i, _ in seen) == [0, 1, 2] and all(n == 1 for _, n in seen)
    assert all(r.ok and 1 <= r.tokens <= 12 for s in settled for r in s)
    never = backend.sample(reqs, 4, lambda i, done: False)
    assert [len(s) for s in never] == [4, 4, 4]


def test_prompts_are_grouped_by_the_opening_they_share():
    system = [f"s{i}" for i in range(70)]
    view_a, view_b = [f"a{i}" for i in range(200)], [f"b{i}" for i in range(120)]
    prompts = {
        0: system + view_a + ["q1", "?"],
        1: system + view_a + ["q2", "x", "?"],
        2: system + view_a + ["q3"],
        3: system + view_b + ["q1"],
        4: system + view_b + ["q4", "?"],
        5: system + ["lonely", "view"],
    }
    tokens = [prompts[i] for i in range(6)]
    order = sorted(range(6), key=lambda i: tokens[i])
    runs = ct2_backend.shared_prefixes(order, tokens)
    # one run per view, sharing the system turn and the view; the video asked once shares nothing
    assert sorted((sorted(m), s) for m, s in runs) == [([0, 1, 2], 270), ([3, 4], 190), ([5], 0)]
    # with every prompt from one view, the run is the whole call
    [(members, shared)] = ct2_backend.shared_prefixes(sorted([0, 1, 2], key=lambda i: tokens[i]), tokens)
    assert sorted(members) == [0, 1, 2] and shared == 270
    assert ct2_backend.shared_prefixes([], tokens) == []


def test_uneven_prompts_share_a_batch_only_while_stepping_their_extra_tokens_is_cheaper():
    spread = ct2_backend.max_spread
    # difficulty's answers: 16 rows of ~250 tokens, 24-token replies -> split at the smallest difference
    assert spread(24, 16, 250) == ct2_backend.MIN_SPREAD
    # a few short prompts with long replies stay in one call (8 drafting prompts, 94-139 tokens)
    assert spread(128, 8, 95) >= 139 - 94
    # more rows, longer context or a shorter reply never allow more
    assert spread(128, 16, 95) <= spread(128, 8, 95) and spread(128, 8, 400) <= spread(128, 8, 95)
    assert spread(32, 8, 95) < spread(128, 8, 95)


@pytest.mark.slow
def test_prompts_sharing_a_view_are_encoded_once_and_the_cache_stays_bounded(backends):
    backend = backends["ctranslate2"]
    views = ["Shots: " + " ".join(f"shot {i} shows a red car near a tree" for i in range(n)) + "\n" for n in (12, 9)]
    questions = ["How many shots?", "What colour is the car?", "Is there a tree?"]
    reqs = [ask(v + q, max_new_tokens=6) for v in views for q in questions]
    old = backend.prefix_cache_tokens  # type: ignore[attr-defined]
    backend.prefix_cache_tokens = 200  # type: ignore[attr-defined]  # less than both views: a rebuild in between
    first = backend.generator  # type: ignore[attr-defined]
    try:
        replies = backend.generate(reqs)
        samples = backend.sample([ask(views[0] + q, max_new_tokens=6, temperature=0.9) for q in questions], 2)
    finally:
        backend.prefix_cache_tokens = old  # type: ignore[attr-defined]
    assert all(r.ok and r.text.strip() and 1 <= r.tokens <= 6 for r in replies)
    assert [len(s) for s in samples] == [2, 2, 2] and all(r.ok for s in samples for r in s)
    assert backend.generator is not first  # type: ignore[attr-defined]
    assert len(backend._cached) == 1  # type: ignore[attr-defined]  # only the view in use is held
