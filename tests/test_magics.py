"""`%track` and `%%track` through IPython's InteractiveShell, cells run as a kernel runs them
(`run_cell(..., store_history=True)`), so the cell hooks and papermill-style history apply."""

from __future__ import annotations

import json

import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

INJECTION = "'; DROP TABLE runs; --"


def run(ip, source: str, **kwargs):
    return ip.run_cell(source, store_history=True, **kwargs)


def ok(ip, source: str, **kwargs):
    result = run(ip, source, **kwargs)
    assert result.success, (result.error_before_exec, result.error_in_exec)
    return result


def snapshot() -> dict:
    from jupyter_mlops.store.info import summary

    return summary()


def runs_frame(mlops, **kwargs):
    mlops.flush()
    return mlops.search_runs(**kwargs)


def only_run(mlops):
    frame = runs_frame(mlops)
    assert len(frame) == 1, frame
    return mlops.get_run(frame.run_id[0])


# -- %%track --------------------------------------------------------------------------------

def test_cell_runs_inside_a_run_logs_variables_and_shows_summary(ip, mlops):
    with capture_output() as cap:
        result = ok(ip, "%%track -e exp1 -n first --params lr,depth,kind --metrics acc\n"
                        "lr = 0.1\ndepth = 3\nkind = 'rf'\nacc = 0.75\nlr * 10")
    assert result.result == 1.0  # the cell's last expression, as in a normal cell
    assert mlops.active_run() is None
    r = only_run(mlops)
    assert (r.name, r.experiment, r.status) == ("first", "exp1", "finished")
    assert r.params == {"lr": 0.1, "depth": 3, "kind": "rf"}
    assert type(r.params["depth"]) is int
    assert r.metrics == {"acc": 0.75}
    assert "lr = 0.1" in r.source
    html = [o.data["text/html"] for o in cap.outputs if "text/html" in o.data]
    assert len(html) == 1
    for word in ("first", "finished", "exp1", r.id, "lr", "acc", "0.75"):
        assert word in html[0]


def test_cell_without_options_uses_default_experiment(ip, mlops):
    ok(ip, "%%track\nx = 1")
    r = only_run(mlops)
    assert r.experiment == "Default" and r.status == "finished"
    assert r.params == {}


def test_cell_exception_fails_the_run_and_reaches_the_user(ip, mlops, capsys):
    result = run(ip, "%%track -n broken\nvalue = 1\n1 / 0")
    assert isinstance(result.error_in_exec, ZeroDivisionError)
    assert "ZeroDivisionError" in capsys.readouterr().out  # the traceback the user sees
    assert ip.user_ns["value"] == 1
    assert mlops.active_run() is None
    r = only_run(mlops)
    assert r.status == "failed"
    assert r.info["error"] == "ZeroDivisionError: division by zero"


def test_cell_interrupted_marks_the_run_killed(ip, mlops):
    result = run(ip, "%%track -n stopped\nraise KeyboardInterrupt")
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    assert mlops.active_run() is None
    assert only_run(mlops).status == "killed"


def test_cell_syntax_error_writes_nothing(ip, mlops):
    before = snapshot()
    result = run(ip, "%%track -n bad\nx = (")
    assert isinstance(result.error_in_exec, SyntaxError)
    assert snapshot() == before


def test_cell_missing_variable_is_said_not_fatal(ip, mlops, capsys):
    ok(ip, "%%track --params a,nope --metrics m\na = 1\nm = 2")
    assert "no such variable: nope" in capsys.readouterr().out
    r = only_run(mlops)
    assert r.params == {"a": 1} and r.metrics == {"m": 2.0} and r.status == "finished"


