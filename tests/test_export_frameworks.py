"""Each framework export is read by the framework's own code, not by our reading of its docs: LLaMA-Factory's dataset
loading and preprocessing, ms-swift's dataset preprocessing and GRPO reward plugin, verl's RLHFDataset and
custom-reward loader, webdataset's reader. They run in the frameworks' virtualenv (`make frameworks`: they pin an
older transformers than vidcot) through tests/framework_checks.py. Rows read equal the pool rows exported, clip
paths are real files, and the exported reward functions score completions exactly as trainers/rewards.py does."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from benchmarks.keyed_records import keyed_records
from benchmarks.records import PROV
from schemas import RlRecord
from schemas.store import DatasetWriter
from trainers.embedded import cache_root
from trainers.rewards import score_completion

ROOT = Path(__file__).resolve().parents[1]
VIDCOT = Path(sys.executable).with_name("vidcot")
FRAMEWORKS_PY = cache_root() / "frameworks" / "bin" / "python"
CHECKS = ROOT / "tests" / "framework_checks.py"

needs_frameworks = pytest.mark.skipif(
    not FRAMEWORKS_PY.exists() and not os.environ.get("CI"),
    reason=f"no frameworks virtualenv at {FRAMEWORKS_PY.parent.parent}: run `make frameworks`",
)

# Extra RL rows of other problem types, so the rewards compared cover more than spans: (type, solution, options).
EXTRA_RL = [
    ("multiple choice", "B", ["A. red", "B. blue", "C. green"]),
    ("numerical", "3", []),
    ("ordering", "2, 1, 3", []),
    ("OCR", "EXIT ONLY", []),
]


def vidcot(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VIDCOT), *map(str, args)], capture_output=True, text=True, cwd=ROOT, timeout=300)


def framework(kind: str, args: dict[str, Any], cache: Path) -> dict[str, Any]:
    """What the framework read: tests/framework_checks.py KIND run in the frameworks' virtualenv (its dataset caches
    under `cache`, so nothing of another datasets version is read back)."""
    env = {
        **os.environ,
        "HF_DATASETS_CACHE": str(cache / "hf"),
        "MODELSCOPE_CACHE": str(cache / "modelscope"),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "WANDB_MODE": "disabled",
        "DISABLE_VERSION_CHECK": "1",
    }
    r = subprocess.run(
        [str(FRAMEWORKS_PY), str(CHECKS), kind],
        input=json.dumps(args),
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd=args.get("cwd", ROOT),
    )
    assert r.returncode == 0, r.stderr[-4000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def jpeg(color: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 36), color).save(buf, "JPEG")
    return buf.getvalue()


def make_clip(path: Path, seconds: int = 1) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc=size=64x48:rate=5:duration={seconds}",
            "-pix_fmt",
            "yuv420p",
            str(path),
        ],
        check=True,
        timeout=60,
    )
    return path


def dataset(root: Path, media: Path) -> Path:
    """Two videos whose clips are real files under `media`, with real keyframe JPEGs; the second video's rows in
    the val split; four more RL rows of other problem types."""
    with DatasetWriter(root) as w:
        for i in range(2):
            vid = f"{i:x}" * 64
            clip = str(make_clip(media / f"clip {i}.mp4"))
            records = keyed_records(vid)
            records["rejects"] = []
            records["videos"][0].path = clip
            records["frames"][0].jpeg = jpeg((200, 30 * i, 0))
            for table in ("sft", "rl", "pairs"):
                for r in records[table]:
                    r.split = ("train", "val")[i]
                    if hasattr(r, "video_path"):
                        r.video_path = clip
            if i == 0:
                prompt = records["rl"][0].prompt
                records["rl"] += [
                    RlRecord(
                        f"r{k}-extra",
                        "t1-00000000",
                        vid,
                        "train",
                        ptype,
                        prompt,
                        solution,
                        options,
                        None,
                        0.5,
                        [],
                        clip,
                        PROV,
                        list(records["sft"][0].keyframe_ids),
                    )
                    for k, (ptype, solution, options) in enumerate(EXTRA_RL)
                ]
            for table, rows in records.items():
                w.append(table, rows)
        w.commit()
    return root


@pytest.fixture(scope="module")
def ds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("frameworks")
    return dataset(base / "ds", base / "media")


def pool_ids(ds: Path, table: str, split: str) -> list[str]:
    from schemas.store.query import connect

    id_col = "pair_id" if table == "pairs" else "sample_id"
    sql = f"SELECT {id_col} FROM {table} WHERE split = ? ORDER BY 1"
    return [r[0] for r in connect(ds).execute(sql, [split]).fetchall()]


def keyframes(ds: Path, table: str, split: str) -> list[int]:
    """How many keyframes each row of a pool split names, in id order (pairs name none)."""
    if table == "pairs":
        return [0] * len(pool_ids(ds, table, split))
    from schemas.store.query import connect

    sql = f"SELECT len(keyframe_ids) FROM {table} WHERE split = ? ORDER BY sample_id"
    return [r[0] for r in connect(ds).execute(sql, [split]).fetchall()]


def export(ds: Path, fmt: str, out: Path, *extra: str) -> Path:
    r = vidcot("export", ds, "--format", fmt, "--out", out, *extra)
    assert r.returncode == 0, r.stderr
    return out


def completions(solutions: list[tuple[str, str]]) -> list[tuple[int, str]]:
    """20 (row, completion) pairs over five rows' (problem_type, solution): right, wrong and answer-only for each
    row, then two answers, no tags, a think alone, an empty reply and a rambling right one."""
    assert len(solutions) == 5
    wrong = {"span": "[5.00, 9.00]", "multiple choice": "A", "numerical": "7", "ordering": "3, 2, 1", "OCR": "EXIT"}
    out = []
    for i, (ptype, sol) in enumerate(solutions):
        out += [
            (i, f"<think>Shot 1 shows it.</think><answer>{sol}</answer>"),
            (i, f"<think>Looking again.</think>\n<answer>{wrong[ptype]}</answer>"),
            (i, f"<answer>{sol}</answer>"),
        ]
    first = solutions[0][1]
    out += [
        (0, f"<think>a</think><answer>{first}</answer><answer>{first}</answer>"),
        (1, "no tags at all " * 40),
        (2, "<think>only thinking</think>"),
        (3, ""),
        (4, "<think>" + "I look at every shot in turn. " * 30 + f"</think><answer>{solutions[4][1]}</answer>"),
    ]
    return out


Rewarded = tuple[str, str, list[str], list[dict[str, str]]]  # solution, problem type, options, prompt


def our_totals(pairs: list[tuple[int, str]], rows: list[Rewarded]) -> list[float]:
    """trainers/rewards.py's weighted total for each (row, completion), on the row's solution, problem type, options
    and prompt as curated (the export's `<video>` placeholder taken out)."""
    out = []
    for i, completion in pairs:
        solution, ptype, options, prompt = rows[i]
        curated = [{**m, "content": m["content"].removeprefix("<video>\n")} for m in prompt]
        out.append(score_completion(completion, solution, ptype, options, prompt=curated)["total"])
    assert len(out) == 20 and len(set(out)) > 3  # varied scores, so equality means something
    return out


@needs_frameworks
def test_webdataset_reads_every_sample_with_its_keyframes_and_clip(ds: Path, tmp_path: Path) -> None:
    out = export(ds, "webdataset", tmp_path / "wds", "--with-video")
    groups = {
        f"{table}/{split}": sorted(str(p) for p in (out / table).glob(f"{split}-*.tar"))
        for table in ("sft", "rl", "pairs")
        for split in ("train", "val")
    }
    read = framework("webdataset", {"groups": groups}, tmp_path)["groups"]
    for table in ("sft", "rl", "pairs"):
        for split in ("train", "val"):
            got = read[f"{table}/{split}"]
            ids = pool_ids(ds, table, split)
            assert [s["id"] for s in got] == ids  # every row, in id order
            assert [s["key"] for s in got] == [i.replace(".", "_") for i in ids]
            assert all(Path(s["video_path"]).is_file() for s in got)
            clip_size = Path(got[0]["video_path"]).stat().st_size
            assert all(s["video_bytes"] == [clip_size] for s in got)
            assert [s["frames"] for s in got] == [[[64, 36]] * n for n in keyframes(ds, table, split)]
        assert any(keyframes(ds, table, "train")) or table == "pairs"


@needs_frameworks
def test_webdataset_shards_are_capped_and_stream_in_order(tmp_path: Path) -> None:
    from flows.exports.webdataset import ShardWriter

    writer = ShardWriter(tmp_path / "train", cap=12000)
    for i in range(7):
        writer.add(
            [
                (f"s{i}.json", json.dumps({"sample_id": f"s{i}", "video_path": "x"}).encode()),
                (f"s{i}.kf00.jpg", jpeg((i * 30, 0, 0))),
            ]
        )
    writer.close()
    assert len(writer.shards) > 1 and sum(writer.samples) == 7
    assert all(p.stat().st_size <= 12000 for p in writer.shards)
    got = framework("webdataset", {"groups": {"all": [str(p) for p in writer.shards]}}, tmp_path)["groups"]["all"]
    assert [s["id"] for s in got] == [f"s{i}" for i in range(7)]


@needs_frameworks
def test_llamafactory_loads_and_tokenizes_every_row(ds: Path, tmp_path: Path) -> None:
    from trainers.embedded import embedded_model_dir

    out = export(ds, "llamafactory", tmp_path / "lf", "--copy-media")
    info = json.loads((out / "dataset_info.json").read_text())
    names = sorted(info)
    assert names == ["vidcot_dpo_train", "vidcot_dpo_val", "vidcot_sft_train", "vidcot_sft_val"]
    got = framework(
        "llamafactory",
        {"datasets": names, "dir": str(out), "tokenizer": str(embedded_model_dir()), "work": str(tmp_path / "w")},
        tmp_path,
    )
    for name in names:
        table, split = ("pairs" if "_dpo_" in name else "sft"), name.rsplit("_", 1)[1]
        n = len(pool_ids(ds, table, split))
        g = got[name]
        assert g["aligned"] == g["encoded"] == n
        # LLaMA-Factory found each clip under its media_dir (the export folder) and made the path absolute.
        assert all(v is not None and len(v) == 1 and Path(v[0]).is_file() for v in g["videos"])
        assert all(Path(v[0]).is_relative_to(out / "media") for v in g["videos"])
        assert g["video_tags"] == [1] * n
        assert g["system"] == ["s"] * n  # the system turn went to LLaMA-Factory's system slot
        assert g["responses"] == [2 if table == "pairs" else 1] * n
        assert all(k > 0 for k in g["labels"])  # something to learn from in every row


@needs_frameworks
def test_swift_preprocesses_every_file_and_its_grpo_reward_is_ours(ds: Path, tmp_path: Path) -> None:
    out = export(ds, "swift", tmp_path / "swift")
    files = sorted(str(p) for p in out.rglob("*.jsonl"))
    grpo = json.loads((out / "grpo" / "train.jsonl").read_text().splitlines()[0])
    rows = [json.loads(line) for line in (out / "grpo" / "train.jsonl").read_text().splitlines()]
    pairs = completions([(r["problem_type"], r["solution"]) for r in rows])
    got = framework(
        "swift",
        {
            "files": files,
            "plugin": str(out / "vidcot_swift_reward.py"),
            "grpo": str(out / "grpo" / "train.jsonl"),
            "rows": [i for i, _ in pairs],
            "completions": [c for _, c in pairs],
        },
        tmp_path,
    )
    for f in files:
        kind, split = Path(f).parent.name, Path(f).stem
        table = {"sft": "sft", "grpo": "rl", "dpo": "pairs"}[kind]
        assert got[f]["rows"] == len(pool_ids(ds, table, split)), f
        assert all(v and Path(v[0]).is_file() for v in got[f]["videos"])
    assert {"solution", "problem_type", "options"} <= set(got[str(out / "grpo" / "train.jsonl")]["columns"])
    assert grpo["messages"][1]["content"].startswith("<video>\n")
    rewarded = [(r["solution"], r["problem_type"], r["options"], r["messages"]) for r in rows]
    assert got["rewards"] == our_totals(pairs, rewarded)


@needs_frameworks
def test_verl_rlhf_dataset_reads_every_row_and_its_reward_is_ours(ds: Path, tmp_path: Path) -> None:
    from trainers.embedded import embedded_model_dir

    media = ds.parent / "media"
    out = export(ds, "verl", tmp_path / "verl", "--media-root", media)
    files = [str(out / "train.parquet"), str(out / "val.parquet")]
    import pyarrow.parquet as pq

    table = pq.read_table(files[0]).to_pylist()
    pairs = completions([(r["ability"], r["reward_model"]["ground_truth"]) for r in table])
    got = framework(
        "verl",
        {
            "files": files,
            "tokenizer": str(embedded_model_dir()),
            "work": str(tmp_path / "w"),
            "cwd": str(media),
            "reward": str(out / "vidcot_reward.py"),
            "rows": [i for i, _ in pairs],
            "completions": [c for _, c in pairs],
        },
        tmp_path,
    )
    assert got["ids"] == pool_ids(ds, "rl", "train") + pool_ids(ds, "rl", "val")
    assert got["rows"] == len(got["ids"])
    # Paths relative to --media-root: verl reads them from the folder training runs in.
    assert all(len(v) == 1 and (media / v[0]).is_file() and not Path(v[0]).is_absolute() for v in got["videos"])
    rewarded = [
        (r["reward_model"]["ground_truth"], r["ability"], r["extra_info"]["options"], r["prompt"]) for r in table
    ]
    assert got["scores"] == our_totals(pairs, rewarded)


def test_a_clip_moved_since_curation_is_a_one_line_error_naming_it(ds: Path, tmp_path: Path) -> None:
    media = ds.parent / "media"
    moved = media.parent / "moved"
    shutil.copytree(media, moved)
    (media / "clip 1.mp4").rename(moved / "clip 1 (moved).mp4")
    try:
        for fmt in ("llamafactory", "swift", "verl", "webdataset"):
            r = vidcot("export", ds, "--format", fmt, "--out", tmp_path / fmt)
            assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
            assert f"clip {media / 'clip 1.mp4'}" in r.stderr and "moved or was deleted" in r.stderr, r.stderr
            assert not (tmp_path / fmt).exists()
        r = vidcot("export", ds, "--format", "verl", "--out", tmp_path / "v", "--media-root", moved)
        assert r.returncode == 2 and "is not under --media-root" in r.stderr, r.stderr
    finally:
        (moved / "clip 1 (moved).mp4").rename(media / "clip 1.mp4")
        shutil.rmtree(moved)


def test_copy_media_makes_a_self_contained_folder(ds: Path, tmp_path: Path) -> None:
    out = export(ds, "swift", tmp_path / "swift", "--copy-media")
    rows = [json.loads(line) for line in (out / "sft" / "train.jsonl").read_text().splitlines()]
    assert [r["videos"] for r in rows] == [["media/0000000000000000.mp4"]]
    assert (out / rows[0]["videos"][0]).read_bytes() == (ds.parent / "media" / "clip 0.mp4").read_bytes()
    assert sorted(p.name for p in (out / "media").iterdir()) == ["0000000000000000.mp4", "1111111111111111.mp4"]
