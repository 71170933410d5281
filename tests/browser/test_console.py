"""The web console end to end, in a real headless Chromium against a real server.

Each test leaves a screenshot of the page it drove in test-output/screenshots/.
"""

from __future__ import annotations

import re
import subprocess
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    Console,
    column_ids,
    no_page_errors,
    start_local_server,
)
from tests.support.waiting import until

LONG = 180_000  # ms: a job on a busy two-core machine


@pytest.fixture(scope="module", autouse=True)
def compare_jobs(console: Console) -> None:
    """Two versions to compare, started first so they run while other tests drive pages:
    the digits classifier (V0001) and the weaker one on branch v2 (V0002)."""
    r = console.api.post(
        "/jobs",
        json={
            "name": "cmp",
            "type": "image-classification",
            "model": "digits/logreg",
            "dataset": "digits/test",
        },
    )
    assert r.status_code == 201, r.text
    r = console.api.post("/jobs/cmp/versions", json={"model": "digits/logreg:v2"})
    assert r.status_code == 201, r.text


def badge(page: Page) -> Any:
    """The version's own state badge (the first on its page)."""
    return page.locator("[data-testid=state-badge]").first


def test_login_create_job_through_the_form_and_watch_it_complete(console: Console) -> None:
    page = console.page(logged_in=False)
    page.goto(console.url + "/create")
    console.shot(page, "01-login")
    page.get_by_label("API key").fill("not-a-key")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("invalid API key")).to_be_visible()
    page.get_by_label("API key").fill(console.server.admin_key)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("whoami")).to_have_text("admin")

    expect(page.get_by_role("heading", name="Create evaluation")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("digits-eval")
    page.get_by_label("Model version").fill("digits/logreg")
    page.get_by_label("Dataset version").fill("digits/test")
    page.get_by_label("Shards (parallel tasks)").fill("2")
    expect(page.get_by_test_id("run-params")).to_contain_text("model_url")
    console.shot(page, "02-create-form")
    page.get_by_test_id("submit").click()

    page.wait_for_url("**/jobs/digits-eval/versions/V0001")
    expect(badge(page)).to_have_text("Completed", timeout=LONG)
    expect(page.locator("[data-testid=metrics] [data-metric=accuracy]")).to_be_visible()
    expect(page.locator("[data-testid=confusion-matrix] canvas")).to_be_visible()
    expect(page.locator("[data-testid=per-class] canvas")).to_be_visible()
    expect(page.get_by_test_id("tasks")).to_contain_text("Completed")
    expect(page.get_by_test_id("log-status")).to_have_text("complete")
    accuracy = console.api.get("/jobs/digits-eval/versions/V0001").json()["metrics"]["accuracy"]
    shown = page.locator("[data-metric=accuracy]").inner_text()
    assert f"{accuracy:.4f}" in shown
    console.shot(page, "03-version-completed")

    # Its samples, filtered on the server to the wrong predictions.
    ev = console.api.get("/jobs/digits-eval/versions/V0001").json()["evaluationId"]
    total = console.api.get(f"/evaluations/{ev}/samples", params={"limit": 1}).json()["total"]
    wrong = console.api.get(
        f"/evaluations/{ev}/samples", params={"where": "correct = false", "limit": 1}
    ).json()["total"]
    assert 0 < wrong < total
    page.goto(f"{console.url}/evaluations/{ev}")
    expect(page.get_by_test_id("samples-count")).to_contain_text(f"of {total}")
    page.get_by_test_id("only-wrong").check()
    expect(page.get_by_test_id("samples-count")).to_contain_text(f"of {wrong}")
    cells = page.locator("[data-testid=samples-table] td[data-col=correct]")
    expect(cells.first).to_have_text("false")
    assert set(cells.all_inner_texts()) == {"false"}
    assert cells.count() == min(wrong, 50)
    # Thumbnails drawn by the server (the 8x8 image enlarged to 128 with its label and
    # prediction below), and one sample in full with a larger picture.
    previews: list[str] = []
    page.on(
        "response",
        lambda r: previews.append(r.url) if "/preview.png" in r.url and r.ok else None,
    )
    page.reload()
    page.get_by_test_id("only-wrong").check()
    expect(page.get_by_test_id("samples-count")).to_contain_text(f"of {wrong}")
    thumbs = page.locator("[data-testid=samples-table] td[data-col=_image] img")
    expect(thumbs.first).to_be_visible()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth === 128 && img.naturalHeight > 128",
        arg=thumbs.first.element_handle(),
    )
    expect(thumbs).to_have_count(min(wrong, 50))
    assert any(f"/api/v1/evaluations/{ev}/samples/" in u and "size=128" in u for u in previews)
    page.locator("[data-testid=samples-table] tbody tr").first.click()
    detail = page.get_by_test_id("sample-detail")
    expect(detail).to_contain_text('"correct": false')
    big = detail.get_by_test_id("sample-preview").locator("img")
    expect(big).to_be_visible()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth === 384", arg=big.element_handle()
    )
    console.shot(page, "04-evaluation-only-wrong")
    no_page_errors(page)


