"""reproduce_run on a real project: a git repository whose notebook session (a real kernel,
nbclient) made runs three ways (a `%%track` cell, `%track start … end`, a pipeline step run
by papermill) with a seeded model on a versioned dataset, an unseeded metric, a run that needs
a file git does not hold, and — in a second session — a run whose recorded diff cannot apply
and one whose commit is then removed from the repository. Each reproduction is a real replay
(papermill, a fresh kernel) in a real git worktree.

The session ran with an uncommitted change to a module (helper.VALUE 1 → 2); the module is
changed once more before any reproduction (→ 3), so a replay that reports 2 ran the commit
with the recorded diff applied, neither the commit alone nor the live file."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from conftest import ENV_KEYS, _forget, cli

pytestmark = pytest.mark.slow  # real kernels: a session, then a replay per reproduction
SOURCE = str(Path(__file__).resolve().parent.parent)

SESSION = [
    "%load_ext jupyter_mlops",
    "import random\nimport helper\nimport jupyter_mlops as mlops\n"
    "from sklearn.datasets import load_iris\n"
    "mlops.version_dataset(load_iris(as_frame=True).frame, 'iris')",
    "with mlops.start_run(name='warmup'):\n    mlops.log_metric('w', 1.0)",
    "%%track -n seeded\nfrom sklearn.ensemble import RandomForestClassifier\n"
    "df = mlops.load_dataset('iris')\nX, y = df.drop(columns='target'), df['target']\n"
    "model = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)\n"
    "mlops.log_metrics({'acc': model.score(X, y), 'rows': len(df), 'helper': helper.VALUE})",
    "%track start -n across",
    "mlops.log_metric('rows_again', len(mlops.load_dataset('iris')))",
    "%track end",
    "%%track -n unseeded\nmlops.log_metric('noise', random.random())",
    "secret = open('local-only.txt').read()",
    "%%track -n needs_local\nmlops.log_metric('chars', len(secret))",
]
STEP_BODY = """import jupyter_mlops as mlops
from sklearn.datasets import load_breast_cancer
from sklearn.tree import DecisionTreeClassifier
data = load_breast_cancer(as_frame=True).frame.head(rows)
with mlops.start_run(name="step"):
    X, y = data.drop(columns="target"), data["target"]
    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
    mlops.log_metrics({"acc": tree.score(X, y), "rows": len(data)})
"""
SECOND = [
    "%load_ext jupyter_mlops\nimport jupyter_mlops as mlops",
    "%%track -n binary\nmlops.log_metric('one', 1.0)",
    "%%track -n doomed\nmlops.log_metric('two', 2.0)",
]


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def session(root: Path, cells: list[str], after: dict | None = None,
            store_uri: str | None = None, kernel: str = "python3") -> None:
    """Execute `cells` as analysis.ipynb in a real kernel importing this source tree (or the
    `kernel` named); `after[i]()` runs (here) once cell i has."""
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLOPS_", "JPY_"))}
    env.update(MLOPS_PROJECT_ROOT=str(root), MLOPS_NOTEBOOK=str(root / "analysis.ipynb"),
               PYTHONPATH=SOURCE, OMP_NUM_THREADS="1")
    if store_uri:
        env["MLOPS_STORE_URI"] = store_uri

    def hook(cell=None, cell_index=0, execute_reply=None):
        if after and cell_index in after:
            after[cell_index]()

    NotebookClient(nb, timeout=120, kernel_name=kernel, on_cell_executed=hook,
                   resources={"metadata": {"path": str(root)}}).execute(env=env)


def step_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("rows = 50")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(STEP_BODY)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The project (see the module docstring): {run name: run id}, and the project root."""
    root = tmp_path_factory.mktemp("reproduce") / "project"
    root.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        for key in ENV_KEYS:
            mp.delenv(key, raising=False)
        mp.setenv("MLOPS_PROJECT_ROOT", str(root))
        mp.chdir(root)
        _forget()
        git(root, "init", "-q")
        git(root, "config", "user.email", "test@example.com")
        git(root, "config", "user.name", "test")
        (root / "helper.py").write_text("VALUE = 1\n")
        (root / "blob.bin").write_bytes(b"\x00\x01binary\x00")
        step_notebook(root / "notebooks" / "step.ipynb")
        git(root, "add", ".")
        git(root, "commit", "-qm", "first")
        first = git(root, "rev-parse", "HEAD")
        (root / "helper.py").write_text("VALUE = 2\n")  # uncommitted while the runs are made
        (root / "local-only.txt").write_text("never committed")
        session(root, SESSION)

        import jupyter_mlops as mlops

        mlops.export_pipeline("cancer", notebooks=["notebooks/step.ipynb"])
        step = mlops.run_pipeline("cancer", params={"rows": 80}, progress=False)
        assert step.status == "finished"
        (root / "blob.bin").write_bytes(b"\x00\x02changed\x00")  # a binary diff: never applies

        def commit_doomed():
            git(root, "commit", "-qam", "doomed")
            time.sleep(1.1)  # the kernel caches git's answers for a second

        session(root, SECOND, after={1: commit_doomed})
        doomed = git(root, "rev-parse", "HEAD")
        git(root, "reset", "-q", "--hard", first)
        git(root, "reflog", "expire", "--expire=now", "--all")
        git(root, "gc", "-q", "--prune=now")
        (root / "helper.py").write_text("VALUE = 3\n")
        mlops.version_dataset(mlops.load_dataset("iris@1").head(100), "iris")  # iris@2
        frame = mlops.search_runs()
        runs = dict(zip(frame["name"], frame["run_id"], strict=True))
        _forget()
    return {"root": root, "runs": runs, "doomed_commit": doomed}


