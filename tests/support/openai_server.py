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
    lock: threading.RLock = field(default_factory=threading.RLock)
    # The Batch API: uploaded files by id; batches by id; how a batch ends.
    files: dict[str, str] = field(default_factory=dict)
    batches: dict[str, dict[str, Any]] = field(default_factory=dict)
    batch_outcome: str = "completed"  # or "failed" / "expired"
    batch_polls: int = 2  # polls answered "in_progress" first

    def chat_response(self, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        messages = body["messages"]
        last = messages[-1]["content"]
        with self.lock:
            queue = self.faults.get(last)
            fault = queue.pop(0) if queue else None
        if fault == "malformed":
            return 200, {"id": "x", "object": "chat.completion"}, {}
        if isinstance(fault, int):
            headers = {"Retry-After": "0"} if fault == 429 else {}
            return fault, {"error": {"message": f"injected {fault}"}}, headers
        reply = self.answer(messages)
        prompt_tokens = sum(len(m["content"].split()) for m in messages)
        return (
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
            {},
        )

    def run_batch(self, input_file_id: str) -> dict[str, Any]:
        out, errors = [], []
        for line in self.files[input_file_id].splitlines():
            item = json.loads(line)
            status, body, _ = self.chat_response(item["body"])
            entry = {"id": f"r-{item['custom_id']}", "custom_id": item["custom_id"]}
            if status == 200:
                out.append({**entry, "response": {"status_code": 200, "body": body}, "error": None})
            else:
                errors.append({**entry, "response": {"status_code": status, "body": body}})
        batch_id = f"batch_{len(self.batches)}"
        output_id, error_id = f"file-out-{batch_id}", f"file-err-{batch_id}"
        self.files[output_id] = "".join(json.dumps(x) + "\n" for x in out)
        self.files[error_id] = "".join(json.dumps(x) + "\n" for x in errors)
        if self.batch_outcome != "completed":
            self.files[error_id] += json.dumps({"error": "the batch " + self.batch_outcome}) + "\n"
        batch = {
            "id": batch_id,
            "object": "batch",
            "input_file_id": input_file_id,
            "status": "validating",
            "polls": 0,
            "final": {
                "status": self.batch_outcome,
                "output_file_id": output_id,
                "error_file_id": error_id,
            },
        }
        self.batches[batch_id] = batch
        return batch

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
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        body = json.loads(raw) if self.path != "/v1/files" else None
        with b.lock:
            b.requests.append(
                {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
            )
        if b.api_key is not None and self.headers.get("Authorization") != f"Bearer {b.api_key}":
            self._send(401, {"error": {"message": "invalid api key"}})
            return
        if self.path == "/v1/files":
            self._upload(raw)
            return
        if self.path == "/v1/batches":
            with b.lock:
                batch = b.run_batch(body["input_file_id"])
            self._send(200, self._public(batch))
            return
        if self.path != "/v1/chat/completions":
            self._send(404, {"error": {"message": "not found"}})
            return
        if b.latency:
            time.sleep(b.latency)
        status, payload, headers = b.chat_response(body)
        self._send(status, payload, headers)

    def _public(self, batch: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in batch.items() if k not in ("polls", "final")}

    def _upload(self, raw: bytes) -> None:
        boundary = self.headers["Content-Type"].split("boundary=")[1].encode()
        content = None
        for part in raw.split(b"--" + boundary):
            head, _, data = part.partition(b"\r\n\r\n")
            if b'name="file"' in head:
                content = data.rsplit(b"\r\n", 1)[0].decode()
        assert content is not None, "no file part"
        with self.behaviour.lock:
            file_id = f"file-{len(self.behaviour.files)}"
            self.behaviour.files[file_id] = content
        self._send(200, {"id": file_id, "object": "file", "purpose": "batch"})

    def do_GET(self) -> None:
        b = self.behaviour
        with b.lock:
            b.requests.append(
                {"path": self.path, "body": None, "auth": self.headers.get("Authorization")}
            )
        parts = self.path.split("/")
        if self.path.startswith("/v1/batches/") and parts[3] in b.batches:
            batch = b.batches[parts[3]]
            with b.lock:
                batch["polls"] += 1
                if batch["polls"] > b.batch_polls:
                    batch.update(batch["final"])
                else:
                    batch["status"] = "in_progress"
            self._send(200, self._public(batch))
            return
        if self.path.startswith("/v1/files/") and self.path.endswith("/content"):
            text = b.files.get(parts[3])
            if text is not None:
                data = text.encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/jsonl")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
        self._send(404, {"error": {"message": "not found"}})


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
