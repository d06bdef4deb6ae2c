"""The Experiments view in a real JupyterLab, on a store of 10,000 runs (20 params and 10
metrics each) and an AutoML search: opened from the sidebar, only the rows in view in the
DOM, picked columns sorted by a metric (the top rows those of search_runs), the choice kept
across a reload, trials under their parent (and a filter matching one trial shows the parent
with the count), charts of 200 filtered runs, the keyboard, errors in place, both themes
(UI_SCREENSHOTS=docs/images saves the screenshots there).

One JupyterLab and one page serve the whole module (each test sets what it needs)."""

from __future__ import annotations

import re

import pytest
from jupyter_process import shared_project

from .conftest import open_page
from .stores import AUTOML, BIG, BIG_RUNS, TRIALS, copy_store

WAIT = 15_000  # ms
ROWS = ".jp-mlops-exp-row[data-run-id]"


@pytest.fixture(scope="module")
def lab_project(tmp_path_factory, big_store):
    """This module's project: a copy of the session's big store (before its server starts)."""
    root = tmp_path_factory.mktemp("lab") / "project"
    root.mkdir()
    copy_store(big_store["root"], root)
    with shared_project(root):
        yield root


@pytest.fixture(scope="module")
def page(browser, lab, lab_project):
    """JupyterLab with the Experiments view opened from the sidebar's runs section, for the
    whole module (open_lab gives a page per test); its console is printed at the end."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = open_page(context, *lab, ".jp-mlops-row[data-run-id]", section="runs")
        page.console = []
        page.on("console", lambda m: page.console.append(f"{m.type}: {m.text}"))
        page.locator(".jp-mlops-open-experiments").click(timeout=WAIT)
        page.locator(".jp-mlops-exp").wait_for(timeout=WAIT)
        yield page
        print("\n".join(page.console[-50:]))
    finally:
        context.close()


@pytest.fixture(scope="module")
def mlops(lab_project):
    import jupyter_mlops

    return jupyter_mlops


def wait_footer(page, text: str) -> None:
    """Wait until the table's footer counts `text` ("10,000 runs · 2 selected")."""
    page.wait_for_function("t => document.querySelector('.jp-mlops-exp-count')?.textContent"
                           " === t", arg=text, timeout=WAIT)


def shown_names(page) -> list[str]:
    """The names of the rows in the DOM, in table order."""
    return page.evaluate(
        "() => [...document.querySelectorAll('.jp-mlops-exp-row[data-run-id]')]"
        ".sort((a, b) => a.dataset.index - b.dataset.index)"
        ".map(r => r.querySelector('.jp-mlops-exp-name').textContent)")


def choose_experiments(page, names: list[str]) -> None:
    """Tick exactly `names` in the experiment picker (none: all experiments)."""
    picker = page.locator(".jp-mlops-exp-experiments")
    picker.locator("> button").click()
    panel = picker.locator(".jp-mlops-exp-panel")
    labels = panel.locator("label:has(.jp-mlops-exp-ename)")
    for name in (*names, BIG, AUTOML):  # the list has come (the server's first answer)
        labels.filter(has_text=name).first.wait_for(timeout=WAIT)
    if not names:
        panel.locator("label", has_text="All experiments").locator("input").check()
    for label in labels.all():
        name = label.locator(".jp-mlops-exp-ename").inner_text()
        label.locator("input").set_checked(name in names)
    page.keyboard.press("Escape")
    panel.wait_for(state="detached")
    label = ", ".join(sorted(names)) if names else "All experiments"
    assert picker.locator("> button").inner_text().startswith(label)


def apply_filter(page, text: str) -> None:
    box = page.locator(".jp-mlops-exp-filter-input")
    box.fill(text)
    page.keyboard.press("Escape")  # close the completions, if any
    box.press("Enter")