@pytest.fixture
def mlops(world, monkeypatch):
    import jupyter_mlops

    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("MLOPS_PROJECT_ROOT", str(world["root"]))
    monkeypatch.chdir(world["root"])
    _forget()
    yield jupyter_mlops
    _forget()


def active_runs(mlops) -> set[str]:
    return set(mlops.search_runs()["run_id"])


def test_a_track_cell_run_reproduces_from_its_commit_with_its_diff_and_pinned_data(world,
                                                                                   mlops):
    original = mlops.get_run(world["runs"]["seeded"])
    assert original.info["git_dirty"] is True and "git.diff" in original.artifacts
    before = active_runs(mlops)
    done = mlops.reproduce_run(original.id[:10], progress=False)
    assert done.state == "reproduced", (done.message, done.notes)
    assert done.differences == {} and done.reason is None and done.source == "commit"
    assert done.notes[:2] == [
        f"ran at commit {original.info['git_commit'][:12]} (a git worktree of "
        f"{world['root']})", "applied the uncommitted changes the run recorded (git.diff)"]
    new = done.run
    # the recorded diff, not the commit (1) nor the live file (3)
    assert new.metrics["helper"] == original.metrics["helper"] == 2.0
    # load_dataset('iris') read the version the original read, although iris@2 exists now
    assert new.metrics["rows"] == 150.0
    assert "dataset:iris@1" in [link.ref for link in new.inputs]
    # the diff of the two runs: same values but the fit's time, same inputs and packages
    diff = done.to_dict()["diff"]
    assert (diff["params"], diff["inputs"], diff["python"]) == ([], [], None)
    assert [m["key"] for m in diff["metrics"]] == ["fit_time_s"]
    assert "not compared, wall-clock timings: fit_time_s" in done.notes
    assert diff["packages"] == {"added": [], "removed": [], "changed": []}
    assert new.tags["mlops.reproduces"] == original.id
    assert new.tags["mlops.reproduction"] == done.id
    assert new.name == "seeded" and new.status == "finished"
    edges = {(e.source, e.target, e.relation) for e in mlops.lineage(original.id, depth=1).edges}
    assert (f"run:{original.id}", f"run:{new.id}", "input (reproduces)") in edges
    # the warmup run the session made earlier was replayed, then archived
    assert active_runs(mlops) == before | {new.id}
    archived = mlops.search_runs(include_archived=True,
                                 filter=f"tags.`mlops.replay_of` = '{original.id}'")
    assert archived["name"].tolist() == ["warmup"]
    assert (f"replayed 1 earlier run(s) of the session on the way, archived with the tag "
            f"mlops.replay_of: warmup ({archived['run_id'][0][:8]})") in done.notes
    # the table row, as get_reproduction and list_reproductions read it
    again = mlops.get_reproduction(done.id[:8])
    assert (again.state, again.run_id, again.phase, again.progress, again.env) == (
        "reproduced", new.id, "done", 1.0, "current")
    assert again.ended_at >= again.started_at and again.notes == done.notes
    listed = mlops.list_reproductions(original.id)
    assert listed["id"].tolist() == [done.id]
    assert listed["state"].tolist() == ["reproduced"]


