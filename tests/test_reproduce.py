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
import time
from pathlib import Path

import nbformat
import pytest
from conftest import ENV_KEYS, _forget

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
            store_uri: str | None = None) -> None:
    """Execute `cells` as analysis.ipynb in a real kernel importing this source tree;
    `after[i]()` runs (here) once cell i has."""
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

    NotebookClient(nb, timeout=120, kernel_name="python3", on_cell_executed=hook,
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
    assert any(n.startswith("replayed 1 earlier run(s) of the session on the way, archived")
               and "warmup" in n for n in done.notes)
    # the table row, as get_reproduction and list_reproductions read it
    again = mlops.get_reproduction(done.id[:8])
    assert (again.state, again.run_id, again.phase, again.progress, again.env) == (
        "reproduced", new.id, "done", 1.0, "current")
    assert again.ended_at >= again.started_at and again.notes == done.notes
    listed = mlops.list_reproductions(original.id)
    assert listed["id"].tolist() == [done.id]
    assert listed["state"].tolist() == ["reproduced"]


def test_a_run_across_cells_reproduces(world, mlops):
    original = mlops.get_run(world["runs"]["across"])
    done = mlops.reproduce_run(original, progress=False)
    assert done.state == "reproduced", (done.message, done.notes)
    assert done.run.metrics == original.metrics == {"rows_again": 150.0}
    assert done.run.tags["mlops.reproduces"] == original.id
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
    from sqlalchemy import func, select

    from jupyter_mlops.store import get_store
    from jupyter_mlops.store.tables import reproductions, runs

    store = get_store()
    digest = _blob_of(store, "iris", 1)
    blob = Path(store.artifacts.path(digest))
    moved = blob.with_suffix(".away")
    blob.rename(moved)
    try:
        with store.read() as conn:
            counts = [conn.execute(select(func.count()).select_from(t)).scalar() for t in
                      (runs, reproductions)]
        change = store.last_change()
        with pytest.raises(mlops.MLOpsUsageError) as refused:
            mlops.reproduce_run(world["runs"]["seeded"])
        assert str(refused.value) == (
            f"run {world['runs']['seeded'][:8]} read dataset iris version 1, whose blob "
            f"{digest} is missing from the artifact store "
            f"{store.artifacts.uri}: it cannot be reproduced; nothing was written")
        with store.read() as conn:
            assert [conn.execute(select(func.count()).select_from(t)).scalar() for t in
                    (runs, reproductions)] == counts
        assert store.last_change() == change
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