def pick_columns(page, fields: list[str], *, uncheck: tuple[str, ...] = ()) -> None:
    picker = page.locator(".jp-mlops-exp-columns")
    picker.locator("> button").click()
    panel = picker.locator(".jp-mlops-exp-panel")
    for field in fields:
        panel.locator(f'label[title="{field}"] input').check()
    for field in uncheck:
        panel.locator(f'label[title="{field}"] input').uncheck()
    page.keyboard.press("Escape")
    panel.wait_for(state="detached")


def header(page, field: str):
    return page.locator(f'.jp-mlops-exp-header[data-column="{field}"]')


def show(page, experiments: list[str], filter: str = "") -> None:
    choose_experiments(page, experiments)
    apply_filter(page, filter)


def test_opens_from_the_sidebar_with_only_the_rows_in_view(page, mlops):
    assert page.locator(".lm-TabBar-tab", has_text="Experiments").is_visible()
    show(page, [BIG])
    wait_footer(page, f"{BIG_RUNS:,} runs")
    page.locator(ROWS).first.wait_for(timeout=WAIT)
    assert page.locator(".jp-mlops-exp-row").count() < 80
    newest = mlops.search_runs(experiment=BIG, limit=3)["name"].tolist()
    assert shown_names(page)[:3] == newest
    # to the end: the last run is there, still only the rows in view
    page.locator(".jp-mlops-exp-body").evaluate("b => { b.scrollTop = b.scrollHeight; }")
    last = page.locator(f'.jp-mlops-exp-row[data-index="{BIG_RUNS - 1}"][data-run-id]')
    last.wait_for(timeout=WAIT)
    assert last.locator(".jp-mlops-exp-name").inner_text() == "run-0"
    assert page.locator(".jp-mlops-exp-row").count() < 80


def test_picked_columns_sort_by_a_metric(page, mlops):
    show(page, [BIG])
    wait_footer(page, f"{BIG_RUNS:,} runs")
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/mlops/api/runs?" in r.url else None)
    pick_columns(page, ["metrics.m7", "params.p4"])
    header(page, "metrics.m7").wait_for(timeout=WAIT)
    header(page, "metrics.m7").click()
    expected = mlops.search_runs(experiment=BIG, order_by="metrics.m7 DESC", limit=5)
    page.wait_for_function(
        "names => [...document.querySelectorAll('.jp-mlops-exp-row[data-run-id]')]"
        ".sort((a, b) => a.dataset.index - b.dataset.index).slice(0, 5)"
        ".map(r => r.querySelector('.jp-mlops-exp-name').textContent).join() === names.join()",
        arg=expected["name"].tolist(), timeout=WAIT)
    top = page.locator(f'{ROWS}[data-index="0"]')
    shown = float(top.locator('[data-column="metrics.m7"]').inner_text())
    assert shown == pytest.approx(expected["metrics.m7"].iloc[0], rel=1e-3)
    assert top.locator('[data-column="params.p4"]').inner_text() == \
        str(expected["params.p4"].iloc[0])
    assert header(page, "metrics.m7").get_attribute("aria-sort") == "descending"
    header(page, "metrics.m7").click()
    lowest = mlops.search_runs(experiment=BIG, order_by="metrics.m7 ASC", limit=1)["name"][0]
    page.wait_for_function(
        "n => document.querySelector('.jp-mlops-exp-row[data-index=\"0\"][data-run-id] "
        ".jp-mlops-exp-name')?.textContent === n", arg=lowest, timeout=WAIT)
    assert any("columns=" in u and "metrics.m7" in u and "order_by=metrics.m7+ASC" in u
               for u in asked), asked


def test_the_column_choice_survives_a_reload(page):
    show(page, [BIG])
    pick_columns(page, ["params.p9"])
    header(page, "params.p9").wait_for(timeout=WAIT)
    page.wait_for_timeout(1500)  # the workspace is saved a moment after a state change
    page.reload()
    page.wait_for_selector("#jp-main-dock-panel", timeout=90_000)
    page.locator(".jp-mlops-exp").wait_for(timeout=60_000)  # the tab is restored
    header(page, "params.p9").wait_for(timeout=WAIT)
    assert header(page, "metrics.m7").count() == 1  # picked by the test before
    assert page.locator(".jp-mlops-exp-experiments > button").inner_text().startswith(BIG)
    # per set of experiments: the AutoML search's has its own (the defaults), big's stay
    show(page, [AUTOML])
    page.locator(ROWS).first.wait_for(timeout=WAIT)
    assert header(page, "params.p9").count() == 0
    show(page, [BIG])
    header(page, "params.p9").wait_for(timeout=WAIT)
    if not page.locator("#jp-mlops-sidebar").is_visible():
        page.locator('li[data-id="jp-mlops-sidebar"]').click()


