"""Custom evaluation jobs on the embedded instance: the waiting process runs the scheduler."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from assay import errors, hub
from tests.conftest import DATABASE, clean_env, run_assay
from tests.integration.jobs.conftest import new_job


def test_sdk_job_versions_and_evaluation(assets: Path) -> None:
    job = new_job("mnist-eval", params={"batch_size": 64}, description="first")
    v1 = job.get_version("V0001")
    assert v1.status == "Queuing"
    v1.wait(timeout=120)
    assert v1.status == "Completed", v1.data["message"]
    assert v1.metrics == {"accuracy": 0.75, "files": 2}
    assert v1.data["params"] == {"batch_size": 64}
    assert v1.data["modelCommit"] == hub.get_asset("f/m").resolve()["commit"]["id"]
    assert v1.data["usage"]["peakMemory"] > 0
    # The metrics became an evaluation bound to the model and dataset commits.
    evs = hub.list_evaluation("f/m")
    assert [e["id"] for e in evs] == [v1.data["evaluationId"]]
    assert evs[0]["source"] == "mnist-eval:V0001"
    assert evs[0]["results"]["metric"] == {"accuracy": 0.75, "files": 2}
    assert "start attempt 1" in v1.logs() and "done" in v1.logs()
    tasks = v1.tasks()
    assert [(t["state"], t["attempts"]) for t in tasks] == [("Completed", 1)]

    v2 = job.create_version(params={"mode": "file"})
    assert v2.name == "V0002"
    v2.wait(timeout=120)
    assert v2.status == "Completed" and v2.metrics == {"accuracy": 0.5}
    assert v2.data["params"] == {"batch_size": 64, "mode": "file"}
    assert [v.name for v in job.versions()] == ["V0002", "V0001"]

    v1.delete()
    assert [v.name for v in job.versions()] == ["V0002"]
    assert [e["source"] for e in hub.list_evaluation("f/m")] == ["mnist-eval:V0002"]
    assert job.create_version().name == "V0003"  # numbers are never reused
    job.delete()
    assert hub.list_evaluation("f/m") == []
    with pytest.raises(errors.NotFound):
        hub.get_job("mnist-eval")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"exit": 3}, "exited with code 3"),
        ({"mode": "none"}, "reported no metrics"),
        ({"mode": "invalid"}, "not valid JSON"),
        ({"mode": "string"}, "must be numbers"),
        ({"mode": "dir"}, "must be a regular file"),
    ],
)
def test_failing_scripts_fail_with_a_reason(
    assets: Path, params: dict[str, object], message: str
) -> None:
    v = new_job("bad", params=params).get_version("V0001").wait(timeout=120)
    assert v.status == "Failed"
    assert message in v.data["message"]
    assert v.data["evaluationId"] is None
    if "exit" in params:
        assert "done" in v.data["message"]  # the log's last lines are in the message
    assert hub.list_evaluation() == []


def test_timeout_stops_the_version(assets: Path) -> None:
    # 5 s: time to fetch the inputs (from S3 in the backed run) and report early metrics.
    v = new_job("slow", params={"sleep": 60, "early": "yes"}, timeout=5)
    version = v.get_version("V0001").wait(timeout=90)
    assert version.status == "TimedOut"
    assert "timeout of 5 s" in version.data["message"]
    assert version.metrics == {"seen": 1} and version.data["partial"] is True
    # The pool holds the task's CPU until its worker is gone: killed within seconds.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pool = next(p for p in hub.list_pools() if p["name"] == "default")
        if pool["cpuUsed"] == 0 and pool["running"] == 0:
            break
        time.sleep(0.1)
    assert pool["cpuUsed"] == 0 and pool["running"] == 0


def test_terminate_queuing_and_finished(assets: Path) -> None:
    v = new_job("t").get_version("V0001")
    v.terminate()
    assert v.status == "Terminated"
    with pytest.raises(errors.Conflict, match="already Terminated"):
        v.terminate()
    v.wait(timeout=10)  # a terminated version never runs
    assert v.refresh().status == "Terminated" and v.data["startedAt"] is None


def test_cli_job_wait_prints_metrics(assets: Path, home: Path) -> None:
    env = clean_env(home)  # the CLI process shares the embedded instance with this one
    res = run_assay(
        home,
        "create",
        "job",
        "cli-eval",
        "--model",
        "f/m",
        "--dataset",
        "f/d",
        "--code",
        "s/e",
        "--launch",
        "eval.py",
        "--param",
        "batch_size=64",
        "--timeout",
        "600",
        "--wait",
        "-o",
        "json",
        env=env,
    )
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["state"] == "Completed" and data["name"] == "V0001"
    assert data["metrics"] == {"accuracy": 0.75, "files": 2}
    res = run_assay(home, "ls", "evaluation", "f/m", "-o", "json", env=env)
    assert json.loads(res.stdout)[0]["source"] == "cli-eval:V0001"
    res = run_assay(home, "create", "version", "cli-eval", "--param", "exit=1", "--wait", env=env)
    assert res.returncode == 1
    assert "Failed" in res.stdout and "exited with code 1" in res.stdout
    res = run_assay(home, "logs", "cli-eval:V0002", env=env)
    assert "start attempt 1" in res.stdout


def test_bad_job_input_creates_nothing(assets: Path, cli: object) -> None:
    run = cli  # in-process CLI
    base = ["create", "job", "j", "--model", "f/m", "--dataset", "f/d", "--code", "s/e"]
    cases = [
        ([*base, "--launch", "notes.txt"], "is not a .py file"),
        ([*base, "--launch", "missing.py"], "is not in commit"),
        ([*base, "--launch", "../eval.py"], "may not leave"),
        (
            [
                "create",
                "job",
                "j",
                "--model",
                "f/nope",
                "--dataset",
                "f/d",
                "--code",
                "s/e",
                "--launch",
                "eval.py",
            ],
            "does not exist",
        ),
        ([*base, "--launch", "eval.py", "--pool", "nope"], "no pool 'nope'"),
        ([*base, "--launch", "eval.py", "--param", "batch_size"], "is not KEY=VALUE"),
        ([*base, "--launch", "eval.py", "--param", "model_url=/etc"], "filled in by Assay"),
        (
            [*base, "--launch", "eval.py", "--timeout", "0"],
            "timeout: Input should be greater than or equal to 1",
        ),
        (
            [*base, "--launch", "eval.py", "--timeout", "-5"],
            "timeout: Input should be greater than or equal to 1",
        ),
        ([*base, "--launch", "eval.py", "--cpu", "1000"], "in all"),
        ([*base, "--launch", "eval.py", "--memory", "lots"], "cannot read size"),
        (["get", "version", "j:V9999"], "no job 'j'"),
        (["get", "version", "jV1"], "expected JOB:VERSION"),
    ]
    for args, message in cases:
        res = run(*args)  # type: ignore[operator]
        assert res.code != 0, args
        assert message in res.err, (args, res.err)
        assert "Traceback" not in res.err
    assert hub.list_jobs() == []
    new_job("j").get_version("V0001").terminate()
    res = run("get", "version", "j:V9999")  # type: ignore[operator]
    assert res.code == 3 and "has no version 'V9999'" in res.err


def test_unreadable_outputs_never_wedge_the_scheduler(assets: Path) -> None:
    """A directory where metrics.json should be, at a timeout: the version still ends, and
    the next version still runs."""
    slow = new_job("wedge", params={"mode": "dir-early", "sleep": 60}, timeout=1)
    assert slow.get_version("V0001").wait(timeout=60).status == "TimedOut"
    after = new_job("after").get_version("V0001").wait(timeout=60)
    assert after.status == "Completed", after.data["message"]


def test_out_of_range_numbers_are_refused(assets: Path) -> None:
    for bad in (
        {"cpu": float("nan")},
        {"cpu": float("inf")},
        {"priority": 10**20},
        {"gpu": -1},
        {"memory": "99999999EiB"},
        {"timeout": 10**12},
    ):
        with pytest.raises(errors.InvalidInput):
            new_job("nums", **bad)
    assert hub.list_jobs() == []


def test_an_asset_used_by_a_job_cannot_be_deleted(assets: Path) -> None:
    new_job("keep").get_version("V0001").terminate()
    with pytest.raises(errors.Conflict, match="keep:V0001"):
        hub.get_asset("f/m").delete()
    with pytest.raises(errors.Conflict, match="keep:V0001"):
        hub.delete_folder(type_="dataset", name="f", force=True)
    assert [v.name for v in hub.get_job("keep").versions()] == ["V0001"]


def test_scripts_see_no_spec_no_secrets_and_the_database_is_private(
    assets: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSAY_API_KEY_LEAK_CANARY", "x")  # not passed on either
    v = new_job("snoop", params={"mode": "snoop"}).get_version("V0001").wait(timeout=60)
    logs = v.logs()
    assert "spec file visible: False" in logs
    env = next(line for line in logs.splitlines() if line.startswith("env:"))[5:].split(",")
    assert set(env) <= {
        "PATH",
        "HOME",
        "LANG",
        "PYTHONUNBUFFERED",
        "ASSAY_OUTPUT_DIR",
        "TMPDIR",  # inside the working directory: /tmp is outside the sandbox
        "ASSAY_JOB",
        "ASSAY_VERSION",
        "ASSAY_ATTEMPT",
        "ASSAY_TASK_INDEX",
        "ASSAY_CPUS",
        "OMP_NUM_THREADS",
        "LC_CTYPE",
    }
    if DATABASE == "sqlite":  # the embedded database file; PostgreSQL guards its own
        assert (home / "assay.db").stat().st_mode & 0o077 == 0
    assert home.stat().st_mode & 0o077 == 0


def test_a_job_evaluation_goes_stale_when_its_code_branch_moves(assets: Path) -> None:
    v = new_job("stale").get_version("V0001").wait(timeout=60)
    assert v.status == "Completed", v.data["message"]
    ev = v.data["evaluationId"]
    assert hub.get_evaluation(ev)["stale"] is None
    (assets / "src" / "eval.py").write_text((assets / "src" / "eval.py").read_text() + "\n# v2\n")
    hub.get_folder("code", "s").get_asset("e").create_commit(
        message="v2", add=[str(assets / "src" / "eval.py")]
    )
    assert hub.get_evaluation(ev)["stale"].startswith("the code branch main moved to")
    assert ev not in [e["id"] for e in hub.list_evaluation(fresh=True)]
