"""What the web console needs of the server: per-user settings (GET/PUT/DELETE
/api/v1/me/settings/{key}), the built single-page app served at / with SPA fallback, and a
task's log as server-sent events, and per-sample previews."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from assay import hub
from assay.api import errors
from assay.api.app import create_app, open_state
from assay.api.routes import console, logstream
from assay.core.config import Settings
from assay.services import settings as user_settings
from assay.services.bootstrap import ensure_admin
from tests.conftest import Server
from tests.integration.evaluators.helpers import commit_dir, run_job, write_model
from tests.integration.jobs.conftest import make_assets, new_job

LAYOUT = {"order": ["id", "state", "model"], "hidden": ["model"], "pinned": ["id"]}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[FastAPI]:
    state = open_state(Settings(home=tmp_path / "home"), local_user=None)
    key = ensure_admin(state)
    app = create_app(state)
    app.state.admin_key = key
    yield app
    state.db.dispose()


def client(app: FastAPI, key: str | None) -> TestClient:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return TestClient(app, base_url="http://testserver/api/v1", headers=headers)


def error(r: Any, status: int, family: str) -> str:
    assert r.status_code == status, r.text
    body = r.json()["error"]
    assert body["type"] == family, body
    return str(body["message"])


def test_settings_round_trip_replace_list_delete(app: FastAPI) -> None:
    admin = client(app, app.state.admin_key)
    missing = admin.get("/me/settings/evaluations.columns")
    assert "no setting 'evaluations.columns'" in error(missing, 404, "NotFound")
    r = admin.put("/me/settings/evaluations.columns", json=LAYOUT)
    assert r.status_code == 200, r.text
    assert r.json()["value"] == LAYOUT and r.json()["key"] == "evaluations.columns"
    assert admin.get("/me/settings/evaluations.columns").json()["value"] == LAYOUT
    admin.put("/me/settings/evaluations.columns", json={"order": ["state"]})
    assert admin.get("/me/settings/evaluations.columns").json()["value"] == {"order": ["state"]}
    admin.put("/me/settings/other", json={})
    assert [s["key"] for s in admin.get("/me/settings").json()] == ["evaluations.columns", "other"]
    assert admin.delete("/me/settings/other").json() == {"deleted": "other"}
    assert [s["key"] for s in admin.get("/me/settings").json()] == ["evaluations.columns"]
    error(admin.delete("/me/settings/other"), 404, "NotFound")


def test_settings_are_per_user(app: FastAPI) -> None:
    admin = client(app, app.state.admin_key)
    bob_key = admin.post("/users", json={"name": "bob"}).json()["apiKey"]
    bob = client(app, bob_key)
    admin.put("/me/settings/evaluations.columns", json=LAYOUT)
    error(bob.get("/me/settings/evaluations.columns"), 404, "NotFound")
    assert bob.get("/me/settings").json() == []
    bob.put("/me/settings/evaluations.columns", json={"hidden": ["state"]})
    assert bob.get("/me/settings/evaluations.columns").json()["value"] == {"hidden": ["state"]}
    assert admin.get("/me/settings/evaluations.columns").json()["value"] == LAYOUT
    bob.delete("/me/settings/evaluations.columns")
    assert admin.get("/me/settings/evaluations.columns").json()["value"] == LAYOUT
    error(client(app, None).get("/me/settings"), 401, "Unauthenticated")
    error(client(app, "nope").put("/me/settings/x", json={}), 401, "Unauthenticated")


@pytest.mark.parametrize(
    ("body", "status", "family", "says"),
    [
        (b"{not json", 422, "InvalidInput", "JSON"),
        (b"[1, 2]", 422, "InvalidInput", "must be a JSON object"),
        (b'"text"', 422, "InvalidInput", "must be a JSON object"),
        (b"null", 422, "InvalidInput", ""),
        (b'{"a": ' * 9 + b"1" + b"}" * 9, 422, "InvalidInput", "8 levels"),
        (b'{"a": "' + b"x" * 17_000 + b'"}', 413, "PayloadTooLarge", "16384 bytes"),
    ],
)
def test_bad_settings_are_refused_and_change_nothing(
    app: FastAPI, body: bytes, status: int, family: str, says: str
) -> None:
    admin = client(app, app.state.admin_key)
    admin.put("/me/settings/k", json={"kept": True})
    r = admin.put("/me/settings/k", content=body, headers={"Content-Type": "application/json"})
    assert says in error(r, status, family)
    assert admin.get("/me/settings/k").json()["value"] == {"kept": True}


def test_bad_keys_and_too_many_settings(app: FastAPI) -> None:
    admin = client(app, app.state.admin_key)
    for key in ("Upper", "-dash", "x" * 65, "sp%20ace"):
        r = admin.put(f"/me/settings/{key}", json={})
        assert "invalid setting key" in error(r, 422, "InvalidInput")
    for i in range(user_settings.MAX_KEYS):
        assert admin.put(f"/me/settings/k{i}", json={}).status_code == 200
    assert "at most" in error(admin.put("/me/settings/one-more", json={}), 422, "InvalidInput")
    assert admin.put("/me/settings/k0", json={"still": "replaceable"}).status_code == 200


# ---- the single-page app --------------------------------------------------------------------


def site(tmp_path: Path, dist: Path) -> TestClient:
    app = FastAPI()
    errors.install(app)
    app.include_router(console.router(dist))
    return TestClient(app)


def test_console_serves_the_build_with_spa_fallback(tmp_path: Path, app: FastAPI) -> None:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>Assay</title>")
    (dist / "assets" / "app-1234.js").write_text("console.log(1)")
    (dist / "assets" / "app-1234.css").write_text("body{}")
    (dist / "favicon.svg").write_text("<svg/>")
    (tmp_path / "secret.txt").write_text("not served")
    web = site(tmp_path, dist)
    for path in ("/", "/evaluations", "/jobs/a/versions/V0001", "/compare?ids=a,b"):
        r = web.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), path
        assert "<title>Assay</title>" in r.text
    r = web.get("/assets/app-1234.js")
    assert r.headers["content-type"].startswith("text/javascript")
    assert "immutable" in r.headers["cache-control"]
    assert web.get("/assets/app-1234.css").headers["content-type"].startswith("text/css")
    assert web.get("/favicon.svg").headers["content-type"].startswith("image/svg+xml")
    assert web.get("/assets/missing.js").status_code == 404
    for sneaky in ("/..%2fsecret.txt", "/assets/..%2f..%2fsecret.txt", "/%2e%2e/secret.txt"):
        assert "not served" not in web.get(sneaky).text, sneaky

    # In the whole app the API and its docs come first; unknown API paths stay JSON 404s.
    full = TestClient(create_app(app.state.assay))
    assert full.get("/api/v1/health").json()["status"] == "ok"
    assert full.get("/docs").status_code == 200
    assert "/" not in full.get("/openapi.json").json()["paths"]
    r = full.get("/api/v1/no/such/route")
    assert r.status_code == 404 and r.json()["error"]["type"] == "NotFound"


def test_console_without_a_build_says_how_to_make_one(tmp_path: Path) -> None:
    web = site(tmp_path, tmp_path / "no-dist")
    for path in ("/", "/evaluations"):
        r = web.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        assert "make install" in r.text


# ---- live logs as server-sent events --------------------------------------------------------


def sse(lines: Iterator[str]) -> Iterator[dict[str, str]]:
    """Server-sent events from a stream's lines: dicts of event/id/data (comments as
    ``{"comment": ...}``)."""
    event: dict[str, str] = {}
    for line in lines:
        if not line:
            if event:
                yield event
            event = {}
        elif line.startswith(":"):
            yield {"comment": line[1:].strip()}
        else:
            field, _, value = line.partition(":")
            event[field] = value.removeprefix(" ")


def test_log_stream_follows_a_running_version_and_resumes(
    home: Path, tmp_path: Path, server: Server
) -> None:
    hub.login(host=server.url, api_key=server.admin_key)
    make_assets(tmp_path)
    new_job("talk", params={"lines": 6, "sleep": 6})
    admin = server.client(server.admin_key)
    url = "/jobs/talk/versions/V0001/logs/stream"
    received: list[tuple[dict[str, Any], str]] = []  # (chunk, version state when it came)
    ended: dict[str, Any] | None = None
    with admin.stream("GET", url, timeout=httpx.Timeout(120)) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        for event in sse(r.iter_lines()):
            if "data" not in event:
                continue
            chunk = json.loads(event["data"])
            assert event["id"] == str(chunk["nextOffset"])
            if event.get("event") == "end":
                ended = chunk
                break
            state = admin.get("/jobs/talk/versions/V0001").json()["state"]
            received.append((chunk, state))
    assert ended is not None, "the stream closed without event: end"
    text = "".join(c["data"] for c, _ in received)
    assert text.index("line 0") < text.index("line 5") < text.index("done")
    # Lines came while the version was still running, in several events.
    assert any("line 0" in c["data"] and s == "Running" for c, s in received), received
    assert len(received) > 1
    log = admin.get("/jobs/talk/versions/V0001/logs").json()
    assert log["complete"] and log["data"] == text
    assert ended["nextOffset"] == len(text.encode()) == log["nextOffset"]

    # Resuming from an offset (query or Last-Event-ID) sends only what follows it.
    middle = next(c for c, _ in received if "line 2" in c["data"])["nextOffset"]
    later = text.encode()[middle:].decode()
    for params, headers in (({"offset": middle}, {}), ({}, {"Last-Event-ID": str(middle)})):
        with admin.stream("GET", url, params=params, headers=headers) as r:
            events = [e for e in sse(r.iter_lines()) if "data" in e]
        assert [e.get("event") for e in events] == [None, "end"]
        assert json.loads(events[0]["data"])["data"] == later
        assert "line 1" not in later and "done" in later

    # Errors are JSON before any stream: unknown task or version, another user, no key.
    def refused(client: httpx.Client, path: str, status: int) -> None:
        r = client.get(path)
        assert r.status_code == status, r.text
        assert r.headers["content-type"].startswith("application/json")

    refused(admin, url + "?task=3", 404)
    refused(admin, "/jobs/talk/versions/V0009/logs/stream", 404)
    refused(admin, "/jobs/nope/versions/V0001/logs/stream", 404)
    bob = server.client(admin.post("/users", json={"name": "bob"}).json()["apiKey"])
    refused(bob, url, 404)
    refused(server.client(None), url, 401)
    for c in (admin, bob):
        c.close()


def test_log_stream_sends_heartbeats_and_stops_when_the_client_goes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(logstream, "POLL", 0.01)
    monkeypatch.setattr(logstream, "HEARTBEAT", 0.03)
    reads: list[int] = []
    gone = False

    async def read(offset: int) -> dict[str, Any]:
        reads.append(offset)
        return {"data": "", "nextOffset": offset, "complete": False}

    async def disconnected() -> bool:
        return gone

    async def run() -> list[str]:
        nonlocal gone
        out = []
        first = {"data": "a\n", "nextOffset": 2, "complete": False}
        async for part in logstream.events(first, read, disconnected):
            out.append(part)
            if part.startswith(":") and sum(p.startswith(":") for p in out) == 2:
                gone = True
        return out

    out = asyncio.run(run())
    assert out[1] == 'id: 2\ndata: {"data": "a\\n", "nextOffset": 2}\n\n'
    assert sum(p.startswith(": keep-alive") for p in out) == 2
    assert not any("event: end" in p for p in out)  # it stopped because the client left
    assert reads and set(reads) == {2}


# ---- per-sample previews --------------------------------------------------------------------

GREY = (128, 128, 128)


def _detection_assets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two grey 40x30 images annotated at 80x60 (boxes are scaled to the picture), one true
    box on image 1 and two predictions there (scores 0.9 and 0.2)."""
    from PIL import Image

    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    for i in (1, 2):
        Image.new("RGB", (40, 30), GREY).save(data / "images" / f"00{i}.png")
    gt = {
        "images": [
            {"id": i, "file_name": f"images/00{i}.png", "width": 80, "height": 60} for i in (1, 2)
        ],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 40, 30], "area": 1200}
        ],
        "categories": [{"id": 1, "name": "thing"}],
    }
    (data / "annotations.json").write_text(json.dumps(gt))
    dets = [
        {"image_id": 1, "category_id": 1, "bbox": [2, 40, 20, 15], "score": 0.2},
        {"image_id": 1, "category_id": 1, "bbox": [40, 20, 30, 30], "score": 0.9},
    ]
    preds = write_model(
        tmp_path / "preds",
        "task: object-detection\nformat: predictions\npredictions: results.json\n",
        {"results.json": json.dumps(dets)},
    )
    commit_dir("dataset", "coco", "toy", data, monkeypatch)
    commit_dir("model", "coco", "preds", preds, monkeypatch)


