"""Fault injection: SIGKILL across stages then resume, a full disk, an LLM endpoint that dies, flipped shard bytes,
a manifest from a newer schema version. Each fault must end in rows equal to a clean run, or in a clear one-line
error (exit code 2) with the previous revision intact — never a half-written dataset.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from benchmarks.records import sample_records
from flows.cache import Outcome, StageCache
from schemas import SCHEMA_VERSION, TABLES
from schemas.store import CorruptShard, Dataset, DatasetWriter, SchemaVersionError, StoreError
from tests.llm_standins import ChatServer, Reply, chat_reply
from tests.runs import copy_clips, sigkill_run

ROOT = Path(__file__).resolve().parents[1]
KILL_CLIPS = ("cuts_narrated.mp4", "shapes.mp4")  # one with speech, one without; both short
PAGE = 4096
# Prefect's ephemeral API server gets 20 s to start by default; on two cores shared with other jobs it can need more
# (set for the session's other `curate` subprocesses too, such as the `pipeline_dataset` fixture's).
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
ENV = dict(os.environ)


def vidcot(*args: str | Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        env=ENV,
    )


def curate_cmd(inputs: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "flows.cli", "curate", str(inputs), "--out", str(out), "--no-progress", *extra]


def summary_of(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def content_rows(root: Path) -> dict[str, list[str]]:
    """Every table's rows without provenance (who/when made them), order-independent."""
    ds = Dataset(root)
    out = {}
    for t in TABLES:
        rows = ds.read(t).to_pylist()
        out[t] = sorted(json.dumps({k: v for k, v in r.items() if k != "provenance"}, sort_keys=True, default=repr)
                        for r in rows)  # fmt: skip
    return out


def visible_shards(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.glob("[a-z]*/*.parquet"))