def test_cell_autolog_logs_sklearn_fit(ip, mlops):
    ok(ip, "%%track -n fit\n"
           "from sklearn.datasets import load_iris\n"
           "from sklearn.linear_model import LogisticRegression\n"
           "X, y = load_iris(return_X_y=True)\n"
           "clf = LogisticRegression(C=0.5, max_iter=300).fit(X, y)")
    frame = runs_frame(mlops)
    assert list(frame["name"]) == ["fit"]  # one fit, no stray runs from sklearn internals
    r = mlops.get_run(frame.run_id[0])
    assert r.params["C"] == 0.5 and r.params["max_iter"] == 300
    assert r.metrics["fit_time_s"] > 0
    assert 0.5 < r.metrics["training_score"] <= 1.0
    assert "model.skops" in r.artifacts
    assert r.tags["mlops.estimator"].endswith("LogisticRegression")

    from jupyter_mlops.tracking import autolog

    assert not autolog.enabled()  # on inside the cell only


def test_cell_no_autolog(ip, mlops):
    ok(ip, "%%track -n plain --no-autolog\n"
           "from sklearn.linear_model import LinearRegression\n"
           "model = LinearRegression().fit([[0], [1], [2]], [0, 1, 2])")
    r = only_run(mlops)
    assert r.params == {} and r.metrics == {} and list(r.artifacts) == ["snapshot.ipynb"]


def test_cell_help_writes_nothing(ip, mlops, capsys):
    before = snapshot()
    ok(ip, "%%track --help\nx = 1")
    out = capsys.readouterr().out
    assert "usage: %%track" in out and "--no-autolog" in out
    assert "x" not in ip.user_ns  # the cell body did not run
    assert snapshot() == before


# -- %track SUBCOMMAND ----------------------------------------------------------------------

def test_start_status_end(ip, mlops, capsys):
    ok(ip, "%track status")
    assert "no active run" in capsys.readouterr().out
    ok(ip, "%track start -n manual -e exp2 lr=0.01 layers=3 name='deep'")
    out = capsys.readouterr().out
    run_ = mlops.active_run()
    assert run_ is not None and run_.id in out and "manual" in out
    assert run_.params == {"lr": 0.01, "layers": 3, "name": "deep"}
    with capture_output() as cap:
        ok(ip, "%track status")
    assert run_.id in cap.outputs[0].data["text/html"]
    assert "running" in cap.outputs[0].data["text/html"]
    ok(ip, "%track end --status killed")
    assert mlops.active_run() is None
    r = mlops.get_run(run_.id)
    assert (r.name, r.experiment, r.status) == ("manual", "exp2", "killed")


def test_param_values_are_python_literals(ip, mlops):
    ok(ip, "%track start")
    # the line is split like a shell line: h="'2'" keeps the quotes a string literal needs
    ok(ip, "%track param a=1 b=0.5 c=True d='x' e=hello f=[1,2] g=None h=\"'2'\"")
    ok(ip, "%track end")
    params = only_run(mlops).params
    assert params == {"a": 1, "b": 0.5, "c": True, "d": "x", "e": "hello", "f": [1, 2],
                      "g": None, "h": "2"}
    assert type(params["a"]) is int and type(params["c"]) is bool and type(params["h"]) is str


def test_a_comment_after_a_magic_is_not_its_argument(ip, mlops):
    """A word starting with an unquoted # ends the line, as in a shell and in Python; a # inside
    a word or in quotes stays."""
    ok(ip, "%track start -n commented  # the baseline")
    ok(ip, "%track param color=#ff0000 tag='#1' note=\"a # b\"  # not a param")
    ok(ip, "%track end # done")
    run = only_run(mlops)
    assert run.name == "commented"
    assert run.params == {"color": "#ff0000", "tag": "#1", "note": "a # b"}


def test_relogging_a_param_with_another_value_is_refused(ip, mlops):
    ok(ip, "%track start")
    ok(ip, "%track param a=1")
    result = run(ip, "%track param a=2")
    assert isinstance(result.error_in_exec, UsageError)
    ok(ip, "%track param a=1")  # the same value again is fine
    ok(ip, "%track end")
    assert only_run(mlops).params == {"a": 1}


