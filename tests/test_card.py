"""The dataset card: statistics, a parseable Hugging Face YAML header whose configs load, PNG plots, atomic writes."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import duckdb
import pytest
import yaml
from PIL import Image

from benchmarks.keyed_records import keyed_records
from benchmarks.records import PROV, sample_records
from data_cards.card import CARD_NAME, build_card, ensure_card, hf_configs, read_header
from data_cards.plots import PLOTS, plot_path
from data_cards.stats import _citation_accuracy, collect_stats
from flows.cli import main as vidcot
from schemas import TaskRecord, schema_for
from schemas.store import Dataset, DatasetWriter, load_manifest

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def write_revision(root: Path, vid: str, **changes: list) -> int:
    """Append every table of `sample_records(vid)` (with some tables replaced) as one new revision."""
    records = (sample_records(vid) if vid == "a" * 64 else keyed_records(vid)) | changes  # ids unique per video
    with DatasetWriter(root) as w:
        for table, rows in records.items():
            w.append(table, rows)
        return w.commit(config={"tasks": {"max_per_video": 1}})


@pytest.fixture
def small_dataset(dataset_dir: Path) -> Path:
    write_revision(dataset_dir, "a" * 64)
    return dataset_dir


def header_of(root: Path) -> dict:
    text = (root / CARD_NAME).read_text()
    assert text.startswith("---\n")
    head, body = text[4:].split("\n---\n", 1)
    doc = yaml.safe_load(head)
    assert isinstance(doc, dict) and body.strip().startswith("#")
    return doc


def load_config(root: Path, config: dict, cache: Path):  # -> datasets.DatasetDict
    import datasets

    return datasets.load_dataset("parquet", data_dir=str(root), data_files=config["data_files"], cache_dir=str(cache))


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, path
    assert len(data) > 2000, path
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size == (640, 360)
        lo, hi = im.convert("L").getextrema()  # one band: (min, max)
        assert int(hi) - int(lo) > 100, f"{path} is a blank image"  # type: ignore[arg-type]


def test_stats_are_the_real_numbers(dataset_dir: Path) -> None:
    absence = TaskRecord("t2", "a" * 64, "absence", "multiple choice", "Is there a dog?", "no", [], None, [], True,
                         "test", PROV)  # fmt: skip
    write_revision(dataset_dir, "a" * 64, tasks=[*sample_records()["tasks"], absence])
    s = collect_stats(dataset_dir)
    assert (s.revision, s.videos, s.videos_rejected, s.shots, s.keyframes) == (1, 1, 1, 2, 1)  # 1: empty.mp4
    assert s.hours == pytest.approx(12.0 / 3600, abs=1e-4)
    assert s.speech_minutes == pytest.approx((2.2 - 0.5) / 60, abs=1e-3) and list(s.languages) == ["en"]
    assert s.pool_rows == {"sft": {"train": 1}, "rl": {"train": 1}, "pairs": {"train": 1}}
    assert [(r.stage, r.reason, r.count) for r in s.rejects] == [("probe", "zero_bytes", 1)]
    assert s.problem_types["tasks"] == {"multiple choice": 2} and s.problem_types["rl"] == {"span": 1}
    assert s.generators == {"absence": 1, "visible": 1}
    assert s.absence_share == 0.5 and s.subtitle_leak_share == 0.5
    assert s.difficulty.counts == [0, 0, 0, 0, 0, 1, 0, 0, 0, 0] and s.difficulty.edges[-1] == 1.0
    # the chain "<think>d</think><answer>A</answer>" is one word
    assert s.chain_words_all.counts[1] == 1 and s.chain_words_accepted.total == 1
    assert [(a.model, a.chains, a.accepted, a.rate) for a in s.acceptance] == [("m", 1, 1, 1.0)]
    if "citation_accuracy" in schema_for("cot").names:
        assert (
            s.citation_accuracy is not None and s.citation_accuracy.all == sample_records()["cot"][0].citation_accuracy
        )
    else:
        assert s.citation_accuracy is None
    assert s.provenance.models == {"test": ["m"]} and s.provenance.config == {"tasks": {"max_per_video": 1}}
    assert s.provenance.packages["duckdb"] == duckdb.__version__
    doc = json.loads(json.dumps(s.to_json()))
    assert doc["acceptance"][0]["rate"] == 1.0 and doc["table_rows"]["frames"] == 1


def test_citation_accuracy_of_accepted_and_all_chains() -> None:
    con = duckdb.connect()
    con.execute(
        "CREATE VIEW cot AS SELECT * FROM (VALUES (true, 1.0), (false, 0.0), (true, 0.5), (false, NULL)) "
        "t(accepted, citation_accuracy)"
    )
    acc = _citation_accuracy(con)
    assert acc is not None and (acc.accepted, acc.all) == (0.75, 0.5)
    con.execute("CREATE OR REPLACE VIEW cot AS SELECT true AS accepted")  # a dataset from before the column
    assert _citation_accuracy(con) is None


def test_card_header_parses_and_every_config_loads(small_dataset: Path, tmp_path: Path) -> None:
    card = build_card(small_dataset, license="cc-by-4.0")
    doc = header_of(small_dataset)
    assert doc["license"] == "cc-by-4.0" and doc["pretty_name"] == small_dataset.name
    assert doc["size_categories"] == ["n<1K"] and "video-text-to-text" in doc["task_categories"]
    assert doc["language"] == ["en"] and doc["vidcot"]["revision"] == 1
    names = [c["config_name"] for c in doc["configs"]]
    assert names == ["sft", "rl", "pairs", "tasks", "cot", "negatives"]
    assert [c["config_name"] for c in doc["configs"] if c.get("default")] == ["sft"]
    ds = Dataset(small_dataset)
    for config in doc["configs"]:
        table = config["config_name"]
        paths = [p for part in config["data_files"] for p in ([part["path"]] if isinstance(part["path"], str)
                                                              else part["path"])]  # a glob, or shard files
        listed = [q.relative_to(small_dataset).as_posix() for p in paths for q in small_dataset.glob(p)]
        assert sorted(listed) == sorted(s.file for s in ds.shards(table))
        loaded = load_config(small_dataset, config, tmp_path / "hf")
        assert sum(split.num_rows for split in loaded.values()) == ds.rows(table), table
    sft = load_config(small_dataset, doc["configs"][0], tmp_path / "hf")
    assert list(sft) == ["train"] and sft["train"]["sample_id"] == ["s1"]  # every sft shard holds train rows only
    assert list(load_config(small_dataset, doc["configs"][4], tmp_path / "hf")) == ["full"]  # cot has no split
    body = card.path.read_text()
    for name in PLOTS:
        assert f"(card/{name}.png)" in body
    assert "| probe | `zero_bytes` | 1 |" in body and "| m | 1 | 1 | 100.0% |" in body


def test_directory_loads_by_config_name_like_the_hub(small_dataset: Path, tmp_path: Path) -> None:
    import datasets

    build_card(small_dataset)
    rl = datasets.load_dataset(str(small_dataset), "rl", cache_dir=str(tmp_path / "hf"))
    assert rl["train"]["solution"] == ["[0.50, 2.20]"]


def test_shards_that_mix_splits_get_one_full_split_and_pure_ones_keep_theirs(dataset_dir: Path) -> None:
    mixed = sample_records("a" * 64)["sft"] + sample_records("b" * 64)["sft"]
    mixed[1].sample_id, mixed[1].split = "s2", "test"
    write_revision(dataset_dir, "a" * 64, sft=mixed)
    write_revision(dataset_dir, "c" * 64, rl=[keyed_records("c" * 64)["rl"][0]])
    rl_test = keyed_records("d" * 64)["rl"][0]
    rl_test.sample_id, rl_test.split = "r2", "test"
    write_revision(dataset_dir, "d" * 64, rl=[rl_test])
    configs = {c["config_name"]: c["data_files"] for c in hf_configs(dataset_dir)}
    assert [part["split"] for part in configs["sft"]] == ["full"]
    assert [(part["split"], len(part["path"])) for part in configs["rl"]] == [("train", 2), ("test", 1)]


def test_plots_are_non_empty_png_images(small_dataset: Path) -> None:
    card = build_card(small_dataset)
    assert sorted(card.plots) == sorted(PLOTS)
    for name in PLOTS:
        assert card.plots[name] == plot_path(small_dataset, name) == small_dataset / "card" / f"{name}.png"
        assert_png(card.plots[name])


def test_plots_of_a_dataset_without_pools_say_so(dataset_dir: Path) -> None:
    with DatasetWriter(dataset_dir) as w:
        w.append("videos", sample_records()["videos"])
        w.commit()
    card = build_card(dataset_dir)
    for name in PLOTS:
        assert_png(card.plots[name])
    assert "configs" not in header_of(dataset_dir)  # nothing to load: no empty configs that would fail


def test_card_is_replaced_atomically_and_kept_fields_survive(small_dataset: Path) -> None:
    build_card(small_dataset, license="cc-by-4.0", pretty_name="My videos")
    readme = small_dataset / CARD_NAME
    before = readme.read_text()
    inodes = {p: p.stat().st_ino for p in [readme, *(plot_path(small_dataset, n) for n in PLOTS)]}
    with open(readme) as reader:  # a reader holding the old card keeps reading the old card, whole
        write_revision(small_dataset, "b" * 64)
        assert ensure_card(small_dataset) is not None
        assert reader.read() == before
    doc = header_of(small_dataset)
    assert doc["vidcot"]["revision"] == 2 and (doc["license"], doc["pretty_name"]) == ("cc-by-4.0", "My videos")
    assert all(p.stat().st_ino != ino for p, ino in inodes.items())  # new files renamed over, not rewritten
    leftovers = [p.name for p in [*small_dataset.iterdir(), *(small_dataset / "card").iterdir()] if ".tmp" in p.name]
    assert leftovers == []


def test_ensure_card_skips_an_up_to_date_card(small_dataset: Path) -> None:
    assert ensure_card(small_dataset) is not None
    mtime = (small_dataset / CARD_NAME).stat().st_mtime_ns
    assert ensure_card(small_dataset) is None
    assert (small_dataset / CARD_NAME).stat().st_mtime_ns == mtime
    plot_path(small_dataset, "difficulty").unlink()  # a missing plot makes the card stale
    assert ensure_card(small_dataset) is not None and plot_path(small_dataset, "difficulty").is_file()


def test_card_failure_in_curate_is_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from flows.curate import _write_card

    logger = logging.getLogger("flows.curate")  # Prefect may stop it propagating to the root logger
    logger.addHandler(caplog.handler)
    try:
        _write_card(tmp_path / "not-a-dataset")
    finally:
        logger.removeHandler(caplog.handler)
    assert "dataset card not written (DatasetNotFound" in caplog.text


def test_card_command(small_dataset: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_revision(small_dataset, "b" * 64)
    assert vidcot(["card", str(small_dataset), "--name", "demo"]) == 0
    assert header_of(small_dataset)["pretty_name"] == "demo"
    assert "README.md (revision 2)" in capsys.readouterr().out
    assert vidcot(["card", str(small_dataset), "--json", "--revision", "1"]) == 0
    old = json.loads(capsys.readouterr().out)
    assert (old["revision"], old["videos"], old["table_rows"]["shots"]) == (1, 1, 2)
    assert vidcot(["card", str(small_dataset), "--revision", "1"]) == 2
    assert "--json --revision N" in capsys.readouterr().err
    assert vidcot(["card", str(small_dataset / "missing")]) == 2
    assert "no dataset at" in capsys.readouterr().err
    assert not (small_dataset / "missing").exists()


def test_card_command_refuses_while_a_writer_holds_the_dataset(
    small_dataset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with DatasetWriter(small_dataset):
        assert vidcot(["card", str(small_dataset)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is being written by pid" in err
    assert not (small_dataset / CARD_NAME).exists()


@pytest.mark.slow
def test_curate_builds_the_card_of_its_last_revision(pipeline_dataset: tuple[Path, dict], tmp_path: Path) -> None:
    root, summary = pipeline_dataset
    doc = header_of(root)
    manifest = load_manifest(root)
    assert doc["vidcot"]["revision"] == manifest.revision == summary["revision"]
    s = collect_stats(root)
    assert s.videos == summary["kept"] and s.shots == summary["rows"]["shots"]
    assert s.speech_minutes == pytest.approx(summary["stage_stats"]["asr.speech_seconds"] / 60, abs=0.01)
    pools = summary["synthesis"]["pools"]
    assert {p: sum(v.values()) for p, v in s.pool_rows.items()} == {p: pools.get(p, 0) for p in ("sft", "rl", "pairs")}
    assert sum(a.chains for a in s.acceptance) == s.table_rows["cot"] > 0
    assert sum(a.accepted for a in s.acceptance) == summary["synthesis"]["verdicts"].get("accepted", 0)
    assert s.absence_share is not None and 0.0 <= s.absence_share <= 1.0
    ds = Dataset(root)
    for config in doc["configs"]:
        loaded = load_config(root, config, tmp_path / "hf")
        assert sum(split.num_rows for split in loaded.values()) == ds.rows(config["config_name"]) > 0
    for name in PLOTS:
        assert_png(plot_path(root, name))
    assert read_header(root / CARD_NAME) == doc
