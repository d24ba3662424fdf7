"""Conventions every `vidcot` command keeps, run as the installed `vidcot` program: options before or after the
positional arguments, CSV with `\\n` line ends, `--format json` one JSON array and `--format jsonl` JSON Lines,
a quiet exit when the reader of stdout goes away, and `query --output` never inside the dataset."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from flows.cli import EXIT_PIPE_CLOSED, build_parser
from tests.tiny_dataset import snapshot, tiny_dataset

ROOT = Path(__file__).resolve().parents[1]
VIDCOT = Path(sys.executable).with_name("vidcot")
BIG_SQL = "SELECT i, repeat('x', 80) AS pad FROM range(200000) t(i)"  # megabytes: more than any pipe buffer holds


def vidcot(*args: str | Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([str(VIDCOT), *map(str, args)], capture_output=True, cwd=ROOT, timeout=300)


def one_line_error(r: subprocess.CompletedProcess[bytes], *needles: str) -> str:
    err = r.stderr.decode()
    assert r.returncode == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err
    return err


@pytest.fixture(scope="module")
def ds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_dataset(tmp_path_factory.mktemp("cli") / "ds", videos=2)


def test_the_installed_program_is_the_one_under_test() -> None:
    assert VIDCOT.is_file(), f"{VIDCOT} is missing: install the package into the venv (`make install`)"


# --- options anywhere ------------------------------------------------------------------------------------------------


def test_options_before_between_and_after_positionals(ds: Path) -> None:
    sql = "SELECT count(*) AS n FROM shots"
    for args in (
        ["query", ds, "--format", "json", sql],  # the case issue 14 names: an option between DATASET and SQL
        ["query", "--format", "json", ds, sql],
        ["query", ds, sql, "--format", "json"],
        ["query", ds, "--format=json", sql, "-v"],
        ["-v", "query", "--revision", "1", ds, "--format", "json", sql],
    ):
        r = vidcot(*args)
        assert r.returncode == 0, (args, r.stderr.decode())
        assert json.loads(r.stdout) == [{"n": 4}], args


def test_every_command_takes_options_on_either_side() -> None:
    # Parsing only: each command with an option in front of its positionals and one after them.
    parser = build_parser()
    cases = {
        "curate": ["curate", "--until", "shots", "a.mp4", "--out", "ds", "b.mp4"],
        "query": ["query", "--limit", "3", "ds", "SELECT 1"],
        "export": ["export", "--format", "hf", "ds", "--out", "x"],
        "browse": ["browse", "--port", "0", "ds", "--revision", "2"],
        "card": ["card", "--json", "ds", "--revision", "1"],
        "shots": ["shots", "--json", "v.mp4", "--detector", "content"],
        "transcribe": ["transcribe", "--json", "v.mp4", "--threads", "1"],
        "samples": ["samples", "--no-real", "out"],
    }
    for name, argv in cases.items():
        args = parser.parse_args(argv)
        assert args.command == name
    assert parser.parse_args(cases["curate"]).inputs == [Path("a.mp4"), Path("b.mp4")]
    assert parser.parse_args(cases["query"]).sql == "SELECT 1"
    assert parser.parse_args(cases["browse"]).revision == 2
    # Every command still parses with its options in front (the intermixed parser refuses some argument shapes).
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, command in sub.choices.items():  # type: ignore[union-attr]
        with pytest.raises(SystemExit) as stopped:
            command.parse_args(["--help"])
        assert stopped.value.code == 0, name


def test_a_missing_positional_is_still_an_argparse_error(ds: Path) -> None:
    r = vidcot("query", "--format", "json")
    assert r.returncode == 2 and b"required: DATASET" in r.stderr and b"Traceback" not in r.stderr


# --- output formats ---------------------------------------------------------------------------------------------------


def test_csv_has_newline_line_ends(ds: Path) -> None:
    r = vidcot("query", ds, "SELECT video_id[:4] AS v, start FROM shots ORDER BY 1, 2", "--format", "csv")
    assert r.returncode == 0, r.stderr.decode()
    assert b"\r" not in r.stdout
    assert r.stdout.decode() == "v,start\n0000,0.0\n0000,4.0\n1111,0.0\n1111,4.0\n"


def test_json_is_one_array_and_jsonl_one_object_a_line(ds: Path) -> None:
    sql = "SELECT video_id, start FROM shots ORDER BY 1, 2"
    as_json = vidcot("query", ds, sql, "--format", "json")
    as_jsonl = vidcot("query", ds, sql, "--format", "jsonl")
    assert as_json.returncode == 0 and as_jsonl.returncode == 0
    rows = json.loads(as_json.stdout)
    assert isinstance(rows, list) and len(rows) == 4
    assert rows[0] == {"video_id": "0" * 64, "start": 0.0} and rows[-1] == {"video_id": "1" * 64, "start": 4.0}
    assert [json.loads(line) for line in as_jsonl.stdout.decode().splitlines()] == rows
    empty = vidcot("query", ds, "SELECT * FROM shots WHERE false", "--format", "json")
    assert json.loads(empty.stdout) == []
    assert vidcot("query", ds, "SELECT * FROM shots WHERE false", "--format", "jsonl").stdout == b""


# --- the reader of stdout goes away ---------------------------------------------------------------------------------


def run_with_reader_gone(*args: str | Path) -> tuple[int, str]:
    """Start vidcot with stdout on a pipe whose only reader is closed before vidcot writes a byte."""
    proc = subprocess.Popen([str(VIDCOT), *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    return proc.wait(300), err


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "jsonl"])
def test_query_stops_quietly_when_stdout_closes(ds: Path, fmt: str) -> None:
    code, err = run_with_reader_gone("query", ds, BIG_SQL, "--format", fmt, "--limit", "0")
    assert err == "" and code == EXIT_PIPE_CLOSED


def test_json_printing_commands_stop_quietly_when_stdout_closes(ds: Path) -> None:
    code, err = run_with_reader_gone("info", ds, "--json")
    assert err == "" and code == EXIT_PIPE_CLOSED
    code, err = run_with_reader_gone("query", "--help")  # argparse itself ignores the closed pipe
    assert err == "" and code in (0, EXIT_PIPE_CLOSED)


def test_head_in_a_shell_pipeline(ds: Path) -> None:
    script = f'"{VIDCOT}" query "{ds}" "{BIG_SQL}" --format csv | head -1; echo "status ${{PIPESTATUS[0]}}" >&2'
    r = subprocess.run(["bash", "-c", script], capture_output=True, cwd=ROOT, timeout=300)
    assert r.stdout == b"i,pad\n"
    assert r.stderr.decode() == f"status {EXIT_PIPE_CLOSED}\n"


@pytest.mark.slow  # loads the embedded Whisper model
def test_transcribe_json_stops_quietly_when_stdout_closes(tmp_path: Path) -> None:
    silence = tmp_path / "silence.wav"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "1", str(silence)], check=True
    )
    code, err = run_with_reader_gone("transcribe", silence, "--json", "--threads", "1")
    assert "Traceback" not in err and "BrokenPipe" not in err
    assert code == EXIT_PIPE_CLOSED


# --- query --output ---------------------------------------------------------------------------------------------------


def test_query_output_inside_the_dataset_is_refused(ds: Path, tmp_path: Path) -> None:
    before = snapshot(ds)
    link = tmp_path / "link"
    link.symlink_to(ds)
    for target in (ds / "manifest.json", ds / "sft" / "evil.parquet", ds / "new.parquet", ds, link / "x.parquet"):
        r = vidcot("query", ds, "SELECT 'x' AS a", "--output", target)
        one_line_error(r, "inside the dataset")
    assert snapshot(ds) == before
    assert json.loads(vidcot("query", ds, "SELECT count(*) AS n FROM sft", "--format", "json").stdout) == [{"n": 2}]


def test_query_output_writes_a_parquet_file_outside(ds: Path, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    out = tmp_path / "frames.parquet"
    out.write_bytes(b"an older result")  # replaced whole
    r = vidcot("query", ds, "SELECT frame_id FROM frames ORDER BY 1", "--output", out)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stderr.decode().strip() == f"wrote 2 rows to {out}"
    frame_ids = pq.read_table(out).column("frame_id").to_pylist()
    assert len(frame_ids) == 2 and frame_ids == sorted(frame_ids)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames.parquet"]  # no temporary file left


def test_query_output_errors_are_one_line(ds: Path, tmp_path: Path) -> None:
    one_line_error(vidcot("query", ds, "SELECT 1", "--output", tmp_path / "missing" / "x.parquet"), "cannot write")
    one_line_error(vidcot("query", ds, "SELECT 1", "--output", "/sys/x.parquet"), "cannot write /sys/x.parquet")
    one_line_error(vidcot("query", ds, "SELECT 1", "--output", tmp_path), "is a folder")