def test_metric_and_step(ip, mlops):
    ok(ip, "%track start")
    ok(ip, "%track metric loss=0.5 acc=1")
    ok(ip, "%track metric loss=0.25 --step 7")
    ok(ip, "%track end")
    r = only_run(mlops)
    assert r.metrics == {"acc": 1.0, "loss": 0.25}
    history = r.metric_history("loss")
    assert list(history.step) == [0, 7] and list(history.value) == [0.5, 0.25]


def test_metric_that_is_not_a_number_is_an_error(ip, mlops):
    before = snapshot()
    for line in ("%track metric x=abc", "%track metric x=True", "%track metric x=1 y=\"'2'\""):
        result = run(ip, line)
        assert isinstance(result.error_in_exec, UsageError), line
        assert "must be a number" in str(result.error_in_exec)
    assert snapshot() == before  # no run was started for the bad metric
    ok(ip, "%track start")
    result = run(ip, "%track metric ok=1 bad=abc")
    assert isinstance(result.error_in_exec, UsageError)
    ok(ip, "%track end")
    assert only_run(mlops).metrics == {}  # all or nothing


def test_tag(ip, mlops):
    ok(ip, "%track start")
    ok(ip, "%track tag stage=demo n=1 owner='ana'")
    ok(ip, "%track end")
    assert only_run(mlops).tags == {"stage": "demo", "n": "1", "owner": "ana"}


def test_artifact_path_and_variable(ip, mlops, project, capsys):
    (project / "notes.txt").write_text("hello")
    ip.user_ns["settings"] = {"alpha": 1}
    ok(ip, "%track start -n arts")
    ok(ip, "%track artifact notes.txt")
    ok(ip, "%track artifact settings --name settings.json")
    out = capsys.readouterr().out
    assert "stored artifact 'notes.txt'" in out and "stored artifact 'settings.json'" in out
    ok(ip, "%track end")
    r = only_run(mlops)
    assert set(r.artifacts) == {"notes.txt", "settings.json", "snapshot.ipynb"}
    assert r.load_artifact("settings.json") == {"alpha": 1}
    assert r.artifacts["notes.txt"].size == 5


def test_list_filters_and_limits(ip, mlops):
    for name, acc in (("a", 0.5), ("b", 0.9), ("c", 0.95)):
        ok(ip, f"%%track -e listing -n {name} --metrics acc\nacc = {acc}")
    ok(ip, "%%track -e other -n d\npass")
    frame = ok(ip, "%track list -e listing --filter 'metrics.acc > 0.8'").result
    assert sorted(frame["name"]) == ["b", "c"]
    frame = ok(ip, "%track list --order-by 'metrics.acc DESC' --limit 1").result
    assert list(frame["name"]) == ["c"]
    frame = ok(ip, "%track list").result
    assert sorted(frame["name"]) == ["a", "b", "c", "d"]


def test_compare_returns_comparison_and_shows_a_plotly_chart(ip, mlops):
    for name, values in (("one", (0.3, 0.2)), ("two", (0.4, 0.1))):
        ok(ip, f"%track start -n {name} kind='{name}'")
        for v in values:
            ok(ip, f"%track metric loss={v}")
        ok(ip, "%track end")
    ids = list(runs_frame(mlops).run_id)
    with capture_output() as cap:
        result = ok(ip, f"%track compare {ids[0]} {ids[1][:8]} --metric loss")
    from jupyter_mlops.tracking.compare import RunComparison

    comparison = result.result
    assert isinstance(comparison, RunComparison)
    assert {r.id for r in comparison.runs} == set(ids)
    assert comparison.keys == ["loss"]
    frame = comparison.to_frame()
    assert "params.kind" in frame.index and "metrics.loss" in frame.index
    charts = [o.data["application/vnd.plotly.v1+json"] for o in cap.outputs
              if "application/vnd.plotly.v1+json" in o.data]
    assert len(charts) == 1
    traces = charts[0]["data"]
    assert len(traces) == 2 and all(len(t["y"]) == 2 for t in traces)


