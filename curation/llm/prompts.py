"""Prompt templates of the drafting and refinement stages (the task format's own are in `trainers.templates`)."""

from __future__ import annotations

from trainers.templates import PromptTemplate

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

# Skeleton mode: the reasoning is built by code from the task's evidence (curation/skeleton.py); the LLM only
# rewrites it as prose, and the rewrite is kept only when it keeps every fact and passes the checks.
DRAFT_POLISH = PromptTemplate(
    name="draft_polish",
    version=1,
    text=(
        "Question: {question}\n{options}"
        "Notes: {skeleton}\n"
        "Rewrite the notes as clear, fluent sentences. Keep every bracketed citation such as [4.00–8.00s] or "
        "[kf f00001], every number and every quoted phrase exactly as written, and add nothing the notes do "
        "not say."
    ),
)
