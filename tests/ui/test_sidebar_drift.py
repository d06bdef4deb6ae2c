"""The sidebar's Drift section in a real JupyterLab: a monitored model with its last drift share
and alerts, live through the change feed, and its view: the history figure, the alerts, the
rules, the batches and a batch's per-column report with its figure."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

WAIT = 15_000  # ms


@pytest.fixture(scope="module")
def hook():
    """A local webhook receiver (the alert rule posts to it)."""
    got: list[dict] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook", got
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def monitored(lab_project, hook):
    """wine-clf@production: a clean batch two hours ago, a rule, a shifted batch an hour ago
    that breaches it (its webhook answered), and the wine data for more batches."""
    from sklearn.datasets import load_wine
    from sklearn.linear_model import LogisticRegression

    import jupyter_mlops as mlops

    X, y = load_wine(return_X_y=True, as_frame=True)
    with mlops.start_run("train", experiment="wine"):
        mlops.version_dataset(X, "wine", role="train")
        model = LogisticRegression(max_iter=5000).fit(X, y)
        mlops.register_model(model, "wine-clf", alias="production")
    now = time.time()
    mlops.monitor("wine-clf@production", X, actuals=y, timestamp=now - 7200)
    url, got = hook
    mlops.add_alert("wine-clf@production", "drift_share > 0.1", webhook=url)
    mlops.monitor("wine-clf@production", X.assign(alcohol=X.alcohol + 1.5, proline=X.proline * 1.6),
                  actuals=y, timestamp=now - 3600)
    deadline = time.monotonic() + 10
    while not got:
        assert time.monotonic() < deadline, "the webhook was not called"
        time.sleep(0.05)
    return mlops, X, y


@pytest.fixture
def page(browser, lab, monitored):
    base, token = lab
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    page.dialogs = dialogs
    page.goto(f"{base}lab?token={token}")
    page.wait_for_selector("#jp-main-dock-panel", timeout=90_000)
    try:
        tab = page.locator('li[data-id="jp-mlops-sidebar"]')
        tab.wait_for(timeout=60_000)
        if not page.locator("#jp-mlops-sidebar").is_visible():  # the workspace may restore it
            tab.click()
        page.wait_for_selector(".jp-mlops-section-drift .jp-mlops-item", timeout=WAIT)
    except Exception:
        page.screenshot(path="/tmp/mlops-ui-drift-failure.png")
        print("\n".join(console))
        raise
    yield page
    context.close()


def test_drift_section_and_view(page, monitored, shots):
    mlops, X, y = monitored
    item = page.locator('.jp-mlops-section-drift .jp-mlops-item[data-model="wine-clf"]')
    assert item.locator(".jp-mlops-name").inner_text() == "wine-clf"
    assert "15%" in item.inner_text() and "1 alert" in item.inner_text()
    assert item.locator(".jp-mlops-badge-drifted").count() == 0  # 2 of 13 columns: no verdict

    # live: a batch far off recorded in the test process reaches the open sidebar
    mlops.monitor("wine-clf@production", X * 3, actuals=y)
    item.locator(".jp-mlops-badge-drifted").wait_for(timeout=WAIT)
    page.wait_for_function(
        "document.querySelector('.jp-mlops-section-drift .jp-mlops-item').textContent"
        ".includes('2 alerts')", timeout=WAIT)

    item.click()
    view = page.locator(".jp-mlops-drift-view")
    view.wait_for(timeout=WAIT)
    assert view.locator("h2 .jp-mlops-name").inner_text() == "wine-clf"
    assert "3 monitoring batches" in view.locator(".jp-mlops-meta").inner_text()
    view.locator(".js-plotly-plot").first.wait_for(timeout=WAIT)  # the history figure

    alerts = view.locator(".jp-mlops-drift-alerts tbody tr")
    assert alerts.count() == 2
    cells = alerts.last.locator("td").all_inner_texts()  # the first alert, on the shifted batch
    assert cells[1:3] == ["1", "drift_share > 0.1"] and cells[3].startswith("drift_share = ")
    assert cells[5] == "204"  # the webhook's answer
    assert "drift_share > 0.1" in view.locator(".jp-mlops-drift-rules").inner_text()

    report = view.locator(".jp-mlops-drift-report")
    assert report.locator("h3").inner_text().startswith("Last report")
    columns = report.locator(".jp-mlops-drift-columns tbody tr")
    assert columns.count() == 13
    assert report.locator(".jp-mlops-drift-columns th").all_inner_texts() == [
        "column", "type", "method", "statistic", "threshold", "drifted", "note"]
    report.locator(".js-plotly-plot").wait_for(timeout=WAIT)  # the report's figure
    view.locator(".jp-mlops-drift-alerts").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "sidebar-drift.png"))

    # a batch clicked shows its own report: the shifted one, two columns drifted
    alerts.last.click()
    page.wait_for_function(
        "document.querySelector('.jp-mlops-drift-report h3').textContent.startsWith('Report')",
        timeout=WAIT)
    drifted = report.locator(".jp-mlops-drift-columns tr.jp-mlops-drifted td:first-child")
    assert sorted(drifted.all_inner_texts()) == ["alcohol", "proline"]
    assert "No dataset drift: 2 of 13 columns" in report.locator(".jp-mlops-drift-verdict").inner_text()
    report.locator(".js-plotly-plot").wait_for(timeout=WAIT)
    report.screenshot(path=str(shots / "drift-report.png"))
    assert page.dialogs == []
