"""Stand-ins for an LLM: a real HTTP server on 127.0.0.1 that speaks the OpenAI chat API with replies a test
scripts, and an in-process backend that answers from a list."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from curation.llm.base import GenRequest, GenResult, LLMBackend

# A reply is (status, headers, body bytes), or one of the actions "hang", "die", "kill".
Reply = tuple[int, dict[str, str], bytes] | str


def chat_reply(content: Any, finish: str = "stop", tokens: int = 3) -> Reply:
    """A well-formed /v1/chat/completions reply."""
    body = {
        "id": "x",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}],
        "usage": {"prompt_tokens": 10, "completion_tokens": tokens},
    }
    return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()


class ChatServer:
    """A real HTTP server on 127.0.0.1 whose replies a test scripts with `respond(body) -> Reply`."""

    def __init__(self, respond: Callable[[dict[str, Any]], Reply]) -> None:
        self.respond = respond
        self.calls: Counter[str] = Counter()
        self.bodies: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server._lock:
                    server.bodies.append(body)
                    server.calls[last_user(body)] += 1
                reply = server.respond(body)
                if reply == "hang":
                    time.sleep(3)
                    return
                if reply in ("die", "kill"):
                    self.connection.shutdown(socket.SHUT_RDWR)  # no status line: the peer sees a dead server
                    self.close_connection = True
                    if reply == "kill":
                        threading.Thread(target=server.stop, daemon=True).start()
                    return
                assert not isinstance(reply, str)
                status, headers, data = reply
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self._stopped = False

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            self.httpd.shutdown()
            self.httpd.server_close()


def last_user(body: dict[str, Any]) -> str:
    return [m["content"] for m in body["messages"] if m["role"] == "user"][-1]


class ScriptedBackend(LLMBackend):
    """Answers with a fixed list of answers in turn; an answer of None is a failed request."""

    model_id = "scripted"

    def __init__(self, answers: list[str | None]) -> None:
        self.answers = answers
        self.requests: list[GenRequest] = []

    def generate(self, requests: list[GenRequest]) -> list[GenResult]:
        self.requests += requests
        out = []
        for i, _ in enumerate(requests):
            a = self.answers[i % len(self.answers)]
            out.append(GenResult.failed("timeout") if a is None else GenResult(f" I look.</think><answer>{a}</answer>"))
        return out
