"""The scoring server over real HTTP (a subprocess on a free loopback port), batch scoring,
and the monitoring sample the server keeps."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import error_line
from sklearn.datasets import load_wine
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from jupyter_mlops.cli import main
from jupyter_mlops.registry.signature import SignatureError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def wine_models(mlops):
    """wine-clf@1 (scaler + logistic regression, production) and @2 (random forest)."""
    frame = load_wine(as_frame=True).frame
    X, y = frame.drop(columns="target"), frame["target"]
    models = []
    for name, model in (("lr", make_pipeline(StandardScaler(), LogisticRegression())),
                        ("rf", RandomForestClassifier(n_estimators=10, random_state=1))):
        with mlops.start_run(name=name):
            mlops.version_dataset(frame, "wine", role="train")
            models.append(model.fit(X, y))
            mlops.register_model(models[-1], "wine-clf",
                                 alias="production" if name == "lr" else None)
    return X, models


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(url: str, body: bytes | None = None, content_type: str = "application/json"):
    """(status, parsed JSON body) of a GET, or of a POST when `body` is given."""
    req = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET",
                                 headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@contextmanager
def serving(ref: str, logs: list[str] | None = None, **extra_env: str):
    """The server of `ref` on a free port (its URL); its stderr lines go to `logs` when it
    stops."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), **extra_env}
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter_mlops.cli", "serve", ref, "--port", str(port),
         "--poll-interval", "0.2", "--sample-rate", "1", "--sample-interval", "0.3"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"the server exited: {proc.stderr.read()}")
            try:
                if request(url + "/health")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("the server did not come up within 60 s")
            time.sleep(0.1)
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        if logs is not None:
            logs.extend(proc.stderr.read().splitlines())


def post(url: str, payload) -> tuple[int, dict]:
    return request(url + "/invocations", json.dumps(payload).encode())


def test_server_scores_follows_its_alias_and_samples(backend, mlops, wine_models):
    X, (lr, rf) = wine_models
    rows = X.iloc[:5]
    expected = lr.predict(rows).tolist()
    with serving("wine-clf@production") as url:
        assert request(url + "/health") == (200, {"status": "ok", "model": "wine-clf",
                                                  "version": 1})
        status, meta = request(url + "/metadata")
        assert status == 200 and meta["ref"] == "wine-clf@1" and meta["follows_alias"]
        assert [c["name"] for c in meta["signature"]["inputs"]] == list(X.columns)
        split = json.loads(rows.to_json(orient="split", index=False))
        records = rows.to_dict(orient="records")
        bodies = [
            {"dataframe_split": split},
            {"dataframe_records": records},
            {"inputs": records},
            {"inputs": rows.to_dict(orient="list")},
            {"inputs": rows.to_numpy().tolist()},
            {"instances": records},
            records,
        ]
        for body in bodies:
            assert post(url, body) == (200, {"predictions": expected}), body
        status, body = request(url + "/invocations", rows.to_csv(index=False).encode(), "text/csv")
        assert (status, body) == (200, {"predictions": expected})

        # bad input: 4xx with a message, never a 500
        status, body = request(url + "/invocations", b"{not json")
        assert status == 400 and "not valid JSON" in body["error"]
        status, body = post(url, {"dataframe_records": [{"alcohol": "strong", "colour": 1}]})
        assert status == 422 and "does not match the model's signature" in body["error"]
        assert body["detail"]["extra"] == ["colour"] and "malic_acid" in body["detail"]["missing"]
        assert body["detail"]["mistyped"] == [{"column": "alcohol", "expected": "float",
                                               "got": "string"}]
        status, body = post(url, {"rows": records})
        assert status == 400 and "expected exactly one of" in body["error"]
        status, body = post(url, {"inputs": [[1.0, 2.0]]})
        assert status == 400 and "each row needs 13 values" in body["error"]
        with_nan = dict(records[0], alcohol=None)
        status, body = post(url, [with_nan])  # a logistic regression refuses NaN
        assert status == 422 and "could not score this input" in body["error"]

        # the alias moves: the running server picks it up without a restart
        mlops.set_alias("wine-clf", "production", 2, comment="forest")
        deadline = time.monotonic() + 15
        while request(url + "/health")[1]["version"] != 2:
            assert time.monotonic() < deadline, "the server did not follow the alias"
            time.sleep(0.1)
        assert post(url, records) == (200, {"predictions": rf.predict(rows).tolist()})
    from jupyter_mlops.serving.samples import monitoring_data

    sample = monitoring_data("wine-clf")
    assert set(sample["version"]) == {1, 2} and set(sample["source"]) == {"serving"}
    scored_v1 = sample[sample["version"] == 1]
    assert len(scored_v1) == 8 * len(rows)  # every accepted request, and nothing refused
    assert scored_v1["prediction"].tolist() == expected * 8
    assert list(sample.columns[:13]) == list(X.columns)
    assert str(sample["timestamp"].dt.tz) == "UTC"


