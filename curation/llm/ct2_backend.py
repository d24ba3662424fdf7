"""CTranslate2 on the CPU: the embedded SmolLM2 in int8 by default, or any local Hugging Face causal LM by path.

Same contract as `curation.llm.transformers_backend`: one `GenResult` per request, error codes instead of
exceptions, `prefill` continued and `stop` strings cut. What makes it faster on a CPU: int8 matrix products, a
decoding loop in C++, rows that stop on their own (end of turn, a stop string, their own `max_new_tokens`) while
the rest of the batch goes on, and `sample(requests, k)`, which draws k samples from one prompt encoding
(`num_hypotheses`).
"""

from __future__ import annotations

import atexit
import json
import logging
import threading
import weakref
from itertools import groupby
from pathlib import Path
from typing import Any

from curation.llm.base import GenRequest, GenResult, LLMBackend, Settle, decoded, stop_reached

log = logging.getLogger(__name__)

# Prompts that open with at least this many equal tokens (one video's text view, asked several questions) share it
# as CTranslate2's static prompt: encoded once and cached, each prompt then forwards only its own tail.
MIN_SHARED = 64
# CTranslate2 keeps every static prompt's state (about 140 KB a token for SmolLM2-135M) until the generator goes:
# past this many cached tokens the generator is rebuilt (0.2 s), which empties it.
PREFIX_CACHE_TOKENS = 6144
# How much a batch's prompts may differ in length (`max_spread`). A decoding step of SmolLM2 int8 on one thread costs
# about STEP_MS + rows x (ROW_MS + ROW_CTX_MS x context tokens) ms (fit to 20-24 ms alone; 46 ms for 16 rows of 30
# tokens, 107-125 ms for 16 rows of 240).
MIN_SPREAD = 4
STEP_MS, ROW_MS, ROW_CTX_MS = 18.0, 1.7, 0.016


def max_spread(reply: int, rows: int, context: int) -> int:
    """Most tokens by which the prompts of one batch of `rows` decoding rows may differ in length.

    CTranslate2 forwards a batch's prompts at once only up to the shortest; each further token of a longer prompt
    is a decoding step of the whole batch. Splitting the batch in two instead costs each of the `reply` steps once
    more its fixed part, so the break-even is reply x STEP / (STEP + rows x per-row cost): small for many rows of
    long context and short replies (difficulty's answers: 4 tokens, which made the demo's difficulty ~8% faster than
    half the reply), large for a few short prompts with long replies (8 drafting prompts of ~100 tokens, 128-token
    replies: 52 tokens, one call, 2.2x one at a time instead of 1.5x in three calls)."""
    per_row = ROW_MS + ROW_CTX_MS * context
    return max(MIN_SPREAD, round(reply * STEP_MS / (STEP_MS + rows * per_row)))


def shared_prefixes(idx: list[int], tokens: list[list[str]]) -> list[tuple[list[int], int]]:
    """`idx` (sorted by their tokens) cut into runs that share an opening: (members, shared tokens).

    Every prompt opens with the same system turn, and one video's questions with the same view. Runs are cut where
    two neighbours share fewer than some T tokens, T chosen to save the most encoding ((members - 1) × shared per
    run); a run's `shared` leaves each member one token of its own, and is 0 for a run of one or one that shares
    fewer than `MIN_SHARED` tokens.
    """
    if not idx:
        return []
    lcp = [0] * len(idx)  # lcp[j]: tokens prompt j shares with prompt j - 1
    for j in range(1, len(idx)):
        a, b = tokens[idx[j - 1]], tokens[idx[j]]
        n, limit = 0, min(len(a), len(b)) - 1
        while n < limit and a[n] == b[n]:
            n += 1
        lcp[j] = n

    def runs(threshold: int) -> list[tuple[list[int], int]]:
        out: list[tuple[list[int], int]] = []
        for j, i in enumerate(idx):
            if j and lcp[j] >= threshold:
                members, shared = out[-1]
                out[-1] = (members + [i], min(shared, lcp[j]))
            else:
                out.append(([i], len(tokens[i])))
        return [(m, s if len(m) > 1 and s >= MIN_SHARED else 0) for m, s in out]

    def saved(cut: list[tuple[list[int], int]]) -> int:
        return sum((len(m) - 1) * s for m, s in cut)

    return max((runs(t) for t in sorted(set(lcp[1:]) | {MIN_SHARED})), key=saved)