def reproduction_edge(mlops, original: str, new: str) -> bool:
    """The lineage graph has the edge original → its reproduction."""
    edges = {(e.source, e.target) for e in mlops.lineage(original, depth=1).edges}
    return (f"run:{original}", f"run:{new}") in edges


def test_a_run_across_cells_reproduces(world, mlops):
    original = mlops.get_run(world["runs"]["across"])
    done = mlops.reproduce_run(original, progress=False)
    assert done.state == "reproduced", (done.message, done.notes)
    assert done.run.metrics == original.metrics == {"rows_again": 150.0}
    assert done.run.tags["mlops.reproduces"] == original.id
    assert reproduction_edge(mlops, original.id, done.run_id)
    replayed = mlops.search_runs(include_archived=True,
                                 filter=f"tags.`mlops.reproduction` = '{done.id}'")
    assert sorted(replayed["name"]) == ["across", "seeded", "warmup"]
    assert set(replayed["run_id"]) & active_runs(mlops) == {done.run_id}


def test_a_pipeline_step_run_reproduces_with_its_parameters(world, mlops):
    original = mlops.get_run(world["runs"]["step"])
    assert original.params["rows"] == 80 and "mlops.step_run" in original.tags
    seen = []
    done = mlops.reproduce_run(original.id, progress=lambda phase, fraction: seen.append(
        (phase, fraction)))
    assert done.state == "reproduced", (done.message, done.notes)
    new = done.run
    assert new.params["rows"] == 80 and new.metrics == original.metrics
    assert new.metrics["rows"] == 80.0
    assert "mlops.step_run" not in new.tags and new.tags["mlops.reproduces"] == original.id
    assert reproduction_edge(mlops, original.id, new.id)
    # the phases in order, the cells' fractions rising to 1
    phases = [p for p, _ in seen]
    assert phases[0] == "executing" and phases[-2:] == ["comparing", "done"]
    fractions = [f for p, f in seen if p == "executing"]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0


def test_an_unseeded_metric_differs_naming_both_values(world, mlops):
    original = mlops.get_run(world["runs"]["unseeded"])
    done = mlops.reproduce_run(original.id, progress=False)
    assert done.state == "differs"
    [(key, (was, now))] = done.differences.items()
    assert key == "noise" and was == original.metrics["noise"] and now == done.run.metrics[
        "noise"] and was != now
    assert done.message == f"differs: noise {was} → {now}"
    assert done.to_dict()["differences"] == [
        {"metric": "noise", "original": was, "reproduced": now}]
    assert done.diff.to_dict()["metrics"] == [{"key": "noise", "a": was, "b": now}]


def test_a_cell_that_raises_before_the_run_fails_and_writes_only_the_failed_run(world, mlops):
    original = mlops.get_run(world["runs"]["needs_local"])
    before = active_runs(mlops)
    done = mlops.reproduce_run(original.id, progress=False)
    assert done.state == "failed"
    assert done.reason == ("cell 9 (a cell before the run: `secret = "
                           "open('local-only.txt').read()`) raised FileNotFoundError: [Errno 2] "
                           "No such file or directory: 'local-only.txt'")
    # the one run left: the reproduction run, failed with the reason, tagged and linked
    assert active_runs(mlops) == before | {done.run_id}
    failed = done.run
    assert (failed.status, failed.info["error"]) == ("failed", done.reason)
    assert failed.tags == {"mlops.reproduces": original.id, "mlops.reproduction": done.id}
    assert [(i.kind, i.ref, i.role) for i in failed.inputs] == [
        ("run", f"run:{original.id}", "reproduces")]


def test_a_diff_that_does_not_apply_runs_the_snapshot_alone(world, mlops):
    original = mlops.get_run(world["runs"]["binary"])
    done = mlops.reproduce_run(original.id, progress=False)
    assert done.state == "reproduced", (done.message, done.notes)
    assert done.source == "snapshot"
    assert done.notes[0].startswith(
        "ran from the snapshot alone: the uncommitted changes the run recorded (git.diff) do "
        f"not apply to commit {original.info['git_commit'][:12]}: ")
    assert "blob.bin" in done.notes[0]


