"""The sidebar in a real JupyterLab: an overview of one line a section (one expanded at a
time, every name readable at its default width, light and dark), relative times, runs a
notebook logged, live updates without a reload, a run view (single values as values), a
comparison, an AutoML search, a model view, user text shown as text."""

from __future__ import annotations

import json
import re
import shutil
import time
from datetime import datetime
from pathlib import Path

import pytest

from ui.conftest import assert_readable, open_page

WAIT = 15_000  # ms: the live figure is 2 s (a benchmark); a test waits up to 15 s
XSS = "<img src=x onerror=alert(1)>"
LONG_RUN = "gradient-boosted-wine-quality-classifier-with-a-long-name"
LONG_MODEL = "wine-quality-classifier-gradient-boosted-trees"
SECTIONS = ["runs", "datasets", "features", "models", "drift", "pipelines"]

@pytest.fixture(scope="module")
def seeded(lab_project):
    """The quickstart executed by papermill, a run whose name is an HTML injection, a run with
    a long name, two versions of a model trained on a versioned dataset (the first monitored),
    a model with a long name, a scheduled pipeline and a small AutoML search."""
    import jupyter_mlops as mlops
    from jupyter_mlops.pipelines.execute import execute_notebook

    (lab_project / "notebooks").mkdir()
    notebook = Path(shutil.copy(Path(__file__).parents[2] / "notebooks" / "quickstart.ipynb",
                                lab_project / "notebooks" / "quickstart.ipynb"))
    execute_notebook(notebook, lab_project / "out" / "quickstart.ipynb", root=lab_project,
                     parameters={"n_estimators": 10, "epochs": 4}, progress=False)
    with mlops.start_run(name=XSS, experiment="quickstart", params={"note": XSS}):
        mlops.log_metric("accuracy", 0.5)
    with mlops.start_run(name=LONG_RUN, experiment="quickstart"):
        mlops.log_metric("accuracy", 0.75)
    import pandas as pd
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression

    X = pd.DataFrame({"x": [i / 10 for i in range(40)]})
    y = [int(i >= 20) for i in range(40)]
    for f1 in (0.9, 0.7):
        with mlops.start_run(name=f"clf-{f1}", experiment="models"):
            mlops.version_dataset(X, "clf-train", role="train")
            mlops.log_metric("f1", f1)
            mlops.register_model(LogisticRegression().fit(X, y), "clf", signature=X)
    mlops.monitor("clf@1", X.assign(x=X.x + 10))
    with mlops.start_run(name="long-model", experiment="models"):
        mlops.register_model(LogisticRegression().fit(X, y), LONG_MODEL, signature=X)
    mlops.export_pipeline("nightly", notebooks=["notebooks/quickstart.ipynb"],
                          schedule="0 2 * * *", params={"epochs": 3})
    cancer_X, cancer_y = load_breast_cancer(return_X_y=True, as_frame=True)
    search = mlops.automl(cancer_X.iloc[:, :6], cancer_y, n_trials=4, cv=2, time_budget=120,
                          estimators=["random_forest"], name="search", experiment="automl",
                          progress=False)
    return mlops, search