def test_autolog_on_off(ip, mlops, capsys):
    from jupyter_mlops.tracking import autolog

    ok(ip, "%track autolog on")
    assert autolog.enabled()
    assert "autolog is on" in capsys.readouterr().out
    ok(ip, "%track autolog off")
    assert not autolog.enabled()
    ok(ip, "%track autolog")
    assert "autolog is off" in capsys.readouterr().out


SUBCOMMANDS = ["start", "end", "status", "param", "metric", "tag", "artifact", "list", "compare",
               "autolog"]


@pytest.mark.parametrize("sub", SUBCOMMANDS)
def test_help_on_each_subcommand(ip, mlops, capsys, sub):
    before = snapshot()
    ok(ip, f"%track {sub} --help")
    out = capsys.readouterr().out
    assert out.startswith(f"usage: %track {sub}")
    assert "--help" in out
    assert snapshot() == before


def test_help_and_pinfo_show_the_docstring(ip, mlops, capsys):
    ok(ip, "%track --help")
    out = capsys.readouterr().out
    assert "Track experiments from cells" in out and "%track compare" in out
    text = ip.object_inspect_text("%track")
    assert "Track experiments from cells" in text and "%%track [-e EXPERIMENT]" in text
    ok(ip, "%track?")
    assert "Track experiments from cells" in capsys.readouterr().out


BAD_INPUT = [
    ("%track bogus", "unknown subcommand 'bogus'", "usage: %%track"),
    ("%track start -n", "expected one argument", "usage: %track start"),
    ("%track start --bogus", "unrecognized arguments: --bogus", "usage: %track start"),
    ("%track param", "required: pairs", "usage: %track param"),
    ("%track param a", "expected KEY=VALUE", "usage: %track param"),
    ("%track param =1", "expected KEY=VALUE", "usage: %track param"),
    ("%track tag novalue", "expected KEY=VALUE", "usage: %track tag"),
    ("%track metric x=1 --step many", "invalid int value", "usage: %track metric"),
    ("%track list --filter 'metrics.acc >'", "expected a value", "usage: %track list"),
    ("%track list --filter 'drop table runs'", "unknown field 'drop'", "usage: %track list"),
    ("%track list --limit -1", "limit must be an integer between 0 and", "usage: %track list"),
    ("%track list -e nosuch", "no experiment named 'nosuch'", "usage: %track list"),
    ("%track compare", "required: runs", "usage: %track compare"),
    ("%track compare nothex", "not a run id", "usage: %track compare"),
    ("%track end", "no active run to end", "usage: %track end"),
    ("%track end --status done", "invalid choice", "usage: %track end"),
    ("%track autolog maybe", "invalid choice", "usage: %track autolog"),
    ("%track artifact no/such/file.txt", "no file or folder", "usage: %track artifact"),
    ("%track param a='unclosed", "cannot split the line", "usage:"),
]


@pytest.mark.parametrize(("line", "message", "usage"), BAD_INPUT, ids=[b[0] for b in BAD_INPUT])
def test_bad_input_is_one_usage_error_and_writes_nothing(ip, mlops, capsys, line, message, usage):
    before = snapshot()
    result = run(ip, line)
    error = result.error_in_exec
    assert type(error) is UsageError
    lines = str(error).splitlines()
    assert message in lines[0]
    assert any(x.startswith(usage) for x in lines[1:])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert captured.err.startswith("UsageError: ")
    assert snapshot() == before
    assert mlops.active_run() is None
    with pytest.raises(UsageError):  # the same through run_line_magic
        ip.run_line_magic("track", line.removeprefix("%track").strip())


