"""Dataset cards: statistics, plots and a Hugging Face `README.md`, built from a dataset's tables.

- `data_cards.stats.collect_stats(root, revision=None) -> schemas.card.CardStats`: every number, via DuckDB.
- `data_cards.plots.write_plots(stats, root)`: PNGs at fixed paths, `DATASET/card/<name>.png` for each name in
  `data_cards.plots.PLOTS` (`plot_path(root, name)` gives the path).
- `data_cards.card.build_card(root)`: writes the plots and `DATASET/README.md`; `ensure_card(root)` only when the
  card is older than the latest revision (what `vidcot curate` calls at the end of a run).
"""