def test_trials_are_grouped_under_their_parent(page, big_store, shots):
    show(page, [AUTOML])
    wait_footer(page, "1 run")
    parent = page.locator(f'{ROWS}[data-run-id="{big_store["automl_run"]}"]')
    parent.wait_for(timeout=WAIT)
    assert parent.locator(".jp-mlops-exp-children").inner_text() == str(TRIALS)
    assert page.locator(ROWS).count() == 1  # collapsed by default
    parent.locator(".jp-mlops-exp-toggle").click()
    page.wait_for_function("n => document.querySelectorAll('.jp-mlops-exp-row.jp-mlops-exp-child"
                           "[data-run-id]').length === n", arg=TRIALS, timeout=WAIT)
    children = page.locator(f"{ROWS}.jp-mlops-exp-child .jp-mlops-exp-name").all_inner_texts()
    assert sorted(children) == sorted(f"trial-{i}" for i in range(TRIALS))
    page.screenshot(path=str(shots / "experiments-nested.png"))
    parent.locator(".jp-mlops-exp-toggle").click()
    page.wait_for_function("() => !document.querySelector('.jp-mlops-exp-child')", timeout=WAIT)

    # a filter matching one trial keeps its parent, with the count
    apply_filter(page, "name = 'trial-3'")
    page.wait_for_function(
        "() => document.querySelector('.jp-mlops-exp-children')?.textContent === "
        f"'1 of {TRIALS} match'", timeout=WAIT)
    assert shown_names(page) == ["automl"]
    parent.locator(".jp-mlops-exp-toggle").click()
    page.locator(f"{ROWS}.jp-mlops-exp-child").first.wait_for(timeout=WAIT)
    assert page.locator(f"{ROWS}.jp-mlops-exp-child .jp-mlops-exp-name").all_inner_texts() \
        == ["trial-3"]


def plot_data(page):
    return page.evaluate("() => { const p = document.querySelector("
                         "'.jp-mlops-exp-charts .js-plotly-plot'); return p && p.data && "
                         "p.data.map(t => ({type: t.type, dims: (t.dimensions || [])"
                         ".map(d => [d.label, d.values.length]), x: (t.x || []).length})); }")


def test_charts_across_the_filtered_runs(page):
    show(page, [BIG], "name LIKE 'run-1__' or name LIKE 'run-2__'")
    wait_footer(page, "200 runs")
    toggle = page.locator(".jp-mlops-exp-charts-toggle")
    if toggle.get_attribute("aria-pressed") != "true":
        toggle.click()
    page.locator('.jp-mlops-exp-kinds [data-kind="parallel"]').click()
    page.wait_for_function(
        "() => { const p = document.querySelector('.jp-mlops-exp-charts .js-plotly-plot');"
        " return p && p.data && p.data[0].type === 'parcoords' &&"
        " p.data[0].dimensions.every(d => d.values.length === 200); }", timeout=WAIT)
    dims = plot_data(page)[0]["dims"]
    assert len(dims) >= 3 and all(n == 200 for _, n in dims), dims

    page.locator('.jp-mlops-exp-kinds [data-kind="scatter"]').click()
    page.locator('.jp-mlops-exp-charts select[aria-label="x"]').select_option("params.p3")
    page.locator('.jp-mlops-exp-charts select[aria-label="y"]').select_option("metrics.m1")
    page.wait_for_function(
        "() => { const p = document.querySelector('.jp-mlops-exp-charts .js-plotly-plot');"
        " return p && p.data && p.data[0].type.startsWith('scatter') &&"
        " p.data.reduce((n, t) => n + t.x.length, 0) === 200; }", timeout=WAIT)

    page.locator('.jp-mlops-exp-kinds [data-kind="bars"]').click()
    page.wait_for_function(
        "() => { const p = document.querySelector('.jp-mlops-exp-charts .js-plotly-plot');"
        " return p && p.data && p.data[0].type === 'bar' &&"
        " p.data.reduce((n, t) => n + t.x.length, 0) === 200; }", timeout=WAIT)


