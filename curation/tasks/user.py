"""User-supplied questions per video, from JSONL or CSV, validated and turned into ordinary tasks.

One question per JSONL line (an object) or CSV row (with a header). Fields:

=============  ========  ===============================================================================
field          required  value
=============  ========  ===============================================================================
video          yes       the video's id (sha256) or its path as probed (a unique file name also works);
                         `video_id` or `video_path` may be used instead
question       yes       the question text
answer         yes       in the format of its problem type (see `trainers.rewards`); for multiple choice
                         the option letter or the option's text
problem_type   yes       one of schemas.PROBLEM_TYPES
options        mc only   a list (JSON list in CSV, or options separated by " | "), lettered or not
span           no        [start, end] seconds (JSON list or "12.4-15"); for span tasks it may replace answer
=============  ========  ===============================================================================

Every bad row is reported at once, as `FILE:LINE: field 'NAME': problem`, in a `UserTasksError`.
User tasks go through the same leakage flags, splits, drafting and verification as silver tasks.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from curation.tasks.ids import task_id
from schemas import PROBLEM_TYPES, Provenance, TaskRecord, VideoView
from trainers.rewards import choice_letter, ordering_items, parse_boxes, parse_span
from trainers.textview import lettered_options

GENERATOR = "user"
FIELDS = ("video", "video_id", "video_path", "question", "answer", "problem_type", "options", "span")
MAX_REPORTED = 20


class UserTasksError(ValueError):
    """A user question file with bad rows; the message names file, line and field of each."""


class _RowError(Exception):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"field {field!r}: {problem}")


def read_rows(path: Path) -> list[tuple[int, dict[str, Any] | str]]:
    """(line number, row) pairs; a row that cannot be parsed at all is its error message instead."""
    rows: list[tuple[int, dict[str, Any] | str]] = []
    if path.suffix.lower() == ".csv":
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            for row in reader:
                extra = row.pop(None, None)  # type: ignore[call-overload]
                if extra:
                    rows.append((reader.line_num, f"more cells than header columns: {extra}"))
                else:
                    rows.append((reader.line_num, {k: v for k, v in row.items() if v not in (None, "")}))
        return rows
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                rows.append((n, f"not valid JSON: {e.msg}"))
                continue
            rows.append((n, obj if isinstance(obj, dict) else "each line must be a JSON object"))
    return rows


def _resolver(views: list[VideoView]) -> dict[str, VideoView]:
    by: dict[str, VideoView] = {}
    names: dict[str, list[VideoView]] = {}
    for v in views:
        by[v.video_id] = v
        by[v.video.path] = v
        by[str(Path(v.video.path).resolve())] = v
        names.setdefault(Path(v.video.path).name, []).append(v)
    for name, vs in names.items():
        if len(vs) == 1:
            by.setdefault(name, vs[0])
    return by


def _text(row: dict[str, Any], field: str, required: bool = True) -> str | None:
    value = row.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _RowError(field, "is missing or empty")
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise _RowError(field, f"must be text, got {type(value).__name__}")
    return str(value).strip()


def _options(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        s = value.strip()
        if s.startswith("["):
            try:
                value = json.loads(s)
            except json.JSONDecodeError as e:
                raise _RowError("options", f"not a valid JSON list: {e.msg}") from None
        else:
            value = [p.strip() for p in s.split("|")]
    if not isinstance(value, list) or not all(isinstance(o, str) and o.strip() for o in value):
        raise _RowError("options", "must be a list of non-empty texts")
    return [o.strip() for o in value]


def _span(value: Any, duration: float) -> tuple[float, float]:
    if isinstance(value, list) and len(value) == 2 and all(isinstance(x, int | float) for x in value):
        span = (float(value[0]), float(value[1]))
    else:
        parsed = parse_span(str(value)) if value is not None else None
        if parsed is None:
            raise _RowError("span", f"must be [start, end] in seconds, got {value!r}")
        span = parsed
    start, end = span
    if not 0 <= start < end:
        raise _RowError("span", f"needs 0 <= start < end, got [{start}, {end}]")
    if duration > 0 and end > duration + 0.01:
        raise _RowError("span", f"ends at {end}s, after the video's end ({duration:.2f}s)")
    return start, end


def _task(row: dict[str, Any], videos: dict[str, VideoView], provenance: Provenance | None) -> TaskRecord:
    unknown = sorted(set(row) - set(FIELDS))
    if unknown:
        raise _RowError(unknown[0], f"unknown field; fields are: {', '.join(FIELDS)}")
    key = next((f for f in ("video", "video_id", "video_path") if row.get(f) not in (None, "")), None)
    if key is None:
        raise _RowError("video", "is missing (give the video's id or path)")
    ref = _text(row, key)
    view = videos.get(ref or "")
    if view is None:
        raise _RowError(key, f"no video {ref!r} in this dataset")
    question = _text(row, "question")
    ptype = _text(row, "problem_type")
    if ptype not in PROBLEM_TYPES:
        raise _RowError("problem_type", f"{ptype!r} is not one of: {', '.join(PROBLEM_TYPES)}")
    options = _options(row.get("options"))
    if options and ptype != "multiple choice":
        raise _RowError("options", f"only multiple choice takes options, not {ptype}")
    span = _span(row["span"], view.duration) if row.get("span") not in (None, "") else None
    answer = _text(row, "answer", required=not (ptype == "span" and span))
    if ptype == "multiple choice":
        if len(options) < 2:
            raise _RowError("options", "multiple choice needs at least two options")
        options = lettered_options(options)
        letter = choice_letter(answer or "", options)
        if letter is None or not any(o.startswith(f"{letter}.") or o.startswith(f"{letter})") for o in options):
            raise _RowError("answer", f"{answer!r} is neither an option letter nor an option's text")
        answer = letter
    elif ptype in ("numerical", "regression"):
        try:
            float(answer or "")
        except ValueError:
            raise _RowError("answer", f"{ptype} answers must be a number, got {answer!r}") from None
    elif ptype == "span":
        span = span or _span(answer, view.duration)
        answer = f"[{span[0]:.2f}, {span[1]:.2f}]"
    elif ptype == "ordering":
        items = ordering_items(answer)
        if not items or sorted(items) != list(range(1, len(items) + 1)):
            raise _RowError("answer", f'ordering answers list 1..n once each, like "3, 1, 2"; got {answer!r}')
        answer = ", ".join(map(str, items))
    elif ptype == "box" and parse_boxes(answer) is None:
        raise _RowError("answer", 'box answers are a JSON list of {"time", "x1", "y1", "x2", "y2"}')
    assert question is not None and answer is not None
    return TaskRecord(
        task_id=task_id(view.video_id, GENERATOR, question, answer, options),
        video_id=view.video_id,
        generator=GENERATOR,
        problem_type=ptype,
        question=question,
        answer=answer,
        options=options,
        span=[round(span[0], 2), round(span[1], 2)] if span else None,
        evidence_ids=[],
        provenance=provenance,
    )


def load_user_tasks(path: Path | str, views: list[VideoView], provenance: Provenance | None = None) -> list[TaskRecord]:
    """Tasks from a JSONL or CSV question file; raises UserTasksError naming every bad line and field."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"user task file {path} does not exist")
    videos = _resolver(views)
    tasks: list[TaskRecord] = []
    errors: list[str] = []
    for line, row in read_rows(path):
        if isinstance(row, str):
            errors.append(f"{path}:{line}: {row}")
            continue
        try:
            tasks.append(_task(row, videos, provenance))
        except _RowError as e:
            errors.append(f"{path}:{line}: {e}")
    if errors:
        more = f"\n… and {len(errors) - MAX_REPORTED} more" if len(errors) > MAX_REPORTED else ""
        raise UserTasksError(f"{len(errors)} bad row(s) in {path}:\n" + "\n".join(errors[:MAX_REPORTED]) + more)
    return tasks