def one_line_error(proc: subprocess.CompletedProcess[str], command: str) -> str:
    """The CLI's contract for input errors: exit 2, one `vidcot CMD: error:` line (the last), no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-3000:])
    assert proc.stderr.strip().splitlines()[-1].startswith(f"vidcot {command}: error:"), proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith(f"vidcot {command}: error:")]
    assert len(lines) == 1, proc.stderr[-3000:]
    return lines[0]


# ---- SIGKILL at several points, then resume ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def kill_inputs(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_clips(samples_dir, KILL_CLIPS, tmp_path_factory.mktemp("kill-in"))


def finished(ds: Path, stage: str) -> int:
    """Videos whose `stage` result is in the stage cache (entries appear whole: they are renamed into place)."""
    return len(list((ds / ".cache" / stage).glob("*/*/outcome.json")))


def kill_after(inputs: Path, ds: Path, stage: str, log: Path) -> None:
    """Start `curate`, SIGKILL it as soon as one more video has finished `stage` (it is then mid-run)."""
    before = finished(ds, stage)
    with open(log, "w") as err:
        proc = subprocess.Popen(
            curate_cmd(inputs, ds, "--until", "evidence"), cwd=ROOT, stdout=err, stderr=err, env=ENV,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 400
        while finished(ds, stage) <= before:
            if proc.poll() is not None or time.monotonic() > deadline:
                sigkill_run(proc)
                pytest.fail(f"curate ended or stalled before {stage} could be interrupted:\n{log.read_text()[-3000:]}")
            time.sleep(0.05)
        sigkill_run(proc)
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.slow
def test_sigkill_at_each_stage_then_resume_equals_an_uninterrupted_run(kill_inputs: Path, tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    clean = summary_of(vidcot("curate", kill_inputs, "--out", reference, "--until", "evidence", "--no-progress",
                              "--json"))  # fmt: skip
    assert clean["kept"] == 2 and clean["revision"] == 1
    ds = tmp_path / "ds"
    # One dataset, killed three times in a row, each time a stage further: mid-shots (probing done), mid-ASR and
    # mid-evidence. A killed run publishes nothing: the manifest is written last.
    for stage in ("shots", "asr", "evidence"):
        kill_after(kill_inputs, ds, stage, tmp_path / f"killed-at-{stage}.log")
        assert not (ds / "manifest.json").exists(), f"a run killed during {stage} published a revision"
        # Every entry is whole (renamed into place once written); a kill while another worker writes may leave
        # that worker's temp folder, which is never read and which the next run sweeps.
        entries = [p for p in (ds / ".cache").glob("*/*/*") if not p.name.startswith(".tmp-")]
        assert entries and all((p / "outcome.json").is_file() for p in entries), "a half-written cache entry"
    resumed = summary_of(vidcot("curate", kill_inputs, "--out", ds, "--until", "evidence", "--no-progress", "--json"))
    assert not list((ds / ".cache").glob("*/*/.tmp-*")), "the resumed run left a killed run's temp folders"
    assert resumed["cache_hits"]["probe"] == 2 and resumed["cache_hits"]["shots"] == 2
    assert resumed["cache_hits"]["asr"] >= 1 and resumed["cache_hits"]["evidence"] >= 1
    assert resumed["rows_added"] == clean["rows_added"] and resumed["revision"] == 1
    assert content_rows(ds) == content_rows(reference)
    assert Dataset(ds).verify() == len(Dataset(ds).manifest.shards)
    assert visible_shards(ds) == sorted(s.file for s in Dataset(ds).manifest.shards)


# ---- a full disk --------------------------------------------------------------------------------------------------


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs of our own, so filling it harms nothing else."""
    mnt = tmp_path / "fs"
    mnt.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "vidcot-test", str(mnt)], capture_output=True,
                          text=True)  # fmt: skip
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {proc.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(fs: Path, leave: int = 0) -> Path:
    """Fill `fs` with one file until no byte is left, then give back `leave` bytes (whole pages)."""
    filler = fs / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for chunk in (1 << 16, PAGE, 1):
            while True:
                try:
                    os.write(fd, b"x" * chunk)
                except OSError as e:
                    assert e.errno == errno.ENOSPC
                    break
    finally:
        os.close(fd)
    assert shutil.disk_usage(fs).free == 0
    if leave:
        os.truncate(filler, max(0, filler.stat().st_size - leave) // PAGE * PAGE)
    return filler


def first_revision(root: Path) -> bytes:
    with DatasetWriter(root) as w:
        for table in ("videos", "shots"):
            w.append(table, sample_records("a" * 64)[table])
        assert w.commit() == 1
    return (root / "manifest.json").read_bytes()


def test_full_disk_during_publish_is_a_clear_error_and_the_previous_revision_stays(small_fs: Path) -> None:
    ds = small_fs / "ds"
    manifest = first_revision(ds)
    before = content_rows(ds)
    filler = fill(small_fs, leave=8 * PAGE)  # room for the lock and a little, not for 6 MiB of keyframes
    frame = sample_records("b" * 64)["frames"][0]
    frames = [dataclasses.replace(frame, frame_id=f"f{i}", jpeg=os.urandom(1 << 16)) for i in range(100)]
    with pytest.raises(StoreError) as err, DatasetWriter(ds) as w:
        w.append("frames", frames)
        w.commit()
    msg = str(err.value)
    assert "No space left on device" in msg and str(ds) in msg and "unchanged at revision 1" in msg
    assert (ds / "manifest.json").read_bytes() == manifest
    assert content_rows(ds) == before and Dataset(ds).verify() == 2
    assert not (ds / ".staging").exists() and not list(ds.glob(".manifest.json.tmp-*"))
    # Space freed: the next writer publishes revision 2 as usual.
    filler.unlink()
    with DatasetWriter(ds) as w:
        w.append("frames", frames[:10])
        assert w.commit() == 2


def test_full_disk_in_the_stage_cache_leaves_no_half_entry(small_fs: Path, caplog: pytest.LogCaptureFixture) -> None:
    cache = StageCache(small_fs / "ds")
    table = pa.table({"x": pa.array(os.urandom(1 << 20))})  # 1 MiB of noise: zstd cannot shrink it
    assert cache.put("shots", "h1", Outcome("shots", "v1", "ok"), {"frames": table})
    fill(small_fs, leave=PAGE)
    assert not cache.put("shots", "h1", Outcome("shots", "v2", "ok"), {"frames": table})
    assert cache.get("shots", "h1", "v2") is None and cache.get("shots", "h1", "v1") is not None
    assert not list((small_fs / "ds").rglob(".tmp-*"))  # the temp folder went with the failure
    assert "cannot cache shots result for v2: No space left on device" in caplog.text
    assert not cache.put("shots", "h1", Outcome("shots", "v3", "ok"), {"frames": table})
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and cache.failed_writes == 2  # one line, not one per video


def test_a_killed_writers_temp_folders_are_swept_and_entries_kept(tmp_path: Path) -> None:
    cache = StageCache(tmp_path / "ds")
    assert cache.sweep() == 0  # no cache yet
    assert cache.put("evidence", "h1", Outcome("evidence", "v1", "ok"), {})
    stray = cache.entry("evidence", "h1", "v1").parent / ".tmp-0123"  # what a kill mid-`put` leaves
    stray.mkdir()
    (stray / "outcome.json").write_text("{}")
    assert cache.sweep() == 1 and not stray.exists()
    assert cache.get("evidence", "h1", "v1") is not None and cache.sweep() == 0


def test_full_disk_in_curate_is_one_line_on_stderr(small_fs: Path, samples_dir: Path, tmp_path: Path) -> None:
    ds = small_fs / "ds"
    manifest = first_revision(ds)
    before = content_rows(ds)
    clip = tmp_path / "in" / "shapes.mp4"
    clip.parent.mkdir()
    shutil.copy(samples_dir / "shapes.mp4", clip)
    fill(small_fs, leave=3 * PAGE)  # the lock and the probe's cache entry fit; the shards of the revision do not
    proc = vidcot("curate", clip.parent, "--out", ds, "--until", "probe", "--no-progress")
    # The probe's cache write fails first (one warning line, no traceback; the video becomes a transient
    # cache_error reject), then publishing the run's shards fails: that is the error the user gets, in one line.
    line = one_line_error(proc, "curate")
    assert "No space left on device" in line and str(ds) in line and "unchanged at revision 1" in line
    assert (ds / "manifest.json").read_bytes() == manifest and content_rows(ds) == before
    assert not (ds / ".staging").exists()


# ---- an LLM endpoint that dies mid-run ---------------------------------------------------------------------------


class DyingEndpoint:
    """Answers `healthy` requests with a chain, then a 500 (which is retried), then dies for good."""

    def __init__(self, healthy: int) -> None:
        self.healthy = healthy
        self.requests = 0
        self.server = ChatServer(self.respond)

    def respond(self, body: dict[str, Any]) -> Reply:
        self.requests += 1
        if self.requests <= self.healthy:
            return chat_reply("1 at 0.5 s the frame shows the scene the question asks about.")
        if self.requests == self.healthy + 1:
            return 500, {"Content-Type": "application/json"}, b'{"error": "overloaded"}'
        return "kill"  # no reply, and the server shuts down: every later connection is refused


@pytest.mark.slow
def test_llm_endpoint_dying_mid_run_retries_then_rejects_with_reasons(
    pipeline_dataset: tuple[Path, dict], tmp_path: Path
) -> None:
    src, _ = pipeline_dataset
    ds = tmp_path / "ds"
    shutil.copytree(src, ds)
    inputs = src.parent
    clips = sorted(inputs.glob("*.mp4"))

    def llm(url: str) -> list[str]:
        # Rationale mode: every chain is the endpoint's (one request per task). Skeleton drafting, the default,
        # writes a chain from the evidence even when the endpoint is down: only its polish needs the LLM.
        return ["--set", "draft.mode=rationale", "--set", "draft.llm.backend=openai", "--set",
                f"draft.llm.base_url={url}", "--set", "draft.llm.model=dying", "--set", "draft.llm.max_concurrency=1",
                "--set", "draft.llm.max_retries=2", "--set", "draft.llm.backoff_s=0.01", "--set",
                "draft.llm.timeout_s=5"]  # fmt: skip

    args: list[str | Path] = ["--config", inputs / "small.yaml", "--until", "draft", "--no-progress", "--json"]
    endpoint = DyingEndpoint(healthy=2)
    try:
        proc = vidcot("curate", *clips, "--out", ds, *args, *llm(endpoint.server.base_url))
        s = summary_of(proc)
    finally:
        endpoint.server.stop()
    tasks = s["synthesis"]["tasks"] - s["synthesis"]["not_drafted"]  # prompt-answerable tasks are not drafted
    assert tasks > 3, "the run needs more tasks than the endpoint answers"
    assert s["synthesis"]["ran"]["draft"] == tasks and s["synthesis"]["drafted"] == 2
    # The request after the healthy ones got a 500 and was retried; the retry found the server dying (a further retry
    # may still reach it while it shuts down); after that every attempt is refused.
    assert endpoint.requests >= 2 + 2
    assert "retrying LLM request" in proc.stderr
    cot = Dataset(ds).read("cot").to_pylist()
    mine = [c for c in cot if c["model"].startswith("dying @ ")]
    assert len(mine) == tasks
    assert sorted(c["reject_reason"] or "" for c in mine) == [""] * 2 + ["draft:llm_error"] * (tasks - 2)
    assert all(c["draft"] == "" and not c["accepted"] for c in mine if c["reject_reason"])
    assert sorted(c["source"] for c in mine if not c["reject_reason"]) == ["rationale"] * 2
    # The backend's own words are kept with the code: what failed and after how many attempts.
    details = [c["reject_detail"] for c in mine if c["reject_reason"]]
    assert all("attempts" in d or "HTTP 500" in d for d in details), details
    # A down endpoint is the run's fault, not the chain's: those rejects are not cached. With the endpoint back
    # (another address: it is not part of the cache key), the same command drafts exactly the chains that failed.
    healthy = ChatServer(lambda body: chat_reply("1 at 0.5 s the frame shows the scene the question asks about."))
    try:
        again = summary_of(vidcot("curate", *clips, "--out", ds, *args, *llm(healthy.base_url)))
    finally:
        healthy.stop()
    assert (again["synthesis"]["cached"]["draft"], again["synthesis"]["ran"]["draft"]) == (2, tasks - 2)
    assert again["synthesis"]["drafted"] == tasks and len(healthy.bodies) == tasks - 2
    cot = Dataset(ds).read("cot").to_pylist()
    assert not [c for c in cot if c["model"].startswith("dying @ ") and c["reject_reason"] == "draft:llm_error"]


# ---- flipped bytes and a newer schema version ---------------------------------------------------------------------


def flip_a_byte(dataset: Path, table: str) -> str:
    shard = Dataset(dataset).shards(table)[0]
    path = dataset / shard.file
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size: only the checksum can tell
    path.write_bytes(bytes(data))
    return shard.file


def test_flipped_bytes_are_found_by_the_checksum_and_the_shard_is_named(dataset_dir: Path) -> None:
    first_revision(dataset_dir)
    bad = flip_a_byte(dataset_dir, "shots")
    with pytest.raises(CorruptShard, match=bad):
        Dataset(dataset_dir).verify()
    with pytest.raises(CorruptShard, match=bad):
        Dataset(dataset_dir).read("shots")
    assert Dataset(dataset_dir).read("videos").num_rows == 1  # the other shards still read
    line = one_line_error(vidcot("info", dataset_dir, "--verify"), "info")
    assert bad in line and "checksum" in line
    # DuckDB views (query, export) would fail inside DuckDB on the damaged footer; the error names the shard.
    line = one_line_error(vidcot("query", dataset_dir, "SELECT count(*) FROM shots"), "query")
    assert bad in line and "checksum" in line
    line = one_line_error(vidcot("export", dataset_dir, "--format", "hf", "--out", dataset_dir.parent / "x"), "export")
    assert bad in line


def test_manifest_from_a_newer_schema_version_is_a_clear_error(dataset_dir: Path) -> None:
    first_revision(dataset_dir)
    path = dataset_dir / "manifest.json"
    doc = json.loads(path.read_text())
    doc["schema_version"] = SCHEMA_VERSION + 1
    path.write_text(json.dumps(doc))
    with pytest.raises(SchemaVersionError, match=f"schema version {SCHEMA_VERSION + 1}.*\\({SCHEMA_VERSION}\\)"):
        Dataset(dataset_dir)
    with pytest.raises(SchemaVersionError), DatasetWriter(dataset_dir):
        pass  # a writer must not append to (and so downgrade) a newer dataset
    commands: list[list[str | Path]] = [["info", dataset_dir], ["query", dataset_dir, "SELECT count(*) FROM shots"]]
    for cmd in commands:
        line = one_line_error(vidcot(*cmd), str(cmd[0]))
        assert f"schema version {SCHEMA_VERSION + 1}" in line and f"({SCHEMA_VERSION})" in line
        assert "upgrade vidcot" in line