def test_invalid_form_shows_the_api_error_next_to_the_field(console: Console) -> None:
    page = console.page()
    page.goto(console.url + "/create")
    page.get_by_label("Name", exact=True).fill("bad name!")
    page.get_by_label("Model version").fill("digits/logreg")
    page.get_by_label("Dataset version").fill("digits/test")
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("error-name")).to_contain_text("invalid job name 'bad name!'")

    page.get_by_label("Name", exact=True).fill("fine-name")
    page.get_by_label("Timeout (s)").fill("0")
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("error-timeout")).to_contain_text("greater than or equal to 1")
    expect(page.get_by_test_id("error-name")).to_have_count(0)

    page.get_by_label("Timeout (s)").fill("3600")
    page.get_by_label("Dataset version").fill("digits/nope")
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("error-dataset")).to_be_visible()
    console.shot(page, "05-create-form-errors")
    assert console.api.get("/jobs").json() == [] or all(
        j["name"] != "fine-name" for j in console.api.get("/jobs").json()
    )
    no_page_errors(page)


def test_follow_a_running_jobs_log_live(console: Console) -> None:
    r = console.api.post(
        "/jobs",
        json={
            "name": "talk",
            "type": "custom",
            "model": "f/m",
            "dataset": "f/d",
            "code": "s/e",
            "launch": "eval.py",
            "params": {"lines": 8, "sleep": 8},
        },
    )
    assert r.status_code == 201, r.text
    page = console.page()
    requested: list[str] = []
    page.on("request", lambda req: requested.append(req.url))
    page.goto(console.url + "/jobs/talk/versions/V0001")
    log = page.get_by_test_id("log")
    expect(log).to_contain_text("line 0", timeout=LONG)
    # The first line is on the page while the job still runs, and more follow it live.
    assert console.api.get("/jobs/talk/versions/V0001").json()["state"] == "Running"
    expect(page.get_by_test_id("log-status")).to_contain_text("following")
    expect(badge(page)).to_have_text("Running")
    console.shot(page, "06-version-live-log")
    expect(log).to_contain_text("line 7", timeout=LONG)
    expect(log).to_contain_text("done", timeout=LONG)
    expect(page.get_by_test_id("log-status")).to_have_text("complete", timeout=LONG)
    expect(badge(page)).to_have_text("Completed")
    text = log.inner_text()
    assert text.index("line 0") < text.index("line 7") < text.index("done")
    # It came by server-sent events (one stream, no polling of the logs route).
    expect(log).to_have_attribute("data-transport", "sse")
    streams = [u for u in requested if "/api/v1/jobs/talk/versions/V0001/logs/stream" in u]
    assert len(streams) == 1, requested
    assert not [u for u in requested if "/V0001/logs?" in u], requested
    no_page_errors(page)

    # Where the stream cannot be had, the console falls back to polling the logs route.
    other = console.page()
    other.route("**/logs/stream*", lambda route: route.abort())
    other.goto(console.url + "/jobs/talk/versions/V0001")
    expect(other.get_by_test_id("log-status")).to_have_text("complete", timeout=LONG)
    expect(other.get_by_test_id("log")).to_have_attribute("data-transport", "poll")
    assert other.get_by_test_id("log").inner_text() == text
    no_page_errors(other)


