"""Notebook snapshots and the fuller environment, from one real kernel (nbclient) that loads the
extension, loads data, and makes four runs: a `%%track` cell, a `%track start … end` run across
cells (with a long print, a display, a result and an error), a run whose output capture breaks,
and a last run after cells that ran between runs. Its environment holds an editable install
made for this test (pip install -e of a tiny package into a prefix on the kernel's path)."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from packages import pip_install, write_package

LONG = 150_000  # characters printed in one cell: over the per-output limit

CELLS = [
    "%load_ext jupyter_mlops",
    "data = list(range(10))\nprint('loaded', len(data))",
    "%%track -n cellrun --metrics total\n"
    "from IPython.display import HTML, display\n"
    "total = sum(data)\nprint('inside the track cell')\ndisplay(HTML('<b>shown in the run</b>'))\n"
    "total",
    "%track start -n across",
    f"print('x' * {LONG})",
    "display(HTML('<i>across display</i>'))\nshown = display('first', display_id=True)\n"
    "shown.update('updated')\n6 * 7",
    "raise ValueError('boom in the run')",
    "%track end",
    "print('between runs')",
    "%track start -n fragile",
    "from jupyter_mlops.tracking import cells, fluent\n"
    "cells._recorders[fluent.active_run().id].capture.outputs = None  # the next output fails",
    "print('still printed')\n'still a result'",
    "%track end",
    "import sys\nfrom IPython import get_ipython\nip = get_ipython()\n"
    "hooked = [n for n, o, a in [('stdout', sys.stdout, 'write'),\n"
    "    ('stderr', sys.stderr, 'write'), ('display_pub', ip.display_pub, 'publish'),\n"
    "    ('displayhook', ip.displayhook, 'write_format_data')]\n"
    "    if 'OutputCapture' in getattr(vars(o).get(a), '__qualname__', '')]\n"
    "events = [type(getattr(f, '__self__', None)).__name__\n"
    "          for e in ('pre_run_cell', 'post_run_cell') for f in ip.events.callbacks[e]]\n"
    "print('hooked:', hooked, 'CellRecorder' in events)",
    "print('after the runs')",
    "%%track -n later\nimport demo_editable\nprint(demo_editable.VALUE)",
]
RAISES = 6  # the index of the cell that raises


def editable_install(tmp: Path) -> Path:
    """A real editable install (PEP 660 through pip and hatchling) into a prefix; returns its
    site-packages folder."""
    # dev-mode-dirs: a .pth editable (hatchling's default mode needs `editables`)
    pkg = write_package(tmp / "demo-editable", "demo-editable", "0.3.1",
                        "VALUE = 'editable value'\n",
                        '[tool.hatch.build]\ndev-mode-dirs = ["."]\n')
    return pip_install(pkg, tmp / "prefix", editable=True), pkg


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """(project folder, the notebook as nbclient executed it, the editable package's folder)."""
    from nbclient import NotebookClient

    tmp = tmp_path_factory.mktemp("snapshot")
    project = tmp / "project"
    project.mkdir()
    site, pkg = editable_install(tmp)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nb.cells[RAISES].metadata["tags"] = ["raises-exception"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLOPS_", "JPY_"))}
    # the kernel imports this source tree, and sees the editable install's folder
    source = str(Path(__file__).resolve().parent.parent)
    env.update(MLOPS_PROJECT_ROOT=str(project), MLOPS_NOTEBOOK=str(project / "analysis.ipynb"),
               PYTHONPATH=os.pathsep.join([source, str(site), str(pkg)]))
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(project)}}).execute(env=env)
    return project, nb, pkg


@pytest.fixture
def runs(executed, monkeypatch, project):
    """{name: Run} of the kernel's runs, read from its project's store."""
    from conftest import _forget

    import jupyter_mlops

    monkeypatch.setenv("MLOPS_PROJECT_ROOT", str(executed[0]))
    monkeypatch.chdir(executed[0])
    _forget()
    frame = jupyter_mlops.search_runs()
    found = {name: jupyter_mlops.get_run(rid) for name, rid in zip(frame.name, frame.run_id, strict=True)}
    yield found
    _forget()


def texts(cell, name: str | None = None) -> str:
    """The cell's stream outputs (of one stream, or all) as one text."""
    return "".join(o.text for o in cell.outputs
                   if o.output_type == "stream" and name in (None, o.name))


