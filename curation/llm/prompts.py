"""Versioned prompt templates. Every template's hash goes into the provenance of the rows it produced.

Change a template's text and you must bump its version: the hash changes either way, so rows made with the old
text stay distinguishable, but the version is what a human reads in a diff.
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

# Drafting asks a small model for short parts; the tags are composed in code (SmolLM2 loops on tag prompts).
DRAFT_OBSERVE = PromptTemplate(
    name="draft_observe",
    version=1,
    text=(
        "{view}Question: {question}\n{options}\n"
        "Which shot helps answer the question, and what does it show? Answer in one sentence "
        "that starts with the shot number."
    ),
)

DRAFT_ANSWER = PromptTemplate(
    name="draft_answer",
    version=1,
    text=(
        "{view}Question: {question}\n{options}\n"
        "Notes: {notes}\n"
        "Answer format: {answer_format}\nGive only the answer."
    ),
)

# Second pass: the frame evidence of the cited range, and the claims it does not support.
REFINE_REWRITE = PromptTemplate(
    name="refine_rewrite",
    version=1,
    text=(
        "Question: {question}\n"
        "What the keyframes show:\n{evidence}\n"
        "These statements are not supported by the keyframes: {unsupported}.\n"
        "Rewrite the reasoning below in one or two sentences using only what the keyframes show, "
        "and keep the times.\nReasoning: {think}"
    ),
)

# Rationale mode (STaR-style rationalisation): the drafting model is told the silver answer and asked to explain
# it from the video; refinement and the verifier still check every claim and the final answer.
DRAFT_HINT = PromptTemplate(
    name="draft_hint",
    version=1,
    text="(The correct answer is {answer}. Explain it from what the video shows.)",
)

SYSTEM_SHORT = PromptTemplate(
    name="system_short",
    version=1,
    text="You are a careful assistant who describes videos briefly and only states what is given.",
)

ALL_TEMPLATES: tuple[PromptTemplate, ...] = (
    TASK_SYSTEM,
    TASK_USER,
    DRAFT_OBSERVE,
    DRAFT_ANSWER,
    REFINE_REWRITE,
    DRAFT_HINT,
    SYSTEM_SHORT,
)
