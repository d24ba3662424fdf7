"""The task generator interface and the `tasks` stage that runs every generator over a collection of videos.

Generating is collection-level: multiple-choice distractors come from other videos, and splits are assigned over
the whole collection. Each generator lives in its own module (`curation/tasks/<name>.py`) and exposes a class
named `Generator`. A generator never raises for one video: what it cannot ask well (one shot only, nothing
visible, a phrase said twice) comes back as a `RejectRecord` with a reason code.
"""

from __future__ import annotations

import abc
import copy
import dataclasses
import importlib
import random
import string
from collections import Counter
from typing import Any, ClassVar

from pydantic import Field, field_validator, model_validator

from curation.balance import balance_tasks
from curation.collection import Batches, Collection, StageRows
from curation.splits import SplitConfig, assign_splits
from curation.stage import Rejected, Stage, StageConfig
from curation.tasks.answerable import is_prompt_answerable
from curation.tasks.ids import task_id
from curation.tasks.leakage import is_subtitle_leak
from curation.tasks.quota import scoped_question, speech_minutes, task_quota, window_view, windows
from schemas import PROBLEM_TYPES, Provenance, RejectRecord, TaskRecord, VideoView

GENERATORS: tuple[str, ...] = (
    *("grounding", "ordering", "visible", "counting", "ocr", "numeric", "boxes", "absence"),
    # Compositional: two sources or two times joined by a small program; each task keeps its trace.
    *("compose_speech_vision", "compose_vision_speech", "compose_temporal", "compose_shots", "compose_change"),
)


class TasksConfig(StageConfig):
    """Which generators run, how many tasks each makes per video (`curation.tasks.quota`), and their thresholds."""

    generators: list[str] = Field(default_factory=lambda: list(GENERATORS))
    per_minute: float = Field(3.0, ge=0.0, description="tasks per generator per minute of video")
    per_speech_minute: float = Field(
        4.0, ge=0.0, description="tasks per minute of speech, for generators that quote the transcript"
    )
    min_per_video: int = Field(3, ge=0, description="tasks per generator for any video, however short")
    max_per_video: int = Field(
        120, ge=1, description="most tasks per generator per video (set alone: a fixed count, the floor too)"
    )
    window_s: float = Field(
        60.0, gt=0.0, description="window of a long video's whole-video questions (ordering), in seconds"
    )
    seed: int = 0
    phrase_words: int = Field(4, ge=2, le=12, description="words in a grounding phrase")
    min_word_probability: float = Field(0.5, ge=0.0, le=1.0, description="ASR confidence of grounded words")
    languages: list[str] = Field(default_factory=list, description="languages speech tasks quote (empty: any known)")
    min_language_probability: float = Field(
        0.5, ge=0.0, le=1.0, description="language confidence below which a segment's language is unknown"
    )
    ordering_shots: int = Field(4, ge=3, le=8, description="most shots in an ordering task")
    num_options: int = Field(4, ge=2, le=8, description="options of a multiple-choice task")
    min_object_score: float = Field(0.5, ge=0.0, le=1.0, description="detector score for an object to count")
    max_count: int = Field(10, ge=1, description="largest count a counting task asks for")
    min_ocr_chars: int = Field(3, ge=1, description="shortest on-screen text an OCR task asks for")
    user_tasks: str | None = Field(None, description="JSONL/CSV file of user questions (see curation.tasks.user)")
    absence_share: float = Field(
        0.15, ge=0.0, lt=1.0, description="largest share of all tasks that are absence questions (tasks/absence.py)"
    )
    splits: SplitConfig = Field(default_factory=SplitConfig)

    @model_validator(mode="before")
    @classmethod
    def _fixed_count(cls, data: Any) -> Any:
        # `max_per_video` alone keeps its old meaning, a fixed count per generator per video: it is the floor too.
        if isinstance(data, dict) and "max_per_video" in data and "min_per_video" not in data:
            data = {**data, "min_per_video": data["max_per_video"]}
        return data

    @field_validator("generators")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [g for g in value if g not in GENERATORS]
        if unknown:
            raise ValueError(f"unknown generator(s) {unknown}; known: {', '.join(GENERATORS)}")
        return value


