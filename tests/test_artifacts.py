"""The artifact store: content addressing (blake3, the same bytes stored once), verified reads,
folders and objects, names that try to escape, gc (also while another process writes), and
the s3:// path through s3fs against moto's S3 server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jupyter_mlops.errors import IntegrityError, MLOpsUsageError, StoreError
from jupyter_mlops.store import get_store, reset
from jupyter_mlops.store.tables import artifacts, blobs
from jupyter_mlops.tracking.manage import delete_run

REPO = Path(__file__).resolve().parents[1]


def _blake3(data: bytes) -> str:
    from blake3 import blake3

    return blake3(data).hexdigest()


def _count(table) -> int:
    with get_store().read() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def _blob_files(project: Path) -> list[Path]:
    root = project / ".mlops" / "artifacts"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _blob_path(digest: str) -> Path:
    store = get_store()
    return Path(store.artifacts.path(digest))


# --------------------------------------------------------------------------- content addressing


def test_same_bytes_are_stored_once(backend, mlops, project, tmp_path):
    data = os.urandom(10_000)
    (tmp_path / "weights.bin").write_bytes(data)
    with mlops.start_run(name="a") as a:
        mlops.log_artifact(tmp_path / "weights.bin")
    with mlops.start_run(name="b") as b:
        mlops.log_artifact(tmp_path / "weights.bin", name="copy/weights.bin")
        mlops.log_artifact(data, name="same-as-bytes.bin")
    digest = _blake3(data)
    assert mlops.get_run(a.id).artifacts["weights.bin"].digest == digest
    assert {i.digest for i in mlops.get_run(b.id).artifacts.values()} == {digest}
    assert _count(artifacts) == 3 and _count(blobs) == 1
    assert _blob_files(project) == [_blob_path(digest)]
    assert _blob_path(digest).read_bytes() == data
    assert mlops.get_run(b.id).load_artifact("copy/weights.bin") == data


def test_put_digests_are_blake3(project, tmp_path):
    store = get_store().artifacts
    data = b"hello blobs"
    assert store.put_bytes(data) == (_blake3(data), len(data))
    (tmp_path / "f").write_bytes(data)
    assert store.put_file(tmp_path / "f") == (_blake3(data), len(data))
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert store.put_file(empty) == (_blake3(b""), 0)
    assert store.get_bytes(_blake3(data)) == data and store.get_bytes(_blake3(b"")) == b""
    path = store.path(_blake3(data))
    assert path.endswith(f"{_blake3(data)[:2]}/{_blake3(data)[2:]}")
    # leftovers of interrupted writes never sit under a blob's name
    assert not [p for p in _blob_files(project) if p.name.startswith(".tmp-")]


def test_a_corrupted_blob_is_refused(project, mlops, tmp_path):
    with mlops.start_run() as run:
        mlops.log_artifact(b"the real bytes", name="model.bin")
    digest = run.artifacts["model.bin"].digest
    _blob_path(digest).write_bytes(b"the evil bytes")
    with pytest.raises(IntegrityError, match="does not match"):
        run.load_artifact("model.bin")
    dest = tmp_path / "out" / "model.bin"
    with pytest.raises(IntegrityError, match="does not match"):
        run.download_artifact("model.bin", str(dest))
    assert not dest.exists()  # no corrupt copy left behind


def test_a_missing_blob_is_a_store_error(project, mlops, tmp_path):
    with mlops.start_run() as run:
        mlops.log_artifact({"a": 1}, name="d.json")
    _blob_path(run.artifacts["d.json"].digest).unlink()
    for call in (lambda: run.load_artifact("d.json"),
                 lambda: run.download_artifact("d.json", str(tmp_path / "d.json"))):
        with pytest.raises(StoreError, match="missing") as err:
            call()
        assert not isinstance(err.value, IntegrityError)


def test_a_lost_blob_is_written_again_by_the_next_put(project, mlops):
    with mlops.start_run() as first:
        mlops.log_artifact(b"precious", name="p.bin")
    path = _blob_path(_blake3(b"precious"))
    path.unlink()  # lost behind the store's back; its `blobs` row remains
    with mlops.start_run() as second:
        mlops.log_artifact(b"precious", name="p.bin")
    assert path.read_bytes() == b"precious"
    assert mlops.get_run(first.id).load_artifact("p.bin") == b"precious"
    assert mlops.get_run(second.id).load_artifact("p.bin") == b"precious"


def test_folder_artifacts(project, mlops, tmp_path):
    folder = tmp_path / "report"
    (folder / "sub").mkdir(parents=True)
    (folder / "index.html").write_text("<h1>hi</h1>")
    (folder / "sub" / "data.csv").write_text("a,b\n1,2\n")
    (folder / "sub" / "same.csv").write_text("a,b\n1,2\n")
    (folder / "empty").mkdir()
    with mlops.start_run() as run:
        assert mlops.log_artifact(folder) == "report"
        assert mlops.log_artifact(folder, name="again/copy") == "again/copy"
    arts = mlops.get_run(run.id).artifacts
    assert sorted(arts) == sorted(
        f"{base}/{p}" for base in ("report", "again/copy")
        for p in ("index.html", "sub/data.csv", "sub/same.csv"))
    assert arts["report/index.html"].media_type == "text/html"
    assert arts["report/sub/data.csv"].media_type == "text/csv"
    assert run.load_artifact("report/sub/data.csv") == "a,b\n1,2\n"
    assert _count(blobs) == 2  # two distinct contents among six entries
    out = run.download_artifact("again/copy/index.html", str(tmp_path / "dl" / "i.html"))
    assert Path(out).read_text() == "<h1>hi</h1>"


def test_objects_round_trip(project, mlops):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd
    import plotly.graph_objects as go

    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"], "c": [0.5, None, 1.5]})
    fig = go.Figure(go.Scatter(x=[1, 2, 3], y=[3, 1, 2], name="line"))
    mpl, ax = plt.subplots()
    ax.plot([1, 2, 3])
    with mlops.start_run() as run:
        assert mlops.log_artifact(frame) == "data.parquet"
        assert mlops.log_artifact(frame["a"], name="series.parquet") == "series.parquet"
        assert mlops.log_figure(fig, "curve.json") == "curve.json"
        assert mlops.log_artifact({"b": [1, 2], "a": {"nested": True}}, name="cfg.json")
        assert mlops.log_figure(mpl, "plot.png") == "plot.png"
        assert mlops.log_artifact([1, "two"]) == "data.json"
    plt.close(mpl)
    run = mlops.get_run(run.id)
    arts = run.artifacts
    assert arts["data.parquet"].media_type == "application/vnd.apache.parquet"
    pd.testing.assert_frame_equal(run.load_artifact("data.parquet"), frame)
    assert run.load_artifact("series.parquet")["a"].tolist() == [1, 2, 3]
    back = run.load_artifact("curve.json")
    assert isinstance(back, go.Figure)
    assert list(back.data[0].x) == [1, 2, 3] and back.data[0].name == "line"
    assert run.load_artifact("cfg.json") == {"b": [1, 2], "a": {"nested": True}}
    assert run.load_artifact("data.json") == [1, "two"]
    assert arts["plot.png"].media_type == "image/png"
    png = run.load_artifact("plot.png")
    assert isinstance(png, bytes) and png.startswith(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(MLOpsUsageError, match="cannot log"):
        mlops.log_artifact(object(), run=run)


def test_dot_folders_are_named_after_the_folder(project, mlops, tmp_path, monkeypatch):
    inner = tmp_path / "outer" / "inner"
    inner.mkdir(parents=True)
    (inner / "a.txt").write_text("a")
    (inner / "empty").mkdir()
    monkeypatch.chdir(inner)
    with mlops.start_run() as run:
        assert mlops.log_artifact(".") == "inner"
        assert mlops.log_artifact("..") == "outer"
        assert mlops.log_artifact("empty") == "empty"  # no files: nothing recorded
    assert sorted(mlops.get_run(run.id).artifacts) == ["inner/a.txt", "outer/inner/a.txt"]


@pytest.mark.parametrize("name", ["../x", "/abs", "a/../../x", "..", "a//b", "", "..\\x",
                                  "sub/..", 7])
def test_escaping_artifact_names_are_refused(project, mlops, tmp_path, name):
    (tmp_path / "f.txt").write_text("data")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "g.txt").write_text("more")
    with mlops.start_run():
        changes = get_store().last_change()
        for what in (tmp_path / "f.txt", tmp_path / "dir", {"k": 1}, b"raw"):
            with pytest.raises(MLOpsUsageError, match="artifact name"):
                mlops.log_artifact(what, name=name)
        assert get_store().last_change() == changes
    assert _count(artifacts) == 0 and _count(blobs) == 0 and _blob_files(project) == []
    assert not (tmp_path.parent / "x").exists() and not Path("/abs").exists()


# --------------------------------------------------------------------------- gc


def test_gc_removes_unreferenced_blobs_only_after_the_grace(backend, mlops):
    with mlops.start_run() as kept:
        mlops.log_artifact(b"shared", name="s.bin")
    with mlops.start_run() as gone:
        mlops.log_artifact(b"shared", name="s.bin")
        mlops.log_artifact(b"only mine", name="o.bin")
    with mlops.start_run() as archived:
        mlops.log_artifact(b"archived but referenced", name="a.bin")
    mine = _blake3(b"only mine")
    delete_run(gone.id, purge=True)
    delete_run(archived.id)  # archived, not purged: its blob stays

    report = mlops.gc()  # default grace: an hour
    assert (report.removed, report.kept) == (0, 3) and _blob_path(mine).exists()
    dry = mlops.gc(grace=0, dry_run=True)
    assert (dry.removed, dry.freed_bytes, dry.dry_run) == (1, len(b"only mine"), True)
    assert _blob_path(mine).exists()

    before = get_store().last_change()
    report = mlops.gc(grace=0)
    assert (report.removed, report.freed_bytes, report.kept) == (1, len(b"only mine"), 2)
    assert not _blob_path(mine).exists() and _count(blobs) == 2
    assert get_store().last_change() > before
    assert mlops.get_run(kept.id).load_artifact("s.bin") == b"shared"
    assert mlops.get_run(archived.id).load_artifact("a.bin") == b"archived but referenced"
    assert mlops.gc(grace=0).removed == 0  # referenced blobs are never removed
    # the same bytes logged again after gc are written again
    with mlops.start_run() as again:
        mlops.log_artifact(b"only mine", name="o.bin")
    assert mlops.get_run(again.id).load_artifact("o.bin") == b"only mine"


_WRITER = r"""
import random, sys, time
import jupyter_mlops as m
from jupyter_mlops.tracking.manage import delete_run
random.seed(int(sys.argv[1]))
payloads = [b"the same bytes, over and over", b"a second blob"]
for i in range(int(sys.argv[2])):
    with m.start_run(name=f"w{i}") as run:
        for j, data in enumerate(payloads):
            m.log_artifact(data, name=f"p{j}.bin")
    for j, data in enumerate(payloads):  # readable right after logging
        assert m.get_run(run.id).load_artifact(f"p{j}.bin") == data
    if i < int(sys.argv[2]) - 1:
        delete_run(run.id, purge=True)  # unreferenced again: gc may take it
    time.sleep(random.uniform(0, 1.0))
