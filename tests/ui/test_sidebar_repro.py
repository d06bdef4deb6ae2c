"""Run diffs and reproductions in a real JupyterLab, on runs that papermill made from one small
notebook (a parameters cell, a %%track cell) with different parameters: two runs compared
show, in the Code tab, the one changed line highlighted on both sides and their unchanged
cells folded; Reproduce on a seeded run follows its progress to "reproduced" and opens the new
run; on an unseeded run it says "differs" with the metric and both values
(UI_SCREENSHOTS=docs/images saves compare-code.png and reproduce.png there).

One JupyterLab and one page serve the whole module, its tests in order."""

from __future__ import annotations

import re
import time

import pytest

from .conftest import open_page

WAIT = 15_000  # ms
REPRODUCED = 180_000  # ms: a reproduction starts a process, then a kernel that runs the notebook

CELLS = [
    ("%load_ext jupyter_mlops", []),
    ("alpha = 1.0\nseed = 0", ["parameters"]),
    ("import numpy as np\n\nrng = np.random.default_rng(seed)\nnoise = rng.normal(size=200)",
     []),
    ("%%track -n walk -e repro --params alpha,seed --metrics score\n"
     "score = float(np.mean(noise) * alpha)\nprint('score', round(score, 6))", []),
]
RUNS = {"a": {"alpha": 1.0, "seed": 0}, "b": {"alpha": 10.0, "seed": 0},
        "unseeded": {"alpha": 1.0, "seed": None}}


