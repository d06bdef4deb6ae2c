"""A team on S3: the team store's metadata on PostgreSQL and its artifacts in a bucket of
moto's S3 server (the real s3fs and botocore talking HTTP, the endpoint from
AWS_ENDPOINT_URL_S3), two users (a contributor and a maintainer) each writing runs with
artifacts, a dataset version and a model version, and each reading the other's back, bytes
checked."""

from __future__ import annotations

import os
import uuid
import warnings
from pathlib import Path

import pytest
from test_artifacts import s3_endpoint  # noqa: F401 - the module's moto server, shared

pytestmark = pytest.mark.postgres


@pytest.fixture
def s3_team(team, monkeypatch, s3_endpoint):  # noqa: F811
    """The team store with its artifacts at s3://BUCKET/team (a fresh bucket); (client,
    bucket)."""
    import boto3
    import s3fs

    from jupyter_mlops.store import reset

    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1",
                       "AWS_ENDPOINT_URL_S3": s3_endpoint}.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    bucket = f"team-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    client.create_bucket(Bucket=bucket)
    monkeypatch.setenv("MLOPS_ARTIFACT_URI", f"s3://{bucket}/team")
    s3fs.S3FileSystem.clear_instance_cache()
    reset()
    yield client, bucket
    s3fs.S3FileSystem.clear_instance_cache()


def test_two_users_write_and_read_each_others_work_on_s3(team, s3_team, mlops, tmp_path):
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    client, bucket = s3_team
    made = {}
    for role in ("contributor", "maintainer"):
        user = team.users[role]
        blob = os.urandom(4096)
        data = tmp_path / f"{role}.csv"
        data.write_text("x,y\n" + "".join(f"{i},{i * (2 if role == 'maintainer' else 3)}\n"
                                          for i in range(20)))
        frame = pd.read_csv(data)
        with team.acting_as(user), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert not mlops.get_store().artifacts.local
            with mlops.start_run(name=f"{role}'s run") as run:
                mlops.log_artifact(blob, name="weights.bin")
                version = mlops.version_dataset(data, f"{role}-data", role="train")
                model = LinearRegression().fit(frame[["x"]], frame["y"])
                registered = mlops.register_model(model, f"{role}-model")
        made[role] = {"user": user, "run": run.id, "blob": blob, "data": data.read_bytes(),
                      "dataset": version.ref, "model": registered.ref,
                      "model_digest": registered.digest, "slope": model.coef_[0]}

    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys and all(k.startswith("team/") for k in keys)
    for reader, writer in (("contributor", "maintainer"), ("maintainer", "contributor")):
        theirs = made[writer]
        with team.acting_as(made[reader]["user"]):
            run = mlops.get_run(theirs["run"])
            assert run.to_dict()["user"] == theirs["user"]
            assert run.load_artifact("weights.bin") == theirs["blob"]
            path = mlops.load_dataset(theirs["dataset"], as_path=True)
            assert Path(path).read_bytes() == theirs["data"]
            assert mlops.get_store().artifacts.get_bytes(theirs["model_digest"]) == \
                   _object(client, bucket, theirs["model_digest"])
            model = mlops.load_model(theirs["model"])
            assert np.isclose(model.coef_[0], theirs["slope"])


def _object(client, bucket: str, digest: str) -> bytes:
    return client.get_object(Bucket=bucket, Key=f"team/{digest[:2]}/{digest[2:]}")["Body"].read()