def test_keyboard_moves_selects_and_opens(page, mlops):
    show(page, [BIG])
    wait_footer(page, f"{BIG_RUNS:,} runs")
    page.locator(f'{ROWS}[data-index="0"] [data-column="status"]').click()
    body = page.locator(".jp-mlops-exp-body")
    for _ in range(3):
        body.press("ArrowDown")
    focused = page.locator(".jp-mlops-exp-row.jp-mod-focused")
    assert focused.get_attribute("data-index") == "3"
    body.press("Space")
    page.wait_for_function("() => document.querySelector('.jp-mlops-exp-row.jp-mod-focused')"
                           ".getAttribute('aria-selected') === 'true'", timeout=WAIT)
    body.press("ArrowDown")
    body.press(" ")
    wait_footer(page, f"{BIG_RUNS:,} runs · 2 selected")
    compare = page.locator(".jp-mlops-exp-compare")
    assert compare.inner_text().strip() == "Compare 2"
    compare.click()  # the selection feeds Compare
    view = page.locator(".jp-mlops-compare-view")
    view.wait_for(timeout=WAIT)
    assert "2 runs compared" in view.locator("h2").inner_text()
    page.locator(".lm-TabBar-tab.jp-mod-current .lm-TabBar-tabCloseIcon").click()
    view.wait_for(state="detached", timeout=WAIT)
    body.press("ArrowUp")
    body.press("Space")  # off again
    wait_footer(page, f"{BIG_RUNS:,} runs · 1 selected")
    page.locator(".jp-mlops-exp-top button", has_text="Clear selection").click()

    # End: the last row, scrolled into view; Enter opens it
    body.press("End")
    last = page.locator(f'.jp-mlops-exp-row.jp-mod-focused[data-index="{BIG_RUNS - 1}"]'
                        "[data-run-id]")
    last.wait_for(timeout=WAIT)
    box, view = last.bounding_box(), body.bounding_box()
    assert view["y"] <= box["y"] and box["y"] + box["height"] <= view["y"] + view["height"] + 1
    name = last.locator(".jp-mlops-exp-name").inner_text()
    body.press("PageUp")
    body.press("ArrowDown")
    body.press("End")
    body.press("Enter")
    run_view = page.locator(".jp-mlops-run-view")
    run_view.wait_for(timeout=WAIT)
    assert run_view.locator(".jp-mlops-name").first.inner_text() == name
    page.locator(".lm-TabBar-tab.jp-mod-current .lm-TabBar-tabCloseIcon").click()
    run_view.wait_for(state="detached", timeout=WAIT)
    assert page.locator(".jp-mlops-exp").is_visible()


def test_the_filter_completes_field_names(page, mlops):
    show(page, [BIG])
    box = page.locator(".jp-mlops-exp-filter-input")
    box.fill("")
    box.type("metrics.m")
    options = page.locator(".jp-mlops-exp-completions [role=option]")
    options.first.wait_for(timeout=WAIT)
    assert options.all_inner_texts()[:3] == ["metrics.m0", "metrics.m1", "metrics.m2"]
    box.press("ArrowDown")
    box.press("Tab")  # takes metrics.m1
    box.type(" > 0.99 and par")
    options.first.wait_for(timeout=WAIT)
    assert options.all_inner_texts()[:2] == ["parent_run_id", "params.p0"]
    box.press("ArrowDown")
    box.press("Enter")  # takes params.p0
    box.type(" = 'v3'")
    text = "metrics.m1 > 0.99 and params.p0 = 'v3'"
    assert box.input_value() == text
    box.press("Enter")
    wait_footer(page, f"{len(mlops.search_runs(experiment=BIG, filter=text))} runs")