def test_terminate_a_queued_version(console: Console) -> None:
    assert console.api.post("/pools", json={"name": "one", "cpu": 1}).status_code == 201
    body = {
        "name": "hold",
        "type": "custom",
        "model": "f/m",
        "dataset": "f/d",
        "code": "s/e",
        "launch": "eval.py",
        "pool": "one",
        "params": {"sleep": 120},
    }
    assert console.api.post("/jobs", json=body).status_code == 201
    assert console.api.post("/jobs/hold/versions", json={}).status_code == 201
    try:
        page = console.page()
        page.goto(console.url + "/jobs/hold")
        row = page.locator("[data-testid=versions] tr[data-version=V0002]")
        expect(row.get_by_test_id("state-badge")).to_have_text("Queuing")
        page.get_by_role("button", name="Terminate V0002").click()
        expect(row.get_by_test_id("state-badge")).to_have_text("Terminated")
        assert console.api.get("/jobs/hold/versions/V0002").json()["state"] == "Terminated"
        assert console.api.get("/jobs/hold/versions/V0002").json()["startedAt"] is None
        console.shot(page, "07-job-versions-terminated")

        # Delete asks first; the version goes once confirmed.
        page.get_by_role("button", name="Delete V0002").click()
        page.get_by_test_id("confirm-delete").click()
        expect(row).to_have_count(0)
        assert [v["name"] for v in console.api.get("/jobs/hold/versions").json()] == ["V0001"]

        # A new version: the form comes pre-filled from the latest one; it queues behind
        # V0001, and its own page terminates it.
        page.get_by_role("button", name="New version").click()
        page.wait_for_url("**/create?job=hold")
        expect(page.get_by_label("Launch file")).to_have_value("eval.py")
        expect(page.get_by_label("Code", exact=True)).to_have_value("s/e")
        expect(page.get_by_label("Name", exact=True)).to_be_disabled()
        page.get_by_test_id("submit").click()
        page.wait_for_url("**/jobs/hold/versions/V0003")
        expect(badge(page)).to_have_text("Queuing")
        page.get_by_role("button", name="Terminate").click()
        expect(badge(page)).to_have_text("Terminated")
        v3 = console.api.get("/jobs/hold/versions/V0003").json()
        assert v3["pool"] == "one" and v3["params"] == {"sleep": 120}
        no_page_errors(page)
    finally:
        console.api.post("/jobs/hold/versions/V0001/terminate")


def test_compare_two_versions_against_a_pinned_baseline(console: Console) -> None:
    first = console.wait_version("cmp:V0001")
    second = console.wait_version("cmp:V0002")
    assert first["state"] == second["state"] == "Completed"
    base, cand = first["evaluationId"], second["evaluationId"]
    assert first["metrics"]["accuracy"] != second["metrics"]["accuracy"]

    page = console.page()
    page.goto(console.url + "/evaluations?job=cmp")
    table = page.get_by_test_id("evaluations-table")
    expect(table.locator("tbody tr")).to_have_count(2)
    # Newest first, as the API lists them.
    listed = [e["id"] for e in console.api.get("/evaluations", params={"job": "cmp"}).json()]
    rows = table.locator("tbody tr")
    assert [rows.nth(i).get_attribute("data-row") for i in range(2)] == listed
    page.get_by_label(f"Select {base}").check()
    page.get_by_label(f"Select {cand}").check()
    page.get_by_role("button", name=f"Pin {base} as baseline").click()
    expect(page.get_by_test_id("pinned")).to_contain_text("job cmp")
    console.shot(page, "08-evaluations-selected")
    page.get_by_test_id("compare-selected").click()

    page.wait_for_url("**/compare?ids=*")
    expect(page.locator(f"[data-eval='{base}'] [data-testid=baseline-badge]")).to_have_text(
        "baseline (pinned)"
    )
    card = page.locator(f"[data-testid=candidate][data-candidate='{cand}']")
    expect(card).to_be_visible()
    expect(page.locator(f"[data-testid=candidate][data-candidate='{base}']")).to_have_count(0)
    row = card.locator("[data-testid=metric-deltas] tr[data-metric=accuracy]")
    delta = second["metrics"]["accuracy"] - first["metrics"]["accuracy"]
    cell = row.get_by_test_id("delta")
    minus = "\N{MINUS SIGN}"  # as the console writes a negative delta
    expect(cell).to_contain_text(f"{'+' if delta > 0 else minus}{abs(delta):.4f}")
    expect(cell).to_have_class(re.compile(f"delta-{'better' if delta > 0 else 'worse'}"))
    expect(row).to_contain_text(" / ")  # fixed / regressed samples, paired on the server
    expect(card.get_by_test_id("per-class-deltas")).to_be_visible()
    # The changed samples with both predictions, narrowed to the regressed ones.
    changed = card.get_by_test_id("changed-samples")
    expect(changed.locator("tr[data-change]").first).to_be_visible()
    expect(changed).to_contain_text(" → ")
    changed.get_by_text(re.compile(r"^regressed \(\d+\)$")).click()
    expect(changed.locator("tr[data-change=fixed]")).to_have_count(0)
    expect(changed.locator("tr[data-change=regressed]").first).to_be_visible()
    console.shot(page, "09-compare")

    # Pinning the other one makes it the baseline.
    page.get_by_role("row").filter(has_text="cmp:V0002").get_by_role(
        "button", name="Pin as baseline"
    ).click()
    expect(page.locator(f"[data-eval='{cand}'] [data-testid=baseline-badge]")).to_be_visible()
    expect(page.locator(f"[data-testid=candidate][data-candidate='{base}']")).to_be_visible()
    no_page_errors(page)


