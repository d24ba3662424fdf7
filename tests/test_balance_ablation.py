"""The ablation reuses a finished training run only when its settings and data are the same; a cached score
names the model it scored by the hash of its weights."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import ablation  # noqa: E402


def test_a_run_with_other_settings_is_retrained(tmp_path: Path):
    calls: list[str] = []

    def train(out: Path) -> dict:
        calls.append(out.name)
        (out / ablation.FINAL).mkdir(parents=True)
        (out / ablation.FINAL / "model.safetensors").write_bytes(f"weights {len(calls)}".encode())
        record = {"steps": len(calls)}
        (out / ablation.RECORD).write_text(json.dumps(record))
        return record

    one = ablation.settings_key({"max_steps": 10, "lr": 5e-5}, [["row", "chain"]])
    assert ablation.settings_key({"lr": 5e-5, "max_steps": 10}, [["row", "chain"]]) == one  # order-free
    run = tmp_path / "sft-b"
    assert ablation.trained(run, train, one) == {"steps": 1}
    first = ablation.model_hash(run / ablation.FINAL)
    assert ablation.trained(run, train, one) == {"steps": 1} and calls == ["sft-b"]  # reused
    other = ablation.settings_key({"max_steps": 40, "lr": 5e-5}, [["row", "chain"]])
    assert ablation.trained(run, train, other) == {"steps": 2} and len(calls) == 2  # retrained
    assert ablation.model_hash(run / ablation.FINAL) != first  # the eval cache key changes with the model
    more_data = ablation.settings_key({"max_steps": 40, "lr": 5e-5}, [["row", "chain"], ["row2", "chain2"]])
    assert more_data != other
    assert ablation.model_hash(None) == "embedded"
