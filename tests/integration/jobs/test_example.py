"""The documented example script, end to end, and debug mode."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

from assay import hub
from tests.conftest import ROOT, run_assay

EXAMPLE = ROOT / "examples" / "custom-eval" / "eval.py"


def _expected(weights: list[list[float]], rows: list[dict[str, str]]) -> float:
    correct = 0
    for row in rows:
        x = [float(row[f"x{j}"]) for j in range(len(weights[0]))]
        scores = [sum(w * v for w, v in zip(ws, x, strict=True)) for ws in weights]
        correct += scores.index(max(scores)) == int(row["label"])
    return correct / len(rows)


def test_documented_example_runs_and_debug_keeps_its_directory(home: Path, tmp_path: Path) -> None:
    rng = random.Random(7)
    weights = [[rng.uniform(-1, 1) for _ in range(4)] for _ in range(3)]
    (tmp_path / "weights.json").write_text(json.dumps({"w": weights}))
    with open(tmp_path / "test.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["label", "x0", "x1", "x2", "x3"])
        for _ in range(200):
            writer.writerow([rng.randrange(3), *(round(rng.gauss(0, 1), 4) for _ in range(4))])
    rows = list(csv.DictReader(open(tmp_path / "test.csv")))  # noqa: SIM115
    hub.create_folder(type_="model", name="lin").create_asset(name="clf").create_commit(
        message="w", add=[str(tmp_path / "weights.json")]
    )
    hub.create_folder(type_="dataset", name="lin").create_asset(name="toy").create_commit(
        message="d", add=[str(tmp_path / "test.csv")]
    )
    hub.create_folder(type_="code", name="scripts").create_asset(name="lin").create_commit(
        message="c", add=[str(EXAMPLE)]
    )
    job = hub.create_job(
        name="lin-eval",
        model="lin/clf",
        dataset="lin/toy",
        code="scripts/lin",
        launch="eval.py",
        params={"batch_size": 32},
        debug=True,
    )
    v = job.get_version("V0001").wait(timeout=120)
    assert v.status == "Completed", v.data["message"]
    assert v.metrics is not None
    assert v.metrics["accuracy"] == _expected(weights, rows)
    assert set(v.metrics["recall"]) == {"0", "1", "2"}
    assert "scoring 200 rows in batches of 32" in v.logs()

    # Debug mode kept the working directory; `assay debug` enters it with the environment.
    workdir = Path(v.data["workdir"])
    assert (workdir / "code" / "eval.py").exists()
    res = run_assay(
        home,
        "debug",
        "lin-eval:V0001",
        "--command",
        'pwd; ls ../data; echo "out=$ASSAY_OUTPUT_DIR"; env | grep -c KEY || true',
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == [
        str(workdir / "code"),
        "test.csv",
        f"out={workdir / 'output'}",
        "0",
    ]
    plain = job.create_version(debug=False).wait(timeout=120)
    assert plain.status == "Completed" and plain.data["workdir"] is None
