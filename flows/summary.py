"""What a curate run did (`RunSummary`: the JSON summary, the manifest revision's summary) and the table
printed at the end of `vidcot curate`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

from flows.cache import Outcome
from flows.synthesis import SynthesisSummary


@dataclass
class RunSummary:
    """What a run did, for the summary table, the manifest revision and tests."""

    inputs: int = 0
    kept: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    stage_wall: dict[str, float] = field(default_factory=dict)
    cache_hits: Counter[str] = field(default_factory=Counter)
    stage_runs: Counter[str] = field(default_factory=Counter)
    rows: Counter[str] = field(default_factory=Counter)  # rows the per-video stages produced, per table
    rows_added: dict[str, int] = field(default_factory=dict)
    revision: int = 0
    wall_seconds: float = 0.0
    synthesis: SynthesisSummary | None = None
    stage_keys: dict[str, str] = field(default_factory=dict)
    stage_stats: Counter[str] = field(default_factory=Counter)  # "stage.stat" summed over videos (e.g. ASR drops)

    def to_json(self) -> dict[str, Any]:
        return {
            "inputs": self.inputs,
            "kept": self.kept,
            "rejected": dict(self.rejected),
            "stage_seconds": {k: round(v, 3) for k, v in self.stage_seconds.items()},
            "stage_wall": {k: round(v, 3) for k, v in self.stage_wall.items()},
            "cache_hits": dict(self.cache_hits),
            "stage_runs": dict(self.stage_runs),
            "rows": dict(self.rows),
            "rows_added": self.rows_added,
            "revision": self.revision,
            "wall_seconds": round(self.wall_seconds, 3),
            "synthesis": self.synthesis.to_json() if self.synthesis else None,
            "stage_keys": self.stage_keys,
            "stage_stats": {k: round(v, 3) for k, v in sorted(self.stage_stats.items())},
        }

    def account(self, out: Outcome) -> None:
        """Count one per-video outcome: time, cache hit or run, rejection, and what it produced."""
        if out.cache_hit:
            self.cache_hits[out.stage] += 1
        else:
            self.stage_seconds[out.stage] = self.stage_seconds.get(out.stage, 0.0) + out.seconds
            self.stage_runs[out.stage] += 1
        if not out.ok:
            self.rejected[f"{out.stage}:{out.reason}"] += 1
            return
        self.rows.update(out.counts)
        self.stage_stats.update({f"{out.stage}.{k}": v for k, v in out.stats.items()})


def print_summary(s: RunSummary, dataset: str, console: Console | None = None) -> None:
    con = console or Console(stderr=True)
    t = Table(title=f"curated {dataset} (revision {s.revision})", show_header=True)
    t.add_column("stage")
    t.add_column("ran", justify="right")
    t.add_column("cached", justify="right")
    t.add_column("cpu-s in stage", justify="right")
    t.add_column("wall s", justify="right")
    for stage, wall in s.stage_wall.items():
        t.add_row(
            stage,
            str(s.stage_runs.get(stage, 0)),
            str(s.cache_hits.get(stage, 0)),
            f"{s.stage_seconds.get(stage, 0.0):.1f}",
            f"{wall:.1f}",
        )
    if s.synthesis is not None:
        for stage, wall in s.synthesis.stage_wall.items():
            ran = str(s.synthesis.ran[stage]) if stage in s.synthesis.ran else "all"  # per-item (cached) work
            t.add_row(stage, ran, str(s.synthesis.cached.get(stage, 0)), "", f"{wall:.1f}")
    con.print(t)
    rows = ", ".join(f"{n} {table}" for table, n in s.rows.items())
    stats = ", ".join(f"{k} {v:g}" for k, v in sorted(s.stage_stats.items()))
    con.print(f"videos: {s.inputs} inputs, {s.kept} kept, {sum(s.rejected.values())} rejections; {rows or 'no rows'}"
              f"{'; ' + stats if stats else ''}; {s.wall_seconds:.1f} s in all")  # fmt: skip
    if s.rejected:
        r = Table(title="rejections by stage and reason")
        r.add_column("stage:reason")
        r.add_column("count", justify="right")
        for key, n in sorted(s.rejected.items()):
            r.add_row(key, str(n))
        con.print(r)
    syn = s.synthesis
    if syn is not None:
        verdicts = ", ".join(f"{k} {v}" for k, v in syn.verdicts.most_common())
        con.print(
            f"synthesis: {syn.tasks} tasks, {syn.drafted} drafted chains; verdicts: {verdicts or 'none'}; "
            f"mean grounding {syn.grounding_draft:.2f} (drafts) → {syn.grounding_accepted:.2f} (accepted)"
        )
        if syn.by_source:
            con.print(
                "accepted per source: "
                + ", ".join(f"{k} {a.accepted}/{a.chains} ({a.rate:.0%})" for k, a in syn.by_source.items())
            )
        if syn.checks:
            con.print(
                "passed per check: "
                + ", ".join(f"{k} {n['ran'] - n['failed']}/{n['ran']}" for k, n in syn.checks.items())
            )
        if syn.tasks:
            con.print(
                f"tasks the prompt answers (not drafted, kept out of the pools unless pools.keep_prompt_answerable): "
                f"{syn.prompt_answerable_tasks} of {syn.tasks} ({syn.prompt_answerable_share:.0%})"
            )
        for key, missing in sorted(syn.other.items()):  # a value a stage could not measure is null: say so loudly
            stage, _, stat = key.partition(".")
            if stat == "not_measured" and missing:
                tried = syn.ran.get(stage, 0)
                every = " — every LLM call failed" if tried and missing >= tried else ""
                con.print(f"[bold yellow]warning[/]: {stage} could not measure {missing} of {tried} (null; reasons in "
                          f"rejects){every}")  # fmt: skip
        if syn.pools:
            con.print("pools: " + ", ".join(f"{k} {v}" for k, v in syn.pools.items()))
        cached = ", ".join(f"{k} {v}" for k, v in syn.cached.items())
        if cached:
            con.print(f"cached LLM work reused: {cached}")
    added = {k: v for k, v in s.rows_added.items() if v}
    if syn is not None:
        added.update({k: added.get(k, 0) + v for k, v in syn.rows_added.items() if v})
    text = ", ".join(f"{k} {v}" for k, v in added.items())
    con.print(f"rows added: {text or 'none (everything was already in the dataset)'}")
