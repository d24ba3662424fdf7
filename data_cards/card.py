"""The dataset card: `DATASET/README.md` in the Hugging Face dataset-card form, with plots in `DATASET/card/`.

The YAML header names one config per table worth loading on its own (sft, rl, pairs, tasks, cot, negatives),
each listing exactly the Parquet shards the manifest lists (paths relative to the dataset directory), so
`datasets.load_dataset("DATASET", "sft")` and the Hub viewer read what `vidcot query` reads. The body holds the
statistics of `data_cards.stats.collect_stats`, the plots of `data_cards.plots`, and provenance.

Pool shards usually mix vidcot's train/val/test rows (splits are by video and live in the `split` column), so a
config gets one Hugging Face split named `full`; when every shard of a table holds a single split, the config maps
them to `train`/`validation`/`test` instead. Every file is replaced atomically (plots first, README last).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from data_cards.audit import audit_dataset, audit_section
from data_cards.effect import effect_section, read_effect
from data_cards.plots import PLOT_DIR, PLOTS, plot_path, write_plots
from data_cards.stats import POOLS, collect_stats
from schemas import schema_for
from schemas.card import CardStats, Histogram
from schemas.store import Dataset, load_manifest
from schemas.store.atomic import atomic_write_bytes
from schemas.store.query import connect

log = logging.getLogger(__name__)

CARD_NAME = "README.md"
CONFIG_TABLES = ("sft", "rl", "pairs", "tasks", "cot", "negatives")
MIXED_SPLIT = "full"
HF_SPLIT = {"train": "train", "val": "validation", "test": "test"}
TASK_CATEGORIES = ["video-text-to-text", "visual-question-answering"]
TAGS = ["video", "chain-of-thought", "reasoning", "synthetic", "grpo", "vidcot"]
DEFAULT_LICENSE = "unknown"
# Hugging Face size categories by row count: (upper bound, label); the last one has no bound.
SIZES = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
         (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M")]  # fmt: skip


@dataclass
class Card:
    """What `build_card` wrote: the README path, the plot paths by name, and the statistics behind them."""

    path: Path
    plots: dict[str, Path]
    stats: CardStats


def build_card(root: Path | str, license: str | None = None, pretty_name: str | None = None) -> Card:
    """Write `root/README.md` and `root/card/*.png` for the latest revision of the dataset at `root`.

    `license` and `pretty_name` default to the ones in an existing card, else `unknown` and the folder name.
    The caller must hold the dataset lock (or be the writer that holds it) so two cards are not built at once.
    """
    root = Path(root)
    stats = collect_stats(root)
    previous = read_header(root / CARD_NAME)
    license = license or previous.get("license") or DEFAULT_LICENSE
    pretty_name = pretty_name or previous.get("pretty_name") or root.resolve().name
    plots = write_plots(stats, root)
    header = card_header(stats, hf_configs(root, stats.revision), str(license), str(pretty_name))
    text = "---\n" + yaml.safe_dump(header, sort_keys=False, allow_unicode=True) + "---\n\n"
    text += card_body(stats, str(pretty_name))
    text += "\n" + audit_section(audit_dataset(root))
    text += "\n" + effect_section(read_effect(root))
    path = root / CARD_NAME
    atomic_write_bytes(path, text.encode())
    log.info("dataset card for revision %d: %s", stats.revision, path)
    return Card(path, plots, stats)


def ensure_card(root: Path | str) -> Card | None:
    """Build the card unless the existing one already describes the latest revision (then None).

    `vidcot curate` calls this at the end of every run, so a re-run that added nothing costs no plotting.
    """
    root = Path(root)
    current = read_header(root / CARD_NAME).get("vidcot", {})
    latest = load_manifest(root).revisions[-1:]
    if (
        isinstance(current, dict)
        and latest
        and (current.get("revision"), current.get("created")) == (latest[0].revision, latest[0].created)
        and all(plot_path(root, name).is_file() for name in PLOTS)
    ):
        log.debug("dataset card of %s is up to date", root)
        return None
    return build_card(root)


def read_header(path: Path) -> dict[str, Any]:
    """The YAML header of an existing card ({} when there is none or it does not parse)."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError):
        return {}
    if not text.startswith("---\n") or "\n---\n" not in text[3:]:
        return {}
    try:
        doc = yaml.safe_load(text[4 : text.index("\n---\n", 3)])
    except yaml.YAMLError:
        return {}
    return doc if isinstance(doc, dict) else {}


