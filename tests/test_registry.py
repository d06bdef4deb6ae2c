"""The model registry API: versions, flavors, signatures, aliases and their audit record,
gates, comparison and lineage. Behaviour is tested here; adapters only for what they pass."""

from __future__ import annotations

import subprocess
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_wine
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from jupyter_mlops.errors import (
    FilterSyntaxError,
    GateError,
    MLOpsUsageError,
    NotFoundError,
    TrustError,
)
from jupyter_mlops.registry.flavors import UnsafeModelWarning
from jupyter_mlops.registry.signature import Signature, SignatureError


@pytest.fixture(scope="module")
def wine():
    frame = load_wine(as_frame=True).frame
    return frame, frame.drop(columns="target"), frame["target"]


def train(mlops, wine, name="rf", f1=0.9, model=None, register=None, **kwargs):
    """A run that versions the training data, fits, logs f1 and (optionally) registers."""
    frame, X, y = wine
    with mlops.start_run(name=name, params={"model": name}) as run:
        mlops.version_dataset(frame, "wine", role="train")
        fitted = (model or RandomForestClassifier(n_estimators=10, random_state=0)).fit(X, y)
        mlops.log_metric("f1", f1)
        version = mlops.register_model(fitted, register, **kwargs) if register else None
    return run, fitted, version


def counts(mlops) -> dict[str, int]:
    from sqlalchemy import func, select

    from jupyter_mlops.store import tables

    store = mlops.get_store()
    with store.read() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar()
                for t in (tables.models, tables.model_versions, tables.model_aliases,
                          tables.alias_events, tables.run_links)}


def test_register_alias_load_round_trip(backend, mlops, wine):
    _, X, _ = wine
    run, rf, v1 = train(mlops, wine, register="wine-clf", alias="production")
    assert (v1.name, v1.version, v1.run_id, v1.aliases) == ("wine-clf", 1, run.id, ("production",))
    assert v1.flavor == "sklearn" and v1.training_data == "dataset:wine@1"
    from jupyter_mlops.store.artifacts import digest_bytes

    assert digest_bytes(mlops.get_store().artifacts.get_bytes(v1.digest)) == v1.digest
    _, lr, v2 = train(mlops, wine, name="lr", model=make_pipeline(StandardScaler(), LogisticRegression()),
                      register="wine-clf")
    assert v2.version == 2 and v2.aliases == ()
    loaded = mlops.load_model("wine-clf@production")
    np.testing.assert_array_equal(loaded.predict(X), rf.predict(X))
    np.testing.assert_array_equal(mlops.load_model("wine-clf/2").predict(X), lr.predict(X))
    np.testing.assert_array_equal(mlops.load_model("model:wine-clf@latest").predict(X),
                                  lr.predict(X))
    mlops.set_alias("wine-clf", "production", 2)
    assert mlops.get_model_version("wine-clf@production").version == 2
    listed = mlops.list_models()
    assert listed.loc[0, ["name", "versions", "latest"]].tolist() == ["wine-clf", 2, 2]
    assert listed.loc[0, "aliases"] == "production→2"
    versions = mlops.list_models("wine-clf")
    assert versions["version"].tolist() == [1, 2] and versions["aliases"].tolist() == ["", "production"]
    assert [link.ref for link in run.outputs] == ["model:wine-clf@1"]


def test_loading_checks_the_content_hash(project, mlops, wine):
    _, _, version = train(mlops, wine, register="m")
    from pathlib import Path

    path = Path(mlops.get_store().artifacts.path(version.digest))
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(mlops.StoreError, match="does not match its digest"):
        mlops.load_model("m/1")


def test_a_pipeline_loads_through_skops_without_pickle(project, mlops, wine, monkeypatch):
    import pickle

    _, X, _ = wine
    pipe = make_pipeline(StandardScaler(), LogisticRegression())
    _, fitted, version = train(mlops, wine, model=pipe, register="pipe")
    assert version.flavor == "sklearn"

    def refuse(*args, **kwargs):
        raise AssertionError("pickle was used to load the model")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    loaded = mlops.load_model("pipe@1")
    assert [name for name, _ in loaded.steps] == ["standardscaler", "logisticregression"]
    np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))


def keep(X, pattern=None):
    return X


def test_what_skops_cannot_save_falls_back_to_joblib_loaded_only_on_opt_in(project, mlops,
                                                                            wine):
    import re

    _, X, _ = wine
    # skops cannot rebuild a compiled regular expression; pickle can
    step = FunctionTransformer(keep, kw_args={"pattern": re.compile(r"\d+")})
    pipe = make_pipeline(step, StandardScaler(), LogisticRegression(max_iter=2000))
    with pytest.warns(UnsafeModelWarning, match="falling back to joblib.*allow_pickle=True"):
        _, fitted, version = train(mlops, wine, model=pipe, register="lam")
    assert version.flavor == "joblib"
    with pytest.raises(TrustError, match=r"lam@1 is saved with joblib \(pickle\).*"
                                         r"allow_pickle=True.*MLOPS_ALLOW_PICKLE"):
        mlops.load_model("lam@1")
    loaded = mlops.load_model("lam@1", allow_pickle=True)
    np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))


