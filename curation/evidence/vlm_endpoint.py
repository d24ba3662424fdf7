"""A vision-language model behind an OpenAI-compatible chat endpoint (vLLM, SGLang, llama.cpp server, ...).

Each keyframe is sent as a base64 JPEG data URL with a captioning prompt; the reply's text becomes the
evidence row's `caption`. Transient failures (timeouts, connection errors, HTTP 429 and 5xx) are retried with
backoff; if a keyframe still fails, the whole video is rejected (`vlm_endpoint_error`) rather than stored with
missing captions, so a later run retries it.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import time
import urllib.error
import urllib.request

import numpy as np

from curation.evidence.base import BackendError, EvidenceBackend
from schemas import EvidenceRecord, FrameRecord

log = logging.getLogger(__name__)

DEFAULT_PROMPT = (
    "Describe this video frame in one or two factual sentences: the people, objects, actions, any visible text, "
    "and the setting. Do not guess what is not visible."
)


class EndpointBackend(EvidenceBackend):
    """Captions from `POST {url}/chat/completions` with one image per request."""

    name = "vlm-endpoint"

    def __init__(
        self,
        url: str,
        model: str,
        api_key_env: str | None = "OPENAI_API_KEY",
        timeout: float = 60.0,
        retries: int = 2,
        max_tokens: int = 128,
        prompt: str = DEFAULT_PROMPT,
    ) -> None:
        self.url = url.rstrip("/")
        if not self.url.endswith("/chat/completions"):
            self.url += "/chat/completions"
        self.model, self.api_key_env = model, api_key_env
        self.timeout, self.retries, self.max_tokens, self.prompt = timeout, retries, max_tokens, prompt

    def models(self) -> list[str]:
        return [f"{self.model} via {self.url}"]

    def request_body(self, jpeg: bytes) -> dict:
        """The chat-completions request for one keyframe (OpenAI image_url content part)."""
        data_url = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")
        return {
            "model": self.model,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": self.prompt},
                        {"type": "image_url", "image_url": {"url": data_url}},
                    ],
                }
            ],
            "max_tokens": self.max_tokens,
            "temperature": 0.0,
        }

    def caption(self, jpeg: bytes) -> str:
        """The model's caption for one JPEG; raises BackendError once retries are spent."""
        body = json.dumps(self.request_body(jpeg)).encode()
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        if key:
            headers["Authorization"] = f"Bearer {key}"
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(8.0, 0.5 * 2 ** (attempt - 1)))
            req = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    reply = json.loads(resp.read())
                return str(reply["choices"][0]["message"]["content"] or "").strip()
            except urllib.error.HTTPError as e:
                last = f"HTTP {e.code} from {self.url}"
                if e.code != 429 and e.code < 500:  # a client error will not improve by retrying
                    break
            except (urllib.error.URLError, TimeoutError, OSError) as e:
                last = f"{type(e).__name__} from {self.url}: {getattr(e, 'reason', e)}"
            except (KeyError, IndexError, TypeError, ValueError) as e:
                last = f"malformed reply from {self.url}: {e}"
                break
        raise BackendError("vlm_endpoint_error", f"{last} after {attempt + 1} attempt(s)")

    def describe(self, frames: list[FrameRecord], images: list[np.ndarray], rows: list[EvidenceRecord]) -> None:
        for frame, row in zip(frames, rows, strict=True):
            row.caption = self.caption(frame.jpeg)
