"""Batch inference through the OpenAI Batch API (seed 003's "batch" mode): write the requests
as a JSONL input file (``custom_id``, ``method``, ``url``, ``body``), upload it (``/files``),
create the batch (``/batches``), poll it, download the output and error files, and join the
replies by ``custom_id``."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from assay.core.errors import InvalidInput
from assay.evaluators.llm.client import EndpointConfig, EndpointRefused, Reply

FINAL = ("completed", "failed", "expired", "cancelled")


def _check(response: httpx.Response, what: str) -> Any:
    if response.status_code in (401, 403):
        raise EndpointRefused(
            f"{response.request.url} answered {response.status_code}: check the API key"
        )
    if response.status_code >= 400:
        raise InvalidInput(f"{what} failed: HTTP {response.status_code}: {response.text[:300]}")
    return response.json() if what != "download" else response.text


async def run_batch(
    config: EndpointConfig,
    requests: dict[str, list[dict[str, str]]],
    generation: dict[str, Any],
    *,
    poll: float,
    timeout: float,
    log: Any = print,
    record: list[dict[str, Any]] | None = None,
) -> dict[str, Reply | str]:
    """custom_id -> the reply, or the error text for that request."""
    lines = [
        json.dumps(
            {
                "custom_id": cid,
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": {"model": config.model, "messages": messages, **generation},
            },
            ensure_ascii=False,
        )
        for cid, messages in requests.items()
    ]
    headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
    config.check_target()  # httpx resolves by itself: checked once here, redirects refused
    async with httpx.AsyncClient(
        base_url=config.base_url, headers=headers, timeout=timeout
    ) as http:
        try:
            uploaded = _check(
                await http.post(
                    "/files",
                    data={"purpose": "batch"},
                    files={
                        "file": (
                            "assay-batch.jsonl",
                            "\n".join(lines).encode(),
                            "application/jsonl",
                        )
                    },
                ),
                "uploading the batch input file",
            )
            batch = _check(
                await http.post(
                    "/batches",
                    json={
                        "input_file_id": uploaded["id"],
                        "endpoint": "/v1/chat/completions",
                        "completion_window": "24h",
                    },
                ),
                "creating the batch",
            )
            log(
                f"[assay] batch {batch['id']} created for {len(lines)} requests "
                f"(input file {uploaded['id']})",
                flush=True,
            )
            while batch.get("status") not in FINAL:
                await asyncio.sleep(poll)
                batch = _check(await http.get(f"/batches/{batch['id']}"), "polling the batch")
            errors_text = ""
            if batch.get("error_file_id"):
                errors_text = _check(
                    await http.get(f"/files/{batch['error_file_id']}/content"), "download"
                )
            if batch["status"] != "completed":
                raise InvalidInput(
                    f"batch {batch['id']} ended {batch['status']}"
                    + (f"; its error file says: {errors_text[:1500]}" if errors_text else "")
                    + (
                        f"; errors: {json.dumps(batch.get('errors'))[:500]}"
                        if batch.get("errors")
                        else ""
                    )
                )
            output = ""
            if batch.get("output_file_id"):
                output = _check(
                    await http.get(f"/files/{batch['output_file_id']}/content"), "download"
                )
        except httpx.TransportError as exc:
            raise EndpointRefused(f"cannot reach {config.base_url}: {exc}") from None
    log(f"[assay] batch {batch['id']} completed", flush=True)
    if record is not None:
        record.append(
            {
                k: batch.get(k)
                for k in ("id", "status", "input_file_id", "output_file_id", "error_file_id")
            }
        )
    return _join(output + "\n" + errors_text, requests)


def _join(text: str, requests: dict[str, Any]) -> dict[str, Reply | str]:
    out: dict[str, Reply | str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            cid = item["custom_id"]
        except (ValueError, KeyError, TypeError):
            continue
        response = item.get("response") or {}
        body = response.get("body") or {}
        try:
            text_ = body["choices"][0]["message"]["content"]
            if response.get("status_code", 200) != 200 or not isinstance(text_, str):
                raise KeyError
        except (KeyError, IndexError, TypeError):
            error = item.get("error") or body.get("error") or body
            out[cid] = f"the batch answered no reply: {json.dumps(error)[:300]}"
            continue
        usage = body.get("usage") or {}
        out[cid] = Reply(
            text=text_,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            latency=0.0,
            attempts=1,
        )
    for cid in requests:
        out.setdefault(cid, "the batch's output has no line for this request")
    return out