class Threshold:
    """A model that is no scikit-learn estimator: saved by a plug-in flavor."""

    def __init__(self, column: str, cut: float):
        self.column, self.cut = column, cut

    def predict(self, frame):
        return (frame[self.column] > self.cut).astype(int).to_numpy()


class ThresholdFlavor:
    name = "threshold-json"
    safe = True

    def accepts(self, model):
        return isinstance(model, Threshold)

    def save(self, model):
        import json

        return json.dumps({"column": model.column, "cut": model.cut}).encode(), []

    def load(self, data, trusted):
        import json

        return Threshold(**json.loads(data))


def test_other_models_plug_in_through_a_flavor(project, mlops, monkeypatch):
    from jupyter_mlops.registry import flavors

    monkeypatch.setattr(flavors, "_registered", [])
    mlops.register_flavor(ThresholdFlavor())
    example = pd.DataFrame({"x": [0.5, 2.0]})
    version = mlops.register_model(Threshold("x", 1.0), "cut", signature=example)
    assert version.flavor == "threshold-json" and version.signature.inputs == (("x", "float"),)
    assert mlops.load_model("cut@1").predict(example).tolist() == [0, 1]
    with pytest.raises(MLOpsUsageError, match="a flavor needs 'name'"):
        mlops.register_flavor(object())


def test_signature_from_the_runs_training_data(project, mlops, wine):
    frame, X, _ = wine
    _, _, version = train(mlops, wine, register="m")
    sig = version.signature
    assert sig.columns == list(X.columns)  # the target the dataset holds is not an input
    assert set(dict(sig.inputs).values()) == {"float"}
    assert sig.output == {"kind": "classification", "classes": [0, 1, 2]}
    pd.testing.assert_frame_equal(sig.check(X.head(3)), X.head(3))


def test_signature_refusals_list_every_problem(project, mlops):
    sig = Signature((("age", "integer"), ("income", "float"), ("city", "string")),
                    {"kind": "regression"})
    bad = pd.DataFrame({"age": ["x"], "city": ["a"], "zip": [1]})
    with pytest.raises(SignatureError) as caught:
        sig.check(bad)
    message = str(caught.value)
    assert "missing income" in message and "extra zip" in message
    assert "mistyped age (string, expected integer)" in message
    assert caught.value.detail == {"missing": ["income"], "extra": ["zip"], "mistyped": [
        {"column": "age", "expected": "integer", "got": "string"}]}
    fine = sig.check(pd.DataFrame({"city": ["a"], "income": [3], "age": [40.0]}))
    assert fine.columns.tolist() == ["age", "income", "city"]
    assert (str(fine["age"].dtype), str(fine["income"].dtype)) == ("int64", "float64")
    with pytest.raises(SignatureError, match="mistyped age"):
        sig.check(pd.DataFrame({"age": [40.5], "income": [1.0], "city": ["a"]}))
    assert Signature.from_dict(sig.to_dict()) == sig


def test_registering_without_a_run_or_signature_warns(project, mlops):
    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    model = LogisticRegression().fit(X, [0, 0, 1, 1])
    with pytest.warns(UserWarning, match="has no signature"):
        version = mlops.register_model(model, "bare")
    assert version.run_id is None and version.signature is None
    explicit = mlops.register_model(model, "bare", signature=X.assign(unused=1))
    assert explicit.signature.columns == ["a"] and explicit.version == 2


def test_gates_refuse_and_say_why(backend, mlops, wine):
    train(mlops, wine, name="rf", f1=0.9, register="clf")
    gate = "metrics.f1 >= production.metrics.f1"
    # nobody holds production yet: a comparison with a missing value is false
    with pytest.raises(GateError, match="production.metrics.f1 = missing"):
        mlops.promote("clf", 1, "production", require=gate)
    mlops.promote("clf", 1, "production", require=f"production.version IS NULL or {gate}",
                  comment="first")
    train(mlops, wine, name="worse", f1=0.8, register="clf")
    before = counts(mlops)
    with pytest.raises(GateError) as caught:
        mlops.promote("clf", 2, "production", require=gate)
    assert str(caught.value) == ("clf@2 was not promoted to production: metrics.f1 = 0.8 is not "
                                 ">= production.metrics.f1 = 0.9")
    assert counts(mlops) == before
    assert mlops.get_model_version("clf@production").version == 1
    with pytest.raises(FilterSyntaxError, match="unknown field 'staging.metrics.f1'"):
        mlops.promote("clf", 2, "production", require="metrics.f1 > staging.metrics.f1")
    mlops.promote("clf", 2, "staging", require="metrics.f1 > 0.5 and params.model = 'worse'")
    assert counts(mlops)["alias_events"] == before["alias_events"] + 1


