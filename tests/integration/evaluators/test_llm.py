"""llm jobs end to end against our own OpenAI-compatible server on loopback."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from assay import errors, hub
from tests.conftest import Server
from tests.integration.evaluators.helpers import commit_dir
from tests.support.openai_server import Behaviour, serve

KEY = "sk-test-secret-0123456789"


def _dataset(tmp_path: Path, name: str, lines: list[dict[str, Any]], mp: pytest.MonkeyPatch) -> str:
    d = tmp_path / name
    d.mkdir()
    (d / "data.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    commit_dir("dataset", "qa", name, d, mp)
    return f"qa/{name}"


def _samples(v: hub.Version) -> list[dict[str, Any]]:
    return hub.list_samples(v.data["evaluationId"], limit=100)


def _run(name: str, endpoint: str, dataset: str, **params: object) -> hub.Version:
    job = hub.create_job(name=name, type="llm", endpoint=endpoint, dataset=dataset, params=params)
    return job.get_version("V0001").wait(timeout=300)


SINGLE = [
    {"id": "q1", "prompt": "capital of France?", "reference": "Paris", "keywords": ["paris"]},
    {"id": "q2", "prompt": "2+2?", "reference": "4", "keywords": ["four", "4"]},
    {"id": "q3", "prompt": "colour of the sky?", "reference": "Blue", "keywords": ["blue"]},
    {"id": "q4", "prompt": "largest planet?", "reference": "Jupiter", "keywords": ["jupiter"]},
]
TABLE = {
    "capital of France?": "Paris, of course.",
    "2+2?": "  4  ",
    "colour of the sky?": "It is blue.",
    "largest planet?": "Saturn",
}


def test_single_turn_scores_tokens_cost_and_the_key_stays_secret(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = Behaviour(table=TABLE, api_key=KEY)
    with serve(b) as url:
        hub.create_endpoint(
            "fake", base_url=url, model="m1", api_key=KEY, price_input=2.0, price_output=10.0
        )
        ds = _dataset(tmp_path, "single", SINGLE, monkeypatch)
        v = _run("qa", "fake", ds, scoring="exact,prefix,contains,regex", keywords_mode="all")
    assert v.status == "Completed", v.data["message"]
    m = v.metrics
    assert m["exact.accuracy"] == 0.25  # only "  4  " normalises to "4"
    assert m["prefix.accuracy"] == 0.5  # "paris, of course." starts with "paris"; "4"
    assert m["contains.accuracy"] == 0.5  # q2 needs "four" and "4": keywords_mode=all
    assert m["regex.accuracy"] == 0.75  # the reference as a pattern, searched
    assert m["error_rate"] == 0.0
    chat = [r for r in b.requests if r["body"]["messages"][-1]["content"] in TABLE]
    assert len(chat) == 4 and all(r["auth"] == f"Bearer {KEY}" for r in chat)
    assert all(r["body"]["max_tokens"] == 256 and r["body"]["model"] == "m1" for r in chat)
    prompt_tokens = sum(len(q["prompt"].split()) for q in SINGLE)
    completion_tokens = sum(len(t.split()) for t in TABLE.values())
    assert (m["tokens.prompt"], m["tokens.completion"]) == (prompt_tokens, completion_tokens)
    assert m["cost"] == pytest.approx((prompt_tokens * 2 + completion_tokens * 10) / 1e6)
    assert 0 <= m["latency.p50"] <= m["latency.p95"]
    rows = {r["id"]: r for r in _samples(v)}  # type: ignore[union-attr]
    assert rows["q4"]["reply"] == "Saturn" and rows["q4"]["exact"] is False
    assert rows["q1"]["prefix"] is True and rows["q1"]["reference"] == "Paris"
    # The key is never returned: not by the endpoint list, nor by the version.
    shown = json.dumps([hub.list_endpoints(), v.data])
    assert KEY not in shown and hub.list_endpoints()[0]["hasApiKey"] is True


def test_retries_on_429_and_500_then_a_sample_error_and_a_malformed_reply(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = Behaviour(
        table=TABLE,
        faults={
            "capital of France?": [429, 500],  # retried: third request answers
            "2+2?": [500] * 10,  # never answers within retries=2
            "colour of the sky?": ["malformed"],
        },
    )
    with serve(b) as url:
        hub.create_endpoint("flaky", base_url=url, model="m")
        ds = _dataset(tmp_path, "flaky", SINGLE, monkeypatch)
        v = _run("qa", "flaky", ds, scoring="prefix", retries=2, cache=False)
    assert v.status == "Completed", v.data["message"]
    seen = [r["body"]["messages"][-1]["content"] for r in b.requests]
    assert seen.count("capital of France?") == 3
    assert seen.count("2+2?") == 3  # 1 + retries
    assert seen.count("colour of the sky?") == 1  # a malformed reply is not retried
    assert v.metrics["error_rate"] == 0.5
    assert v.metrics["prefix.accuracy"] == 0.5  # of the two answered: q1 yes, q4 no
    rows = {r["id"]: r for r in _samples(v)}  # type: ignore[union-attr]
    assert "HTTP 500" in rows["q2"]["error"] and "gave up after 3 attempts" in rows["q2"]["error"]
    assert "choices" in rows["q3"]["error"]


def test_a_wrong_key_fails_the_version_naming_the_url_without_a_retry_storm(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = Behaviour(api_key="right")
    with serve(b) as url:
        hub.create_endpoint("locked", base_url=url, model="m", api_key="wrong")
        ds = _dataset(tmp_path, "locked", SINGLE, monkeypatch)
        v = _run("qa", "locked", ds, scoring="exact", concurrency=1)
    assert v.status == "Failed"
    log = v.logs(0)
    assert f"{url}/chat/completions answered 401" in log
    assert len(b.requests) <= 3  # one per task attempt at most, never one per sample retry


def test_unreachable_endpoint_fails_fast_naming_the_url(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve(Behaviour()) as url:
        pass  # the port is closed again
    hub.create_endpoint("gone", base_url=url, model="m")
    ds = _dataset(tmp_path, "gone", SINGLE, monkeypatch)
    v = _run("qa", "gone", ds, scoring="exact")
    assert v.status == "Failed"
    assert f"cannot reach {url}/chat/completions" in v.logs(0)


MULTI = [
    {
        "id": "c1",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello"},
            {"role": "user", "content": "name?"},
            {"role": "assistant", "content": "Bot"},
        ],
    },
    {
        "id": "c2",
        "messages": [
            {"role": "user", "content": "one"},
            {"role": "assistant", "content": "1"},
            {"role": "user", "content": "two"},
            {"role": "assistant", "content": "2"},
        ],
    },
]


@pytest.mark.parametrize("history", ["reference", "model"])
def test_multi_turn_history_modes_and_per_turn_metrics(
    history: str, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = Behaviour(table={"hi": "hello there", "name?": "Bot", "one": "1", "two": "3"})
    with serve(b) as url:
        hub.create_endpoint("chat", base_url=url, model="m")
        ds = _dataset(tmp_path, "multi", MULTI, monkeypatch)
        v = _run("qa", "chat", ds, scoring="exact,prefix", history=history)
    assert v.status == "Completed", v.data["message"]
    m = v.metrics
    assert m["turn_1.exact.accuracy"] == 0.5  # "hello there" != "hello"; "1" == "1"
    assert m["turn_1.prefix.accuracy"] == 1.0
    assert m["turn_2.exact.accuracy"] == 0.5  # "Bot" yes; "3" no
    assert m["conversation.exact.accuracy"] == 0.0
    assert m["conversation.prefix.accuracy"] == 0.5
    assert m["exact.accuracy"] == 0.5
    second = next(r for r in b.requests if r["body"]["messages"][-1]["content"] == "name?")
    said = [x["content"] for x in second["body"]["messages"] if x["role"] == "assistant"]
    assert said == (["hello"] if history == "reference" else ["hello there"])
    assert second["body"]["messages"][0] == {"role": "system", "content": "be brief"}


def test_judge_scores_and_an_unparseable_judge_is_an_error_not_a_zero(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good, bad = Behaviour(table=TABLE), Behaviour(judge_reply="I like it a lot!")
    with serve(good) as url, serve(bad) as bad_url:
        hub.create_endpoint("model", base_url=url, model="m", price_output=1.0)
        hub.create_endpoint("judge", base_url=url, model="j", price_input=1.0)
        hub.create_endpoint("vague", base_url=bad_url, model="j")
        ds = _dataset(tmp_path, "judged", SINGLE, monkeypatch)
        v = _run("qa", "model", ds, scoring="prefix,judge", judge_endpoint="judge")
        w = hub.get_job("qa").create_version(params={"judge_endpoint": "vague"}).wait(timeout=300)
    assert v.status == "Completed", v.data["message"]
    assert v.metrics["judge.mean"] == 4.0 and v.metrics["judge.median"] == 4.0
    assert v.metrics["judge.distribution"] == {"4": 4}
    assert v.metrics["tokens.judge_prompt"] > 0
    rows = _samples(v)
    assert {r["judge_rationale"] for r in rows} == {"mostly right"}
    assert w.status == "Completed", w.data["message"]
    assert "judge.mean" not in w.metrics and w.metrics["judge.errors"] == 4
    assert len(bad.requests) == 4 * 3  # each judged once, then retried twice
    errors_ = [r["judge_error"] for r in _samples(w)]  # type: ignore[union-attr]
    assert all("no score from 1 to 5 in 3 tries" in e for e in errors_)


def test_replies_are_cached_across_versions_unless_cache_false(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = Behaviour(table=TABLE)
    with serve(b) as url:
        hub.create_endpoint("c", base_url=url, model="m")
        ds = _dataset(tmp_path, "cached", SINGLE, monkeypatch)
        v1 = _run("qa", "c", ds, scoring="exact")
        v2 = hub.get_job("qa").create_version(params={"scoring": "prefix"}).wait(timeout=300)
        after_two = len(b.requests)
        v3 = hub.get_job("qa").create_version(params={"cache": False}).wait(timeout=300)
    assert (v1.status, v2.status, v3.status) == ("Completed",) * 3
    assert after_two == 4  # V0002 re-scored the cached replies without a request
    assert len(b.requests) == 8
    assert v2.metrics["prefix.accuracy"] == 0.5


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "data.jsonl line 2 is not JSON"),
        ('{"id": "x"}', 'data.jsonl line 2: needs a string "prompt" or a "messages" list'),
        (
            '{"messages": [{"role": "assistant", "content": "a"}]}',
            "data.jsonl line 2: roles out of order",
        ),
        ('{"prompt": "p", "keywords": "k"}', '"keywords" must be a list of strings'),
        ('{"id": "q1", "prompt": "p"}', "id 'q1' was already used at data.jsonl line 1"),
        ('{"prompt": "p", "pattern": "("}', "data.jsonl line 2: \"pattern\" '(' is not a regex"),
    ],
)
def test_bad_dataset_lines_are_refused_at_creation_naming_file_and_line(
    line: str, message: str, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = tmp_path / "bad"
    d.mkdir()
    (d / "data.jsonl").write_text(json.dumps(SINGLE[0]) + "\n" + line + "\n")
    commit_dir("dataset", "qa", "bad", d, monkeypatch)
    hub.create_endpoint("e", base_url="http://127.0.0.1:9/v1", model="m")
    with pytest.raises(errors.InvalidInput, match=re.escape(message)):
        _run("qa", "e", "qa/bad", scoring="exact")
    assert hub.list_jobs() == []


def test_bad_job_settings_are_refused_at_creation(home: Path) -> None:
    with pytest.raises(errors.InvalidInput, match="needs --endpoint"):
        hub.create_job(name="a", type="llm", dataset="qa/x")
    with pytest.raises(errors.NotFound, match="no endpoint 'nope'"):
        hub.create_job(name="a", type="llm", endpoint="nope", dataset="qa/x")
    hub.create_endpoint("e", base_url="http://127.0.0.1:9/v1", model="m")
    with pytest.raises(errors.InvalidInput, match="scoring: unknown bleu"):
        hub.create_job(
            name="a", type="llm", endpoint="e", dataset="d/x", params={"scoring": "bleu"}
        )
    with pytest.raises(errors.InvalidInput, match="judge_endpoint"):
        hub.create_job(
            name="a", type="llm", endpoint="e", dataset="d/x", params={"scoring": "judge"}
        )
    with pytest.raises(errors.InvalidInput, match="not an http"):
        hub.create_endpoint("f", base_url="file:///etc/passwd", model="m")
    with pytest.raises(errors.Conflict):
        hub.create_endpoint("e", base_url="http://127.0.0.1:9/v1", model="m")
    assert hub.list_jobs() == [] and [e["name"] for e in hub.list_endpoints()] == ["e"]


def test_a_killed_worker_is_retried_without_asking_for_finished_samples_again(
    home: Path, tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.login(host=server.url, api_key=server.admin_key)
    lines = [{"id": f"q{i}", "prompt": f"question {i}", "reference": "x"} for i in range(30)]
    b = Behaviour(latency=0.15)
    with serve(b) as url:
        hub.create_endpoint("slow", base_url=url, model="m", max_concurrency=2)
        ds = _dataset(tmp_path, "resume", lines, monkeypatch)
        job = hub.create_job(
            name="qa", type="llm", endpoint="slow", dataset=ds, params={"scoring": "exact"}
        )
        v = job.get_version("V0001")
        deadline = time.monotonic() + 60
        while len(b.requests) < 10 and time.monotonic() < deadline:
            time.sleep(0.02)
        task = v.tasks()[0]
        os.killpg(task["pid"], signal.SIGKILL)  # the worker and the evaluator under it
        seen_at_kill = len(b.requests)
        v.wait(timeout=120)
    assert v.status == "Completed", v.data["message"]
    assert v.tasks()[0]["attempts"] == 2
    assert v.metrics["samples"] == 30 and v.metrics["error_rate"] == 0
    asked = [r["body"]["messages"][-1]["content"] for r in b.requests]
    repeated = {q for q in asked if asked.count(q) > 1}
    # Only what was in flight when the worker died (at most the concurrency) is asked again.
    assert seen_at_kill >= 10 and len(repeated) <= 2 and len(asked) <= 32


def test_estimate_counts_with_the_models_tokenizer_then_learns_output_from_history(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers

    words = sorted({w for q in SINGLE for w in q["prompt"].replace("?", " ?").split()})
    tok = Tokenizer(
        models.WordLevel({w: i for i, w in enumerate(["[UNK]", *words])}, unk_token="[UNK]")
    )
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    model_dir = tmp_path / "tok"
    model_dir.mkdir()
    tok.save(str(model_dir / "tokenizer.json"))
    commit_dir("model", "llm", "tok", model_dir, monkeypatch)
    ds = _dataset(tmp_path, "est", SINGLE, monkeypatch)
    with serve(Behaviour(table=TABLE)) as url:
        hub.create_endpoint(
            "t", base_url=url, model="m", model_ref="llm/tok", price_input=1.0, price_output=2.0
        )
        hub.create_endpoint("plain", base_url=url, model="m")
        first = hub.estimate("t", ds, {"max_tokens": 100})
        plain = hub.estimate("plain", ds, {})
        v = _run("qa", "t", ds, scoring="exact")
        after = hub.estimate("t", ds, {"max_tokens": 100})
    expected_in = sum(len(tok.encode(q["prompt"]).ids) + 4 for q in SINGLE)
    assert first["tokenizer"] == "tokenizer.json of llm/tok"
    assert first["inputTokens"] == expected_in
    assert first["outputTokens"] == 4 * 100 and "max_tokens" in first["outputFrom"]
    assert first["cost"]["total"] == pytest.approx((expected_in * 1 + 400 * 2) / 1e6)
    assert plain["tokenizer"].startswith("approximation")
    assert plain["inputTokens"] == sum(len(q["prompt"]) // 4 + 4 for q in SINGLE)
    # The version carries the estimate it was created with, next to what it spent.
    assert v.data["estimate"]["inputTokens"] == expected_in
    assert v.metrics["tokens.completion"] == sum(len(t.split()) for t in TABLE.values())
    assert after["outputTokens"] == v.metrics["tokens.completion"]
    assert "earlier evaluations" in after["outputFrom"]


def test_max_cost_refuses_a_costly_job_and_stops_a_running_one(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [{"id": f"q{i}", "prompt": f"question {i}", "reference": "x"} for i in range(6)]
    b = Behaviour()  # replies "ECHO: question i": 3 completion tokens, whatever max_tokens says
    with serve(b) as url:
        hub.create_endpoint("paid", base_url=url, model="m", max_concurrency=1, price_output=1e4)
        ds = _dataset(tmp_path, "paid", lines, monkeypatch)
        with pytest.raises(errors.InvalidInput, match=r"estimated cost \$15\.3600 exceeds"):
            _run("big", "paid", ds, scoring="exact", max_cost=1.0)  # 6 x 256 tokens x $0.01 each
        assert hub.list_jobs() == [] and b.requests == []
        v = _run("qa", "paid", ds, scoring="exact", max_tokens=1, max_cost=0.07)
    assert v.status == "Terminated"
    assert v.data["message"].startswith("stopped at --max-cost $0.07: 3 of 6 turns asked")
    assert len(b.requests) == 3 and v.data["partial"] is True
    assert v.metrics["samples"] == 3 and v.metrics["cost"] == pytest.approx(0.09)
    assert len(_samples(v)) == 6  # the unasked turns are listed, with why


def test_cli_endpoints_estimate_dry_run_and_a_job(
    cli: Any, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = tmp_path / "cli-data"
    d.mkdir()
    (d / "data.jsonl").write_text("".join(json.dumps(x) + "\n" for x in SINGLE))
    b = Behaviour(table=TABLE, api_key=KEY)
    monkeypatch.setenv("MY_KEY", KEY)
    with serve(b) as url:
        r = cli(
            "create",
            "endpoint",
            "gpt",
            "--base-url",
            url,
            "--model",
            "m1",
            "--api-key-env",
            "MY_KEY",
            "--price-input",
            "1",
            "--price-output",
            "2",
        )
        assert r.code == 0, r.err
        r = cli("ls", "endpoint")
        assert r.code == 0 and "gpt" in r.out and "set" in r.out and KEY not in r.out
        assert cli("create", "folder", "dataset/qa").code == 0
        assert cli("create", "dataset", "qa/cli").code == 0
        assert cli("commit", "qa/cli", "-m", "data", "-a", "data.jsonl", cwd=d).code == 0
        r = cli("estimate", "--endpoint", "gpt", "--dataset", "qa/cli", "-p", "max_tokens=10")
        assert r.code == 0, r.err
        assert "turns to answer:  4" in r.out and "output tokens:    40" in r.out
        assert "approximation" in r.out
        r = cli(
            "create",
            "job",
            "qa",
            "--type",
            "llm",
            "--endpoint",
            "gpt",
            "--dataset",
            "qa/cli",
            "--dry-run",
        )
        assert r.code == 0 and "cost (USD):" in r.out
        assert cli("ls", "job").out.count("qa") == 0 and b.requests == []  # nothing created
        r = cli(
            "create",
            "job",
            "qa",
            "--type",
            "llm",
            "--endpoint",
            "gpt",
            "--dataset",
            "qa/cli",
            "-p",
            "scoring=prefix",
            "--wait",
        )
        assert r.code == 0, r.err + r.out
        assert "prefix.accuracy" in r.out
        r = cli("get", "version", "qa:V0001")
        assert "ENDPOINT:        gpt" in r.out and "ESTIMATE:" in r.out and "ACTUAL:" in r.out
        r = cli("ls", "evaluation")
        assert r.code == 0 and "endpoint gpt" in r.out and "qa:V0001" in r.out, r.out + r.err
        asked = len(b.requests)
        r = cli("rescore", "qa:V0001", "-p", "scoring=exact", "--wait")
        assert r.code == 0 and "exact.accuracy" in r.out and len(b.requests) == asked
        r = cli(
            "create",
            "endpoint",
            "x",
            "--base-url",
            url,
            "--model",
            "m",
            "--api-key-env",
            "UNSET_VARIABLE_X",
        )
        assert r.code != 0 and "UNSET_VARIABLE_X" in r.err
        assert cli("delete", "endpoint", "gpt").code == 0
        assert "gpt" not in cli("ls", "endpoint").out


def test_rescore_scores_stored_replies_again_without_asking_the_model(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = Behaviour(table=TABLE)
    with serve(b) as url:
        hub.create_endpoint("m", base_url=url, model="m", price_output=1.0)
        hub.create_endpoint("judge", base_url=url, model="j")
        ds = _dataset(tmp_path, "rescore", SINGLE, monkeypatch)
        v1 = _run("qa", "m", ds, scoring="exact", cache=False)
        v2 = v1.rescore({"scoring": "prefix,judge", "judge_endpoint": "judge"}).wait(timeout=300)
    assert (v1.status, v2.status) == ("Completed", "Completed"), v2.data["message"]
    asked = [r["body"]["model"] for r in b.requests]
    assert asked.count("m") == 4 and asked.count("j") == 4  # the model was asked once per turn
    assert v2.data["params"]["rescore_of"] == "V0001"
    assert v2.metrics["prefix.accuracy"] == 0.5 and v2.metrics["judge.mean"] == 4.0
    assert v2.metrics["cost"] == 0.0 < v1.metrics["cost"]  # nothing was bought again


def test_batch_inference_end_to_end_and_a_failed_batch(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = Behaviour(table=TABLE, faults={"largest planet?": [500]})
    failing = Behaviour(batch_outcome="expired")
    with serve(b) as url, serve(failing) as bad_url:
        hub.create_endpoint("b", base_url=url, model="m", batch=True, price_output=1.0)
        hub.create_endpoint("online-only", base_url=url, model="m")
        hub.create_endpoint("expiring", base_url=bad_url, model="m", batch=True)
        ds = _dataset(tmp_path, "batch", SINGLE, monkeypatch)
        v = _run("qa", "b", ds, scoring="exact,prefix", inference="batch", batch_poll=0.05)
        with pytest.raises(errors.InvalidInput, match="not registered as supporting the Batch"):
            _run("q2", "online-only", ds, inference="batch")
        with pytest.raises(errors.InvalidInput, match="history=model"):
            _run("q3", "b", ds, inference="batch", history="model")
        w = _run("q4", "expiring", ds, inference="batch", batch_poll=0.05)
    assert v.status == "Completed", v.data["message"]
    paths = [r["path"] for r in b.requests]
    assert "/v1/chat/completions" not in paths  # nothing went online
    assert paths[:2] == ["/v1/files", "/v1/batches"] and "/v1/batches/batch_0" in paths
    assert v.metrics["exact.accuracy"] == pytest.approx(1 / 3)  # of the 3 answered
    assert v.metrics["error_rate"] == 0.25  # the 500 inside the batch is that turn's error
    assert v.metrics["tokens.completion"] == sum(
        len(TABLE[q["prompt"]].split()) for q in SINGLE[:3]
    )
    artifacts = hub.get_evaluation(v.data["evaluationId"])["artifacts"]
    assert "batches.json" in [a["name"] for a in artifacts]
    assert w.status == "Failed"
    log = w.logs(0)
    assert "batch batch_0 ended expired" in log and "the batch expired" in log


def test_presets_and_imports_run_with_their_default_scoring(
    cli: Any, home: Path, tmp_path: Path
) -> None:
    r = cli("ls", "preset")
    assert r.code == 0 and "arithmetic" in r.out and "contains" in r.out
    gsm = tmp_path / "gsm.jsonl"
    gsm.write_text(
        json.dumps({"question": "What is 6 x 7?", "answer": "six sevens\n#### 42"})
        + "\n"
        + json.dumps({"question": "What is 2 + 2?", "answer": "#### 4"})
        + "\n"
    )
    assert cli("import", "dataset", "math/gsm", str(gsm), "--format", "gsm8k-jsonl").code == 0
    asked = "\nEnd your answer with a line '#### <number>'."
    b = Behaviour(
        table={
            "What is 6 x 7?" + asked: "It is 42.\n#### 42",
            "What is 2 + 2?" + asked: "#### 5",
            "What is the capital of France?": "Paris",
            "Which planet is known as the Red Planet?": "Mars, surely",
        }
    )
    with serve(b) as url:
        hub.create_endpoint("e", base_url=url, model="m")
        v = hub.create_job(name="g", type="llm", endpoint="e", dataset="math/gsm")
        v = v.get_version("V0001").wait(timeout=300)
        assert v.status == "Completed", v.data["message"]
        assert v.metrics["regex.accuracy"] == 0.5  # default scoring from the import
        w = hub.create_job(name="f", type="llm", endpoint="e", dataset="preset:facts")
        w = w.get_version("V0001").wait(timeout=300)
        again = hub.create_job(name="f2", type="llm", endpoint="e", dataset="preset:facts")
    assert w.status == "Completed", w.data["message"]
    assert w.metrics["contains.accuracy"] == 0.2  # 2 of the 10 facts answered by the table
    assert w.data["dataset"] == "presets/facts"
    # The preset was committed once; the second job reused the same commit.
    assert again.get_version("V0001").data["datasetCommit"] == w.data["datasetCommit"]


def test_a_model_commit_without_a_model_is_refused(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = tmp_path / "m"
    d.mkdir()
    (d / "README").write_text("no model here")
    commit_dir("model", "llm", "empty", d, monkeypatch)
    with pytest.raises(errors.InvalidInput, match=r"holds no config\.json"):
        hub.create_job(name="x", type="llm", model="llm/empty", dataset="qa/d")


def test_a_rubric_with_unknown_placeholders_fails_clearly_and_versions_switch_endpoints(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = tmp_path / "rub"
    d.mkdir()
    (d / "data.jsonl").write_text("".join(json.dumps(x) + "\n" for x in SINGLE))
    (d / "rubric.txt").write_text("Grade {reply} against {answer}.")
    commit_dir("dataset", "qa", "rub", d, monkeypatch)
    first, second = Behaviour(table=TABLE), Behaviour()
    with serve(first) as url, serve(second) as other:
        hub.create_endpoint("one", base_url=url, model="m")
        hub.create_endpoint("two", base_url=other, model="m")
        v = _run(
            "qa", "one", "qa/rub", scoring="judge", judge_endpoint="one", judge_rubric="rubric.txt"
        )
        w = (
            hub.get_job("qa")
            .create_version(endpoint="two", params={"scoring": "exact"})
            .wait(timeout=300)
        )
    assert v.status == "Failed"
    assert "judge rubric rubric.txt: '{answer}' is not a placeholder" in v.logs(0)
    assert w.status == "Completed" and w.data["endpoint"] == "two"
    assert len(second.requests) == 4 and w.metrics["exact.accuracy"] == 0.0
