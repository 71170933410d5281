"""A small OpenAI-compatible chat server on a loopback port, for tests and benchmarks.

Replies come from a table (last user message -> reply), else ``ECHO: <message>``; prompts that
start like Assay's judge rubric get ``judge_reply``. Usage counts words. Faults are injected
per prompt: ``faults["q1"] = [429, 500]`` answers the first two requests for q1 with those
statuses (429s carry ``Retry-After: 0``); ``"malformed"`` answers without ``choices``. Every
request is recorded in ``requests``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Behaviour:
    table: dict[str, str] = field(default_factory=dict)
    judge_reply: str = '{"score": 4, "rationale": "mostly right"}'
    latency: float = 0.0
    api_key: str | None = None
    faults: dict[str, list[Any]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, messages: list[dict[str, str]]) -> str:
        last = messages[-1]["content"]
        if last.startswith("You are grading"):
            return self.judge_reply
        return self.table.get(last, f"ECHO: {last}")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    behaviour: Behaviour

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        b = self.behaviour
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with b.lock:
            b.requests.append(
                {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
            )
        if b.api_key is not None and self.headers.get("Authorization") != f"Bearer {b.api_key}":
            self._send(401, {"error": {"message": "invalid api key"}})
            return
        if self.path != "/v1/chat/completions":
            self._send(404, {"error": {"message": "not found"}})
            return
        messages = body["messages"]
        last = messages[-1]["content"]
        with b.lock:
            queue = b.faults.get(last)
            fault = queue.pop(0) if queue else None
        if b.latency:
            time.sleep(b.latency)
        if fault == "malformed":
            self._send(200, {"id": "x", "object": "chat.completion"})
            return
        if isinstance(fault, int):
            headers = {"Retry-After": "0"} if fault == 429 else {}
            self._send(fault, {"error": {"message": f"injected {fault}"}}, headers)
            return
        reply = b.answer(messages)
        prompt_tokens = sum(len(m["content"].split()) for m in messages)
        self._send(
            200,
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": reply},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": len(reply.split()),
                    "total_tokens": prompt_tokens + len(reply.split()),
                },
            },
        )


@contextmanager
def serve(behaviour: Behaviour) -> Iterator[str]:
    """Run the server; yield its base URL (``http://127.0.0.1:PORT/v1``)."""
    handler = type("Handler", (_Handler,), {"behaviour": behaviour})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