print("done", flush=True)
"""


@pytest.mark.slow
def test_gc_while_another_process_writes_the_same_bytes(project, mlops):
    grace = 0  # even with no grace: a blob removed mid-log is written again
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    with mlops.start_run():
        pass  # the store exists before both sides start
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, "7", "14"], cwd=project, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    removed = 0
    deadline = time.time() + 120
    while proc.poll() is None and time.time() < deadline:
        removed += mlops.gc(grace=grace).removed
        time.sleep(0.05)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.strip() == "done" and "Traceback" not in err
    assert removed > 0  # gc did win some of the time: the rewrite path was exercised
    store = get_store()
    with store.read() as conn:
        digests = conn.execute(select(artifacts.c.digest).distinct()).scalars().all()
    assert digests
    for digest in digests:  # every artifact row's blob is there and intact
        store.artifacts.get_bytes(digest)
    kept = mlops.search_runs(filter="name LIKE 'w%'")
    assert kept["name"].tolist() == ["w13"]
    for run_id in kept["run_id"]:
        assert mlops.get_run(run_id).load_artifact("p0.bin") == b"the same bytes, over and over"


# --------------------------------------------------------------------------- S3


@pytest.fixture(scope="module")
def s3_endpoint():
    """moto's standalone S3 server on a loopback port (in a thread of this process)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_project(project, monkeypatch, s3_endpoint):
    """The project's artifacts in a fresh bucket of the moto server; yields (client, bucket).

    The endpoint reaches s3fs through botocore's AWS_ENDPOINT_URL_S3: fsspec's own
    FSSPEC_S3_ENDPOINT_URL is read only when fsspec is first imported, too early for a test."""
    import uuid

    import boto3
    import s3fs

    creds = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
             "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL_S3": s3_endpoint}
    for key, value in creds.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    bucket = f"mlops-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    client.create_bucket(Bucket=bucket)
    monkeypatch.setenv("MLOPS_ARTIFACT_URI", f"s3://{bucket}/team/artifacts")
    s3fs.S3FileSystem.clear_instance_cache()
    reset()
    yield client, bucket
    s3fs.S3FileSystem.clear_instance_cache()


