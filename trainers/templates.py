"""Versioned prompt templates, and the two a policy model sees (system and user turn of the task format).

Every template's hash goes into the provenance of the rows it produced and into the cache keys of the stages that
use it. Change a template's text and you must bump its version: the hash changes either way, so rows made with the
old text stay distinguishable, but the version is what a human reads in a diff.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class PromptTemplate:
    """A named, versioned prompt text with `str.format` placeholders."""

    name: str
    version: int
    text: str

    def prompt_hash(self) -> str:
        """sha256 of name, version and text (hex, 16 chars): what provenance records."""
        blob = f"{self.name}\x00{self.version}\x00{self.text}".encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def render(self, **values: object) -> str:
        """The template with its placeholders filled."""
        return self.text.format(**values)


def combined_hash(*templates: PromptTemplate) -> str:
    """One hash for a stage that uses several templates (order matters)."""
    blob = "\x00".join(t.prompt_hash() for t in templates).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


# The system prompt of the training/eval format: what the policy model sees.
TASK_SYSTEM = PromptTemplate(
    name="task_system",
    version=1,
    text=(
        "You are given a text description of a video: its shots with times, what is visible in each shot, "
        "and a transcript when there is speech. Think step by step inside <think></think>, "
        "citing the times you rely on like [12.4s] or [12.4–15.0s]. "
        "Then give only the final answer inside <answer></answer>."
    ),
)

# The user turn: text view of the video, the question, options and the expected answer form.
TASK_USER = PromptTemplate(
    name="task_user",
    version=1,
    text="{view}Question: {question}\n{options}Answer format: {answer_format}",
)