def test_track_cell_snapshot_holds_the_session_history_in_order_with_outputs(runs):
    snap = runs["cellrun"].notebook()
    nbformat.validate(snap)
    assert snap.nbformat == 4
    assert [c.source for c in snap.cells] == CELLS[:3]  # up to the run's end, nothing after
    assert [c.execution_count for c in snap.cells] == [1, 2, 3]
    marks = [c.metadata.get("jupyter_mlops", {}).get("run_cell", False) for c in snap.cells]
    assert marks == [False, False, True]
    run_cell = snap.cells[2]
    assert run_cell.metadata.jupyter_mlops.run_id == runs["cellrun"].id
    assert run_cell.metadata.jupyter_mlops.success is True
    assert texts(run_cell) == "inside the track cell\n"
    rich = [(o.output_type, o.data) for o in run_cell.outputs if o.output_type != "stream"]
    assert rich == [("display_data", {"text/html": "<b>shown in the run</b>",
                                      "text/plain": "<IPython.core.display.HTML object>"}),
                    ("execute_result", {"text/plain": "45"})]  # the cell's value
    assert run_cell.outputs[-1].execution_count == 3
    # cells before the run: their sources, not their outputs (no capture outside runs)
    assert snap.cells[1].outputs == []
    assert snap.metadata.jupyter_mlops.notebook == "analysis.ipynb"


def test_run_across_cells_keeps_stdout_displays_results_errors_and_truncates(runs, executed):
    run = runs["across"]
    snap = run.notebook()
    nbformat.validate(snap)
    assert [c.source for c in snap.cells] == CELLS[:8]
    marked = [c.execution_count for c in snap.cells if c.metadata.get("jupyter_mlops")]
    assert marked == [4, 5, 6, 7, 8]  # from `%track start` to `%track end`
    start, long, shown, raised, end = snap.cells[3:8]
    assert texts(start).startswith("run across (")  # printed after the run started
    assert raised.metadata.jupyter_mlops.success is False
    assert end.metadata.jupyter_mlops.ended_run is True
    # the long print is cut at the per-output limit, saying how much is left out
    from jupyter_mlops.tracking.outputs import MAX_OUTPUT_CHARS

    text = texts(long)
    assert text.startswith("x" * MAX_OUTPUT_CHARS + "\n[jupyter-mlops: ")
    assert f"{LONG + 1 - MAX_OUTPUT_CHARS:,} more characters left out" in text
    assert len(text) < MAX_OUTPUT_CHARS + 200
    assert snap.metadata.jupyter_mlops.truncated_outputs == 1
    # the user's own notebook got the whole output
    assert len(texts(executed[1].cells[4])) == LONG + 1
    kinds = [(o.output_type, o.get("data", {}).get("text/html") or o.get("data", {}).get(
        "text/plain")) for o in shown.outputs]
    assert kinds == [("display_data", "<i>across display</i>"),
                     ("display_data", "'updated'"),  # as the notebook shows it after the update
                     ("execute_result", "42")]
    assert shown.outputs[2].execution_count == 6
    [error] = raised.outputs
    assert (error.output_type, error.ename, error.evalue) == ("error", "ValueError",
                                                              "boom in the run")
    assert any("boom in the run" in line for line in error.traceback)


def test_a_failure_inside_the_capture_is_reported_once_and_never_breaks_the_cell(runs, executed):
    nb = executed[1]
    broken, after = nb.cells[10], nb.cells[11]
    assert broken.outputs == []
    assert texts(after, "stdout") == "still printed\n"
    stderr = texts(after, "stderr")
    assert stderr.count("\n") == 1 and "output capture switched off" in stderr
    assert after.outputs[-1].data["text/plain"] == "'still a result'"
    run = runs["fragile"]
    assert run.status == "finished"
    snap = run.notebook()
    assert snap.metadata.jupyter_mlops.failures[0].startswith("output capture switched off")
    assert snap.cells[11].outputs == []  # captured nothing more, but the cells are there
    assert snap.cells[11].metadata.jupyter_mlops.run_cell is True