def test_a_commit_that_is_gone_runs_the_snapshot_alone(world, mlops):
    original = mlops.get_run(world["runs"]["doomed"])
    assert original.info["git_commit"] == world["doomed_commit"]
    done = mlops.reproduce_run(original.id, progress=False)
    assert done.state == "reproduced", (done.message, done.notes)
    assert done.source == "snapshot"
    assert done.notes[0] == (f"ran from the snapshot alone: commit {world['doomed_commit'][:12]}"
                             f" is not in the repository at {world['root']}")
    # no worktree is left behind
    assert git(world["root"], "worktree", "list").count("\n") == 0


def test_a_missing_dataset_blob_is_refused_and_nothing_is_written(world, mlops):
    from jupyter_mlops.store import get_store

    store = get_store()
    digest = _blob_of(store, "iris", 1)
    blob = Path(store.artifacts.path(digest))
    moved = blob.with_suffix(".away")
    blob.rename(moved)
    try:
        before = store_state(store)
        with pytest.raises(mlops.MLOpsUsageError) as refused:
            mlops.reproduce_run(world["runs"]["seeded"])
        assert str(refused.value) == (
            f"run {world['runs']['seeded'][:8]} read dataset iris version 1, whose blob "
            f"{digest} is missing from the artifact store "
            f"{store.artifacts.uri}: it cannot be reproduced; nothing was written")
        assert store_state(store) == before
    finally:
        moved.rename(blob)


def _blob_of(store, name: str, version: int) -> str:
    from sqlalchemy import select

    from jupyter_mlops.store.tables import dataset_versions, datasets

    with store.read() as conn:
        return conn.execute(select(dataset_versions.c.blob_digest)
                            .join(datasets, datasets.c.id == dataset_versions.c.dataset_id)
                            .where(datasets.c.name == name,
                                   dataset_versions.c.version == version)).scalar_one()


def store_state(store) -> tuple[list[int], object]:
    """The runs and reproductions counted, and the store's last change: equal before and after
    a refusal when it wrote nothing."""
    from sqlalchemy import func, select

    from jupyter_mlops.store.tables import reproductions, runs

    with store.read() as conn:
        return ([conn.execute(select(func.count()).select_from(t)).scalar()
                 for t in (runs, reproductions)], store.last_change())


def test_a_cell_that_starts_a_reproduction_is_not_replayed():
    from jupyter_mlops.repro import replay

    snapshot = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in (
        "%track reproduce 0123456789", "done = mlops.reproduce_run(run_id)", "x = 1")])
    nb, run_cells, commented = replay.notebook(snapshot)
    assert commented == 2 and run_cells == []
    assert [c.source for c in nb.cells] == [
        "# not replayed: it starts a reproduction\n# %track reproduce 0123456789",
        "# not replayed: it starts a reproduction\n# done = mlops.reproduce_run(run_id)",
        "x = 1"]


# -- bad input: one clear error each, nothing written ----------------------------------------

@pytest.fixture
def refusals(project, mlops_here):
    """A project (no git) with a script's run, an AutoML search and its trial, a running run."""
    import numpy as np

    script = project / "train.py"
    script.write_text("import jupyter_mlops as mlops\n"
                      "with mlops.start_run(name='script'):\n"
                      "    mlops.log_metric('a', 1.0)\n")
    env = {**os.environ, "MLOPS_PROJECT_ROOT": str(project), "PYTHONPATH": SOURCE}
    subprocess.run([sys.executable, str(script)], check=True, env=env, cwd=project)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    search = mlops_here.automl(X, (X[:, 0] > 0).astype(int), n_trials=1, cv=2,
                               estimators=["linear"], progress=False)
    running = mlops_here.start_run(name="still-running")
    frame = mlops_here.search_runs()
    runs = dict(zip(frame["name"], frame["run_id"], strict=True))
    trial = next(r for r in frame["run_id"]
                 if "mlops.automl.trial" in mlops_here.get_run(r).tags)
    yield {"script": runs["script"], "search": search.run_id, "trial": trial,
           "running": running.id}
    mlops_here.end_run()


@pytest.fixture
def mlops_here(project):
    import jupyter_mlops

    return jupyter_mlops