@pytest.fixture(scope="module")
def page(browser, lab, seeded):
    """One JupyterLab page for the module's tests, in order (a page load costs seconds);
    each test expands the section it needs."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    yield open_page(context, *lab, ".jp-mlops-row[data-run-id]", section="runs")
    context.close()


def rows(page):
    return page.locator(".jp-mlops-row[data-run-id]")


def expand(page, section: str):
    """Open a section of the sidebar (the others close); returns its locator."""
    locator = page.locator(f".jp-mlops-section-{section}")
    title = locator.locator(".jp-mlops-section-title")
    if title.get_attribute("aria-expanded") != "true":
        title.click()
    locator.locator(".jp-mlops-section-body").wait_for(timeout=WAIT)
    return locator


def set_theme(page, theme: str) -> None:
    page.evaluate("theme => window.jupyterapp.commands.execute('apputils:change-theme', "
                  "{theme})", theme)
    light = "true" if theme == "JupyterLab Light" else "false"
    page.wait_for_function(f"document.body.dataset.jpThemeLight === '{light}'", timeout=WAIT)
    page.locator("#jupyterlab-splash").wait_for(state="detached", timeout=WAIT)


def test_overview_lines_and_user_text_as_text(page, shots):
    page.wait_for_function("[...document.querySelectorAll('.jp-mlops-section-line')]"
                           ".every(line => line.textContent.includes(' · '))", timeout=WAIT)
    lines = page.locator(".jp-mlops-section-line").all_inner_texts()
    assert lines[0] == "Runs · 8", lines  # top-level runs: the AutoML search is one
    assert lines[1:] == ["Datasets · 3 · 3 versions", "Features · 0", "Models · 2",
                         "Drift · 1 · 1 drifted", lines[5]]
    assert re.fullmatch(r"Pipelines · 1 · next in \d+\xa0(h|min)", lines[5]), lines[5]
    names = rows(page).locator(".jp-mlops-col-name")
    assert sorted(names.all_inner_texts()) == sorted(
        ["forest", "sgd-epochs", XSS, LONG_RUN, "clf-0.9", "clf-0.7", "long-model", "search"])
    search = page.locator(".jp-mlops-row", has_text="search")
    assert search.locator(".jp-mlops-children").inner_text() == "4"
    assert page.locator(".jp-mlops-sidebar img").count() == 0  # the name was not parsed as HTML
    assert page.dialogs == []


def test_one_section_open_at_a_time_and_remembered(page, open_lab):
    for section in SECTIONS:
        expand(page, section)
        opened = page.locator(".jp-mlops-section.jp-mod-open")
        assert opened.count() == 1 and f"jp-mlops-section-{section}" in opened.get_attribute(
            "class")
        assert page.locator(".jp-mlops-section-body").count() == 1
    models = expand(page, "models")
    assert "clf" in models.locator(".jp-mlops-section-body").inner_text()
    page.locator(".jp-mlops-section-models .jp-mlops-section-title").press("Enter")  # closes
    page.wait_for_function("!document.querySelector('.jp-mlops-section.jp-mod-open')")
    expand(page, "datasets")
    time.sleep(0.5)  # the state database saves asynchronously
    again = open_lab(".jp-mlops-section-title")  # a reload: the workspace remembers
    again.locator(".jp-mlops-section-datasets.jp-mod-open").wait_for(timeout=WAIT)
    assert again.locator(".jp-mlops-section.jp-mod-open").count() == 1


@pytest.mark.parametrize("theme", ["JupyterLab Light", "JupyterLab Dark"])
def test_every_name_readable_at_the_default_width(page, theme):
    """At the sidebar's default width, with each section expanded in turn: nothing is wider
    than the sidebar, and every element that cuts its text has the whole text in its title."""
    set_theme(page, theme)
    sidebar = page.locator("#jp-mlops-sidebar")
    width = sidebar.bounding_box()["width"]
    assert width < 400, width  # JupyterLab's default, not widened for us
    if theme == "JupyterLab Dark":
        colour = page.evaluate("getComputedStyle(document.querySelector('.jp-mlops-sidebar'))"
                               ".backgroundColor")
        assert sum(int(c) for c in re.findall(r"\d+", colour)[:3]) < 3 * 100, colour
    clipped_seen = []
    for section in SECTIONS:
        expand(page, section).locator(".jp-mlops-section-body *").first.wait_for(timeout=WAIT)
        time.sleep(0.2)
        clipped_seen += assert_readable(page)
    assert LONG_RUN in clipped_seen and LONG_MODEL in clipped_seen  # the test can see a cut
    set_theme(page, "JupyterLab Light")


def test_sidebar_screenshots(page, shots):
    """The overview with runs, then models, in light and dark (for docs/images)."""
    page.set_viewport_size({"width": 1400, "height": 700})
    for theme, name in [("JupyterLab Light", "light"), ("JupyterLab Dark", "dark")]:
        set_theme(page, theme)
        expand(page, "runs")
        page.mouse.move(800, 450)  # no hover left on the sidebar
        time.sleep(0.3)
        page.locator("#jp-mlops-sidebar").screenshot(path=str(shots / f"sidebar-{name}.png"))
        expand(page, "models")
        page.mouse.move(800, 450)
        time.sleep(0.3)
        page.locator("#jp-mlops-sidebar").screenshot(
            path=str(shots / f"sidebar-models-{name}.png"))
    set_theme(page, "JupyterLab Light")
    page.set_viewport_size({"width": 1400, "height": 900})


def test_relative_times_with_the_exact_time_on_hover(page, seeded):
    expand(page, "runs")
    when = rows(page).first.locator(".jp-mlops-when")
    assert re.fullmatch(r"just now|\d+\xa0min ago", when.inner_text()), when.inner_text()
    exact = when.get_attribute("title")
    started = datetime.fromisoformat(when.get_attribute("datetime").replace("Z", "+00:00"))
    assert exact == page.evaluate("s => new Date(s).toLocaleString()", started.isoformat())
    pipeline = expand(page, "pipelines").locator(".jp-mlops-item", has_text="nightly")
    next_run = pipeline.locator(".jp-mlops-when")
    assert re.fullmatch(r"next in \d+\xa0(h|min)", next_run.inner_text()), next_run.inner_text()
    assert next_run.get_attribute("title").startswith("next ")
    assert "T" not in next_run.get_attribute("title")  # no raw ISO string anywhere


def test_filter_and_errors_in_place(page):
    expand(page, "runs")
    box = page.locator(".jp-mlops-filter")

    def only(name: str) -> None:
        """Wait until the one row left is `name` (the count alone can be the last filter's)."""
        page.locator(".jp-mlops-row[data-run-id] .jp-mlops-col-name",
                     has_text=re.compile(f"^{name}$")).wait_for(timeout=WAIT)
        page.wait_for_function(
            "document.querySelectorAll('.jp-mlops-row[data-run-id]').length == 1")

    try:
        box.fill("name LIKE 'sgd%'")
        box.press("Enter")
        only("sgd-epochs")
        assert page.locator(".jp-mlops-section-runs .jp-mlops-section-line").inner_text() == (
            "Runs · 1 matching")
        box.fill("name = 'trial-2'")  # one trial matches: its parent shows, with the count
        box.press("Enter")
        only("search")
        assert rows(page).locator(".jp-mlops-children").inner_text() == "1/4"
        box.fill("metrics.accuracy >")
        box.press("Enter")
        error = page.locator(".jp-mlops-runs .jp-mlops-error")
        error.wait_for(timeout=WAIT)
        assert "expected a value" in error.inner_text()
    finally:  # the page is shared: later tests need every run back
        box.fill("")
        box.press("Enter")
    page.wait_for_function("document.querySelectorAll('.jp-mlops-row[data-run-id]').length == 8")


def test_open_experiments_runs_its_command(page):
    button = page.locator(".jp-mlops-open-experiments")
    has = page.evaluate("window.jupyterapp.commands.hasCommand('mlops:open-experiments')")
    assert button.is_enabled() == has  # the Experiments view's command, when installed
    if has:
        button.click()
        page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="Experiments").wait_for(
            timeout=WAIT)


