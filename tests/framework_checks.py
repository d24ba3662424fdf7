"""Loads a `vidcot export` with a training framework's own code, inside the frameworks' virtualenv (`make
frameworks`): `python tests/framework_checks.py KIND < args.json` prints one JSON line of what the framework read.
Run by tests/test_export_frameworks.py; it imports nothing of vidcot except what the exported reward files import."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import sys
import types
from typing import Any


def webdataset(args: dict[str, Any]) -> dict[str, Any]:
    """Every sample of each group of shards (`groups`: name -> shard paths), in streaming order, decoded by
    webdataset's own decoders."""
    return {
        "groups": {name: _samples(urls) for name, urls in args["groups"].items()},
        "version": _version("webdataset"),
    }


def _samples(urls: list[str]) -> list[dict[str, Any]]:
    import webdataset as wds

    samples = []
    for s in wds.WebDataset(urls, shardshuffle=False).decode("pil"):
        frames = sorted(k for k in s if k.endswith(".jpg"))
        videos = [k for k in s if k in ("mp4", "avi", "mkv", "webm", "mov")]
        samples.append(
            {
                "key": s["__key__"],
                "id": s["json"].get("sample_id") or s["json"].get("pair_id"),
                "video_path": s["json"]["video_path"],
                "frames": [list(s[k].size) for k in frames],
                "video_bytes": [len(s[k]) for k in videos],
            }
        )
    return samples


def llamafactory(args: dict[str, Any]) -> dict[str, Any]:
    """LLaMA-Factory's dataset loading (dataset_info.json, ShareGPT conversion, media lookup) and its supervised /
    pairwise preprocessing with a tiny template: rows that survive each step, and what they hold."""
    # PyPI has torchaudio for torch 2.13 only as a CUDA build, which cannot load beside the CPU torch (`make
    # frameworks` removes it). LLaMA-Factory's mm_plugin imports it at the top, for audio inputs, which no export
    # has: an empty module stands in for it, so any use of it would fail loudly.
    stand_in = types.ModuleType("torchaudio")
    stand_in.__spec__ = importlib.machinery.ModuleSpec("torchaudio", None)
    sys.modules.setdefault("torchaudio", stand_in)
    from llamafactory.data import get_template_and_fix_tokenizer
    from llamafactory.data.loader import _get_merged_dataset, _get_preprocessed_dataset
    from llamafactory.hparams import get_train_args
    from llamafactory.model import load_tokenizer

    out: dict[str, Any] = {"version": _version("llamafactory")}
    for name in args["datasets"]:
        stage = "rm" if "_dpo_" in name else "sft"
        model_args, data_args, training_args, _, _ = get_train_args(
            {
                "stage": stage,
                "do_train": True,
                "model_name_or_path": args["tokenizer"],
                "dataset": name,
                "dataset_dir": args["dir"],
                "template": "default",
                "finetuning_type": "lora",
                "output_dir": args["work"],
                "overwrite_cache": True,
                "cutoff_len": 8192,
                "report_to": "none",
            }
        )
        tokenizer = load_tokenizer(model_args)["tokenizer"]
        template = get_template_and_fix_tokenizer(tokenizer, data_args)
        aligned = _get_merged_dataset([name], model_args, data_args, training_args, stage)
        rows = list(aligned)
        # The text template has no video plugin: its preprocessing checks the conversation (turn order, roles,
        # one response or a chosen/rejected pair) and tokenizes it; the clips were checked above.
        text = aligned.map(lambda r: {"_videos": None})
        encoded = _get_preprocessed_dataset(text, data_args, training_args, stage, template, tokenizer)
        out[name] = {
            "aligned": len(rows),
            "encoded": len(encoded),
            "videos": [r["_videos"] for r in rows],
            "video_tags": [sum(m["content"].count("<video>") for m in r["_prompt"]) for r in rows],
            "system": [r["_system"][:20] for r in rows],
            "responses": [len(r["_response"]) for r in rows],
            "labels": [sum(1 for t in e.get("labels", e.get("chosen_labels", [])) if t != -100) for e in encoded],
        }
    return out


def swift(args: dict[str, Any]) -> dict[str, Any]:
    """ms-swift's dataset loading and preprocessing of each JSONL file, and the GRPO reward registered by the
    exported plugin file, called as swift's GRPO trainer calls it (the batch's columns as keyword lists)."""
    from swift.dataset import RowPreprocessor, load_dataset

    out: dict[str, Any] = {"version": _version("ms-swift")}
    for path in args["files"]:
        # GRPO training keeps the extra columns for the reward functions (swift's remove_unused_columns=False).
        train, _ = load_dataset(path, remove_unused_columns="/grpo/" not in path, load_from_cache_file=False)
        rows = list(train)
        out[path] = {"rows": len(rows), "videos": [r.get("videos") for r in rows], "columns": sorted(rows[0])}
    if args.get("plugin"):
        _load_file(args["plugin"], "vidcot_swift_reward")
        from swift.rewards import orms

        train, _ = load_dataset(args["grpo"], remove_unused_columns=False, load_from_cache_file=False)
        rows = [dict(train[i]) for i in args["rows"]]
        batch = RowPreprocessor.rows_to_batched(rows)
        out["rewards"] = orms["vidcot"]()(args["completions"], **batch)
    return out


def verl(args: dict[str, Any]) -> dict[str, Any]:
    """verl's RLHFDataset over the parquet files (with the text tokenizer: its chat template must accept every
    prompt), each item as `__getitem__` gives it, and the exported reward file loaded by verl's
    `get_custom_reward_fn`, scoring completions with the ground truth and extra_info the dataset carries."""
    from omegaconf import OmegaConf
    from transformers import AutoTokenizer
    from verl.trainer.ppo.reward import get_custom_reward_fn
    from verl.utils.dataset.rl_dataset import RLHFDataset

    tokenizer = AutoTokenizer.from_pretrained(args["tokenizer"], local_files_only=True)
    config = OmegaConf.create(
        {
            "max_prompt_length": 8192,
            "filter_overlong_prompts": True,
            "filter_overlong_prompts_workers": 1,
            "cache_dir": args["work"],
        }
    )
    ds = RLHFDataset(args["files"], tokenizer, config)
    rows = [ds.dataframe[i] for i in range(len(ds))]
    # Items with videos need a multimodal processor (a VL model's); the dataset only checks one is set, and
    # turns each `<video>` into a video part.
    ds.processor = tokenizer
    items = [ds[i] for i in range(len(ds))]
    fn = get_custom_reward_fn(
        OmegaConf.create({"reward": {"custom_reward_function": {"path": args["reward"], "name": "compute_score"}}})
    )
    assert fn is not None
    scores = []
    for i, completion in zip(args["rows"], args["completions"], strict=True):
        r = rows[i]
        result = fn(
            data_source=r["data_source"],
            solution_str=completion,
            ground_truth=r["reward_model"]["ground_truth"],
            extra_info=r["extra_info"],
        )
        scores.append(result["score"])
    return {
        "version": _version("verl"),
        "rows": len(ds),
        "ids": [r["extra_info"]["sample_id"] for r in rows],
        "videos": [
            [
                p["video"]
                for m in it["raw_prompt"]
                for p in m["content"]
                if isinstance(m["content"], list) and p["type"] == "video"
            ]
            for it in items
        ],
        "scores": scores,
    }


def _load_file(path: str, name: str) -> None:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


if __name__ == "__main__":
    result = {"webdataset": webdataset, "llamafactory": llamafactory, "swift": swift, "verl": verl}[sys.argv[1]](
        json.load(sys.stdin)
    )
    print(json.dumps(result, default=str))