def letter_options(answer: str, distractors: list[str], rng: random.Random) -> tuple[list[str], str]:
    """Shuffle the answer among distractors; returns (["A. …", "B. …"], answer letter)."""
    texts = [answer, *distractors]
    rng.shuffle(texts)
    letters = string.ascii_uppercase
    return [f"{letters[i]}. {t}" for i, t in enumerate(texts)], letters[texts.index(answer)]


class TaskGenerator(abc.ABC):
    """Makes silver tasks for one video; may look at the other videos of the collection (distractors)."""

    name: ClassVar[str]
    problem_types: ClassVar[tuple[str, ...]]
    #: what the generator's quota grows with: minutes of video, or minutes of speech (`curation.tasks.quota`)
    basis: ClassVar[str] = "video"
    #: whether its questions range over the whole video, so a long video is asked per window
    windowed: ClassVar[bool] = False

    def __init__(self, config: TasksConfig, provenance: Provenance) -> None:
        self.config = config
        self._provenance = provenance

    def quota(self, view: VideoView) -> int:
        """How many tasks this generator makes for `view` (see `curation.tasks.quota`)."""
        cfg = self.config
        if self.basis == "speech":
            return task_quota(speech_minutes(view), cfg.per_speech_minute, cfg.min_per_video, cfg.max_per_video)
        return task_quota(view.duration / 60.0, cfg.per_minute, cfg.min_per_video, cfg.max_per_video)

    def generate_scaled(self, view: VideoView, collection: list[VideoView]) -> list[TaskRecord | RejectRecord]:
        """`generate` with the quota of this video, over its windows when the generator is `windowed`.

        A generator reads its quota as `config.max_per_video`: it runs on a copy whose config says the quota."""
        parts = windows(view, self.config.window_s) if self.windowed else [(0.0, view.duration, set())]
        if len(parts) == 1:
            return self._with_quota(self.quota(view)).generate(view, collection)
        out: list[TaskRecord | RejectRecord] = []
        left = self.quota(view)
        for start, end, shot_ids in parts:
            share = min(left, task_quota((end - start) / 60.0, self.config.per_minute, 1, left))
            if share <= 0:
                break
            for item in self._with_quota(share).generate(window_view(view, start, end, shot_ids), collection):
                if isinstance(item, TaskRecord):
                    question = scoped_question(item.question, start, end)
                    ids = task_id(view.video_id, self.name, question, item.answer, item.options)
                    item = dataclasses.replace(item, question=question, task_id=ids)
                    left -= 1
                out.append(item)
        return out

    def _with_quota(self, n: int) -> TaskGenerator:
        twin = copy.copy(self)
        twin.config = self.config.model_copy(update={"max_per_video": n})
        return twin

    @abc.abstractmethod
    def generate(self, view: VideoView, collection: list[VideoView]) -> list[TaskRecord | RejectRecord]:
        """Tasks for `view`, and a reject for each prompt dropped (degenerate or ambiguous)."""

    def rng(self, view: VideoView, key: str = "") -> random.Random:
        """A random generator fixed by seed, video, generator and key, so re-runs make the same tasks."""
        return random.Random(f"{self.config.seed}:{view.video_id}:{self.name}:{key}")

    def task(
        self,
        view: VideoView,
        problem_type: str,
        question: str,
        answer: str,
        evidence_ids: list[str],
        options: list[str] | None = None,
        span: list[float] | None = None,
    ) -> TaskRecord:
        """A TaskRecord with its deterministic id and this stage's provenance."""
        assert problem_type in PROBLEM_TYPES, problem_type
        return TaskRecord(
            task_id=task_id(view.video_id, self.name, question, answer, options or ()),
            video_id=view.video_id,
            generator=self.name,
            problem_type=problem_type,
            question=question,
            answer=answer,
            options=list(options or []),
            span=span,
            evidence_ids=list(evidence_ids),
            provenance=self._provenance,
        )

    def reject(self, view: VideoView, reason: str, detail: str, item_id: str | None = None) -> RejectRecord:
        """A dropped prompt, with the generator's name in the detail."""
        return RejectRecord(
            stage=TasksStage.name,
            reason=reason,
            detail=f"{self.name}: {detail}",
            path=view.video.path,
            video_id=view.video_id,
            item_id=item_id,
            provenance=self._provenance,
        )