def test_samples_only_regressed_or_fixed_vs_the_pinned_baseline(console: Console) -> None:
    base = console.wait_version("cmp:V0001")["evaluationId"]
    cand = console.wait_version("cmp:V0002")["evaluationId"]
    r = console.api.put("/pins", json={"evaluation": base, "job": "cmp"})
    assert r.status_code == 200, r.text

    def changed(only: str) -> dict[str, Any]:
        body = {"baseline": base, "candidate": cand, "only": only, "limit": 10_000}
        d: dict[str, Any] = console.api.post("/diff", json=body).json()
        return d

    regressed, fixed = changed("regressed"), changed("fixed")
    assert regressed["regressed"] > 0

    page = console.page()
    page.goto(console.url + "/jobs/cmp/versions/V0002")
    expect(page.get_by_test_id("baseline-name")).to_contain_text(base)
    count = page.get_by_test_id("samples-count")
    table = page.get_by_test_id("samples-table")
    for only, expected in (("regressed", regressed), ("fixed", fixed)):
        label = "only regressed vs baseline" if only == "regressed" else "only fixed"
        page.get_by_test_id("baseline-filter").get_by_text(label).click()
        total = expected[only]
        expect(count).to_contain_text(f"of {total}" if total else "0 of 0")
        samples = [str(row["sample"]) for row in expected["rows"]]
        cells = table.locator("td[data-col=sample]")
        expect(cells).to_have_count(min(total, 50))
        assert cells.all_inner_texts() == samples[:50]
        assert set(table.locator("td[data-col=change]").all_inner_texts()) <= {only}
        if only == "regressed":
            console.shot(page, "17-samples-only-regressed")
        if total > 50:  # the next page comes from the server as well
            page.get_by_role("button", name="Next").click()
            expect(cells.first).to_have_text(samples[50])
            page.get_by_role("button", name="Previous").click()
    page.get_by_test_id("baseline-filter").get_by_text("all samples").click()
    expect(count).to_contain_text(
        "of " + str(console.api.get(f"/evaluations/{cand}").json()["samples"])
    )
    # The baseline's own page says so instead of offering the filter.
    page.goto(console.url + "/jobs/cmp/versions/V0001")
    expect(page.get_by_text("This evaluation is the pinned baseline.")).to_be_visible()
    no_page_errors(page)


def test_column_settings_survive_reload_and_another_browser(console: Console) -> None:
    console.wait_version("cmp:V0001")
    page = console.page()
    page.goto(console.url + "/evaluations")
    expect(
        page.locator("[data-testid=evaluations-table] th[data-col='metric:accuracy']")
    ).to_be_visible()
    before = column_ids(page)
    assert before[:3] == ["select", "id", "state"] and "dataset" in before

    page.get_by_test_id("column-settings").click()
    panel = page.get_by_test_id("column-settings-panel")
    panel.get_by_label("Show Dataset").uncheck()
    expect(panel.get_by_test_id("columns-status")).to_have_text("saved")
    # Drag "Creator" onto "Evaluation": it takes that place.
    page.drag_and_drop("[data-testid=col-setting-creator]", "[data-testid=col-setting-id]")
    expect(panel.get_by_test_id("columns-status")).to_have_text("saved")
    panel.get_by_role("button", name="Pin accuracy").click()
    expect(panel.get_by_test_id("columns-status")).to_have_text("saved")
    console.shot(page, "10-column-settings")
    page.keyboard.press("Escape")

    after = column_ids(page)
    assert "dataset" not in after
    assert after[:4] == ["select", "metric:accuracy", "creator", "id"], after
    pinned = page.locator("[data-testid=evaluations-table] th[data-col='metric:accuracy']")
    assert "pinned" in (pinned.get_attribute("class") or "")
    console.shot(page, "11-evaluations-columns")

    page.reload()
    expect(
        page.locator("[data-testid=evaluations-table] th[data-col='metric:accuracy']")
    ).to_be_visible()

    # The saved settings arrive after the first render: wait for them (the row-actions
    # column comes and goes with the rows, so it is left out of the comparison).
    def settled(p: Any) -> list[str]:
        return [c for c in column_ids(p) if c != "actions"]

    wanted = [c for c in after if c != "actions"]
    until(lambda: settled(page) == wanted, timeout=30, what=f"columns {wanted}")

    # Another browser (a new context: no shared storage) logging in with the same key.
    other = console.page(logged_in=False)
    other.goto(console.url + "/evaluations")
    other.get_by_label("API key").fill(console.server.admin_key)
    other.get_by_role("button", name="Log in").click()
    expect(
        other.locator("[data-testid=evaluations-table] th[data-col='metric:accuracy']")
    ).to_be_visible()
    until(lambda: settled(other) == wanted, timeout=30, what=f"columns {wanted} elsewhere")
    saved = console.api.get("/me/settings/evaluations.columns").json()["value"]
    assert saved["hidden"] == ["dataset"] and saved["pinned"] == ["metric:accuracy"]
    no_page_errors(page)
    no_page_errors(other)