def _release(ref: weakref.ref[CT2Backend]) -> None:
    backend = ref()
    if backend is not None:
        backend.close()


class CT2Backend(LLMBackend):
    """Generate with `ctranslate2.Generator` (int8 on the CPU by default).

    `model_path` None is the embedded SmolLM2 (converted once from its cached HF directory); a path is a
    CTranslate2 directory (has model.bin) or a Hugging Face directory, converted once into the vidcot cache.
    `intra_threads` is set deliberately (1 is fastest on a busy 2-core machine). Requests are grouped by
    temperature and stop strings; prompts that open with the same view (several questions on one video) are
    generated together with that opening as a cached static prompt (`shared_prefixes`), the others sorted by
    length (CTranslate2 forwards a batch's prompts at once only up to the shortest one); `batch_size` decoding
    rows at a time.

    Sampled replies are not reproducible from `seed`: CTranslate2 seeds each worker thread's random generator
    once. Greedy replies (temperature 0) are deterministic and do not depend on the batch.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        batch_size: int = 8,
        intra_threads: int = 1,
        compute_type: str = "int8",
        device: str = "cpu",
        max_input_tokens: int = 4096,
        model_id: str | None = None,
        prefix_cache_tokens: int = PREFIX_CACHE_TOKENS,
    ) -> None:
        import ctranslate2
        from transformers import AutoTokenizer

        from trainers import embedded

        if model_path is None:
            path = embedded.embedded_ct2_dir()
            self.model_id = model_id or embedded.ct2_model_id()
        else:
            src = Path(model_path)
            if not src.is_dir():
                raise FileNotFoundError(f"model directory {src} does not exist (set llm.model to a local path)")
            path = embedded.ct2_dir_for(src)
            self.model_id = model_id or embedded.ct2_model_id(str(src), compute_type)
        self.path = path
        self.batch_size = max(1, batch_size)
        self.max_input_tokens: int = max_input_tokens
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self._load = lambda: ctranslate2.Generator(
            str(path), device=device, compute_type=compute_type, intra_threads=intra_threads, inter_threads=1
        )
        self.generator: Any = self._load()
        self.prefix_cache_tokens = prefix_cache_tokens
        self._cached: dict[int, int] = {}  # static prompts CTranslate2 holds the state of: hash -> tokens
        self._eos = self._eos_ids(path)
        self._lock = threading.Lock()  # one batch at a time: the callback's per-row state is per call
        # A Generator that has run a Python callback aborts the interpreter if it is still alive at shutdown
        # ("terminate called without an active exception"): release it before teardown.
        atexit.register(_release, weakref.ref(self))

    def close(self) -> None:
        """Release the generator (its threads and weights). Calling it twice is harmless."""
        with self._lock:
            self.generator = None

    def _make_room(self, static: list[str]) -> None:
        """Account for a static prompt CTranslate2 is about to cache; when the cached prompts would pass
        `prefix_cache_tokens`, start a fresh generator (its cache is never emptied otherwise). Under `_lock`."""
        key = hash(tuple(static))
        if key in self._cached:
            return
        if self._cached and sum(self._cached.values()) + len(static) > self.prefix_cache_tokens:
            self.generator = self._load()
            self._cached.clear()
        self._cached[key] = len(static)

    def _eos_ids(self, path: Path) -> list[int]:
        ids: set[int] = set()
        if self.tokenizer.eos_token_id is not None:
            ids.add(int(self.tokenizer.eos_token_id))
        gen = path / "generation_config.json"
        if gen.is_file():
            src = json.loads(gen.read_text()).get("eos_token_id")
            ids.update([src] if isinstance(src, int) else (src or []))
        return sorted(ids)

    def prompt_text(self, req: GenRequest) -> str:
        """The exact text fed to the model: the chat template with a generation prompt, then the prefill."""
        msgs = [{"role": m.role, "content": m.content} for m in req.messages]
        text = self.tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        return str(text) + req.prefill

    def prompt_tokens(self, req: GenRequest) -> list[str]:
        """`prompt_text(req)` as the tokens CTranslate2 is given (the template adds its own special tokens)."""
        ids = self.tokenizer(self.prompt_text(req), add_special_tokens=False)["input_ids"]
        return list(self.tokenizer.convert_ids_to_tokens(ids))

    def generate(self, requests: list[GenRequest]) -> list[GenResult]:
        """One result per request, in order; a failing batch is retried item by item."""
        return [samples[0] for samples in self._run(requests, 1)]

    def sample(self, requests: list[GenRequest], k: int, settle: Settle | None = None) -> list[list[GenResult]]:
        """Up to k samples per request, each prompt encoded once (`num_hypotheses=k`); batches hold about
        `batch_size` decoding rows, so several prompts go together when k is small. With `settle`, each sample is
        judged as it finishes: once request i is settled its unfinished samples stop where they are and are
        dropped (no second prompt encoding, unlike rounds), so it gets the samples finished until then."""
        return self._run(requests, max(1, k), settle)

    def _run(self, requests: list[GenRequest], k: int, settle: Settle | None = None) -> list[list[GenResult]]:
        results: list[list[GenResult] | None] = [None] * len(requests)
        tokens: list[list[str]] = []
        for i, req in enumerate(requests):
            toks: list[str] = []
            try:
                toks = self.prompt_tokens(req)
            except Exception as e:  # a bad message (e.g. a template error) fails only its own item
                results[i] = [GenResult.failed("backend_error", f"prompt: {e!r}")] * k
            if results[i] is None and len(toks) > self.max_input_tokens:
                results[i] = [GenResult.failed("prompt_too_long", f"{len(toks)} tokens > {self.max_input_tokens}")] * k
            tokens.append(toks)

        def key(i: int) -> tuple[float, tuple[str, ...]]:
            return (requests[i].temperature, tuple(requests[i].stop))

        # Sorted by their tokens, prompts that open with the same text (one video's view) lie side by side.
        todo = sorted((i for i in range(len(requests)) if results[i] is None), key=lambda i: (key(i), tokens[i]))
        for _, group in groupby(todo, key=key):
            alone: list[int] = []
            for members, shared in shared_prefixes(list(group), tokens):
                # Sharing pays when the saved encoding outweighs decoding in smaller batches: short replies
                # (answers, pass@K samples), or a run that fills whole batches on its own.
                reply = max(requests[i].max_new_tokens for i in members)
                if shared and (2 * reply <= shared or len(members) * k >= self.batch_size):
                    members.sort(key=lambda i: len(tokens[i]))
                    self._chunks(members, shared, requests, tokens, k, settle, results)
                else:
                    alone.extend(members)
            self._chunks(sorted(alone, key=lambda i: len(tokens[i])), 0, requests, tokens, k, settle, results)
        return [r if r is not None else [GenResult.failed("backend_error", "no result")] * k for r in results]

    def _chunks(
        self,
        idx: list[int],
        shared: int,
        requests: list[GenRequest],
        tokens: list[list[str]],
        k: int,
        settle: Settle | None,
        results: list[list[GenResult] | None],
    ) -> None:
        """Generate `idx` (sorted by length) about `batch_size` rows at a time; with `shared` > 0 their first
        `shared` tokens are one static prompt, encoded once and cached, and each prompt forwards only its tail."""
        per_call = max(1, self.batch_size // k)
        reply = max((requests[i].max_new_tokens for i in idx), default=0)
        static = tokens[idx[0]][:shared] if shared else None
        chunk: list[int] = []
        for i in [*idx, -1]:
            spread = max_spread(reply, per_call * k, len(tokens[chunk[0]])) if chunk else 0
            if chunk and (i == -1 or len(chunk) == per_call or len(tokens[i]) - len(tokens[chunk[0]]) > spread):
                for j, res in zip(chunk, self._generate_safe(chunk, requests, tokens, k, settle, static), strict=True):
                    results[j] = res
                chunk = []
            chunk.append(i)

    def _generate_safe(
        self,
        chunk: list[int],
        requests: list[GenRequest],
        tokens: list[list[str]],
        k: int,
        settle: Settle | None,
        static: list[str] | None = None,
    ) -> list[list[GenResult]]:
        try:
            done = None if settle is None else (lambda b, rs: settle(chunk[b], rs))
            return self._generate_batch([requests[i] for i in chunk], [tokens[i] for i in chunk], k, done, static)
        except Exception as e:
            if len(chunk) == 1:
                log.warning("generation failed: %r", e)
                return [[GenResult.failed("backend_error", repr(e))] * k]
            log.warning("batched generation failed (%r); retrying one at a time", e)
            return [self._generate_safe([i], requests, tokens, k, settle, static)[0] for i in chunk]

    def _generate_batch(
        self,
        reqs: list[GenRequest],
        tokens: list[list[str]],
        k: int,
        settle: Settle | None = None,
        static: list[str] | None = None,
    ) -> list[list[GenResult]]:
        temperature = reqs[0].temperature
        stops = [s for s in reqs[0].stop if s]
        limits = [r.max_new_tokens for r in reqs]
        seen: dict[tuple[int, int], list[int]] = {}
        finished: dict[int, list[GenResult]] = {b: [] for b in range(len(reqs))}
        closed: set[int] = set()  # prompts settled: their unfinished samples are stopped and dropped

        def text(ids: list[int]) -> str:
            return str(self.tokenizer.decode(ids, skip_special_tokens=True))

        def ends(ids: list[int], b: int, last: bool) -> bool:
            if last or ids[-1] in self._eos or len(ids) >= limits[b]:
                return True
            return bool(stops) and stop_reached(ids, stops, text)

        def step(s: Any) -> bool:
            # Called for every generated token: stop this row at its own limit or once a stop string appears, and
            # every row of a prompt that `settle` says needs no more samples.
            b = s.batch_id
            if b in closed:
                return True
            ids = seen.setdefault((b, s.hypothesis_id), [])
            ids.append(s.token_id)
            if not ends(ids, b, bool(s.is_last)):
                return False
            if settle is not None:
                finished[b].append(self._decode(ids, reqs[b]))
                if settle(b, finished[b]):
                    closed.add(b)
            return True

        opts: dict[str, Any] = {
            "max_length": max(limits),
            "include_prompt_in_result": False,
            "end_token": self._eos,
            "return_end_token": True,
            "num_hypotheses": k,
            "callback": step,
        }
        if temperature > 0:
            opts.update(sampling_topk=0, sampling_topp=1.0, sampling_temperature=temperature)
        else:
            opts.update(sampling_topk=1)
        if static:
            tokens = [t[len(static) :] for t in tokens]
            opts.update(static_prompt=static, cache_static_prompt=True)
        with self._lock:
            if self.generator is None:
                raise RuntimeError("the backend is closed")
            if static:
                self._make_room(static)
            out = self.generator.generate_batch(tokens, **opts)
        if settle is not None:
            return [finished[b] if b in closed or len(finished[b]) == k else
                    [self._decode(ids, reqs[b]) for ids in res.sequences_ids] for b, res in enumerate(out)]  # fmt: skip
        return [[self._decode(ids, req) for ids in res.sequences_ids] for res, req in zip(out, reqs, strict=True)]

    def _decode(self, ids: list[int], req: GenRequest) -> GenResult:
        return decoded(ids, req, self._eos, lambda ids: str(self.tokenizer.decode(ids, skip_special_tokens=True)))
