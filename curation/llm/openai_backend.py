"""An OpenAI-compatible chat endpoint (vLLM, llama.cpp server, Ollama, …) over stdlib HTTP.

Requests run in a bounded thread pool. 429, 5xx and connection failures are retried with exponential backoff
(honouring a short Retry-After); a request that exceeds its timeout is not retried by default, because a server
that hangs once usually hangs again and retrying multiplies the wait. Every failure ends as a `GenResult` with a
reason code; nothing raises out of `generate`.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from curation.llm.base import GenRequest, GenResult, LLMBackend, cut_at_stop

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 30.0


class _Retryable(Exception):
    def __init__(self, code: str, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.retry_after = retry_after


class OpenAIBackend(LLMBackend):
    """Chat completions against `{base_url}/chat/completions` (base_url usually ends in `/v1`).

    `prefill` is sent as a final assistant message; servers that continue it (vLLM with
    `extra_body={"continue_final_message": True, "add_generation_prompt": False}`, llama.cpp) treat it as the start
    of the reply; an echoed prefill is stripped from the text.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        max_concurrency: int = 4,
        timeout_s: float = 60.0,
        max_retries: int = 3,
        backoff_s: float = 0.5,
        max_backoff_s: float = 8.0,
        retry_timeouts: bool = False,
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.model_id = f"{model} @ {base_url}"
        self.api_key = api_key
        self.timeout_s = timeout_s
        self.max_retries = max(0, max_retries)
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.retry_timeouts = retry_timeouts
        self.extra_body = dict(extra_body or {})
        self._pool = ThreadPoolExecutor(max_workers=max(1, max_concurrency), thread_name_prefix="llm-http")

    def close(self) -> None:
        """Stop the worker threads (waits for requests in flight)."""
        self._pool.shutdown(wait=True)

    def generate(self, requests: list[GenRequest]) -> list[GenResult]:
        """One result per request, in order, with at most `max_concurrency` requests in flight."""
        return list(self._pool.map(self._one_safe, requests))

    def body(self, req: GenRequest) -> dict[str, Any]:
        """The JSON body of one request."""
        messages = [{"role": m.role, "content": m.content} for m in req.messages]
        if req.prefill:
            messages.append({"role": "assistant", "content": req.prefill})
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": req.max_new_tokens,
            "temperature": req.temperature,
        }
        if req.seed is not None:
            body["seed"] = req.seed
        if req.stop:
            body["stop"] = list(req.stop)[:4]  # the OpenAI API takes at most 4; the rest are cut locally
        body.update(self.extra_body)
        return body

    def _one_safe(self, req: GenRequest) -> GenResult:
        try:
            return self._one(req)
        except Exception as e:  # never let one request take the batch down
            log.warning("LLM request failed: %r", e)
            return GenResult.failed("backend_error", repr(e))

    def _one(self, req: GenRequest) -> GenResult:
        payload = json.dumps(self.body(req)).encode()
        attempt = 0
        while True:
            try:
                raw = self._post(payload)
                return self._parse(raw, req)
            except _Retryable as e:
                if attempt >= self.max_retries:
                    return GenResult.failed(e.code, f"{e.detail} (after {attempt + 1} attempts)")
                delay = min(self.max_backoff_s, self.backoff_s * 2**attempt) * (0.5 + random.random() / 2)
                if e.retry_after is not None:
                    delay = max(delay, min(e.retry_after, MAX_RETRY_AFTER_S))
                log.info("retrying LLM request in %.2fs: %s", delay, e.detail)
                time.sleep(delay)
                attempt += 1
            except TimeoutError as e:
                if self.retry_timeouts and attempt < self.max_retries:
                    attempt += 1
                    continue
                return GenResult.failed("timeout", f"no reply within {self.timeout_s}s ({e})")
            except urllib.error.HTTPError as e:
                detail = _read_error_body(e)
                return GenResult.failed("http_error", f"HTTP {e.code}: {detail}")

    def _post(self, payload: bytes) -> bytes:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, data=payload, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as resp:
                return resp.read()
        except urllib.error.HTTPError as e:
            if e.code in RETRYABLE_STATUS:
                raise _Retryable("http_error", f"HTTP {e.code}", _retry_after(e)) from None
            raise
        except TimeoutError:
            raise TimeoutError("read timed out") from None
        except urllib.error.URLError as e:
            if isinstance(e.reason, TimeoutError):
                raise TimeoutError(str(e.reason)) from None
            raise _Retryable("connection_error", f"cannot reach {self.url}: {e.reason}") from None
        except (ConnectionError, http.client.HTTPException, OSError) as e:
            # reset, refused, remote closed without a reply, truncated body (IncompleteRead)
            raise _Retryable("connection_error", f"{type(e).__name__}: {e}") from None

    def _parse(self, raw: bytes, req: GenRequest) -> GenResult:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            return GenResult.failed("invalid_utf8", f"reply is not UTF-8 at byte {e.start}")
        try:
            data = json.loads(text)
            choice = data["choices"][0]
            content = choice["message"].get("content")
            finish = choice.get("finish_reason") or "stop"
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as e:
            return GenResult.failed("malformed_response", f"{type(e).__name__}: {text[:200]!r}")
        if content is not None and not isinstance(content, str):
            return GenResult.failed("malformed_response", f"content is {type(content).__name__}")
        content = content or ""
        try:
            content.encode("utf-8")  # lone surrogates from \\udcxx escapes are not text
        except UnicodeEncodeError:
            return GenResult.failed("invalid_utf8", "reply content holds unpaired surrogates")
        if req.prefill and content.startswith(req.prefill):
            content = content[len(req.prefill) :]
        content, stopped = cut_at_stop(content, req.stop)
        usage = data.get("usage") or {}
        tokens = int(usage.get("completion_tokens") or 0) if isinstance(usage, dict) else 0
        finish_reason = "stop" if stopped else ("length" if finish == "length" else "stop")
        if not content.strip():
            return GenResult(text="", tokens=tokens, finish_reason=finish_reason, error="empty_output")
        return GenResult(text=content, tokens=tokens, finish_reason=finish_reason)


def _retry_after(e: urllib.error.HTTPError) -> float | None:
    value = e.headers.get("Retry-After") if e.headers else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _read_error_body(e: urllib.error.HTTPError) -> str:
    try:
        return e.read(300).decode("utf-8", "replace")
    except Exception:
        return ""
