"""assay compare: deltas, paired sample statistics and the CI gate, on llm versions answered
by our loopback server (fast, with per-sample rows)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from statsmodels.stats.contingency_tables import mcnemar

from assay import errors, hub
from tests.integration.evaluators.helpers import commit_dir
from tests.support.openai_server import Behaviour, serve

N = 40


def _answers(right: set[int]) -> dict[str, str]:
    return {f"q{i}?": (f"ans{i}" if i in right else "no idea") for i in range(N)}


@pytest.fixture
def versions(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    d = tmp_path / "qa"
    d.mkdir()
    lines = [{"id": f"s{i}", "prompt": f"q{i}?", "reference": f"ans{i}"} for i in range(N)]
    (d / "data.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    commit_dir("dataset", "qa", "set", d, monkeypatch)
    answers = {
        "a": set(range(30)),
        "b": set(range(20)) | set(range(30, 40)),  # 10 fixed, 10 regressed: same accuracy
        "c": set(range(10)),  # 20 regressed
        "d": set(range(29)),  # 1 regressed
    }
    servers = {k: Behaviour(table=_answers(v)) for k, v in answers.items()}
    made: dict[str, str] = {}
    with (
        serve(servers["a"]) as ua,
        serve(servers["b"]) as ub,
        serve(servers["c"]) as uc,
        serve(servers["d"]) as ud,
    ):
        for name, url in zip("abcd", (ua, ub, uc, ud), strict=True):
            hub.create_endpoint(name, base_url=url, model="m")
        job = hub.create_job(
            name="qa", type="llm", endpoint="a", dataset="qa/set", params={"scoring": "exact"}
        )
        made["a"] = job.get_version("V0001").wait(timeout=300).ref
        for name in "bcd":
            made[name] = job.create_version(endpoint=name).wait(timeout=300).ref
    return made


def test_compare_pairs_samples_and_tests_them(versions: dict[str, str]) -> None:
    result = hub.compare([versions["b"], versions["c"]], baseline=versions["a"])
    b, c = result["candidates"]
    row = next(m for m in c["metrics"] if m["metric"] == "exact.accuracy")
    assert (row["baseline"], row["candidate"], row["delta"]) == (0.75, 0.25, -0.5)
    test_b, test_c = (
        b["samples"]["metrics"]["exact.accuracy"],
        c["samples"]["metrics"]["exact.accuracy"],
    )
    assert (test_b["fixed"], test_b["regressed"], test_b["unchanged"]) == (10, 10, 20)
    assert (test_c["fixed"], test_c["regressed"]) == (0, 20)
    assert test_c["regressedExamples"] == ["s10", "s11", "s12", "s13", "s14"]
    # McNemar as statsmodels computes it, then Holm over the two comparisons.
    p_b = mcnemar([[20, 10], [10, 0]], exact=True).pvalue
    p_c = mcnemar([[10, 20], [0, 10]], exact=True).pvalue
    assert test_b["pValue"] == pytest.approx(p_b) and test_c["pValue"] == pytest.approx(p_c)
    assert test_c["pHolm"] == pytest.approx(min(1.0, 2 * p_c))
    assert test_c["significant"] and not test_b["significant"]
    low, high = test_c["interval"]
    assert low <= -0.5 <= high < 0
    assert result == hub.compare([versions["b"], versions["c"]], baseline=versions["a"])  # seeded
    typed = next(
        d for d in result.deltas if d.candidate == versions["c"] and d.metric == "exact.accuracy"
    )
    assert typed.worse and typed.significant and typed.regressed == 20 and typed.interval
    assert len(result.regressions(["exact.accuracy"])) == 1  # c, not b (equal)


def test_the_gate_exit_codes(cli: Any, versions: dict[str, str]) -> None:
    gate = ["--baseline", versions["a"], "--metric", "exact.accuracy", "--fail-on-regression"]
    worse = cli("compare", versions["c"], *gate)
    assert worse.code == 1 and "REGRESSION" in worse.err and "0.75 -> 0.25" in worse.err
    assert "20 regressed" in worse.out
    assert cli("compare", versions["b"], *gate).code == 0  # equal accuracy
    assert cli("compare", versions["a"], *gate).code == 0  # itself
    slight = [versions["d"], *gate]
    assert cli("compare", *slight).code == 1  # worse by 0.025
    assert cli("compare", *slight, "--tolerance", "0.05").code == 0
    assert cli("compare", *slight, "--significant-only").code == 0  # one sample: noise
    better = cli(
        "compare",
        versions["a"],
        "--baseline",
        versions["c"],
        "--metric",
        "exact.accuracy",
        "--fail-on-regression",
    )
    assert better.code == 0
    md = cli("compare", versions["c"], "--baseline", versions["a"], "-o", "markdown")
    assert md.code == 0 and "| qa:V0003 | exact.accuracy | 0.75 | 0.25 | -0.5 |" in md.out
    csv = cli("compare", versions["c"], "--baseline", versions["a"], "-o", "csv")
    assert csv.out.splitlines()[0].startswith("candidate,metric,baseline,value,delta,p_holm")


def test_bad_comparisons_say_why(
    versions: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(errors.NotFound):
        hub.compare(["00000000-0000-0000-0000-000000000000"], baseline=versions["a"])
    with pytest.raises(errors.InvalidInput, match="do not both have metric"):
        hub.compare([versions["b"]], baseline=versions["a"], metrics=["accuracy"])
    with pytest.raises(errors.InvalidInput, match="JOB:VERSION"):
        hub.compare(["qa:latest"], baseline=versions["a"])
    # Another dataset commit: deltas yes, pairing no, with the reason.
    d = tmp_path / "other"
    d.mkdir()
    (d / "data.jsonl").write_text(
        json.dumps({"id": "s0", "prompt": "q0?", "reference": "x"}) + "\n"
    )
    commit_dir("dataset", "qa", "other", d, monkeypatch)
    with serve(Behaviour()) as url:
        hub.create_endpoint("e", base_url=url, model="m")
        other = hub.get_job("qa").create_version(endpoint="e", dataset="qa/other").wait(timeout=300)
    result = hub.compare([other.ref], baseline=versions["a"])
    cand = result["candidates"][0]
    assert cand["samples"] is None and "different dataset commits" in cand["samplesNote"]
    assert any(m["metric"] == "exact.accuracy" for m in cand["metrics"])
    assert np.isclose(
        next(m["delta"] for m in cand["metrics"] if m["metric"] == "exact.accuracy"), -0.75
    )


def test_diff_lists_changed_samples_side_by_side(cli: Any, versions: dict[str, str]) -> None:
    result = hub.diff(versions["a"], versions["b"], only="regressed", limit=3)
    assert (result["fixed"], result["regressed"], result["column"]) == (10, 10, "exact")
    assert [r["sample"] for r in result["rows"]] == ["s20", "s21", "s22"]
    row = result["rows"][0]
    assert row["baseline.reply"] == "ans20" and row["candidate.reply"] == "no idea"
    assert (row["baseline.exact"], row["candidate.exact"]) == (True, False)
    fixed = hub.diff(versions["a"], versions["b"], only="fixed", limit=100)["rows"]
    assert {r["sample"] for r in fixed} == {f"s{i}" for i in range(30, 40)}
    r = cli("diff", versions["a"], versions["c"], "--limit", "2")
    assert r.code == 0 and "0 fixed, 20 regressed" in r.err and "s10" in r.out
    with pytest.raises(errors.InvalidInput, match="--only must be fixed or regressed"):
        hub.diff(versions["a"], versions["b"], only="worse")


def test_a_pinned_baseline_is_the_default(cli: Any, versions: dict[str, str]) -> None:
    with pytest.raises(errors.InvalidInput, match="no baseline for qa:V0003"):
        hub.compare([versions["c"]])
    r = cli("pin", versions["a"], "--job", "qa")
    assert r.code == 0 and "baseline of job qa" in r.err
    result = hub.compare([versions["c"]])
    assert (
        result["baselinePinned"]
        and result["baselineId"] == hub.get_version(versions["a"]).data["evaluationId"]
    )
    gate = cli("compare", versions["c"], "--metric", "exact.accuracy", "--fail-on-regression")
    assert gate.code == 1  # against the pin
    hub.pin(versions["c"], job="qa")  # pinning another replaces it
    assert (
        hub.compare([versions["d"]])["baselineId"]
        == hub.get_version(versions["c"]).data["evaluationId"]
    )
    with pytest.raises(errors.InvalidInput, match="exactly one of --job NAME or --model REF"):
        hub.pin(versions["a"])
    with pytest.raises(errors.NotFound):
        hub.pin(versions["a"], job="no-such-job")


def test_one_list_newest_first_with_filters_and_cursor_paging(
    cli: Any, versions: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = tmp_path / "model"
    m.mkdir()
    (m / "w.txt").write_text("weights")
    commit_dir("model", "hand", "m", m, monkeypatch)
    by_hand = (
        hub.get_folder("model", "hand")
        .get_asset("m")
        .create_evaluation(metrics={"exact.accuracy": 0.9}, dataset="qa/set")
    )
    everything = hub.list_evaluation()
    assert [e["source"] for e in everything] == [
        "sdk",
        "qa:V0004",
        "qa:V0003",
        "qa:V0002",
        "qa:V0001",
    ]
    assert everything[0]["id"] == by_hand["id"] and {e["state"] for e in everything} == {
        "Completed"
    }

    def ids(**filters: Any) -> list[str]:
        return [e["source"] for e in hub.list_evaluation(**filters)]

    assert ids(job="qa") == ["qa:V0004", "qa:V0003", "qa:V0002", "qa:V0001"]
    assert ids(metric=["exact.accuracy>0.5"]) == ["sdk", "qa:V0004", "qa:V0002", "qa:V0001"]
    assert ids(metric=["exact.accuracy>0.5", "exact.accuracy<0.8"]) == [
        "qa:V0004",
        "qa:V0002",
        "qa:V0001",
    ]
    assert ids(model="hand/m") == ["sdk"]
    assert ids(dataset="qa/set", job="qa", state="Completed") == ids(job="qa")
    assert ids(state="Terminated") == []
    me = hub.whoami()["name"]
    assert len(ids(creator=me)) == 5 and ids(creator="nobody") == []
    assert ids(since="2999-01-01") == [] and len(ids(since="2000-01-01")) == 5
    # Cursor paging: pages of two, in order, each row once.
    seen, cursor = [], None
    while True:
        page = hub.list_evaluation(limit=2, **({"cursor": cursor} if cursor else {}))
        if not page:
            break
        seen += [e["id"] for e in page]
        cursor = f"{page[-1]['startTime']}|{page[-1]['id']}"
    assert seen == [e["id"] for e in everything]
    with pytest.raises(errors.InvalidInput, match="cannot read metric condition"):
        hub.list_evaluation(metric=["accuracy >> 1"])
    with pytest.raises(errors.InvalidInput, match="unknown state"):
        hub.list_evaluation(state="Done")
    r = cli("ls", "evaluation", "--job", "qa", "--metric", "exact.accuracy<0.5", "-o", "json")
    assert r.code == 0 and [e["source"] for e in json.loads(r.out)] == ["qa:V0003"]


def test_stale_evaluations_are_marked_and_fresh_hides_them(
    versions: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = tmp_path / "model"
    m.mkdir()
    (m / "w.txt").write_text("v1")
    commit_dir("model", "hand", "m", m, monkeypatch)
    asset = hub.get_folder("model", "hand").get_asset("m")
    ev = asset.create_evaluation(metrics={"exact.accuracy": 0.9}, dataset="qa/set")
    assert hub.get_evaluation(ev["id"])["stale"] is None
    (m / "w.txt").write_text("v2")
    monkeypatch.chdir(m)
    asset.create_commit(message="new weights", add=["w.txt"])
    stale = hub.get_evaluation(ev["id"])["stale"]
    assert stale is not None and stale.startswith("the model branch main moved to")
    assert ev["id"] not in [e["id"] for e in hub.list_evaluation(fresh=True)]
    assert len(hub.list_evaluation(fresh=True)) == 4  # the job's, on an unmoved dataset
    result = hub.compare([versions["a"]], baseline=ev["id"])
    assert result["baselineStale"] == stale and result["candidates"][0]["stale"] is None