def test_bad_cell_options_are_usage_errors(ip, mlops):
    before = snapshot()
    result = run(ip, "%%track --bogus\nx = 1")
    assert type(result.error_in_exec) is UsageError
    assert "unrecognized arguments: --bogus" in str(result.error_in_exec)
    assert "x" not in ip.user_ns
    assert snapshot() == before


def test_injection_stays_data(ip, mlops, backend):
    ok(ip, f"""%track start -n "{INJECTION}" """)
    ok(ip, f"""%track param name="{INJECTION}" """)
    ok(ip, f"""%track tag note="{INJECTION}" """)
    ok(ip, "%track end")
    r = only_run(mlops)
    assert r.name == INJECTION
    assert r.params == {"name": INJECTION} and r.tags == {"note": INJECTION}
    before = snapshot()
    empty = ok(ip, """%track list --filter "name = '; DROP TABLE runs; --'" """).result
    assert empty.empty  # a string literal that no run is named
    broken = run(ip, f"""%track list --filter "name = '{INJECTION}'" """).error_in_exec
    assert type(broken) is UsageError and "unexpected character ';'" in str(broken)
    assert snapshot() == before
    quoted = INJECTION.replace("'", "''")
    for field in ("name", "params.name", "tags.note"):
        hit = ok(ip, f"""%track list --filter "{field} = '{quoted}'" """).result
        assert list(hit.run_id) == [r.id], field
    assert len(runs_frame(mlops)) == 1  # the runs table is still there


# -- the cells behind a run -----------------------------------------------------------------

def test_cells_recorded_in_order_with_flags(ip, mlops, project, monkeypatch):
    import nbformat

    notebook = project / "analysis.ipynb"
    order = [("c-start", "%track start -n cells"), ("c-load", "a = 1"), ("c-fit", "b = a + 1"),
             ("c-fail", "1 / 0"), ("c-end", "%track end")]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src, id=cid) for cid, src in order]
    nbformat.write(nb, notebook)
    monkeypatch.setenv("MLOPS_NOTEBOOK", str(notebook))

    ok(ip, "%track start -n cells", cell_id="c-start")
    ok(ip, "a = 1", cell_id="c-load")
    ok(ip, "b = a + 1", cell_id="c-fit")
    ok(ip, "a = 1", cell_id="c-load")  # run again, and above the cell run before it
    assert isinstance(run(ip, "1 / 0", cell_id="c-fail").error_in_exec, ZeroDivisionError)
    ok(ip, "print(b)", cell_id="c-scratch")  # not in the saved notebook
    ok(ip, "%track end", cell_id="c-end")

    r = only_run(mlops)
    assert r.info["notebook"] == "analysis.ipynb"
    cells = r.cells()
    assert list(cells.cell_id) == ["c-start", "c-load", "c-fit", "c-load", "c-fail", "c-scratch"]
    assert list(cells.ordinal) == list(range(6))
    assert cells.execution_count.is_monotonic_increasing
    assert list(cells.source) == ["%track start -n cells", "a = 1", "b = a + 1", "a = 1",
                                  "1 / 0", "print(b)"]
    assert list(cells.success) == [True, True, True, True, False, True]
    assert cells.error[4] == "ZeroDivisionError: division by zero"
    assert cells.error.isna().sum() == 5
    assert list(cells.reexecuted) == [False, False, False, True, False, False]
    assert list(cells.out_of_order) == [False, False, False, True, False, False]
    assert [None if v is None or v != v else int(v) for v in cells.notebook_index] == [0, 1, 2, 1, 3, None]
    assert (cells.ended >= cells.started).all()


def test_cells_recorded_without_cell_ids(ip, mlops):
    ok(ip, "%track start")
    ok(ip, "x = 1")
    ok(ip, "x = 1")
    ok(ip, "%track end")
    ok(ip, "y = 2")  # after the run: not recorded
    cells = only_run(mlops).cells()
    assert list(cells.source) == ["%track start", "x = 1", "x = 1"]
    assert list(cells.reexecuted) == [False, False, True]
    assert not cells.out_of_order.any()


