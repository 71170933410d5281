"""The local engine: an llm job without an endpoint runs the model from its commit's files
(a transformers model directory: ``config.json``, weights, tokenizer) on the pool's machine.

An optional extra (``pip install 'assay[local]'``: transformers and torch); without it such a
job fails with that advice. Requests from the evaluator's coroutines are gathered into
batches of ``batch_size`` and generated in a worker thread, so the event loop keeps
scoring while the model runs. Greedy decoding at temperature 0; sampling otherwise.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from assay.core.errors import InvalidInput
from assay.evaluators.llm.client import Cache, EndpointConfig, NotSent, Reply


def is_model_dir(path: Path) -> bool:
    return (path / "config.json").is_file()


class LocalEngine:
    """Duck-typed like ``ChatClient``: ``chat``, ``cache``, ``requests``, ``close``."""

    def __init__(self, model_dir: Path, *, batch_size: int, device: str, cache: Cache) -> None:
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError:
            raise InvalidInput(
                "this llm job names a model instead of an endpoint, so Assay runs it itself: "
                "install the local engine on the pool's machines (pip install 'assay[local]', "
                "i.e. transformers and torch)"
            ) from None
        self.torch = torch
        self.vllm = _vllm(model_dir, device, torch)
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.tokenizer.padding_side = "left"  # generation continues at the right end
        self.device = "cuda" if device == "cuda" and torch.cuda.is_available() else "cpu"
        self.model = (
            None
            if self.vllm is not None
            else AutoModelForCausalLM.from_pretrained(model_dir).to(self.device).eval()
        )
        self.config = EndpointConfig(
            name="local", base_url=f"local:{model_dir.name}", model="local"
        )
        self.batch_size = batch_size
        self.cache = cache
        self.requests = 0
        self.queue: list[tuple[str, dict[str, Any], asyncio.Future[Reply]]] = []
        self.worker: asyncio.Task[None] | None = None

    def prompt(self, messages: list[dict[str, str]]) -> str:
        if getattr(self.tokenizer, "chat_template", None):
            text: str = self.tokenizer.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=True
            )
            return text
        lines = [f"{m['role']}: {m['content']}" for m in messages]
        return "\n".join([*lines, "assistant:"])

    async def chat(
        self,
        messages: list[dict[str, str]],
        generation: dict[str, Any],
        allow: Any = None,
    ) -> Reply:
        key = self.cache.key(self.config, messages, generation)
        found = self.cache.get(key)
        if found is not None:
            return found
        if allow is not None and not allow():
            raise NotSent
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self.queue.append((self.prompt(messages), generation, future))
        if self.worker is None or self.worker.done():
            self.worker = asyncio.create_task(self._drain())
        reply = await future
        self.cache.put(key, reply)
        return reply

    async def _drain(self) -> None:
        await asyncio.sleep(0)  # let the other coroutines queue their requests first
        while self.queue:
            batch, self.queue = self.queue[: self.batch_size], self.queue[self.batch_size :]
            try:
                replies = await asyncio.to_thread(
                    self._generate, [p for p, _, _ in batch], batch[0][1]
                )
            except Exception as exc:  # a model error belongs to these requests
                for _, _, future in batch:
                    future.set_exception(ValueError(f"the local model failed: {exc}"))
                continue
            for (_, _, future), reply in zip(batch, replies, strict=True):
                future.set_result(reply)

    def _generate(self, prompts: list[str], generation: dict[str, Any]) -> list[Reply]:
        started = time.monotonic()
        self.requests += len(prompts)
        if self.vllm is not None:
            return self._generate_vllm(prompts, generation, started)
        assert self.model is not None
        encoded = self.tokenizer(prompts, return_tensors="pt", padding=True).to(self.device)
        temperature = float(generation.get("temperature", 0.0))
        sampling: dict[str, Any] = (
            {"do_sample": True, "temperature": temperature}
            if temperature > 0
            else {"do_sample": False}
        )
        with self.torch.no_grad():
            out = self.model.generate(
                **encoded,
                max_new_tokens=int(generation.get("max_tokens", 256)),
                pad_token_id=self.tokenizer.pad_token_id,
                **sampling,
            )
        new = out[:, encoded["input_ids"].shape[1] :]
        texts = self.tokenizer.batch_decode(new, skip_special_tokens=True)
        pad = self.tokenizer.pad_token_id
        latency = (time.monotonic() - started) / len(prompts)
        return [
            Reply(
                text=text.strip(),
                prompt_tokens=int(encoded["attention_mask"][i].sum()),
                completion_tokens=int((new[i] != pad).sum()),
                latency=latency,
                attempts=1,
            )
            for i, text in enumerate(texts)
        ]

    def _generate_vllm(
        self, prompts: list[str], generation: dict[str, Any], started: float
    ) -> list[Reply]:
        from vllm import SamplingParams

        params = SamplingParams(
            max_tokens=int(generation.get("max_tokens", 256)),
            temperature=float(generation.get("temperature", 0.0)),
        )
        outputs = self.vllm.generate(prompts, params, use_tqdm=False)
        latency = (time.monotonic() - started) / len(prompts)
        return [
            Reply(
                text=out.outputs[0].text.strip(),
                prompt_tokens=len(out.prompt_token_ids),
                completion_tokens=len(out.outputs[0].token_ids),
                latency=latency,
                attempts=1,
            )
            for out in outputs
        ]

    async def close(self) -> None:
        return None


def _vllm(model_dir: Path, device: str, torch: Any) -> Any:
    """vLLM's engine when asked for the GPU, installed, and a GPU is there; else None (the
    transformers path). Written to vLLM's documented ``LLM.generate`` API; not run in
    Assay's tests, which have neither vLLM nor a GPU."""
    if device != "cuda" or not torch.cuda.is_available():
        return None
    try:
        from vllm import LLM
    except ImportError:
        return None
    return LLM(model=str(model_dir))