def hf_configs(root: Path | str, revision: int | None = None) -> list[dict[str, Any]]:
    """One Hugging Face config per non-empty table of CONFIG_TABLES, listing its shards at `revision`."""
    ds = Dataset(root, revision)
    con = connect(root, ds.revision)
    configs: list[dict[str, Any]] = []
    try:
        for table in CONFIG_TABLES:
            files = [s.file for s in ds.shards(table) if s.rows]
            if not files:
                continue
            by_split = _split_of_shards(con, ds, table) if "split" in schema_for(table).names else None
            # A glob where one will do: it reads the table folder as it is (always one revision's shards), so the
            # card stays right while a new revision lands; a list of shard files names the ones it had then.
            latest = ds.revision == ds.manifest.revision
            if by_split is None:
                data_files = [{"split": MIXED_SPLIT, "path": f"{table}/*.parquet" if latest else files}]
            elif latest and len(set(by_split.values())) == 1:
                (split,) = set(by_split.values())
                data_files = [{"split": HF_SPLIT.get(split, split), "path": f"{table}/*.parquet"}]
            else:
                data_files = [
                    {"split": HF_SPLIT.get(sp, sp), "path": [f for f in files if by_split[f] == sp]}
                    for sp in sorted(set(by_split.values()), key=_split_rank)
                ]
            configs.append({"config_name": table, "data_files": data_files})
    finally:
        con.close()
    if configs:
        default = next((c for c in configs if c["config_name"] == "sft"), configs[0])
        default["default"] = True
    return configs


def _split_rank(split: str) -> tuple[int, str]:
    order = list(HF_SPLIT)
    return (order.index(split) if split in order else len(order), split)


def _split_of_shards(con: Any, ds: Dataset, table: str) -> dict[str, str] | None:
    """shard file -> its one split, or None when some shard mixes splits (or holds a split HF cannot name)."""
    found = {}
    for shard in ds.shards(table):
        if not shard.rows:
            continue
        splits = ds.read_shard(shard, ["split"]).column("split").unique().to_pylist()  # checked against the manifest
        if len(splits) != 1 or not str(splits[0]).isidentifier():
            return None
        found[shard.file] = str(splits[0])
    return found


def size_category(rows: int) -> str:
    return next((label for bound, label in SIZES if rows < bound), "n>100M")


def card_header(stats: CardStats, configs: list[dict[str, Any]], license: str, pretty_name: str) -> dict[str, Any]:
    """The card's YAML metadata (Hugging Face dataset-card fields, then vidcot's own)."""
    header: dict[str, Any] = {"pretty_name": pretty_name, "license": license}
    languages = [lang for lang in stats.languages if lang and lang.isalpha()]
    if languages:
        header["language"] = languages
    header["task_categories"] = TASK_CATEGORIES
    header["tags"] = TAGS
    header["size_categories"] = [size_category(sum(stats.table_rows.get(p, 0) for p in POOLS))]
    if configs:
        header["configs"] = configs
    header["vidcot"] = {"revision": stats.revision, "created": stats.created}
    return header


def _cell(v: Any) -> str:
    return str(v).replace("|", "\\|").replace("\n", " ")


