"""PNG plots of a dataset's statistics, written beside its card.

`write_plots(stats, root)` always writes the same files, `DATASET/card/<name>.png` for every name in `PLOTS`
(a plot with no data says so instead of being left out), so the card and the browse page can link them by
name. Each file is replaced atomically: a reader sees the old image or the new one, never half of one.
Figures are drawn on matplotlib's Agg canvas without pyplot, so this is safe in worker threads.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from schemas.card import CardStats, Histogram
from schemas.store.atomic import atomic_write_bytes

PLOT_DIR = "card"
# name -> what it shows (the card uses these as captions)
PLOTS: dict[str, str] = {
    "pools": "rows per pool and split",
    "problem_types": "problem-type mix of tasks and pools",
    "difficulty": "difficulty of RL prompts (1 - pass@K)",
    "chain_length": "words per chain of thought, all vs accepted",
    "rejects": "rejections by stage and reason",
    "acceptance": "acceptance rate per drafting model",
}
MAX_BARS = 15
SPLIT_ORDER = ("train", "val", "test")


def plot_path(root: Path | str, name: str) -> Path:
    """Where plot `name` (a key of PLOTS) of the dataset at `root` lives."""
    return Path(root) / PLOT_DIR / f"{name}.png"


def write_plots(stats: CardStats, root: Path | str) -> dict[str, Path]:
    """Draw every plot in PLOTS for `stats` into `root/card/`; returns name -> path."""
    folder = Path(root) / PLOT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    drawers: dict[str, Callable[[Axes, CardStats], bool]] = {
        "pools": _pools,
        "problem_types": _problem_types,
        "difficulty": _difficulty,
        "chain_length": _chain_length,
        "rejects": _rejects,
        "acceptance": _acceptance,
    }
    written = {}
    for name, draw in drawers.items():
        path = plot_path(root, name)
        atomic_write_bytes(path, render(draw, stats, PLOTS[name]))
        written[name] = path
    return written


def render(draw: Callable[[Axes, CardStats], bool], stats: CardStats, title: str) -> bytes:
    """PNG bytes of one plot; `draw` returns False when there was nothing to draw."""
    fig = Figure(figsize=(6.4, 3.6), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=11)
    if not draw(ax, stats):
        ax.cla()
        ax.set_title(title, fontsize=11)
        ax.text(0.5, 0.5, "no rows yet", ha="center", va="center", fontsize=12, color="grey")
        ax.set_axis_off()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _pools(ax: Axes, s: CardStats) -> bool:
    pools = list(s.pool_rows)
    splits = [sp for sp in SPLIT_ORDER if any(sp in v for v in s.pool_rows.values())]
    splits += sorted({sp for v in s.pool_rows.values() for sp in v} - set(splits))
    if not any(sum(v.values()) for v in s.pool_rows.values()):
        return False
    bottom = [0] * len(pools)
    for sp in splits:
        heights = [s.pool_rows[p].get(sp, 0) for p in pools]
        ax.bar(pools, heights, bottom=bottom, label=sp)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax.set_ylabel("rows")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(title="split")
    return True


def _problem_types(ax: Axes, s: CardStats) -> bool:
    types = sorted({t for v in s.problem_types.values() for t in v})
    if not types:
        return False
    tables = list(s.problem_types)
    width = 0.8 / max(len(tables), 1)
    for i, table in enumerate(tables):
        xs = [j + (i - (len(tables) - 1) / 2) * width for j in range(len(types))]
        ax.bar(xs, [s.problem_types[table].get(t, 0) for t in types], width=width, label=table)
    ax.set_xticks(range(len(types)), types, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("rows")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    return True


def _bars(ax: Axes, h: Histogram, label: str | None = None, alpha: float = 1.0) -> None:
    widths = [b - a for a, b in zip(h.edges, h.edges[1:], strict=False)]
    ax.bar(h.edges[:-1], h.counts, width=widths, align="edge", edgecolor="white", label=label, alpha=alpha)


def _difficulty(ax: Axes, s: CardStats) -> bool:
    if not s.difficulty.total:
        return False
    _bars(ax, s.difficulty)
    ax.set_xlabel("difficulty")
    ax.set_ylabel("RL prompts")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    return True


def _chain_length(ax: Axes, s: CardStats) -> bool:
    if not s.chain_words_all.total:
        return False
    _bars(ax, s.chain_words_all, "all chains", alpha=0.5)
    _bars(ax, s.chain_words_accepted, "accepted")
    ax.set_xlabel("words")
    ax.set_ylabel("chains")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    return True


def _rejects(ax: Axes, s: CardStats) -> bool:
    top = s.rejects[:MAX_BARS]
    if not top:
        return False
    labels = [f"{r.stage}: {r.reason}" for r in reversed(top)]
    ax.barh(labels, [r.count for r in reversed(top)])
    ax.tick_params(axis="y", labelsize=8)
    ax.set_xlabel("count")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return True


def _acceptance(ax: Axes, s: CardStats) -> bool:
    rows = s.acceptance[:MAX_BARS]
    if not rows:
        return False
    labels = [Path(a.model).name or a.model for a in rows]
    bars = ax.bar(labels, [a.rate for a in rows], width=0.5)
    ax.bar_label(bars, labels=[f"{a.accepted}/{a.chains}" for a in rows], fontsize=8)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("accepted share")
    ax.tick_params(axis="x", labelsize=8)
    return True