def test_track_cell_is_recorded_with_its_run(ip, mlops):
    ok(ip, "%%track -n one\nx = 1")
    cells = only_run(mlops).cells()
    assert len(cells) == 1 and cells.source[0].rstrip() == "%%track -n one\nx = 1"  # as typed
    assert list(cells.success) == [True]


def test_cell_hook_failure_switches_recording_off_softly(ip, mlops, monkeypatch, capsys):
    from jupyter_mlops.tracking import cells as cells_module

    ok(ip, "%track start -n hooks")
    capsys.readouterr()

    def broken(self, *args, **kwargs):
        raise RuntimeError("recorder exploded")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cells_module.CellRecorder, "record", broken)
        result = ok(ip, "x = 41\nx + 1")
        assert result.result == 42
        ok(ip, "y = 2")
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "cell recording switched off" in err and "recorder exploded" in err
    ok(ip, "z = 3")  # recording stays off for this run
    ok(ip, "%track end")
    r = only_run(mlops)
    assert r.status == "finished"
    assert list(r.cells().source) == ["%track start -n hooks"]


def test_cell_hook_failure_inside_track_cell_still_ends_the_run(ip, mlops, monkeypatch, capsys):
    from jupyter_mlops.tracking import cells as cells_module

    def broken(self, *args, **kwargs):
        raise RuntimeError("recorder exploded")

    monkeypatch.setattr(cells_module.CellRecorder, "record", broken)
    result = ok(ip, "%%track -n t --metrics m\nm = 0.5\nm * 2")
    assert result.result == 1.0
    assert mlops.active_run() is None
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cell recording switched off" in err
    r = only_run(mlops)
    assert r.status == "finished" and r.metrics == {"m": 0.5}


# -- internal failures never break the kernel -----------------------------------------------

def test_internal_error_is_one_line_on_stderr(ip, mlops, monkeypatch, capsys):
    from jupyter_mlops.tracking import search

    def broken(*args, **kwargs):
        raise RuntimeError("search exploded")

    monkeypatch.setattr(search, "search_runs", broken)
    result = ok(ip, "%track list")
    assert result.result is None and result.error_in_exec is None
    captured = capsys.readouterr()
    assert captured.err == "jupyter-mlops internal error (RuntimeError): search exploded\n"
    assert "Traceback" not in captured.out


def test_store_failure_is_one_line_on_stderr(ip, mlops, monkeypatch, capsys):
    monkeypatch.setenv("MLOPS_STORE_URI", "postgresql://postgres:hunter2@127.0.0.1:1/x")
    result = ok(ip, "%track list")
    assert result.result is None
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("jupyter-mlops: cannot open the store")
    assert "hunter2" not in err and "***" in err


# -- the summary of a run, as the notebook shows it ------------------------------------------

def test_run_summary_is_json_friendly(ip, mlops):
    ok(ip, "%%track -n s --params p --metrics m\np = 'x'\nm = 2")
    summary = only_run(mlops).summary()
    assert json.loads(json.dumps(summary))["params"] == {"p": "x"}
    assert summary["status"] == "finished" and summary["duration_s"] >= 0


def test_track_cell_runs_untracked_when_the_store_is_down(ip, monkeypatch, capsys):
    """The user's work is never held hostage by the store: the cell runs, one line says why
    it is not tracked."""
    from jupyter_mlops.store import reset

    monkeypatch.setenv("MLOPS_STORE_URI", "postgresql://postgres@127.0.0.1:1/nothing")
    reset()
    result = ok(ip, "%%track -n offline\nz = 20\nz * 2")
    assert result.result == 40 and ip.user_ns["z"] == 20
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "runs untracked" in err and "cannot open the store" in err