@pytest.fixture(scope="module")
def walks(lab_project) -> dict[str, str]:
    """The notebook executed by papermill once per RUNS entry; their run ids by key."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    import jupyter_mlops as mlops
    from jupyter_mlops.pipelines.execute import execute_notebook

    notebook = lab_project / "walk.ipynb"
    nb = new_notebook(cells=[new_code_cell(source, metadata={"tags": tags} if tags else {})
                             for source, tags in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    notebook.write_text(nbformat.writes(nb))
    ids = {}
    for key, params in RUNS.items():
        execute_notebook(notebook, lab_project / "out" / f"walk-{key}.ipynb", root=lab_project,
                         parameters=params, progress=False)
        ids[key] = mlops.search_runs(["repro"], order_by=["start_time DESC"],
                                     limit=1).run_id.iloc[0]
    return ids


@pytest.fixture(scope="module")
def page(browser, lab, walks):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    yield open_page(context, *lab, ".jp-mlops-row[data-run-id]", section="runs")
    context.close()


def screenshot(page, locator, path) -> None:
    """`locator` with a margin of the view around it, no hover left on it."""
    page.mouse.move(0, 0)
    box = locator.bounding_box()
    page.screenshot(path=str(path), clip={"x": box["x"] - 12, "y": box["y"] - 12,
                                          "width": box["width"] + 24,
                                          "height": box["height"] + 24})


def background(locator) -> str:
    return locator.evaluate("el => getComputedStyle(el).backgroundColor")


def test_code_tab_shows_the_changed_line_on_both_sides(page, walks, shots):
    for key in ("a", "b"):  # a first: a is the left side
        page.locator(f'.jp-mlops-row[data-run-id="{walks[key]}"] input').check()
    page.locator(".jp-mlops-compare").click()
    view = page.locator(".jp-mlops-compare-view:visible")
    view.locator(".js-plotly-plot").wait_for(timeout=WAIT)  # the Summary tab comes first
    view.locator(".jp-mlops-tab-code").click()
    code = view.locator(".jp-mlops-code-diff")
    code.wait_for(timeout=WAIT)

    sides = code.locator(".jp-mlops-diff-side").all_inner_texts()
    assert [s.split()[:2] for s in sides] == [["walk", walks["a"][:8]],
                                               ["walk", walks["b"][:8]]]
    assert all("notebook snapshot" in s for s in sides), sides
    # the injected parameters: one line changed, red-ish on the left, green-ish on the right
    line = code.locator("tr.jp-mlops-line.jp-mod-changed", has_text="alpha = ")
    assert line.count() == 1
    left, right = line.locator("td.jp-mlops-side-a"), line.locator("td.jp-mlops-side-b")
    assert (left.inner_text(), right.inner_text()) == ("alpha = 1.0", "alpha = 10.0")
    assert "jp-mod-removed" in left.get_attribute("class")
    assert "jp-mod-added" in right.get_attribute("class")
    transparent = background(code.locator("tr.jp-mlops-line.jp-mod-same td").first)
    assert len({background(left), background(right), transparent}) == 3
    assert right.locator("mark").inner_text() == "0"  # 1.0 → 10.0: the inserted character
    # the run cell's output differs (the score), shown under its source
    outputs = code.locator(".jp-mlops-diff-outputs tr.jp-mlops-line.jp-mod-changed")
    assert [re.match(r"score ", t) is not None for t in outputs.all_inner_texts()] == [True]
    # the unchanged cells folded: the extension, the parameters cell, the data cell
    folded = code.locator(".jp-mlops-folded-cells")
    counts = [int(t.split()[0]) for t in folded.all_inner_texts()]
    assert sum(counts) == 3, folded.all_inner_texts()
    assert code.locator("td", has_text="%load_ext jupyter_mlops").count() == 0
    summary = code.locator(".jp-mlops-diff-summary").inner_text()
    assert re.fullmatch(r"2 modified · 0 added · 0 removed · 3 unchanged", summary), summary
    # and the param that differs, from the same diff
    values = view.locator(".jp-mlops-diff-values")
    assert re.search(r"alpha\s+1\s+10\s*$", values.locator("tbody[data-group=params]").inner_text())
    assert re.search(r"score\s", values.locator("tbody[data-group=metrics]").inner_text())
    screenshot(page, view, shots / "compare-code.png")
    folded.first.click()
    assert code.locator("td", has_text="%load_ext jupyter_mlops").count() == 2  # a and b
    assert page.dialogs == []


def open_run(page, run_id: str):
    page.locator(f'.jp-mlops-row[data-run-id="{run_id}"] .jp-mlops-col-name').click()
    view = page.locator(".jp-mlops-run-view:visible")
    view.locator(f"code:text-is('{run_id}')").wait_for(timeout=WAIT)
    return view


def reproduce(view, env: str = "current"):
    """Start a reproduction in `view`; returns its panel, once it shows progress."""
    panel = view.locator(".jp-mlops-reproduce")
    panel.locator("select").select_option(env)
    panel.locator(".jp-mlops-reproduce-button").click()
    running = panel.locator(".jp-mlops-reproduction.jp-mod-running")
    running.wait_for(timeout=WAIT)  # the POST answers with the record, running
    assert running.locator(".jp-mlops-progress").count() == 1
    assert running.locator(".jp-mlops-phase").inner_text()
    assert panel.locator(".jp-mlops-reproduce-button").is_disabled()
    return panel


def test_reproduce_a_seeded_run(page, walks, shots):
    view = open_run(page, walks["a"])
    panel = view.locator(".jp-mlops-reproduce")
    panel.locator(".jp-mlops-muted", has_text="not reproduced yet").wait_for(timeout=WAIT)
    panel = reproduce(view)
    phases = set()
    started = time.monotonic()
    while not panel.locator(".jp-mlops-reproduction.jp-mod-reproduced").count():
        assert not panel.locator(".jp-mlops-reproduction.jp-mod-failed, "
                                 ".jp-mlops-reproduction.jp-mod-differs").count(), \
            panel.inner_text()
        phases.update(panel.locator(".jp-mlops-phase").all_inner_texts())
        assert time.monotonic() - started < REPRODUCED / 1000, panel.inner_text()
        page.wait_for_timeout(200)
    verdict = panel.locator(".jp-mlops-reproduction.jp-mod-reproduced")
    assert verdict.locator(".jp-mlops-verdict").inner_text() == "reproduced"
    print(f"seeded: reproduced in {time.monotonic() - started:.1f} s, phases seen {phases}")
    rows = panel.locator(".jp-mlops-reproductions tbody tr")
    assert rows.count() == 1 and "reproduced" in rows.inner_text()
    screenshot(page, panel, shots / "reproduce.png")
    link = verdict.locator(".jp-mlops-open-reproduction")
    new_id = link.get_attribute("title")
    link.click()
    new_view = page.locator(".jp-mlops-run-view:visible")
    new_view.locator(f"code:text-is('{new_id}')").wait_for(timeout=WAIT)
    reproduces = new_view.locator(".jp-mlops-reproduces")
    assert reproduces.inner_text() == f"This run reproduces run {walks['a'][:8]}."


def test_reproduce_an_unseeded_run_differs(page, walks, shots):
    import jupyter_mlops as mlops

    original = mlops.get_run(walks["unseeded"]).metrics["score"]
    view = open_run(page, walks["unseeded"])
    panel = reproduce(view)
    verdict = panel.locator(".jp-mlops-reproduction.jp-mod-differs")
    verdict.wait_for(timeout=REPRODUCED)
    assert verdict.locator(".jp-mlops-verdict").inner_text() == "differs"
    row = verdict.locator(".jp-mlops-reproduction-differences tbody tr")
    assert row.count() == 1
    metric, was, now = row.locator("th, td").all_inner_texts()
    assert metric == "score" and float(was) == pytest.approx(original, rel=1e-3)
    assert float(now) != float(was)
    # the same code, params and packages: the run itself varies
    assert verdict.locator(".jp-mlops-explain").inner_text().startswith(
        "Params, inputs, Python, packages and code are the same")
    assert verdict.locator(".jp-mlops-open-reproduction").count() == 1
    assert panel.locator(".jp-mlops-reproductions tbody tr").count() == 1
    screenshot(page, panel, shots / "reproduce-differs.png")
    verdict.locator(".jp-mlops-compare-reproduction").click()  # opens on the Code tab
    compared = page.locator(".jp-mlops-compare-view:visible")
    compared.locator(".jp-mlops-code-diff").wait_for(timeout=WAIT)
    assert compared.locator(".jp-mlops-tab-code").get_attribute("aria-selected") == "true"
    assert re.search(r"score\s", compared.locator("tbody[data-group=metrics]").inner_text())
    assert page.dialogs == []


def test_refusals_shown_in_place(page, walks):
    """A tolerance that is not a number is refused before asking the server; a run without a
    notebook snapshot (made from Python, not a kernel) is refused by it: one message each,
    nothing recorded."""
    import jupyter_mlops as mlops

    with mlops.start_run(name="scripted", experiment="repro") as run:
        mlops.log_metric("score", 1.0)
    page.locator(f'.jp-mlops-row[data-run-id="{run.id}"]').wait_for(timeout=WAIT)  # live
    view = open_run(page, run.id)
    panel = view.locator(".jp-mlops-reproduce")
    panel.locator(".jp-mlops-muted", has_text="not reproduced yet").wait_for(timeout=WAIT)
    panel.locator(".jp-mlops-tolerance").fill("about 1e-6")
    panel.locator(".jp-mlops-reproduce-button").click()
    error = panel.locator(".jp-mlops-error[role=alert]")
    assert error.count() == 1 and "tolerance" in error.inner_text()
    panel.locator(".jp-mlops-tolerance").fill("")
    panel.locator(".jp-mlops-reproduce-button").click()
    page.wait_for_function("el => !el.textContent.includes('tolerance')",
                           arg=error.element_handle(), timeout=WAIT)
    assert error.count() == 1 and "snapshot" in error.inner_text(), error.inner_text()
    assert panel.locator(".jp-mlops-reproduction").count() == 0
    assert panel.locator(".jp-mlops-reproduce-button").is_enabled()
    assert mlops.list_reproductions(run.id).empty
