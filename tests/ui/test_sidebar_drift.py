"""The sidebar's Drift section in a real JupyterLab: a monitored model with its last drift share
and alerts, live through the change feed, and its view: the history figure, the alerts, the
rules, the batches and a batch's per-column report with its figure."""

from __future__ import annotations

import time

import pytest
from webhook import Receiver

from ui.conftest import assert_readable

WAIT = 15_000  # ms


@pytest.fixture(scope="module")
def hook():
    receiver = Receiver()
    yield receiver
    receiver.close()


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
    mlops.add_alert("wine-clf@production", "drift_share > 0.1", webhook=hook.url)
    mlops.monitor("wine-clf@production", X.assign(alcohol=X.alcohol + 1.5, proline=X.proline * 1.6),
                  actuals=y, timestamp=now - 3600)
    hook.wait()
    return mlops, X, y


@pytest.fixture
def page(open_lab, monitored):
    return open_lab(".jp-mlops-section-drift .jp-mlops-item", height=1000,
                    section="drift")


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
    assert_readable(page)  # its badges fit the sidebar's default width

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