def test_bad_input_is_one_clear_error_and_writes_nothing(refusals, mlops_here):

    from jupyter_mlops.store import get_store

    mlops = mlops_here
    store = get_store()

    before = store_state(store)
    r = refusals
    cases = [
        (("0123456789abcdef",), mlops.NotFoundError, "no run with id starting 0123456789abcdef"),
        ((r["script"],), mlops.MLOpsUsageError,
         f"run {r['script'][:8]} has neither a notebook snapshot nor a commit (a script's run, "
         "or cell recording was off): reproduction replays a notebook run's snapshot"),
        ((r["search"],), mlops.MLOpsUsageError,
         f"run {r['search'][:8]} is an AutoML search: reproducing AutoML searches is out of "
         "scope (reproduce a run that trains one model)"),
        ((r["trial"],), mlops.MLOpsUsageError, f"run {r['trial'][:8]} is an AutoML trial"),
        ((r["running"],), mlops.MLOpsUsageError,
         f"run {r['running'][:8]} is still running: reproduce it once it has ended"),
        ((r["script"], "conda"), mlops.MLOpsUsageError,
         "env must be current or recorded, got 'conda'"),
        ((r["script"], "current", -1), mlops.MLOpsUsageError,
         "tolerance must be a number >= 0, got -1"),
        ((r["script"], "current", float("nan")), mlops.MLOpsUsageError,
         "tolerance must be a number >= 0, got nan"),
        ((r["script"], "current", "0.1"), mlops.MLOpsUsageError,
         "tolerance must be a number >= 0, got '0.1'"),
    ]
    for args, error, message in cases:
        with pytest.raises(error) as raised:
            mlops.reproduce_run(*args)
        assert str(raised.value).startswith(message), (args, str(raised.value))
    assert store_state(store) == before


def test_a_recorded_environment_of_another_python_is_refused_before_anything_is_written(
        ip, monkeypatch):
    import json
    import platform

    import jupyter_mlops as mlops
    from jupyter_mlops.store import get_store
    from jupyter_mlops.tracking import capture

    real = json.loads(capture.environment())
    monkeypatch.setattr(capture, "environment",
                        lambda: json.dumps({**real, "python": "3.9.18"}))
    ip.run_cell("%%track -n older-python\nx = 1")
    run = mlops.get_run(mlops.search_runs().run_id[0])
    assert run.notebook() is not None and run.environment["python"] == "3.9.18"
    store = get_store()

    before = store_state(store)
    with pytest.raises(mlops.MLOpsUsageError) as raised:
        mlops.reproduce_run(run.id, env="recorded")
    assert f"ran on CPython 3.9.18, this is CPython {platform.python_version()}" in str(
        raised.value)
    assert store_state(store) == before


def test_an_environment_that_cannot_be_built_is_refused_before_anything_is_written(
        ip, monkeypatch, tmp_path):
    import json

    import jupyter_mlops as mlops
    from jupyter_mlops.store import get_store
    from jupyter_mlops.tracking import capture

    monkeypatch.setenv("MLOPS_ENV_CACHE", str(tmp_path / "envs"))
    real = json.loads(capture.environment())
    wanted = {"six": {"version": "9999.0"},  # no such release on the registry
              "ipykernel": real["distributions"]["ipykernel"]}
    monkeypatch.setattr(capture, "environment",
                        lambda: json.dumps({**real, "distributions": wanted}))
    ip.run_cell("%%track -n unbuildable\nx = 1")
    run = mlops.get_run(mlops.search_runs().run_id[0])
    store = get_store()

    before = store_state(store)
    with pytest.raises(mlops.EnvironmentBuildError, match="six==9999.0"):
        mlops.reproduce_run(run.id, env="recorded", progress=False)
    assert store_state(store) == before
    assert not list((tmp_path / "envs").glob("*/mlops-complete.json"))  # no environment left


# -- adapters: what they pass on and show -----------------------------------------------------

