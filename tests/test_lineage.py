"""lineage(ref): run ↔ dataset versions, notebook and commit, from providers registered by
entry point."""

from __future__ import annotations

import pandas as pd
import pytest

from jupyter_mlops.errors import MLOpsUsageError


def test_run_and_dataset_lineage(backend, mlops, monkeypatch, project):
    monkeypatch.setenv("MLOPS_NOTEBOOK", str(project / "nb" / "train.ipynb"))
    df = pd.DataFrame({"a": [1, 2, 3]})
    with mlops.start_run(name="prep") as prep:
        mlops.version_dataset(df, "clean", role="train")
    with mlops.start_run(name="train") as train:
        mlops.load_dataset("clean@1")
    lin = mlops.lineage(train.id)
    assert lin.root.id == f"run:{train.id}"
    kinds = {n.kind for n in lin.nodes.values()}
    assert kinds >= {"run", "dataset", "notebook"}
    edges = {(e.source, e.relation, e.target) for e in lin.edges}
    assert ("dataset:clean@1", "input", f"run:{train.id}") in edges
    assert ("dataset:clean@1", "input (train)", f"run:{prep.id}") in edges
    assert ("notebook:nb/train.ipynb", "source", f"run:{train.id}") in edges
    upstream = {n.id for n in lin.upstream()}
    assert {"dataset:clean@1", "notebook:nb/train.ipynb"} <= upstream
    assert f"run:{prep.id}" not in upstream  # it read (versioned) the data as its input too
    from_data = mlops.lineage("clean@1")
    assert {f"run:{prep.id}", f"run:{train.id}"} <= set(from_data.nodes)
    assert set(from_data.to_frame().columns) == {"source", "relation", "target"}
    assert from_data.to_dict()["root"] == "dataset:clean@1"
    fig = from_data.figure()
    assert {t.name for t in fig.data if t.name} >= {"dataset", "run"}


def test_unknown_references(project, mlops):
    with pytest.raises(MLOpsUsageError, match="nothing named 'ghost@1'"):
        mlops.lineage("ghost@1")
    with pytest.raises(mlops.NotFoundError):
        mlops.lineage("0123456789abcdef")