def test_detection_preview_draws_true_and_predicted_boxes(
    home: Path, tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import Image

    hub.login(host=server.url, api_key=server.admin_key)
    _detection_assets(tmp_path, monkeypatch)
    v = run_job("object-detection", "coco/preds", "coco/toy", "det")
    assert v.status == "Completed", v.data["message"]
    ev = v.data["evaluationId"]
    admin = server.client(server.admin_key)

    # The rows keep each detection's box, aligned with its score.
    row = admin.get(f"/evaluations/{ev}/samples", params={"where": "id = 1"}).json()["rows"][0]
    assert row["dt_score"] == [0.9, 0.2]
    assert row["dt_bbox"] == [[40, 20, 30, 30], [2, 40, 20, 15]]
    assert row["dt_category"] == [1, 1] and "dt_match" in row and "gt_category" in row
    # Comparisons pair rows holding the new list column as before.
    r = admin.post("/compare", json={"baseline": ev, "candidates": [ev], "resamples": 100})
    assert r.status_code == 200, r.text
    assert r.json()["candidates"][0]["samples"]["paired"] == 2

    def picture(sample: str, **params: Any) -> Any:
        r = admin.get(f"/evaluations/{ev}/samples/{sample}/preview.png", params=params)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "image/png"
        assert r.headers["x-content-type-options"] == "nosniff"
        return Image.open(io.BytesIO(r.content)).convert("RGB")

    # 160x120: twice the annotation's 80x60. Truth [10,10,40,30] -> x 20..99, y 20..79;
    # the 0.9 prediction [40,20,30,30] -> x 80..139, y 40..99; the 0.2 one is left out.
    img = picture("1", size=160)
    assert img.size == (160, 120)
    green = (0, 220, 0)
    red = (255, 0, 0)
    assert img.getpixel((20, 50)) == green and img.getpixel((50, 20)) == green
    assert img.getpixel((99, 30)) == green and img.getpixel((50, 79)) == green
    assert img.getpixel((110, 99)) == red and img.getpixel((139, 70)) == red
    assert img.getpixel((80, 90)) == red
    for inside in ((60, 50), (120, 70), (20, 90), (5, 5)):
        assert img.getpixel(inside) == GREY, inside
    # A lower min_score shows the weak prediction [2,40,20,15] -> x 4..43, y 80..109 too.
    low = picture("1", size=160, min_score=0.1)
    assert low.getpixel((4, 95)) == red and low.getpixel((20, 109)) == red
    # By the image's file as well; image 2 has nothing to draw.
    assert picture("images/001.png", size=160).tobytes() == img.tobytes()
    assert [c for _, c in picture("2", size=64).getcolors()] == [GREY]

    # Unknown samples, paths that are not rows, other users, no key.
    def refused(client: httpx.Client, sample: str, status: int) -> None:
        r = client.get(f"/evaluations/{ev}/samples/{sample}/preview.png")
        assert r.status_code == status, (sample, r.text)
        assert r.headers["content-type"].startswith("application/json")

    refused(admin, "3", 404)
    refused(admin, quote("../../etc/passwd", safe=""), 404)
    refused(admin, "..%2F..%2Fannotations.json", 404)
    refused(admin, "annotations.json", 404)
    r = admin.get(f"/evaluations/{ev}/samples/1/preview.png", params={"size": 100_000})
    assert r.status_code == 422
    bob = server.client(admin.post("/users", json={"name": "bob"}).json()["apiKey"])
    refused(bob, "1", 404)
    refused(server.client(None), "1", 401)
    for c in (admin, bob):
        c.close()


def test_segmentation_and_classification_previews(
    home: Path, tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A segmentation image under its true mask, beside it under the predicted mask the
    evaluation kept (all class 0 here), and a classification image with its label and
    prediction below it; the listing never returns the kept mask's bytes."""
    import numpy as np
    from PIL import Image

    hub.login(host=server.url, api_key=server.admin_key)
    seg = tmp_path / "seg"
    (seg / "images").mkdir(parents=True)
    (seg / "masks").mkdir()
    (seg / "classes.txt").write_text("ground\nthing\n")
    Image.new("RGB", (8, 8), GREY).save(seg / "images" / "a.png")
    truth = np.zeros((8, 8), dtype=np.uint8)
    truth[4:, 4:] = 1  # bottom right: class 1; top right: ignored
    truth[:4, 4:] = 255
    Image.fromarray(truth).save(seg / "masks" / "a.png")
    preds = tmp_path / "seg-preds"
    (preds / "masks").mkdir(parents=True)
    Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(preds / "masks" / "a.png")
    (preds / "assay.yaml").write_text(
        "task: semantic-segmentation\nformat: predictions\npredictions: masks\n"
    )
    commit_dir("dataset", "seg", "one", seg, monkeypatch)
    commit_dir("model", "seg", "zero", preds, monkeypatch)

    cls = tmp_path / "cls"
    for label in ("cat", "dog"):
        (cls / label).mkdir(parents=True)
        Image.new("RGB", (8, 8), GREY).save(cls / label / "x.png")
    cls_preds = write_model(
        tmp_path / "cls-preds",
        "task: image-classification\nformat: predictions\npredictions: preds.jsonl\n",
        {
            "preds.jsonl": "".join(
                f'{{"id": "{k}/x.png", "label": "cat"}}\n' for k in ("cat", "dog")
            )
        },
    )
    commit_dir("dataset", "cls", "two", cls, monkeypatch)
    commit_dir("model", "cls", "cats", cls_preds, monkeypatch)

    seg_v = run_job("semantic-segmentation", "seg/zero", "seg/one", "seg")
    cls_v = run_job("image-classification", "cls/cats", "cls/two", "cls")
    assert seg_v.status == cls_v.status == "Completed", (seg_v.data, cls_v.data)
    admin = server.client(server.admin_key)

    def picture(ev: str, sample: str) -> Any:
        r = admin.get(f"/evaluations/{ev}/samples/{quote(sample, safe='')}/preview.png?size=80")
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "image/png"
        return Image.open(io.BytesIO(r.content)).convert("RGB")

    img = picture(seg_v.data["evaluationId"], "images/a.png")
    assert img.size == (80 * 2 + 4, 80 + 14)  # truth | prediction, and the caption band
    assert img.getpixel((10, 10)) == GREY and img.getpixel((10, 70)) == GREY  # class 0
    assert img.getpixel((70, 10)) == GREY  # ignored
    tinted = img.getpixel((70, 70))
    assert tinted != GREY and tinted == img.getpixel((45, 45))  # class 1, blended
    assert img.getpixel((84 + 70, 70)) == GREY  # predicted class 0 there: left clear
    listed = hub.list_samples(seg_v.data["evaluationId"])
    assert listed and "pred_mask" not in listed[0] and listed[0]["IoU"] is not None

    ev = cls_v.data["evaluationId"]
    right, wrong = picture(ev, "cat/x.png"), picture(ev, "dog/x.png")
    assert right.size == wrong.size == (80, 94)
    assert right.getpixel((40, 40)) == GREY

    def ink(img: Any) -> tuple[bool, bool]:
        """(green text, red text) in the caption band (anti-aliased: strongly one colour)."""
        colours = [c for _, c in img.crop((0, 80, 80, 94)).getcolors()]
        return (
            any(g > 150 and r < 80 and b < 80 for r, g, b in colours),
            any(r > 150 and g < 80 and b < 80 for r, g, b in colours),
        )

    assert ink(right) == (True, False) and ink(wrong) == (False, True)
    admin.close()
