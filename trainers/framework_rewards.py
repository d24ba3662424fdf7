"""Our rewards in the shapes other trainers call: verl's `compute_score` and an ms-swift GRPO reward plugin.

Both score with `trainers.rewards.score_completion` (its weighted `total`), so a rollout scores exactly as the
verifier and `vidcot train grpo` score it. `vidcot export --format verl|swift` writes a small file beside the data
that puts vidcot on `sys.path` and imports this module, so it works as verl's `custom_reward_function.path` and as
swift's `--external_plugins`. Torch-free: it runs in the frameworks' own environments.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trainers.rewards import DEFAULT_WEIGHTS, RewardConfig, score_completion

VIDEO_TAG = "<video>\n"
SWIFT_NAME = "vidcot"


def without_video_tag(prompt: Any) -> Any:
    """The prompt as curated: the `<video>` placeholder the export put before the user text taken out."""
    if not isinstance(prompt, list | tuple):
        return prompt
    out = []
    for m in prompt:
        m = dict(m)
        content = m.get("content")
        if m.get("role") == "user" and isinstance(content, str) and content.startswith(VIDEO_TAG):
            m["content"] = content[len(VIDEO_TAG) :]
        out.append(m)
    return out


def _config(weights: dict[str, float] | None) -> RewardConfig:
    return RewardConfig(dict(weights) if weights is not None else dict(DEFAULT_WEIGHTS))


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: str,
    extra_info: dict[str, Any] | None = None,
    weights: dict[str, float] | None = None,
    **kwargs: Any,
) -> dict[str, float]:
    """verl's reward function: `score` is the weighted total, the other keys each reward (verl logs them).
    `extra_info` holds problem_type, options and prompt (as exported); `weights` (verl's
    `custom_reward_function.reward_kwargs`) replace the default reward weights."""
    info = extra_info or {}
    scores = score_completion(
        solution_str,
        ground_truth,
        info["problem_type"],
        list(info.get("options") or []),
        _config(weights),
        without_video_tag(info.get("prompt")),
    )
    return {"score": scores["total"], **{k: v for k, v in scores.items() if k != "total"}}


def swift_scores(
    completions: Sequence[Any],
    solution: Sequence[str],
    problem_type: Sequence[str],
    options: Sequence[Sequence[str] | None] | None = None,
    messages: Sequence[Any] | None = None,
    weights: dict[str, float] | None = None,
) -> list[float]:
    """The weighted total for each completion, from the columns ms-swift passes a reward function (`messages`
    is the conversation; its prompt is every turn before the last assistant ones)."""
    cfg = _config(weights)
    opts = list(options) if options is not None else [None] * len(completions)
    convs = list(messages) if messages is not None else [None] * len(completions)
    out = []
    for c, s, pt, o, m in zip(completions, solution, problem_type, opts, convs, strict=True):
        prompt = list(m) if m is not None else None
        while prompt and prompt[-1].get("role") == "assistant":
            prompt.pop()
        out.append(score_completion(c, s, pt, list(o or []), cfg, without_video_tag(prompt))["total"])
    return out


def register_swift() -> None:
    """Add the reward to ms-swift's registry as `vidcot` (`--reward_funcs vidcot`)."""
    from swift.rewards import ORM, orms

    class VidcotReward(ORM):  # type: ignore[misc, valid-type]
        def __call__(self, completions: Sequence[Any], **kwargs: Any) -> list[float]:
            cols = {k: kwargs.get(k) for k in ("options", "messages")}
            return swift_scores(completions, kwargs["solution"], kwargs["problem_type"], **cols)

    orms[SWIFT_NAME] = VidcotReward