def test_every_alias_move_is_audited(backend, mlops, wine, monkeypatch):
    for i in range(3):
        train(mlops, wine, name=f"m{i}", f1=0.5 + i / 10, register="clf")
    mlops.set_alias("clf", "production", 1, comment="first release")
    mlops.set_alias("clf", "production", 2, actor="alice", comment="better")
    mlops.promote("clf", 3, "production", require="metrics.f1 > production.metrics.f1")
    mlops.delete_alias("clf", "production", comment="retired")
    history = mlops.alias_history("clf")
    rows = history[["alias", "from_version", "to_version", "actor", "comment", "gate"]]
    rows = rows.astype(object).where(rows.notna(), None).values.tolist()
    import getpass

    me = getpass.getuser()
    assert rows == [
        ["production", None, 1, me, "first release", None],
        ["production", 1, 2, "alice", "better", None],
        ["production", 2, 3, me, None, "metrics.f1 > production.metrics.f1"],
        ["production", 3, None, me, "retired", None],
    ]
    assert history["at"].is_monotonic_increasing and str(history["at"].dt.tz) == "UTC"
    assert len(mlops.alias_history("clf", "staging")) == 0
    with pytest.raises(NotFoundError, match="no alias 'production'"):
        mlops.load_model("clf@production")


def test_bad_input_leaves_the_store_untouched(project, mlops, wine):
    train(mlops, wine, register="clf")
    before = counts(mlops)
    model = LogisticRegression()
    cases = [
        (lambda: mlops.register_model(model, "a@b"), "may not contain @"),
        (lambda: mlops.register_model(model, "clf", alias="Prod"), "alias 'Prod' must match"),
        (lambda: mlops.register_model(object(), "clf"), "has no predict()"),
        (lambda: mlops.register_model(model, "clf", signature=42), "signature= takes"),
        (lambda: mlops.set_alias("clf", "production", 7), "has no version 7"),
        (lambda: mlops.set_alias("ghost", "production", 1), "no model named 'ghost'"),
        (lambda: mlops.set_alias("clf", "latest", 1), "alias 'latest' must match"),
        (lambda: mlops.promote("clf", 1, "production", require="metrics.f1 >"), "expected a value"),
        (lambda: mlops.load_model("clf@9"), "has no version 9"),
        (lambda: mlops.load_model("dataset:wine@1"), "not a model reference"),
        (lambda: mlops.compare_models("clf", "1"), "give a list of versions"),
    ]
    for call, message in cases:
        with pytest.raises(MLOpsUsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
            call()
    assert counts(mlops) == before


def test_versions_compared_side_by_side(project, mlops, wine):
    train(mlops, wine, name="rf", f1=0.9, register="clf", alias="production")
    train(mlops, wine, name="lr", f1=0.8, register="clf")
    comparison = mlops.compare_models("clf", ["production", 2])
    frame = comparison.to_frame()
    assert frame.columns.tolist() == ["v1 @production", "v2"]
    assert frame.loc["metrics.f1"].tolist() == [0.9, 0.8]
    assert frame.loc["params.model"].tolist() == ["rf", "lr"]
    fig = comparison.figure()
    assert [list(t.x) for t in fig.data] == [["v1 @production", "v2"]]
    assert comparison.to_dict()["versions"][0]["aliases"] == ["production"]
    assert "<table" in comparison._repr_html_()


def test_lineage_reaches_run_data_notebook_and_commit(backend, mlops, wine, monkeypatch, project):
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], cwd=project, check=True)
    (project / "train.py").write_text("# training\n")
    subprocess.run([*git, "add", "train.py"], cwd=project, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=project, check=True)
    monkeypatch.setenv("MLOPS_NOTEBOOK", str(project / "nb" / "train.ipynb"))
    run, _, _ = train(mlops, wine, register="clf", alias="production")
    with mlops.start_run(name="scorer") as scorer:
        mlops.load_model("clf@production")
    lin = mlops.lineage("clf/1")
    assert lin.root.id == "model:clf@1" and lin.root.data["aliases"] == ["production"]
    edges = {(e.source, e.relation, e.target) for e in lin.edges}
    assert (f"run:{run.id}", "output", "model:clf@1") in edges
    assert ("dataset:wine@1", "training data", "model:clf@1") in edges
    assert ("model:clf@1", "input", f"run:{scorer.id}") in edges
    upstream = {n.kind for n in lin.upstream()}
    assert upstream >= {"run", "dataset", "notebook", "commit"}
    assert mlops.lineage(run.id).nodes["model:clf@1"].kind == "model"
    mlops.version_dataset(pd.DataFrame({"a": [1]}), "clf")
    with pytest.raises(MLOpsUsageError, match="names more than one thing"):
        mlops.lineage("clf@1")
    assert mlops.lineage("model:clf@1").root.kind == "model"


def test_registering_flushes_buffered_metrics_for_gates(project, mlops, wine):
    frame, X, y = wine
    with mlops.start_run(name="live"):
        mlops.version_dataset(frame, "wine", role="train")
        mlops.log_metric("f1", 0.7)
        mlops.register_model(RandomForestClassifier(n_estimators=5).fit(X, y), "clf")
        mlops.promote("clf", 1, "staging", require="metrics.f1 = 0.7")
    assert mlops.get_model_version("clf@staging").version == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert mlops.get_model_version("clf").version == 1
