"""Browsing and comparing at scale, through the SDK on the embedded instance (real HTTP on a
Unix socket, real SQLite):

- list 50,000 evaluations: the first page of 100, a page 250 pages deep by cursor, a page
  filtered by a metric condition, and a page filtered by model;
- compare two evaluations of 1,000,000 per-sample rows each (Arrow join, McNemar, a
  2,000-resample bootstrap, Holm) and diff them;
- the bootstrap of COCO AP over images (1,000 images x 100 detections, bench_coco's
  generator): matching once, then re-accumulating per resample, against the only way a peer
  gets a resample's AP: pycocotools (and faster-coco-eval) evaluating the resampled dataset.

The target is interactive: well under a second for a page, a few seconds for the
million-row comparison. The peer for the comparison is the same statistics written plainly
with pandas-free numpy over the already-joined arrays (the floor: no I/O, no join).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

EVALS = 50_000
ROWS = 1_000_000


def _timed(label: str, fn, repeat: int = 3):  # type: ignore[no-untyped-def]
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    print(f"  {label:<52} {best * 1000:9.1f} ms")
    return out, best


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="assay-bench-compare-"))
    os.environ["ASSAY_HOME"] = str(work / "home")
    try:
        from assay import hub
        from assay.api.app import open_state
        from assay.core.config import get_settings
        from assay.db.models import Commit, Evaluation, User

        for name in ("m", "d"):
            (work / name).mkdir()
            (work / name / "f.txt").write_text(name)
        hub.create_folder(type_="model", name="b").create_asset(name="m").create_commit(
            message="m", add=[str(work / "m" / "f.txt")]
        )
        hub.create_folder(type_="dataset", name="b").create_asset(name="d").create_commit(
            message="d", add=[str(work / "d" / "f.txt")]
        )
        state = open_state(get_settings(), local_user=None)
        rng = np.random.default_rng(0)
        with state.db.session() as s:
            owner = s.query(User).one()
            model = s.query(Commit).filter(Commit.message == "m").one()
            data = s.query(Commit).filter(Commit.message == "d").one()
            start = datetime(2026, 1, 1, tzinfo=UTC)
            s.bulk_insert_mappings(
                Evaluation,  # type: ignore[arg-type]
                [
                    {
                        "id": f"00000000-0000-4000-8000-{i:012d}",
                        "owner_id": owner.id,
                        "model_asset_id": model.asset_id,
                        "model_commit_id": model.id,
                        "model_rev": "branch/main",
                        "model_branch": "main",
                        "dataset_asset_id": data.asset_id,
                        "dataset_commit_id": data.id,
                        "dataset_rev": "branch/main",
                        "dataset_branch": "main",
                        "metrics": {"accuracy": float(a)},
                        "source": "sdk",
                        "created_at": start + timedelta(seconds=i),
                        "artifacts": [],
                    }
                    for i, a in enumerate(rng.random(EVALS))
                ],
            )
            # Two of them get a million per-sample rows each.
            truth = rng.integers(0, 10, ROWS)
            shas = []
            for k, p_right in enumerate((0.80, 0.81)):
                right = rng.random(ROWS) < p_right
                pred = np.where(right, truth, (truth + 1) % 10)
                path = work / f"samples-{k}.parquet"
                pq.write_table(
                    pa.table(
                        {
                            "id": pa.array([f"img-{i:07d}" for i in range(ROWS)]),
                            "label": pa.array(truth.astype(str)),
                            "prediction": pa.array(pred.astype(str)),
                            "correct": pa.array(right),
                        }
                    ),
                    path,
                )
                shas.append(state.store.put_file(path)[0])
            for k, sha in enumerate(shas):
                ev = s.get(Evaluation, f"00000000-0000-4000-8000-{k:012d}")
                assert ev is not None
                ev.samples_sha256, ev.sample_count = sha, ROWS
        print(f"list, {EVALS:,} evaluations (SQLite, embedded)")
        first, _ = _timed("first page of 100", lambda: hub.list_evaluation(limit=100))
        cursor = f"{first[-1]['startTime']}|{first[-1]['id']}"
        deep_cursor = (start + timedelta(seconds=EVALS - 25_000)).isoformat() + "|z"
        _timed(
            "page 250 pages deep (cursor)",
            lambda: hub.list_evaluation(limit=100, cursor=deep_cursor),
        )
        _timed("next page (cursor)", lambda: hub.list_evaluation(limit=100, cursor=cursor))
        _timed(
            'metric "accuracy>0.99"',
            lambda: hub.list_evaluation(limit=100, metric=["accuracy>0.99"]),
        )
        _timed("model b/m", lambda: hub.list_evaluation(limit=100, model="b/m"))
        a, b = (f"00000000-0000-4000-8000-{k:012d}" for k in (0, 1))
        print(f"compare, 2 x {ROWS:,} per-sample rows")
        result, ours = _timed(
            "hub.compare (join, McNemar, bootstrap 2,000, Holm)",
            lambda: hub.compare([b], baseline=a),
            2,
        )
        _timed(
            "hub.diff --only regressed --limit 20",
            lambda: hub.diff(a, b, only="regressed", limit=20),
            2,
        )
        test = result["candidates"][0]["samples"]["metrics"]["accuracy"]
        print(
            f"  -> {test['fixed']:,} fixed, {test['regressed']:,} regressed, p {test['pHolm']:.3g}"
        )
        x = pq.read_table(work / "samples-0.parquet")["correct"].to_numpy(zero_copy_only=False)
        y = pq.read_table(work / "samples-1.parquet")["correct"].to_numpy(zero_copy_only=False)
        from assay.metrics.significance import mcnemar, paired_bootstrap

        _, floor = _timed(
            "peer: the same statistics on joined arrays (no I/O)",
            lambda: (mcnemar(x, y), paired_bootstrap(x, y)),
            2,
        )
        print(f"  whole comparison / statistics alone: {ours / floor:.1f}x")
        _ap_bootstrap()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _ap_bootstrap(images: int = 1000, per_image: int = 100, resamples: int = 200) -> None:
    """AP per bootstrap resample: Assay's re-accumulation vs evaluating the resampled set."""
    from collections import defaultdict

    sys.path.insert(0, str(Path(__file__).parent))
    from bench_coco import make, peer_stats
    from faster_coco_eval import COCO as FasterCOCO
    from faster_coco_eval import COCOeval_faster
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    from assay.metrics.coco_images import ImageAP, match_image

    print(f"AP bootstrap over images, {images:,} images x {per_image} detections")
    gt, dets = make(images, per_image, seed=1)
    by_gt, by_dt = defaultdict(list), defaultdict(list)
    for a in gt["annotations"]:
        by_gt[a["image_id"]].append(a)
    for d in dets:
        by_dt[d["image_id"]].append(d)

    def columns() -> dict[str, list]:  # type: ignore[type-arg]
        cols: dict[str, list] = defaultdict(list)  # type: ignore[type-arg]
        for im in gt["images"]:
            for k, v in match_image(by_gt[im["id"]], by_dt[im["id"]]).items():
                cols[k].append(v)
        return cols

    cols, _ = _timed("match every image once (kept with the rows)", columns, 1)
    stat = ImageAP(**cols)
    rng = np.random.default_rng(0)
    weights = rng.multinomial(images, np.full(images, 1 / images), size=resamples)
    out, ours = _timed(f"AP, AP50, AP75 for {resamples} resamples", lambda: stat(weights), 1)
    # The first resample as a dataset, evaluated by the peers.
    imgs, anns, found = [], [], []
    for im, times in zip(gt["images"], weights[0], strict=True):
        for copy in range(int(times)):
            new = copy * 10 * images + im["id"]
            imgs.append({**im, "id": new})
            anns += [
                {**a, "image_id": new, "id": len(anns) + k + 1}
                for k, a in enumerate(by_gt[im["id"]])
            ]
            found += [{**d, "image_id": new} for d in by_dt[im["id"]]]
    data = {**gt, "images": imgs, "annotations": anns}
    stats, py = _timed(
        "pycocotools on one resampled dataset", lambda: peer_stats(COCO, COCOeval, data, found), 1
    )
    _, fast = _timed(
        "faster-coco-eval on one resampled dataset",
        lambda: peer_stats(FasterCOCO, COCOeval_faster, data, found),
        1,
    )
    assert abs(stats[0] - out["AP"][0]) < 1e-12 and abs(stats[1] - out["AP50"][0]) < 1e-12
    per = ours / resamples
    print(
        f"  per resample: Assay {per * 1000:.1f} ms; pycocotools {py / per:.0f}x slower, "
        f"faster-coco-eval {fast / per:.0f}x slower (AP identical on the resample checked)"
    )


if __name__ == "__main__":
    sys.exit(main())
