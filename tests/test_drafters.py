"""Several drafting models in one run: weighted, deterministic assignment; each chain's model in `cot`; the
embedded model and an OpenAI-compatible endpoint (a real HTTP server on 127.0.0.1) drafting side by side."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from curation.collection import Collection, StageRows
from curation.draft import DraftConfig, DraftStage
from curation.llm.drafters import DrafterConfig, assign_drafters
from curation.llm.factory import LLMConfig
from curation.stage import stage_config_from
from flows.cache import StageCache
from flows.config import load_config
from flows.perception import RunContext
from flows.synthesis import Backends, SynthesisSummary, run_stage
from tests.llm_standins import Reply, chat_reply
from tests.runs import ROOT, copy_clips
from tests.views import MC, make_view

ENDPOINT_SAYS = "1, the keyframes show it clearly."


def endpoint(server: Any, name: str) -> DrafterConfig:
    return DrafterConfig(llm=LLMConfig(backend="openai", base_url=server.base_url, model=name, max_retries=0))


def test_assignment_is_weighted_and_deterministic():
    drafters = [DrafterConfig(weight=3.0), DrafterConfig(llm=LLMConfig(backend="transformers", model="/m"))]
    ids = [f"task{i}" for i in range(2000)]
    plan = assign_drafters(ids, drafters, per_task=1, seed=0)
    assert plan == assign_drafters(ids, drafters, per_task=1, seed=0)
    share = Counter(j for js in plan.values() for j in js)
    assert share[0] / len(ids) == pytest.approx(0.75, abs=0.03)
    assert plan != assign_drafters(ids, drafters, per_task=1, seed=1)
    both = assign_drafters(ids[:10], drafters, per_task=2)
    assert all(js == [0, 1] for js in both.values())
    assert assign_drafters(ids[:3], drafters[:1], per_task=2) == {i: [0] for i in ids[:3]}


def test_the_same_backend_twice_is_a_config_error() -> None:
    twice = [{"llm": {"backend": "embedded"}}, {"llm": {"backend": "embedded"}, "weight": 2}]
    with pytest.raises(ValueError, match=r"llms.*entries 0 and 1 name the same backend"):
        stage_config_from(DraftConfig, {"llms": twice}, "draft")


def test_each_chain_records_the_backend_that_drafted_it(tmp_path, chat_server):
    a = chat_server(lambda body: chat_reply(ENDPOINT_SAYS))
    b = chat_server(lambda body: chat_reply("3, a dog sits on the grass."))
    config = load_config(None).model_copy(
        update={"draft": load_config(None).draft.model_copy(
            update={"llms": [endpoint(a, "alpha"), endpoint(b, "beta")], "drafters_per_task": 2})}
    )  # fmt: skip
    ctx = RunContext(dataset=tmp_path, config=config, cache=StageCache(tmp_path), pool=None)  # type: ignore[arg-type]
    tasks = [MC]
    views = {"vid": make_view()}
    summary = SynthesisSummary()
    backends = Backends()
    try:
        given = {"tasks": StageRows(rows={"tasks": tasks})}
        collection = Collection(tmp_path, views, config, backends.get, results=dict(given))
        run_stage(ctx, DraftStage, collection, summary)
        cots = collection.rows("cot")
        collection = Collection(tmp_path, views, config, backends.get, results=dict(given))
        run_stage(ctx, DraftStage, collection, SynthesisSummary())
        again = collection.rows("cot")
    finally:
        backends.close()
    assert sorted(c.model for c in cots) == [f"alpha @ {a.base_url}", f"beta @ {b.base_url}"]
    for c in cots:
        assert c.provenance is not None and c.provenance.models == [c.model]
    assert {c.draft.split("],")[0] for c in cots} == {"<think>In shot 1 [0.00–4.00s", "<think>In shot 3 [8.00–12.00s"}
    assert summary.ran["draft"] == 2
    assert [c.cot_id for c in again] == [c.cot_id for c in cots]  # the second run is served from the cache


@pytest.mark.slow
def test_embedded_model_and_endpoint_both_draft_in_one_curate_run(samples_dir, tmp_path, chat_server):
    def respond(body: dict[str, Any]) -> Reply:
        return chat_reply(ENDPOINT_SAYS)

    server = chat_server(respond)
    work = copy_clips(samples_dir, ("onscreen_text.mp4", "shapes.mp4"), tmp_path / "in")
    cfg = tmp_path / "two.yaml"
    cfg.write_text(json.dumps({
        "tasks": {"max_per_video": 1},
        "draft": {"drafters_per_task": 2, "llms": [
            {"llm": {"backend": "embedded"}, "weight": 1.0},
            {"llm": {"backend": "openai", "base_url": server.base_url, "model": "served"}, "weight": 1.0},
        ]},
    }))  # fmt: skip
    out = tmp_path / "ds"
    proc = subprocess.run(
        [sys.executable, "-m", "flows.cli", "curate", str(work), "--out", str(out), "--config", str(cfg),
         "--until", "verify", "--no-progress", "--json", "--no-card"],
        capture_output=True, text=True, cwd=ROOT, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    from schemas.store.query import connect

    rows = connect(out).execute(
        "SELECT model, count(*), sum(accepted::int), list_distinct(flatten(list(provenance.models))) "
        "FROM cot WHERE draft <> '' GROUP BY model ORDER BY model"
    ).fetchall()
    models = [r[0] for r in rows]
    assert len(models) == 2 and models[1] == f"served @ {server.base_url}" and "SmolLM2" in models[0]
    for model, n, _, prov_models in rows:
        assert n >= 1 and model in prov_models  # the drafting model, (and the refining model once refined)
    assert server.calls, "the endpoint was asked to draft"
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    drafters = json.dumps(summary)
    assert "served @" in drafters and "SmolLM2" in drafters
    assert Path(out / "manifest.json").is_file()
