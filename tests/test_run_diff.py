"""`diff_runs` between two runs of one analysis made by real kernels (nbclient): the second
changes a cell, a param, the dataset version it loads (in a cell before the run: a dataset the
session read before a run is that run's input) and its packages (another version of one, one
more installed). Then the adapters: `%track diff`, `jupyter mlops runs diff`, REST."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import cli
from IPython.core.error import UsageError
from packages import pip_install, write_package

SETUP = ("import jupyter_mlops as mlops, pandas as pd\n"
         "mlops.version_dataset(pd.DataFrame({'x': [1.0, 2.0, 3.0]}), 'points')\n"
         "mlops.version_dataset(pd.DataFrame({'x': [1.0, 2.0, 3.0, 4.0]}), 'points')\n"
         "print('datasets ready')")


def cells(site: str, version: int, scale: int) -> list[str]:
    return [
        "%load_ext jupyter_mlops",
        SETUP,
        f"import sys\nsys.path[:0] = {site!r}.split(':')\nimport tinypkg",
        f"df = mlops.load_dataset('points@{version}')  # before the run: its input too",
        "%%track -n {name} --params scale\n"
        f"scale = {scale}\n"
        "total = float(df.x.sum()) * scale\n"
        "print('total', total)\n"
        "mlops.log_metric('total', total)",
        "print('after the run')",
    ]


def install(tmp: Path, name: str, version: str) -> str:
    """A real (non-editable) install of a tiny package into a prefix of its own; returns its
    site-packages folder."""
    src = write_package(tmp / f"{name}-{version}", name, version, f"VERSION = {version!r}\n")
    return str(pip_install(src, tmp / f"prefix-{name}-{version}"))


@pytest.fixture(scope="module")
def project_runs(tmp_path_factory):
    """(project folder, run a's id, run b's id): two kernels ran the analysis, b changed."""
    from nbclient import NotebookClient

    tmp = tmp_path_factory.mktemp("rundiff")
    project = tmp / "project"
    project.mkdir()
    v1, v2, extra = (install(tmp, "tinypkg", "1.0"), install(tmp, "tinypkg", "2.0"),
                     install(tmp, "extrapkg", "0.5"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLOPS_", "JPY_"))}
    env.update(MLOPS_PROJECT_ROOT=str(project), MLOPS_NOTEBOOK=str(project / "analysis.ipynb"),
               PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    for name, site, version, scale in (("a", v1, 1, 2), ("b", f"{v2}:{extra}", 2, 3)):
        sources = cells(site, version, scale)
        if name == "b":  # b also sets a tag
            sources[4] += "\nmlops.set_tag('stage', 'tuned')"
        sources[4] = sources[4].replace("{name}", name)
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in sources])
        NotebookClient(nb, timeout=120, kernel_name="python3",
                       resources={"metadata": {"path": str(project)}}).execute(env=env)
    ids = {}
    with_env = {**os.environ, "MLOPS_PROJECT_ROOT": str(project)}
    out = subprocess.run([sys.executable, "-m", "jupyter_mlops.cli", "runs", "list",
                          "--format", "json"], env=with_env, capture_output=True, text=True,
                         check=True, cwd=project).stdout
    for line in out.splitlines():
        row = json.loads(line)
        ids[row["name"]] = row["run_id"]
    return project, ids["a"], ids["b"]


@pytest.fixture
def pair(project_runs, monkeypatch, project):
    """(run a, run b) read in this process from the kernels' project store."""
    from conftest import _forget

    import jupyter_mlops

    monkeypatch.setenv("MLOPS_PROJECT_ROOT", str(project_runs[0]))
    monkeypatch.chdir(project_runs[0])
    _forget()
    yield jupyter_mlops.get_run(project_runs[1]), jupyter_mlops.get_run(project_runs[2])
    _forget()


def test_the_changed_param_metric_and_dataset_version_are_named(pair):
    import jupyter_mlops as mlops

    a, b = pair
    d = mlops.diff_runs(a.id, b.id[:8])
    assert [(c.key, c.a, c.b) for c in d.params] == [("scale", 2, 3)]
    assert [(c.key, c.a, c.b) for c in d.metrics] == [("total", 12.0, 30.0)]
    assert [(c.key, c.a, c.b) for c in d.tags] == [("stage", None, "tuned")]
    assert d.python is None and not d.same
    [points] = d.inputs
    assert (points["kind"], points["name"], points["change"]) == ("dataset", "points", "changed")
    assert (points["a"], points["b"]) == ("points@1", "points@2")
    from jupyter_mlops.data.versions import get_version

    digests = (get_version("points@1").digest, get_version("points@2").digest)
    assert (points["a_digest"], points["b_digest"]) == digests


def test_packages_added_and_changed_come_from_the_installed_distributions(pair):
    """Installed from a folder (PEP 610 says so): their versions say "(local)"."""
    import jupyter_mlops as mlops

    a, b = pair
    d = mlops.diff_runs(a, b)
    assert d.packages["added"] == [{"name": "extrapkg", "version": "0.5 (local)"}]
    assert d.packages["removed"] == []
    assert d.packages["changed"] == [{"name": "tinypkg", "a": "1.0 (local)", "b": "2.0 (local)"}]
    back = mlops.diff_runs(b, a)  # the other way round: removed, and changed back
    assert back.packages["removed"] == [{"name": "extrapkg", "version": "0.5 (local)"}]
    assert back.packages["changed"] == [{"name": "tinypkg", "a": "2.0 (local)", "b": "1.0 (local)"}]


