"""`%pipeline` through IPython: an adapter over the pipelines API (behaviour is tested there)."""

from __future__ import annotations

import nbformat
import pytest
from IPython.core.error import UsageError


def cell(ip, source: str):
    result = ip.run_cell(source, store_history=True)
    if result.error_in_exec is not None:
        raise result.error_in_exec
    return result.result


def make(path, body: str) -> None:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("n = 1")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)


@pytest.mark.slow
def test_add_show_run_runs(ip, mlops, project, monkeypatch, capsys):
    for name in ("first", "second"):
        make(project / f"{name}.ipynb", f"result = n * 2  # {name}")
        monkeypatch.setenv("MLOPS_NOTEBOOK", str(project / f"{name}.ipynb"))
        cell(ip, "%pipeline add daily --schedule '0 2 * * *' -p n=3")
    spec = mlops.load_spec("daily")
    assert [(s.name, s.depends_on, s.params) for s in spec.steps] == [
        ("first", [], {"n": 3}), ("second", ["first"], {"n": 3})]
    assert spec.schedule == "0 2 * * *"
    capsys.readouterr()
    cell(ip, "%pipeline show daily")
    assert "notebook: first.ipynb" in capsys.readouterr().out
    run = cell(ip, "%pipeline run daily -p n=5")
    assert run.status == "finished" and run.latest["second"].params == {"n": 5}
    assert cell(ip, "%pipeline runs daily")["run_id"].tolist() == [run.id]
    assert cell(ip, f"%pipeline runs daily --run {run.id[:8]}").id == run.id


@pytest.mark.parametrize("line, fragment", [
    ("%pipeline frobnicate", "unknown subcommand 'frobnicate'"),
    ("%pipeline run", "the following arguments are required: name"),
    ("%pipeline run ghost", "no pipeline named 'ghost'"),
    ("%pipeline add p --after nowhere", "has no step 'nowhere'"),
    ("%pipeline add p --schedule 'every day'", "is not a cron expression"),
    ("%pipeline add p -p novalue", "expected KEY=VALUE"),
    ("%pipeline runs p --run zz", "is not a pipeline run id"),
    ("%pipeline export p --to mars", "invalid choice: 'mars'"),
])
def test_bad_input_is_one_usage_error_and_writes_nothing(ip, mlops, project, monkeypatch, line,
                                                         fragment):
    make(project / "nb.ipynb", "x = n")
    monkeypatch.setenv("MLOPS_NOTEBOOK", str(project / "nb.ipynb"))
    if "--after" in line or "--schedule" in line or "novalue" in line:
        cell(ip, "%pipeline add p")
    before = (project / "pipelines" / "p.yaml").read_text() if (
        project / "pipelines" / "p.yaml").exists() else None
    with pytest.raises(UsageError) as info:
        cell(ip, line)
    assert fragment in str(info.value) and "usage: %pipeline" in str(info.value)
    after = (project / "pipelines" / "p.yaml").read_text() if (
        project / "pipelines" / "p.yaml").exists() else None
    assert after == before


def test_help(ip, capsys):
    assert cell(ip, "%pipeline --help") is None
    assert "%pipeline add NAME [--after STEP]" in capsys.readouterr().out


def test_run_and_show_pass_on_what_they_were_given(ip, mlops, project, monkeypatch):
    from jupyter_mlops.pipelines import runner

    make(project / "nb.ipynb", "x = n")
    mlops.export_pipeline("p", notebooks=["nb.ipynb"])
    calls = []
    monkeypatch.setattr(runner, "run_pipeline", lambda name, params=None, workers=None,
                        executor=None: calls.append((name, params, workers, executor)))
    cell(ip, "%pipeline run p -p n=5 --workers 2")
    cell(ip, "%pipeline run p --executor dask://10.0.0.5:8786")
    assert calls == [("p", {"n": 5}, 2, None), ("p", None, None, "dask://10.0.0.5:8786")]
    shown = []
    monkeypatch.setattr("IPython.display.display", shown.append)
    cell(ip, "%pipeline show p")
    assert [type(s).__name__ for s in shown] == ["Figure", "DataFrame"]
    assert shown[1].to_dict("records") == [
        {"parameter": "n", "step": "nb", "default": "1", "source": "notebook", "help": ""}]