def _objects(client, bucket: str) -> dict[str, bytes]:
    listed = client.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {o["Key"]: client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
            for o in listed}


def test_s3_artifacts_through_moto(s3_project, mlops, tmp_path):
    """moto's standalone server is the closest thing to S3 that runs here: the real s3fs and
    botocore code talk HTTP to it, with the endpoint from AWS_ENDPOINT_URL_S3."""
    import pandas as pd

    client, bucket = s3_project
    assert not get_store().artifacts.local
    data = os.urandom(5000)
    (tmp_path / "model.bin").write_bytes(data)
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    with mlops.start_run() as a:
        mlops.log_artifact(tmp_path / "model.bin")
        mlops.log_artifact(frame, name="frame.parquet")
    with mlops.start_run() as b:
        mlops.log_artifact(data, name="same.bin")
    digest = _blake3(data)
    objects = _objects(client, bucket)
    key = f"team/artifacts/{digest[:2]}/{digest[2:]}"
    assert objects[key] == data
    assert len(objects) == 2  # the file and the bytes are one object; plus the parquet
    assert mlops.get_run(b.id).load_artifact("same.bin") == data
    pd.testing.assert_frame_equal(mlops.get_run(a.id).load_artifact("frame.parquet"), frame)
    out = mlops.get_run(a.id).download_artifact("model.bin", str(tmp_path / "dl.bin"))
    assert Path(out).read_bytes() == data

    client.put_object(Bucket=bucket, Key=key, Body=b"tampered")
    with pytest.raises(IntegrityError):
        mlops.get_run(a.id).load_artifact("model.bin")
    with pytest.raises(IntegrityError):
        mlops.get_run(a.id).download_artifact("model.bin", str(tmp_path / "bad.bin"))
    assert not (tmp_path / "bad.bin").exists()
    client.delete_object(Bucket=bucket, Key=key)
    with pytest.raises(StoreError, match="missing"):
        mlops.get_run(b.id).load_artifact("same.bin")


def test_s3_gc(s3_project, mlops):
    client, bucket = s3_project
    with mlops.start_run() as run:
        mlops.log_artifact(b"short-lived", name="x.bin")
        mlops.log_artifact(b"long-lived", name="y.bin")
    with mlops.start_run():
        mlops.log_artifact(b"long-lived", name="y.bin")
    delete_run(run.id, purge=True)
    assert mlops.gc().removed == 0 and len(_objects(client, bucket)) == 2
    assert mlops.gc(grace=0).removed == 1
    assert list(_objects(client, bucket).values()) == [b"long-lived"]


def test_a_blob_collected_between_put_and_record_is_written_again(project, mlops, monkeypatch):
    """gc can win the gap between storing a blob and the artifact row that protects it: the
    logging call notices after recording, and writes the blob again."""
    from jupyter_mlops.tracking import fluent

    real = fluent._record_artifacts

    def gc_in_the_gap(run, entries):
        assert mlops.gc(grace=0).removed == 1
        real(run, entries)

    monkeypatch.setattr(fluent, "_record_artifacts", gc_in_the_gap)
    with mlops.start_run() as run:
        mlops.log_artifact(b"racing", name="r.bin")
    assert mlops.get_run(run.id).load_artifact("r.bin") == b"racing"