def test_serving_a_bad_reference_fails_with_one_line(project, mlops, wine_models):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for ref, code, message in (("ghost@production", 2, "no model named 'ghost'"),
                               ("wine-clf@staging", 2, "has no alias 'staging'"),
                               ("wine@@x", 2, "alias '@x' must match")):
        done = subprocess.run([sys.executable, "-m", "jupyter_mlops.cli", "serve", ref],
                              env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == code, done.stderr
        assert message in error_line(done.stderr)


def test_serve_refuses_a_version_it_cannot_serve_and_keeps_the_previous(project, mlops,
                                                                       wine_models):
    """The alias moves to a pickle version (no allow_pickle setting): the server keeps serving
    the previous version, says why once, and shows it in /metadata; it follows the next move.
    Started on that version it refuses to start, in one line; the setting lets it."""
    X, (lr, rf) = wine_models
    rows = X.iloc[:5]
    mlops.register_model(lr, "wine-clf", flavor="joblib", signature=X)  # wine-clf@3, pickle
    logs: list[str] = []
    with serving("wine-clf@production", logs) as url:
        mlops.set_alias("wine-clf", "production", 3)
        deadline = time.monotonic() + 15
        while request(url + "/metadata")[1]["refused"] is None:
            assert time.monotonic() < deadline, "the server did not look at the alias"
            time.sleep(0.1)
        time.sleep(1)  # several more polls: the refusal is logged once
        meta = request(url + "/metadata")[1]
        assert meta["version"] == 1 and meta["refused"]["version"] == 3
        assert "saved with joblib (pickle)" in meta["refused"]["reason"]
        assert "MLOPS_ALLOW_PICKLE=1" in meta["refused"]["reason"]
        assert request(url + "/health")[1]["version"] == 1
        assert post(url, rows.to_dict(orient="records")) == (200, {"predictions":
                                                                   lr.predict(rows).tolist()})
        mlops.set_alias("wine-clf", "production", 2)
        while request(url + "/health")[1]["version"] != 2:
            assert time.monotonic() < deadline + 15, "the server did not follow the alias"
            time.sleep(0.1)
        assert request(url + "/metadata")[1]["refused"] is None
    refusals = [line for line in logs if "which is not served" in line]
    assert len(refusals) == 1, logs
    assert "wine-clf@production moved to wine-clf@3, which is not served: model wine-clf@3 is " \
        "saved with joblib (pickle)" in refusals[0]
    assert refusals[0].endswith("; still serving wine-clf@1")
    assert not any("Traceback" in line for line in logs)

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "jupyter_mlops.cli", "serve", "wine-clf@3"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stdout == "", done.stderr
    assert done.stderr.startswith("jupyter mlops: cannot serve wine-clf@3: model wine-clf@3 is "
                                  "saved with joblib (pickle)")
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    with serving("wine-clf@3", MLOPS_ALLOW_PICKLE="1") as url:
        assert post(url, rows.to_dict(orient="records")) == (200, {"predictions":
                                                                   lr.predict(rows).tolist()})


def test_batch_scoring_parquet_and_csv(project, mlops, wine_models, tmp_path):
    X, (lr, _) = wine_models
    data = X.assign(id=range(len(X)))
    data.to_parquet(tmp_path / "in.parquet")
    data.to_csv(tmp_path / "in.csv", index=False)
    report = mlops.score_batch("wine-clf@production", tmp_path / "in.parquet",
                               tmp_path / "out.parquet", batch_size=50, progress=False)
    assert report.rows == len(X) and report.model == "wine-clf@1"
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert out.columns.tolist() == [*data.columns, "prediction"]
    np.testing.assert_array_equal(out["prediction"], lr.predict(X))
    assert main(["models", "score", "wine-clf/1", str(tmp_path / "in.csv"),
                 str(tmp_path / "out.csv"), "--batch-size", "40"]) == 0
    np.testing.assert_array_equal(pd.read_csv(tmp_path / "out.csv")["prediction"], lr.predict(X))


def test_batch_scoring_refuses_input_that_does_not_fit(project, mlops, wine_models, tmp_path,
                                                       capsys):
    X, _ = wine_models
    X.drop(columns=["proline"]).to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(SignatureError, match="missing proline"):
        mlops.score_batch("wine-clf@1", tmp_path / "bad.parquet", tmp_path / "out.parquet")
    assert not (tmp_path / "out.parquet").exists()
    assert not any(p.name.startswith((".out", "out")) for p in tmp_path.iterdir())
    assert main(["models", "score", "wine-clf@1", str(tmp_path / "bad.parquet"),
                 str(tmp_path / "o.parquet")]) == 2
    assert "missing proline" in capsys.readouterr().err
    assert main(["models", "score", "wine-clf@1", str(tmp_path / "nope.parquet"),
                 str(tmp_path / "o.parquet")]) == 2
    assert main(["models", "score", "wine-clf@1", str(tmp_path / "bad.parquet"),
                 str(tmp_path / "o.json")]) == 2
