"""A small OpenAI-compatible chat server on a loopback port, for tests and benchmarks.

Replies come from a table (last user message -> reply), else ``ECHO: <message>``; prompts that
start like Assay's judge rubric get ``judge_reply``. Usage counts words. Faults are injected
per prompt: ``faults["q1"] = [429, 500]`` answers the first two requests for q1 with those
statuses (429s carry ``Retry-After: 0``); ``"malformed"`` answers without ``choices``. Every
request is recorded in ``requests``.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


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


def _app(b: Behaviour) -> web.Application:
    def record(request: web.Request, body: Any) -> None:
        with b.lock:
            b.requests.append(
                {"path": request.path, "body": body, "auth": request.headers.get("Authorization")}
            )

    def refused(request: web.Request) -> web.Response | None:
        if b.api_key is not None and request.headers.get("Authorization") != f"Bearer {b.api_key}":
            return web.json_response({"error": {"message": "invalid api key"}}, status=401)
        return None

    async def chat(request: web.Request) -> web.Response:
        body = await request.json()
        record(request, body)
        if (no := refused(request)) is not None:
            return no
        if b.latency:
            await asyncio.sleep(b.latency)
        status, payload, headers = b.chat_response(body)
        return web.json_response(payload, status=status, headers=headers)

    async def upload(request: web.Request) -> web.Response:
        form = await request.post()
        record(request, None)
        if (no := refused(request)) is not None:
            return no
        field = form["file"]
        assert isinstance(field, web.FileField)
        with b.lock:
            file_id = f"file-{len(b.files)}"
            b.files[file_id] = field.file.read().decode()
        return web.json_response({"id": file_id, "object": "file", "purpose": "batch"})

    def public(batch: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in batch.items() if k not in ("polls", "final")}

    async def create_batch(request: web.Request) -> web.Response:
        body = await request.json()
        record(request, body)
        if (no := refused(request)) is not None:
            return no
        with b.lock:
            batch = b.run_batch(body["input_file_id"])
        return web.json_response(public(batch))

    async def get_batch(request: web.Request) -> web.Response:
        record(request, None)
        batch = b.batches.get(request.match_info["id"])
        if batch is None:
            return web.json_response({"error": {"message": "not found"}}, status=404)
        with b.lock:
            batch["polls"] += 1
            if batch["polls"] > b.batch_polls:
                batch.update(batch["final"])
            else:
                batch["status"] = "in_progress"
        return web.json_response(public(batch))

    async def file_content(request: web.Request) -> web.Response:
        record(request, None)
        text = b.files.get(request.match_info["id"])
        if text is None:
            return web.json_response({"error": {"message": "not found"}}, status=404)
        return web.Response(text=text, content_type="application/jsonl")

    app = web.Application(client_max_size=256 * 1024 * 1024)
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/v1/files", upload)
    app.router.add_post("/v1/batches", create_batch)
    app.router.add_get("/v1/batches/{id}", get_batch)
    app.router.add_get("/v1/files/{id}/content", file_content)
    return app


@contextmanager
def serve(behaviour: Behaviour) -> Iterator[str]:
    """Run the server in a thread with its own event loop; yield its base URL
    (``http://127.0.0.1:PORT/v1``)."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(_app(behaviour), access_log=None)
    ready: list[int] = []
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        ready.append(runner.addresses[0][1])
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield f"http://127.0.0.1:{ready[0]}/v1"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def main() -> None:
    """``python -m tests.support.openai_server LATENCY``: serve in a process of its own (so a
    benchmark's server does not share a GIL with Assay); print the URL; on end of stdin,
    print the number of requests seen and stop."""
    import sys

    behaviour = Behaviour(latency=float(sys.argv[1]), batch_polls=0)
    with serve(behaviour) as url:
        print(url, flush=True)
        sys.stdin.read()
    print(len(behaviour.requests), flush=True)


if __name__ == "__main__":
    main()