def test_the_code_is_diffed_cell_by_cell_with_outputs(pair):
    import jupyter_mlops as mlops

    a, b = pair
    code = mlops.diff_runs(a, b).code
    assert (code["a"], code["b"]) == ("snapshot", "snapshot")
    # the snapshots end with the run: load_ext and setup the same, three cells changed
    assert [c["change"] for c in code["cells"]] == [
        "unchanged", "unchanged", "modified", "modified", "modified"]
    assert code["summary"] == {"modified": 3, "added": 0, "removed": 0, "unchanged": 2}
    run_cell = code["cells"][4]
    assert run_cell["a"] == {"execution_count": 5, "run_cell": True}
    changed = [(r["a"], r["b"]) for r in run_cell["source"] if r["kind"] == "changed"]
    assert changed == [("%%track -n a --params scale", "%%track -n b --params scale"),
                       ("scale = 2", "scale = 3")]
    assert [r["kind"] for r in run_cell["source"]][2:] == ["same"] * 3 + ["added"]
    assert run_cell["source"][-1] == {"a": None, "b": "mlops.set_tag('stage', 'tuned')",
                                      "kind": "added"}
    loading = code["cells"][3]
    assert loading["source"] == [
        {"a": "df = mlops.load_dataset('points@1')  # before the run: its input too",
         "b": "df = mlops.load_dataset('points@2')  # before the run: its input too",
         "kind": "changed"}]
    assert loading["a"]["run_cell"] is False and not loading["outputs_changed"]
    assert run_cell["source_changed"] and run_cell["outputs_changed"]
    assert ("total 12.0", "total 30.0") in [(r["a"], r["b"]) for r in run_cell["outputs"]]
    path = code["cells"][2]
    assert path["source_changed"] and not path["outputs_changed"]
    setup = code["cells"][1]
    assert setup["source_changed"] is False and setup["a"]["run_cell"] is False


def test_a_run_against_itself_is_the_same_and_the_views_render(pair):
    import plotly.graph_objects as go

    import jupyter_mlops as mlops

    a, b = pair
    same = mlops.diff_runs(a, a)
    assert same.same and same.to_frame().empty
    assert same.code["summary"]["unchanged"] == 5
    d = mlops.diff_runs(a, b)
    frame = d.to_frame()
    assert list(frame.index) == ["params.scale", "metrics.total", "tags.stage",
                                 "inputs.dataset:points",
                                 "packages.extrapkg", "packages.tinypkg"]
    assert frame.loc["packages.extrapkg"].tolist() == [None, "0.5 (local)"]
    assert isinstance(d.figure(), go.Figure)
    page = d._repr_html_()
    assert "scale = 3" in page and "2 unchanged cells" in page
    json.dumps(d.to_dict(), allow_nan=False)


def test_bad_references_get_one_clear_error(pair):
    import jupyter_mlops as mlops
    from jupyter_mlops.errors import MLOpsUsageError, NotFoundError

    a, _ = pair
    with pytest.raises(NotFoundError, match="no run with id starting 0123456789"):
        mlops.diff_runs(a.id, "0123456789")
    with pytest.raises(MLOpsUsageError, match="not a run id"):
        mlops.diff_runs("not-a-run", a.id)
    with pytest.raises(MLOpsUsageError, match="give a run id or a Run"):
        mlops.diff_runs(a.id, 42)


def test_track_diff_magic_displays_the_diff_and_bad_usage_keeps_the_kernel(pair, ip):
    a, b = pair
    d = ip.run_line_magic("track", f"diff {a.id[:8]} {b.id}")
    assert type(d).__name__ == "RunDiff" and d.params[0].key == "scale"
    with pytest.raises(UsageError, match="usage: %track diff RUN_A RUN_B"):
        ip.run_line_magic("track", f"diff {a.id}")  # IPython shows it; the kernel goes on
    with pytest.raises(UsageError, match="no run with id starting 0123456789"):
        ip.run_line_magic("track", f"diff {a.id} 0123456789")


def test_cli_runs_diff_prints_text_and_json(pair, capsys):
    a, b = pair
    code, out, _ = cli(capsys, "runs", "diff", a.id, b.id)
    assert code == 0
    assert "params.scale" in out and "-scale = 2" in out and "+scale = 3" in out
    assert "3 modified, 0 added, 0 removed, 2 unchanged cells" in out
    code, out, _ = cli(capsys, "runs", "diff", a.id, b.id, "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["params"] == [{"key": "scale", "a": 2, "b": 3}]
    code, _, err = cli(capsys, "runs", "diff", a.id, "0123456789")
    assert code == 2 and "no run with id starting 0123456789" in err


async def test_rest_answers_the_diff_and_404_for_an_unknown_run(pair, api):
    a, b = pair
    status, body = await api(f"runs/{a.id}/diff/{b.id[:8]}")
    assert status == 200
    assert body["packages"]["changed"] == [{"name": "tinypkg", "a": "1.0 (local)", "b": "2.0 (local)"}]
    assert body["code"]["summary"]["modified"] == 3
    status, body = await api(f"runs/{a.id}/diff/0123456789")
    assert status == 404 and "no run with id starting 0123456789" in body["error"]