def _table(head: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_cell(c) for c in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _percent(x: float) -> str:
    return f"{100 * x:.1f}%"


def _share(x: float | None) -> str:
    return "n/a (no tasks)" if x is None else _percent(x)


def _plot(name: str) -> str:
    return f"![{PLOTS[name]}]({PLOT_DIR}/{name}.png)\n"


def _hist_rows(h: Histogram, fmt: str = "{:g}") -> list[list[Any]]:
    return [[f"{fmt.format(a)}–{fmt.format(b)}", n] for a, b, n in zip(h.edges, h.edges[1:], h.counts, strict=False)]


def card_body(s: CardStats, pretty_name: str) -> str:
    """The Markdown of the card: what the data is, how to load it, its statistics and provenance."""
    p = s.provenance
    out = [f"# {pretty_name}\n"]
    out.append(
        f"Post-training data for video language models, curated by "
        f"vidcot {', '.join(p.vidcot_versions) or ''} from {s.videos} video{'' if s.videos == 1 else 's'} "
        f"({s.hours:.2f} h): silver tasks with verifiable answers, chains of thought checked against the frames, "
        f"and SFT / RL / preference pools. This card describes revision {s.revision} ({s.created}); "
        "it is rebuilt by every `vidcot curate` run and by `vidcot card`.\n"
    )
    out.append("## Loading\n")
    out.append(
        "```python\nimport datasets\n"
        'sft = datasets.load_dataset("path/to/this/folder", "sft")  # configs: '
        + ", ".join(c for c in CONFIG_TABLES if s.table_rows.get(c))
        + "\n```\n\n"
        f"Each config lists exactly the Parquet shards of this revision. vidcot splits by video into "
        f"train/val/test; the split is the `split` column of sft, rl, pairs and tasks (a config whose shards mix "
        f"splits has one Hugging Face split named `{MIXED_SPLIT}`). `vidcot export DATASET --format hf` writes one "
        'file per split, and `vidcot query DATASET "SQL"` runs DuckDB over every table, including older '
        "revisions (`--revision N`).\n"
    )
    out.append("## Contents\n")
    out.append(
        _table(
            ["videos kept", "inputs rejected", "hours", "shots", "keyframes", "speech minutes", "languages"],
            [
                [
                    s.videos,
                    s.videos_rejected,
                    f"{s.hours:.3f}",
                    s.shots,
                    s.keyframes,
                    f"{s.speech_minutes:.2f}",
                    ", ".join(f"{k} ({v:.1f} min)" for k, v in s.languages.items()) or "none",
                ]
            ],
        )
    )
    out.append("\n### Pools\n")
    splits = sorted({sp for v in s.pool_rows.values() for sp in v}, key=_split_rank)
    out.append(
        _table(
            ["pool", *splits, "total"],
            [[pool, *[v.get(sp, 0) for sp in splits], sum(v.values())] for pool, v in s.pool_rows.items()],
        )
    )
    out.append("\n" + _plot("pools"))
    out.append("\n### Rows per table\n")
    out.append(_table(["table", "rows"], [[t, n] for t, n in s.table_rows.items()]))
    out.append("\n## Tasks\n")
    types = sorted({t for v in s.problem_types.values() for t in v})
    tables = list(s.problem_types)
    out.append(_table(["problem type", *tables], [[t, *[s.problem_types[k].get(t, 0) for k in tables]] for t in types]))
    out.append("\n" + _plot("problem_types"))
    out.append("\nTasks per generator: " + (", ".join(f"{k} {v}" for k, v in s.generators.items()) or "none") + ".\n")
    out.append(
        f"\n- subtitle leakage (answerable from the transcript alone): {_share(s.subtitle_leak_share)}\n"
        f"- absence tasks (generator `absence`): {_share(s.absence_share)}\n"
        f"- answered by the prompt itself (its duration header or shot list prints the answer): "
        f"{_share(s.prompt_answerable_share)}"
        + (
            f" — {s.prompt_answerable_tasks} tasks, "
            + (
                "all kept out of the pools"
                if not s.prompt_answerable_in_pools
                else f"{s.prompt_answerable_in_pools} of them in the pools (`pools.keep_prompt_answerable`)"
            )
            if s.prompt_answerable_tasks
            else ""
        )
        + "\n"
    )
    out.append("\n## Chains of thought\n")
    out.append(
        _table(
            ["drafting model", "chains", "accepted", "acceptance rate"],
            [[a.model, a.chains, a.accepted, _percent(a.rate)] for a in s.acceptance],
        )
    )
    if s.cot_reject_reasons:
        out.append(
            "\nVerifier reject reasons: " + ", ".join(f"`{k}` {v}" for k, v in s.cot_reject_reasons.items()) + ".\n"
        )
    if s.source_acceptance:
        out.append(
            "\nAcceptance per source (`cot.source`: `skeleton` is built by code from the task's evidence, `polished` "
            "an LLM's rewrite of a skeleton that kept its facts, `rationale` an LLM handed the answer, `blind` an LLM "
            "that was not):\n\n"
        )
        out.append(
            _table(
                ["source", "chains", "accepted", "acceptance rate"],
                [[a.source, a.chains, a.accepted, _percent(a.rate)] for a in s.source_acceptance],
            )
        )
    if s.check_acceptance:
        out.append(
            "\nAcceptance per verifier check (every check judges every chain that reached the verifier; a "
            "chain is accepted when it passes them all):\n\n"
        )
        out.append(
            _table(
                ["check", "chains judged", "failed", "passed"],
                [[c.check, c.checked, c.failed, _percent(c.rate)] for c in s.check_acceptance],
            )
        )
    if s.citation_accuracy is not None:
        ca = s.citation_accuracy
        fmt = "n/a" if ca.accepted is None else f"{ca.accepted:.3f}"
        out.append(
            f"\nCitation accuracy: {fmt} (accepted chains), "
            + ("n/a" if ca.all is None else f"{ca.all:.3f}")
            + " (all chains).\n"
        )
    out.append("\n" + _plot("acceptance"))
    out.append("\nWords per chain (the refined chain where refinement rewrote it):\n\n")
    out.append(
        _table(
            ["words", "all", "accepted"],
            [
                [r[0], r[1], n]
                for r, n in zip(_hist_rows(s.chain_words_all), s.chain_words_accepted.counts, strict=False)
                if r[1] or n
            ],
        )
    )
    out.append("\n" + _plot("chain_length"))
    out.append("\n## Difficulty\n")
    out.append("Difficulty of an RL prompt is 1 − pass@K of the policy model.\n\n")
    out.append(_table(["difficulty", "RL prompts"], _hist_rows(s.difficulty)))
    out.append("\n" + _plot("difficulty"))
    out.append("\n## Rejections\n")
    out.append("Everything dropped is a row of `rejects` with its stage and reason code.\n\n")
    out.append(_table(["stage", "reason", "count"], [[r.stage, f"`{r.reason}`", r.count] for r in s.rejects]))
    out.append("\n" + _plot("rejects"))
    out.append("\n## Revisions\n")
    out.append(
        "Every run that adds data is a new revision; older ones stay readable "
        "(`vidcot query DATASET --revision N`, `vidcot info DATASET`).\n\n"
    )
    out.append(
        _table(
            ["revision", "created", "rows added", "command"],
            [[r.revision, r.created, r.rows_added, f"`{r.command[:100]}`"] for r in s.revisions],
        )
    )
    out.append("\n## Provenance\n")
    stages = sorted(set(p.models) | set(p.prompt_hashes) | set(p.config_hashes))
    out.append(
        _table(
            ["stage", "models", "prompt template hashes", "config hashes"],
            [
                [
                    st,
                    ", ".join(p.models.get(st, [])) or "—",
                    ", ".join(p.prompt_hashes.get(st, [])) or "—",
                    ", ".join(p.config_hashes.get(st, [])) or "—",
                ]
                for st in stages
            ],
        )
    )
    out.append("\nPackages where this card was built: " + ", ".join(f"{k} {v}" for k, v in p.packages.items()) + ".\n")
    if p.config:
        out.append(
            "\n<details><summary>Run configuration of this revision</summary>\n\n```yaml\n"
            + yaml.safe_dump(p.config, sort_keys=False, allow_unicode=True)
            + "```\n\n</details>\n"
        )
    return "\n".join(part.strip("\n") + "\n" for part in out)