def test_live_run_and_metric_without_reload(page, seeded, shots):
    mlops, _ = seeded
    expand(page, "runs")
    with mlops.start_run(name="live-one", experiment="quickstart") as run:
        mlops.log_metric("loss", 1.0, step=0)
        mlops.flush()
        started = time.monotonic()
        page.locator(f'.jp-mlops-row[data-run-id="{run.id}"]').wait_for(timeout=WAIT)
        new_run_seconds = time.monotonic() - started
        assert "1 running" in page.locator(".jp-mlops-section-runs .jp-mlops-section-line") \
            .inner_text()
        page.locator(f'.jp-mlops-row[data-run-id="{run.id}"] .jp-mlops-col-name').click()
        view = page.locator(".jp-mlops-run-view")
        view.wait_for(timeout=WAIT)
        assert view.locator(".jp-mlops-name").inner_text() == "live-one"
        assert re.search(r"loss\s+1\b", view.locator(".jp-mlops-run-metrics").inner_text())
        assert view.locator(".jp-mlops-run-histories").count() == 0  # one point: a value
        mlops.log_metric("loss", 0.25, step=1)
        mlops.flush()
        started = time.monotonic()
        page.wait_for_function(
            "[...document.querySelectorAll('.jp-mlops-run-metrics td')]"
            ".some(td => td.textContent === '0.25')", timeout=WAIT)
        metric_seconds = time.monotonic() - started
        view.locator(".jp-mlops-run-histories .js-plotly-plot").wait_for(timeout=WAIT)  # a history
        page.screenshot(path=str(shots / "run-view.png"))
    print(f"live: new run in {new_run_seconds:.2f} s, new metric in {metric_seconds:.2f} s")