def cap_share(tasks: list[TaskRecord], generator: str, share: float) -> list[TaskRecord]:
    """`tasks` with those of `generator` cut to at most `share` of the result (round-robin over videos, so the
    kept ones spread across the collection; deterministic)."""
    mine = [t for t in tasks if t.generator == generator]
    rest = [t for t in tasks if t.generator != generator]
    limit = int(share * len(rest) / (1.0 - share) + 1e-9) if share < 1 else len(mine)
    if len(mine) <= limit:
        return tasks
    per_video: dict[str, list[TaskRecord]] = {}
    for t in sorted(mine, key=lambda t: (t.video_id, t.task_id)):
        per_video.setdefault(t.video_id, []).append(t)
    picked: list[TaskRecord] = []
    while len(picked) < limit:
        for queue in per_video.values():
            if queue and len(picked) < limit:
                picked.append(queue.pop(0))
    keep = {t.task_id for t in picked}
    return [t for t in tasks if t.generator != generator or t.task_id in keep]


def load_generator(name: str, config: TasksConfig, provenance: Provenance) -> TaskGenerator:
    """The generator of module `curation.tasks.<name>`."""
    module = importlib.import_module(f"curation.tasks.{name}")
    return module.Generator(config, provenance)


class TasksStage(Stage[TasksConfig, list[VideoView], tuple[list[TaskRecord], list[RejectRecord]]]):
    """Silver tasks for a collection: every configured generator, user questions, leakage flags and splits."""

    name = "tasks"
    Config = TasksConfig
    version = 3  # 2: task ids include the options; 3: letters, Yes/No and counts balanced (curation/balance.py)
    reads = ("videos", "shots", "segments", "words", "frames", "evidence")
    writes = ("tasks",)
    needs = ("shots", "asr", "evidence")

    def __init__(self, config: TasksConfig | None = None) -> None:
        super().__init__(config)
        self.reasons: Counter[str] = Counter()

    def generate(self, views: list[VideoView]) -> tuple[list[TaskRecord], list[RejectRecord]]:
        """Tasks and rejects for `views`. Each task gets `subtitle_leak`, `prompt_answerable` and the
        split of its video."""
        prov = self.provenance()
        generators = [load_generator(n, self.config, prov) for n in self.config.generators]
        tasks: dict[str, TaskRecord] = {}
        rejects: list[RejectRecord] = []
        for view in views:
            for gen in generators:
                try:
                    out = gen.generate_scaled(view, views)
                except Exception as e:  # noqa: BLE001 - one bad video never fails the run
                    out = [gen.reject(view, "generator_error", f"{type(e).__name__}: {e}")]
                for item in out:
                    if isinstance(item, RejectRecord):
                        rejects.append(item)
                    else:
                        tasks.setdefault(item.task_id, item)
        if self.config.user_tasks:
            from curation.tasks.user import load_user_tasks

            for item in load_user_tasks(self.config.user_tasks, views, prov):
                tasks.setdefault(item.task_id, item)
        kept = cap_share(list(tasks.values()), "absence", self.config.absence_share)
        kept = balance_tasks(kept, self.config.seed)  # letters, Yes/No and counts even (curation/balance.py)
        tasks = {t.task_id: t for t in kept}
        by_id = {v.video_id: v for v in views}
        splits = assign_splits(list(by_id), self.config.splits)
        for t in tasks.values():
            t.subtitle_leak = t.subtitle_leak or is_subtitle_leak(t, by_id[t.video_id])
            t.prompt_answerable = t.prompt_answerable or is_prompt_answerable(t, by_id[t.video_id])
            t.split = splits[t.video_id]
        self.reasons.update(r.reason for r in rejects)
        return list(tasks.values()), rejects

    def run(self, collection: Collection, batches: Batches) -> StageRows:
        """The collection contract: `generate` over every view."""
        tasks, rejects = self.generate(list(collection.views.values()))
        return StageRows(
            rows={"tasks": tasks},
            rejected=[Rejected(r.reason, r.detail, r.video_id, r.item_id, r.path) for r in rejects],
            stats={
                "tasks": len(tasks),
                "absence_tasks": sum(t.generator == "absence" for t in tasks),
                "prompt_answerable_tasks": sum(t.prompt_answerable for t in tasks),
            },
        )
