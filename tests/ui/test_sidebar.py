"""The sidebar in a real JupyterLab: runs a notebook logged, live updates without a reload,
a run view, a comparison, user text shown as text, light and dark themes."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest

WAIT = 15_000  # ms: the live figure is 2 s (a benchmark); a test waits up to 15 s
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def seeded(lab_project):
    """The quickstart executed by papermill, plus a run whose name is an HTML injection."""
    import jupyter_mlops as mlops
    from jupyter_mlops.pipelines.execute import execute_notebook

    (lab_project / "notebooks").mkdir()
    notebook = Path(shutil.copy(Path(__file__).parents[2] / "notebooks" / "quickstart.ipynb",
                                lab_project / "notebooks" / "quickstart.ipynb"))
    execute_notebook(notebook, lab_project / "out" / "quickstart.ipynb", root=lab_project,
                     parameters={"n_estimators": 10, "epochs": 4}, progress=False)
    with mlops.start_run(name=XSS, experiment="quickstart", params={"note": XSS}):
        mlops.log_metric("accuracy", 0.5)
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    X = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    for f1 in (0.9, 0.7):
        with mlops.start_run(name=f"clf-{f1}", experiment="models"):
            mlops.log_metric("f1", f1)
            mlops.register_model(LogisticRegression().fit(X, [0, 0, 1, 1]), "clf", signature=X)
    mlops.export_pipeline("nightly", notebooks=["notebooks/quickstart.ipynb"],
                          schedule="0 2 * * *", params={"epochs": 3})
    return mlops


@pytest.fixture
def page(open_lab, seeded):
    return open_lab(".jp-mlops-row[data-run-id]")


def rows(page):
    return page.locator(".jp-mlops-row[data-run-id]")


def test_sidebar_shows_the_notebooks_runs_and_user_text_as_text(page, shots):
    names = rows(page).locator(".jp-mlops-col-name")
    assert sorted(names.all_inner_texts()) == sorted(["forest", "sgd-epochs", XSS, "clf-0.9",
                                                      "clf-0.7"])
    assert page.locator(".jp-mlops-sidebar img").count() == 0  # the name was not parsed as HTML
    assert page.dialogs == []
    assert page.locator(".jp-mlops-section-title").all_text_contents() == [
        "▾ Runs", "▾ Datasets", "▾ Features", "▾ Models", "▾ Drift", "▾ Pipelines"]
    assert "wine-train" in page.locator(".jp-mlops-section-datasets").inner_text()
    page.screenshot(path=str(shots / "sidebar-light.png"))


def test_filter_sort_and_errors_in_place(page):
    box = page.locator(".jp-mlops-filter")
    box.fill("name LIKE 'sgd%'")
    box.press("Enter")
    page.wait_for_function("document.querySelectorAll('.jp-mlops-row[data-run-id]').length == 1")
    assert rows(page).locator(".jp-mlops-col-name").inner_text() == "sgd-epochs"
    box.fill("metrics.accuracy >")
    box.press("Enter")
    error = page.locator(".jp-mlops-runs .jp-mlops-error")
    error.wait_for(timeout=WAIT)
    assert "expected a value" in error.inner_text()
    box.fill("")
    box.press("Enter")
    page.wait_for_function("document.querySelectorAll('.jp-mlops-row[data-run-id]').length == 5")


def test_duration_sorts_on_the_server(page, seeded):
    """The duration column asks the server for order_by=duration (runs still going would come
    last) and shows the runs in the order the API gives."""
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/mlops/api/runs?" in r.url else None)
    page.locator(".jp-mlops-head .jp-mlops-col-duration").click()
    expected = seeded.search_runs(order_by="duration DESC")["run_id"].tolist()
    page.wait_for_function("ids => [...document.querySelectorAll('.jp-mlops-row[data-run-id]')]"
                           ".map(r => r.dataset.runId).join() === ids.join()", arg=expected,
                           timeout=WAIT)
    assert any("order_by=duration+DESC" in url for url in asked), asked


def test_live_run_and_metric_without_reload(page, seeded, shots):
    mlops = seeded
    with mlops.start_run(name="live-one", experiment="quickstart") as run:
        mlops.log_metric("loss", 1.0, step=0)
        mlops.flush()
        started = time.monotonic()
        page.locator(f'.jp-mlops-row[data-run-id="{run.id}"]').wait_for(timeout=WAIT)
        new_run_seconds = time.monotonic() - started
        page.locator(f'.jp-mlops-row[data-run-id="{run.id}"] .jp-mlops-col-name').click()
        view = page.locator(".jp-mlops-run-view")
        view.wait_for(timeout=WAIT)
        assert view.locator(".jp-mlops-name").inner_text() == "live-one"
        assert re.search(r"loss\s+1\b", view.locator(".jp-mlops-run-metrics").inner_text())
        mlops.log_metric("loss", 0.25, step=1)
        mlops.flush()
        started = time.monotonic()
        page.wait_for_function(
            "[...document.querySelectorAll('.jp-mlops-run-metrics td')]"
            ".some(td => td.textContent === '0.25')", timeout=WAIT)
        metric_seconds = time.monotonic() - started
        view.locator(".js-plotly-plot").first.wait_for(timeout=WAIT)
        page.screenshot(path=str(shots / "run-view.png"))
    print(f"live: new run in {new_run_seconds:.2f} s, new metric in {metric_seconds:.2f} s")


def test_compare_two_runs(page, shots):
    boxes = rows(page).locator("input[type=checkbox]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.locator(".jp-mlops-compare").click()
    view = page.locator(".jp-mlops-compare-view")
    view.wait_for(timeout=WAIT)
    assert "2 runs compared" in view.locator("h2").inner_text()
    view.locator(".js-plotly-plot").first.wait_for(timeout=WAIT)
    assert view.locator("table th").count() >= 3
    page.screenshot(path=str(shots / "compare.png"))


def test_promote_shows_the_gates_answer(page, shots):
    page.locator(".jp-mlops-section-models .jp-mlops-item", has_text="clf").click()
    view = page.locator(".jp-mlops-model-view")
    view.wait_for(timeout=WAIT)
    form = view.locator(".jp-mlops-promote")
    form.locator("select").select_option("2")
    form.locator("input").nth(1).fill("metrics.f1 > 0.8")
    form.locator("button").click()
    answer = form.locator("[role=status]")
    answer.wait_for(timeout=WAIT)
    assert answer.inner_text() == ("Refused: clf@2 was not promoted to production: metrics.f1 = "
                                   "0.7 is not > 0.8")
    form.locator("select").select_option("1")
    form.locator("input").nth(1).fill("")
    form.locator("input").nth(2).fill("first release")
    form.locator("button").click()
    page.wait_for_function("document.querySelector('.jp-mlops-promote [role=status]')"
                           ".textContent === 'clf@1 is now production'", timeout=WAIT)
    history = view.locator("table").last
    history.locator("td", has_text="first release").wait_for(timeout=WAIT)
    assert "@production → 1" in view.locator("h2").inner_text()
    page.screenshot(path=str(shots / "model-view.png"))


def test_pipeline_view(page, shots):
    section = page.locator(".jp-mlops-section-pipelines .jp-mlops-item", has_text="nightly")
    assert "next" in section.inner_text()
    section.click()
    view = page.locator(".jp-mlops-pipeline-view")
    view.locator(".js-plotly-plot").first.wait_for(timeout=WAIT)
    assert "notebook: notebooks/quickstart.ipynb" in view.locator(".jp-mlops-code").inner_text()
    assert view.locator(".jp-mlops-run-now").is_visible()


def choose_theme(page, theme: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
    page.locator(".lm-Menu-itemLabel").get_by_text("Theme", exact=True).hover()
    page.locator(".lm-Menu-itemLabel").get_by_text(theme, exact=True).click()


def test_dark_theme(page, shots):
    choose_theme(page, "JupyterLab Dark")
    page.wait_for_function("document.body.dataset.jpThemeLight === 'false'", timeout=WAIT)
    page.locator("#jupyterlab-splash").wait_for(state="detached", timeout=WAIT)
    rows(page).first.wait_for(timeout=WAIT)
    colour = page.evaluate(
        "getComputedStyle(document.querySelector('.jp-mlops-sidebar')).backgroundColor")
    channels = [int(c) for c in re.findall(r"\d+", colour)[:3]]
    assert sum(channels) < 3 * 100, colour  # the sidebar follows the theme's dark layout colour
    page.screenshot(path=str(shots / "sidebar-dark.png"))
    choose_theme(page, "JupyterLab Light")
    page.wait_for_function("document.body.dataset.jpThemeLight === 'true'", timeout=WAIT)