def plotted(plot) -> list[dict]:
    """The traces plotly drew in `plot` (a locator of a figure; arrays as drawn, decoded):
    type, mode, name, number of points, and a table's first column."""
    plot.wait_for(timeout=WAIT)
    return plot.evaluate(
        "el => el._fullData.map(t => ({type: t.type, mode: t.mode || '', name: t.name || '', "
        "points: t._length, rows: t.cells ? [...t.cells.values[0]] : []}))")


def one_point_lines(traces: list[dict]) -> list[dict]:
    """Traces that draw a single value as a line (a lone marker beside a history is fine)."""
    return [t for t in traces if t["type"] == "scatter" and t["points"] <= 1
            and "lines" in t["mode"]]


def open_run(page, name: str):
    expand(page, "runs")
    page.locator(".jp-mlops-row .jp-mlops-col-name", has_text=re.compile(f"^{name}$")).click()
    view = page.locator(".jp-mlops-run-view:visible")
    view.locator(".jp-mlops-name", has_text=name).wait_for(timeout=WAIT)
    return view


def test_run_view_shows_single_values_as_values(page):
    view = open_run(page, "forest")  # accuracy and f1 logged once each
    values = view.locator(".jp-mlops-run-metrics")
    assert re.search(r"accuracy\s+0\.\d+", values.inner_text())
    view.locator(".jp-mlops-lineage .js-plotly-plot").wait_for(timeout=WAIT)
    assert view.locator(".jp-mlops-run-histories").count() == 0, "a chart of single values"
    view = open_run(page, "sgd-epochs")  # accuracy and train_accuracy over 4 epochs, f1 once
    traces = plotted(view.locator(".jp-mlops-run-histories .js-plotly-plot"))
    assert traces and all(t["points"] > 1 for t in traces if t["type"] == "scatter"), traces
    assert "f1" not in {t["name"] for t in traces}
    assert re.search(r"f1\s+0\.\d+", view.locator(".jp-mlops-run-metrics").inner_text())


def test_compare_draws_no_one_point_line(page, shots):
    expand(page, "runs")
    for name in ("forest", "sgd-epochs"):
        page.locator(".jp-mlops-row", has=page.locator(
            ".jp-mlops-col-name", has_text=re.compile(f"^{name}$"))).locator("input").check()
    page.locator(".jp-mlops-compare").click()
    view = page.locator(".jp-mlops-compare-view")
    view.wait_for(timeout=WAIT)
    assert "2 runs compared" in view.locator("h2").inner_text()
    traces = plotted(view.locator(".js-plotly-plot"))
    assert traces and not one_point_lines(traces), traces
    # f1 is one value in both runs: a row of the values table, not a panel
    assert "f1" in [row for t in traces if t["type"] == "table" for row in t["rows"]]
    assert view.locator("table th").count() >= 3
    page.screenshot(path=str(shots / "compare.png"))