@pytest.fixture
def shell(mlops, tmp_path, monkeypatch):
    """An InteractiveShell on the world's project, the extension loaded."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    InteractiveShell.clear_instance()
    cfg = Config()
    cfg.HistoryManager.hist_file = ":memory:"
    ip = InteractiveShell.instance(config=cfg)
    ip.run_line_magic("load_ext", "jupyter_mlops")
    yield ip
    import atexit

    atexit.unregister(ip.atexit_operations)
    InteractiveShell.clear_instance()


def test_the_magic_reproduces_and_displays_bad_usage_is_a_usage_error(world, shell):
    from IPython.core.error import UsageError
    from IPython.utils.capture import capture_output

    run_id = world["runs"]["doomed"]
    with capture_output() as out:
        result = shell.run_cell(f"%track reproduce {run_id[:8]} --tolerance 0.001")
    assert result.error_in_exec is None, out.stderr
    [shown] = [o for o in out.outputs if "text/html" in o.data]
    page = shown.data["text/html"]
    assert "reproduced" in page and run_id in page and "what else differs" in page
    from jupyter_mlops.repro.reproduce import reproductions_of

    done = reproductions_of(run_id)[0]
    assert (done.state, done.tolerance, done.env) == ("reproduced", 0.001, "current")
    for line, message in [(f"%track reproduce {run_id} --tolerance -1",
                           "tolerance must be a number >= 0, got -1.0"),
                          (f"%track reproduce {run_id} --env conda", "invalid choice: 'conda'"),
                          ("%track reproduce", "the following arguments are required: run")]:
        with capture_output():
            result = shell.run_cell(line)
        assert isinstance(result.error_in_exec, UsageError), line
        assert message in str(result.error_in_exec)
        assert "usage: %track reproduce RUN" in str(result.error_in_exec)


def test_the_cli_exits_0_reproduced_1_differs_2_bad_usage(world, mlops, capsys):
    import json

    doomed = world["runs"]["doomed"]
    code, out, err = cli(capsys, "runs", "reproduce", doomed, "--format", "json")
    assert code == 0, err
    record = json.loads(out)
    assert record["state"] == "reproduced" and record["original_run_id"] == doomed
    assert record["diff"]["metrics"] == [] and record["source"] == "snapshot"
    code, out, err = cli(capsys, "runs", "reproduce", world["runs"]["unseeded"], "--quiet")
    assert code == 1
    assert out.startswith("differs: noise ") and f"original run {world['runs']['unseeded']}" in out
    code, out, err = cli(capsys, "runs", "reproduce", doomed, "--tolerance", "-1")
    assert code == 2 and err.strip().endswith("tolerance must be a number >= 0, got -1.0")
    code, out, err = cli(capsys, "runs", "reproduce", doomed, "--env", "conda")
    assert code == 2 and "invalid choice: 'conda'" in err


@pytest.fixture
def world_api(world, project, monkeypatch, api):
    """The REST API (a real Jupyter server) on the world's project."""
    monkeypatch.setenv("MLOPS_PROJECT_ROOT", str(world["root"]))
    monkeypatch.chdir(world["root"])
    _forget()
    return api


async def test_rest_starts_a_reproduction_in_its_own_process_follows_and_lists_it(world,
                                                                                  world_api):
    import asyncio

    from jupyter_mlops.repro.reproduce import reproductions_of

    api, run_id = world_api, world["runs"]["doomed"]
    before = len(reproductions_of(run_id))
    for path, body, code, message in [
            (f"runs/{run_id}/reproduce", {"env": "conda"}, 400, "env: input should be"),
            (f"runs/{run_id}/reproduce", {"tolerance": -1}, 400, "tolerance: input should be"),
            (f"runs/{run_id}/reproduce", {"tolerance": 1, "x": 1}, 400, "x: extra inputs"),
            ("runs/0123456789abcdef/reproduce", {}, 404, "no run with id starting")]:
        status, answer = await api(path, "POST", body)
        assert (status, message in answer["error"]) == (code, True), answer
    assert len(reproductions_of(run_id)) == before
    for path in ("reproductions/0123456789abcdef", "reproductions/nothex",
                 "runs/0123456789abcdef/reproductions"):
        status, answer = await api(path)
        assert status == 404, (path, answer)
    status, started = await api(f"runs/{run_id}/reproduce", "POST", {"tolerance": 1e-6})
    assert status == 202
    record = started["reproduction"]
    assert (record["state"], record["phase"], record["original_run_id"], record["tolerance"]) \
        == ("running", "preparing", run_id, 1e-6)
    phases = []
    for _ in range(600):  # the replay's process reports as it goes (at most 5 minutes)
        status, record = await api(f"reproductions/{record['id']}")
        assert status == 200
        phases.append(record["phase"])
        if record["state"] != "running":
            break
        await asyncio.sleep(0.5)
    assert record["state"] == "reproduced", record["message"]
    assert record["phase"] == "done" and record["run_id"] and record["diff"]["metrics"] == []
    assert phases[-1] == "done" and set(phases) <= {"preparing", "executing", "comparing", "done"}
    status, listed = await api(f"runs/{run_id[:8]}/reproductions")
    assert status == 200 and listed["reproductions"][0]["id"] == record["id"]
    assert [r["started_at"] for r in listed["reproductions"]] == sorted(
        (r["started_at"] for r in listed["reproductions"]), reverse=True)


