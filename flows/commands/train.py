"""`vidcot train sft|grpo`: train on a dataset's pools (TRL SFTTrainer / GRPOTrainer; see `trainers/`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

COMMON_HELP = {
    "config": "TOML or YAML file with [sft] / [grpo] / [eval] sections of settings (CLI options override it)",
    "set": "override one setting of this command's section, e.g. lora.r=8 or rewards.weights.citation=0.2 "
    "(repeatable; applied after the other options)",
    "model": "model directory, LoRA adapter or earlier run (default: the embedded SmolLM2-135M-Instruct)",
}


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, required=True, metavar="DATASET", help="curated dataset directory")
    p.add_argument("--out", type=Path, required=True, metavar="RUN", help="run directory (checkpoints, final/)")
    p.add_argument("--model", metavar="PATH", help=COMMON_HELP["model"])
    p.add_argument("--config", type=Path, metavar="FILE", help=COMMON_HELP["config"])
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=COMMON_HELP["set"])
    p.add_argument("--max-steps", type=int, metavar="N", help="optimizer steps to run")
    p.add_argument("--batch-size", type=int, metavar="N", help="per-step batch size")
    p.add_argument("--learning-rate", type=float, metavar="LR")
    p.add_argument("--lora", action="store_true", default=None, help="train a LoRA adapter (merged into final/)")
    p.add_argument("--threads", type=int, metavar="N", help="torch threads (default: half the cores)")
    p.add_argument(
        "--no-subtitles",
        dest="subtitles",
        action="store_false",
        default=None,
        help="cut the transcript block out of every prompt",
    )
    p.add_argument("--resume", action="store_true", help="continue RUN from its latest checkpoint")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a model on a dataset's sft or rl pool (SFT, GRPO, T-GRPO, DGRPO)",
        description="Train on the curated pools with TRL: `sft` for cold-start SFT on the sft pool (loss on the "
        "assistant turn only), `grpo` for GRPO-family RL on the rl pool with vidcot's verifiable rewards.",
    )
    kinds = p.add_subparsers(dest="kind", metavar="KIND", required=True)
    sft = kinds.add_parser("sft", help="supervised fine-tuning on the sft pool")
    _common(sft)
    sft.add_argument("--max-length", type=int, metavar="TOKENS", help="truncate examples to this many tokens")
    sft.add_argument(
        "--streaming",
        action="store_true",
        default=None,
        help="stream the shards instead of loading the pool (needs --max-steps)",
    )
    sft.set_defaults(func=run)
    grpo = kinds.add_parser("grpo", help="GRPO / T-GRPO / DGRPO on the rl pool")
    _common(grpo)
    grpo.add_argument("--variant", choices=("grpo", "t-grpo", "dgrpo"), help="GRPO variant (default grpo)")
    grpo.add_argument("--loss-type", metavar="TYPE", help="TRL loss type: grpo, dr_grpo, dapo (default), bnpo, …")
    grpo.add_argument("--num-generations", type=int, metavar="G", help="rollouts per prompt (default 4)")
    grpo.add_argument("--max-completion-length", type=int, metavar="TOKENS")
    grpo.add_argument("--beta", type=float, help="KL coefficient (default 0: no reference model)")
    grpo.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from flows.errors import UserError
    from trainers.config import GrpoSettings, SftSettings, load_settings

    options = {
        "model": args.model,
        "max_steps": args.max_steps,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "lora.enabled": args.lora,
        "threads": args.threads,
        "subtitles": args.subtitles,
    }
    # Settings first: a bad config is reported before any dataset or model is touched.
    if args.kind == "sft":
        options.update(max_length=args.max_length, streaming=args.streaming)
        sft = load_settings(SftSettings, "sft", args.config, options, args.set)
    else:
        options.update(
            variant=args.variant,
            loss_type=args.loss_type,
            num_generations=args.num_generations,
            max_completion_length=args.max_completion_length,
            beta=args.beta,
        )
        grpo = load_settings(GrpoSettings, "grpo", args.config, options, args.set)
    if not args.data.is_dir():
        raise UserError(f"dataset {args.data} does not exist")
    from flows.outputs import refuse_inside_dataset

    refuse_inside_dataset(args.out, "--out", args.data)
    if args.kind == "sft":
        from trainers.sft import train_sft

        record = train_sft(args.data, args.out, sft, resume=args.resume)
    else:
        from trainers.grpo import train_grpo

        record = train_grpo(args.data, args.out, grpo, resume=args.resume)
    summary = {k: v for k, v in record.items() if k not in ("log_history", "settings")}
    print(json.dumps(summary, indent=1, default=str))
    return 0