def test_automl_search_view(page, seeded, shots):
    _, search = seeded
    view = open_run(page, "search")
    automl = view.locator(".jp-mlops-automl")
    automl.locator(".jp-mlops-automl-history .js-plotly-plot").wait_for(timeout=WAIT)
    automl.locator(".jp-mlops-automl-importances .js-plotly-plot").wait_for(timeout=WAIT)
    board = automl.locator(".jp-mlops-automl-leaderboard tbody tr")
    assert board.count() == 4
    assert f"{search.best_score:.4g}" in board.first.inner_text()
    assert view.locator(".jp-mlops-run-histories").count() == 0  # no per-metric charts
    page.screenshot(path=str(shots / "automl-view.png"))


def test_model_view_versions_metrics_inputs_drift_and_compare(page, seeded, shots):
    expand(page, "models").locator(".jp-mlops-item", has_text=re.compile("^clf")).click()
    view = page.locator(".jp-mlops-model-view")
    view.wait_for(timeout=WAIT)
    v1 = view.locator('tr[data-version="1"]')
    v2 = view.locator('tr[data-version="2"]')
    v1.wait_for(timeout=WAIT)
    assert re.search(r"f1\s*0\.9\b", v1.locator(".jp-mlops-version-metrics").inner_text())
    assert re.search(r"f1\s*0\.7\b", v2.locator(".jp-mlops-version-metrics").inner_text())
    assert "clf-train@1" in v1.locator(".jp-mlops-version-inputs").inner_text()
    assert v1.locator(".jp-mlops-version-inputs code").inner_text().strip()  # its digest
    assert v1.locator(".jp-mlops-drift-status").inner_text() == "drifted"
    assert v2.locator(".jp-mlops-drift-status").inner_text() == "unmonitored"
    assert re.fullmatch(r"just now|\d+\xa0min ago", v1.locator(".jp-mlops-when").inner_text())
    v1.locator("input[type=checkbox]").check()
    v2.locator("input[type=checkbox]").check()
    compared = view.locator(".jp-mlops-model-compare")
    compared.locator(".js-plotly-plot").wait_for(timeout=WAIT)
    assert "f1" in compared.locator("table").inner_text()
    traces = plotted(compared.locator(".js-plotly-plot"))
    assert not one_point_lines(traces), traces
    view.locator(".jp-mlops-promote").wait_for()  # a solo store: Promote with a gate
    assert view.locator(".jp-mlops-requests").count() == 0
    for theme, name in [("JupyterLab Light", "light"), ("JupyterLab Dark", "dark")]:
        set_theme(page, theme)
        time.sleep(0.5)
        page.screenshot(path=str(shots / f"model-view-{name}.png"))
    set_theme(page, "JupyterLab Light")


def test_promote_shows_the_gates_answer(page, shots):
    expand(page, "models").locator(".jp-mlops-item", has_text=re.compile("^clf")).click()
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
    history = view.locator(".jp-mlops-alias-history")
    history.locator("td", has_text="first release").wait_for(timeout=WAIT)
    assert "@production → 1" in view.locator("h2").inner_text()


def test_pipeline_view(page, shots):
    section = expand(page, "pipelines").locator(".jp-mlops-item", has_text="nightly")
    assert "next" in section.inner_text()
    section.click()
    view = page.locator(".jp-mlops-pipeline-view")
    view.locator(".js-plotly-plot").first.wait_for(timeout=WAIT)
    assert "notebook: notebooks/quickstart.ipynb" in view.locator(".jp-mlops-code").inner_text()
    assert view.locator(".jp-mlops-run-now").is_visible()


def test_a_run_that_vanished_while_open(page, seeded):
    mlops, _ = seeded
    with mlops.start_run(name="short-lived", experiment="quickstart") as run:
        mlops.log_metric("loss", 1.0)
    view = open_run(page, "short-lived")
    mlops.delete_run(run.id, purge=True)
    error = view.locator(".jp-mlops-error")
    error.wait_for(timeout=WAIT)
    assert run.id[:8] in error.inner_text() and "no longer" in error.inner_text()
    assert view.locator(".jp-mlops-run-metrics").count() == 0  # nothing stale left beside it
    page.wait_for_function(f"!document.querySelector('.jp-mlops-row[data-run-id=\"{run.id}\"]')",
                           timeout=WAIT)
    assert json.dumps(page.dialogs) == "[]"