def test_jobs_assets_and_pools_pages(console: Console) -> None:
    console.wait_version("cmp:V0002")
    page = console.page()
    page.goto(console.url + "/jobs")
    expect(page.get_by_test_id("jobs")).to_contain_text("cmp")
    console.shot(page, "12-jobs")
    page.get_by_role("link", name="cmp", exact=True).click()
    expect(page.locator("[data-testid=versions] tr[data-version]")).to_have_count(2)
    console.shot(page, "13-job")

    page.goto(console.url + "/assets")
    page.get_by_text("digits (1)").click()
    page.get_by_role("link", name="logreg").click()
    expect(page.get_by_text("Commits of main")).to_be_visible()
    expect(page.get_by_text("model.onnx")).to_be_visible()
    expect(page.get_by_text("Evaluations of commit")).to_be_visible()
    expect(page.locator("table").filter(has_text="digits/test").first).to_be_visible()
    page.get_by_role("button", name="v2").click()
    expect(page.get_by_text("Commits of v2")).to_be_visible()
    page.get_by_label("New branch or tag name").fill("reviewed")
    page.get_by_role("button", name=re.compile("Create tag at")).click()
    expect(page.get_by_role("button", name="reviewed")).to_be_visible()
    tags = console.api.get("/assets/" + page.url.rsplit("/", 1)[-1] + "/tags").json()
    v2 = console.api.get("/assets/" + page.url.rsplit("/", 1)[-1] + "/branches").json()
    assert [t["name"] for t in tags] == ["reviewed"]
    assert tags[0]["commit"] == next(b["commit"] for b in v2 if b["name"] == "v2")
    # Files uploaded from the browser become a new commit on the branch.
    page.locator("input[type=file]").set_input_files(
        files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"trained on 10%\n"}]
    )
    page.get_by_label("Commit message").fill("add notes")
    page.get_by_role("button", name="Commit", exact=True).click()
    expect(page.get_by_test_id("upload-status")).to_contain_text("committed")
    expect(page.get_by_role("cell", name="add notes")).to_be_visible()
    expect(page.get_by_role("cell", name="notes.txt")).to_be_visible()
    asset_id = page.url.rsplit("/", 1)[-1]
    files = console.api.get(f"/assets/{asset_id}/files", params={"rev": "v2"}).json()
    assert {f["path"] for f in files} >= {"notes.txt", "model.onnx"}
    console.shot(page, "14-assets")
    page.get_by_role("button", name="Evaluate this").click()
    page.wait_for_url("**/create?model=*")
    assert page.get_by_label("Model version").input_value().startswith("digits/logreg:")

    page.goto(console.url + "/pools")
    expect(page.get_by_test_id("pools")).to_contain_text("default")
    console.shot(page, "15-pools")

    page.goto(console.url + "/no/such/page")
    expect(page.get_by_text("No such page")).to_be_visible()
    no_page_errors(page)


def test_local_server_logs_in_without_a_key(console: Console, tmp_path: Any) -> None:
    home = tmp_path / "local-home"
    home.mkdir()
    url, proc = start_local_server(home)
    try:
        page = console.page(logged_in=False)
        page.goto(url + "/")
        expect(page.get_by_test_id("whoami")).to_have_text("local (local)")
        expect(page.get_by_role("heading", name="Evaluations")).to_be_visible()
        expect(page.get_by_role("button", name="Log out")).to_have_count(0)
        console.shot(page, "16-local-mode")
        no_page_errors(page)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