def test_hooks_are_gone_once_runs_end(runs, executed):
    nb = executed[1]
    assert texts(nb.cells[13]) == "hooked: [] False\n"
    # the last run's snapshot holds the cells run between runs without their outputs
    snap = runs["later"].notebook()
    nbformat.validate(snap)
    assert [c.source for c in snap.cells] == CELLS
    between = [snap.cells[i] for i in (8, 13, 14)]
    assert [c.outputs for c in between] == [[], [], []]
    assert texts(snap.cells[15]) == "editable value\n"


def test_environment_lists_every_distribution_and_where_editable_ones_come_from(runs, executed):
    import platform

    env = runs["later"].environment
    assert env["python"] == platform.python_version()
    assert env["platform"]["system"] == platform.system()
    dists = env["distributions"]
    assert dists["demo-editable"]["version"] == "0.3.1"
    url = dists["demo-editable"]["direct_url"]
    assert url["dir_info"] == {"editable": True}
    assert url["url"] == executed[2].as_uri()
    assert "direct_url" not in dists["nbformat"]  # installed from an index: its version only
    from importlib.metadata import version

    assert dists["nbformat"]["version"] == version("nbformat")
    assert len(dists) > 100


def test_a_script_run_has_no_snapshot(project, mlops):
    with mlops.start_run() as run:
        mlops.log_metric("m", 1.0)
    assert run.notebook() is None
    assert run.notebook(executed=True) is None
    assert "snapshot.ipynb" not in run.artifacts
    assert "distributions" in run.environment


# -- the snapshot in every kind of store (an in-process shell, cells run as a kernel runs them)

def _track_cell(ip) -> None:
    result = ip.run_cell("%%track -n stored\nprint('kept')\n21 * 2", store_history=True)
    assert result.success, result.error_in_exec


def _check_stored(mlops) -> None:
    frame = mlops.search_runs()
    run = mlops.get_run(frame.run_id[0])
    snap = run.notebook()
    nbformat.validate(snap)
    cell = snap.cells[-1]
    assert cell.metadata.jupyter_mlops.run_cell is True
    assert [o.output_type for o in cell.outputs] == ["stream", "execute_result"]
    assert cell.outputs[0].text == "kept\n" and cell.outputs[1].data["text/plain"] == "42"
    info = run.artifacts["snapshot.ipynb"]
    assert info.media_type == "application/x-ipynb+json"
    assert nbformat.reads(run.store.artifacts.get_bytes(info.digest).decode(), 4) == snap


def test_snapshot_is_stored_on_sqlite_and_postgresql(backend, ip, mlops):
    _track_cell(ip)
    _check_stored(mlops)


def test_a_contributor_keeps_snapshots_on_a_team_store(team, ip, mlops):
    with team.acting_as(team.users["contributor"]):
        _track_cell(ip)
        _check_stored(mlops)


def test_the_notebook_limit_leaves_later_outputs_out_and_says_so(project, ip, mlops,
                                                                   monkeypatch):
    from jupyter_mlops.tracking import outputs

    monkeypatch.setattr(outputs, "MAX_NOTEBOOK_CHARS", 1000)
    monkeypatch.setattr(outputs, "MAX_OUTPUT_CHARS", 950)
    cell = ("%%track -n capped\nfrom IPython.display import display\n"
            "display({'image/png': 'A' * 960, 'text/plain': 'a picture'}, raw=True)\n"
            "for i in range(5):\n    print('y' * 300)\n"
            "display({'text/plain': 'late'}, raw=True)")
    assert ip.run_cell(cell, store_history=True).success
    snap = mlops.get_run(mlops.search_runs().run_id[0]).notebook()
    nbformat.validate(snap)
    picture, stream, note = snap.cells[-1].outputs
    # over the per-output limit: the image is left out, its text says so
    assert "image/png" not in picture.data
    assert picture.data["text/plain"].startswith("a picture\n[jupyter-mlops: left out")
    assert "image/png (960 characters)" in picture.data["text/plain"]
    # the stream is cut where the notebook's limit is reached; the late display is left out
    assert stream.text.startswith("y" * 300) and "more characters left out" in stream.text
    assert note.data["text/plain"].startswith("[jupyter-mlops: 1 more output(s) left out")
    about = snap.metadata.jupyter_mlops
    assert about.dropped_outputs == 1 and about.truncated_outputs == 2
    assert about.limits == {"output_chars": 950, "notebook_chars": 1000}