def test_bad_input_is_shown_in_place(page, mlops):
    show(page, [BIG], "metrics.m0 >")
    error = page.locator(".jp-mlops-exp-errors .jp-mlops-error")
    error.wait_for(timeout=WAIT)
    assert "expected" in error.inner_text()
    assert page.locator(".jp-mlops-exp-table").is_visible()  # nothing else broke
    apply_filter(page, "metrics.m0 > 0.5")
    error.wait_for(state="detached", timeout=WAIT)
    expected = len(mlops.search_runs(experiment=BIG, filter="metrics.m0 > 0.5"))
    wait_footer(page, f"{expected:,} runs")

    # a column no run has: the server's 400 names it, in place; the default columns again
    picker = page.locator(".jp-mlops-exp-columns")
    picker.locator("> button").click()
    picker.locator('input[aria-label="add a column by name"]').fill("params.nope")
    picker.locator('input[aria-label="add a column by name"]').press("Enter")
    page.keyboard.press("Escape")
    error.wait_for(timeout=WAIT)
    assert "params.nope" in error.inner_text()
    page.locator(".jp-mlops-exp-rows-error button", has_text="Default columns").click()
    error.wait_for(state="detached", timeout=WAIT)
    page.locator(ROWS).first.wait_for(timeout=WAIT)
    assert header(page, "params.nope").count() == 0

    # a run deleted meanwhile leaves the table live
    apply_filter(page, "name = 'run-17'")
    wait_footer(page, "1 run")
    run_id = page.locator(ROWS).first.get_attribute("data-run-id")
    mlops.delete_run(run_id)
    try:
        wait_footer(page, "0 runs")
        page.locator(".jp-mlops-exp-none").wait_for(timeout=WAIT)
    finally:
        mlops.restore_run(run_id)
    wait_footer(page, "1 run")


def choose_theme(page, theme: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
    page.locator(".lm-Menu-itemLabel").get_by_text("Theme", exact=True).hover()
    page.locator(".lm-Menu-itemLabel").get_by_text(theme, exact=True).click()


def drawn(page) -> None:
    """Wait until the chart is drawn and no newer one is being fetched."""
    page.locator(".jp-mlops-exp-charts .js-plotly-plot").wait_for(timeout=WAIT)
    page.wait_for_function("() => !document.querySelector('.jp-mlops-exp-which')"
                           ".textContent.includes('drawing')", timeout=WAIT)


def test_screenshots_in_light_and_dark(page, shots):
    show(page, [BIG], "metrics.m0 > 0.9")
    page.locator(ROWS).first.wait_for(timeout=WAIT)
    toggle = page.locator(".jp-mlops-exp-charts-toggle")
    if toggle.get_attribute("aria-pressed") != "true":
        toggle.click()
    page.locator('.jp-mlops-exp-kinds [data-kind="parallel"]').click()
    drawn(page)
    page.locator(f'{ROWS}[data-index="2"] [data-column="status"]').click()  # the focus
    page.mouse.move(0, 0)
    page.screenshot(path=str(shots / "experiments-light.png"))
    choose_theme(page, "JupyterLab Dark")
    page.wait_for_function("document.body.dataset.jpThemeLight === 'false'", timeout=WAIT)
    page.wait_for_timeout(500)
    drawn(page)
    page.screenshot(path=str(shots / "experiments-dark.png"))
    colour = page.evaluate(
        "getComputedStyle(document.querySelector('.jp-mlops-exp-table')).backgroundColor")
    assert sum(int(c) for c in re.findall(r"\d+", colour)[:3]) < 3 * 100, colour
    choose_theme(page, "JupyterLab Light")
    page.wait_for_function("document.body.dataset.jpThemeLight === 'true'", timeout=WAIT)