@pytest.mark.postgres
def test_a_run_on_postgresql_reproduces(pg_uri, project, mlops_here):
    session(project, ["%load_ext jupyter_mlops",
                      "%%track -n pg\nimport jupyter_mlops as mlops\nmlops.log_metric('a', 2.0)"],
            store_uri=pg_uri)
    [run_id] = mlops_here.search_runs()["run_id"]
    done = mlops_here.reproduce_run(run_id, progress=False)
    assert done.state == "reproduced" and done.source == "snapshot"
    assert done.notes[0] == "ran from the snapshot alone: no commit recorded"
    assert done.run.metrics == {"a": 2.0} and done.run.tags["mlops.reproduces"] == run_id
    import psycopg

    with psycopg.connect(pg_uri) as conn:
        row = conn.execute("SELECT state, run_id, started_by FROM reproductions").fetchone()
    assert row[:2] == ("reproduced", done.run_id) and row[2]


# -- the recorded environment -----------------------------------------------------------------

OLD_SIX = "1.16.0"  # what the run's own environment has: not this environment's six


def test_a_run_replays_in_its_recorded_environment(project, mlops_here, tmp_path, monkeypatch):
    """A notebook run made in a small venv (this source tree's wheel, six pinned older) is
    replayed in its recorded packages rebuilt by uv, not in this environment."""
    import json
    from importlib.metadata import version

    from jupyter_mlops.repro import sources
    from jupyter_mlops.repro.uv import run_uv
    from jupyter_mlops.tracking.installed import distributions

    assert version("six") != OLD_SIX
    cache, venv, kernels = tmp_path / "envs", tmp_path / "venv", tmp_path / "jupyter"
    wheel = sources.wheel(sources.running_package()[0], cache, lambda line: None)
    pins = tmp_path / "constraints.txt"  # this environment's versions: in uv's cache already
    pins.write_text("".join(f"{name}=={item['version']}\n" for name, item in
                            distributions().items() if "direct_url" not in item and name != "six"))
    run_uv(["venv", "--python", sys.executable, str(venv)], lambda line: None, "venv")
    run_uv(["pip", "install", "--python", str(venv / "bin" / "python"), "-c", str(pins),
            str(wheel), f"six=={OLD_SIX}"], lambda line: None, "install")
    spec = kernels / "kernels" / "small"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(venv / "bin" / "python"), "-m", "ipykernel_launcher", "-f",
                 "{connection_file}"], "display_name": "small", "language": "python",
        "env": {"PYTHONPATH": ""}}))
    monkeypatch.setenv("JUPYTER_PATH", str(kernels))
    session(project, ["%load_ext jupyter_mlops",
                      "%%track -n small\nimport six\nimport jupyter_mlops as mlops\n"
                      "mlops.log_param('six', six.__version__)\nmlops.log_metric('m', 1.0)"],
            kernel="small")
    monkeypatch.delenv("JUPYTER_PATH")
    monkeypatch.setenv("MLOPS_ENV_CACHE", str(cache))
    [run_id] = mlops_here.search_runs()["run_id"]
    assert mlops_here.get_run(run_id).params == {"six": OLD_SIX}
    phases = []
    done = mlops_here.reproduce_run(run_id, env="recorded",
                                    progress=lambda phase, fraction: phases.append(phase))
    assert done.state == "reproduced", (done.message, done.notes)
    assert done.env == "recorded" and done.run.params == {"six": OLD_SIX}
    assert done.run.environment["distributions"]["six"]["version"] == OLD_SIX
    assert phases[0] == "building environment" and "executing" in phases
    assert any(n.startswith("ran in the recorded environment (built: ") for n in done.notes)
    assert done.to_dict()["diff"]["python"] is None
    again = mlops_here.reproduce_run(run_id, env="recorded", progress=False)
    assert again.state == "reproduced"  # from the cache: the same environment, not rebuilt
    assert any(n.startswith("ran in the recorded environment (reused: ") for n in again.notes)
    here = mlops_here.reproduce_run(run_id, progress=False)  # env current: six as it is here
    assert here.run.params == {"six": version("six")}
    assert {"name": "six", "a": OLD_SIX, "b": version("six")} in here.diff.packages["changed"]
