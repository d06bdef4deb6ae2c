"""Dataset versions: whole-content digests, dedupe, files and folders, loading, run inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jupyter_mlops.errors import IntegrityError, MLOpsUsageError, NotFoundError


def frame(n: int = 100) -> pd.DataFrame:
    return pd.DataFrame({
        "id": range(n),
        "x": [i * 0.5 for i in range(n)],
        "colour": pd.array([["red", "green", "blue"][i % 3] for i in range(n)], dtype="string"),
        "maybe": [None if i % 10 == 0 else float(i) for i in range(n)],
    })


def blob_count(mlops) -> int:
    from jupyter_mlops.store.info import summary

    return summary()["blobs"]


def test_frame_versions_dedupe_and_change(backend, mlops):
    df = frame()
    v1 = mlops.version_dataset(df, "wine")
    assert (v1.name, v1.version, v1.kind, v1.format, v1.rows) == ("wine", 1, "frame", "parquet",
                                                                   100)
    blobs = blob_count(mlops)
    same = mlops.version_dataset(df.copy().set_index(pd.RangeIndex(7, 107)), "wine")
    assert same == v1 and blob_count(mlops) == blobs  # no new version, no new copy
    changed = df.copy()
    changed.loc[42, "x"] = -1.0
    v2 = mlops.version_dataset(changed, "wine")
    assert v2.version == 2 and v2.digest != v1.digest
    loaded = mlops.load_dataset("wine@1")
    pd.testing.assert_frame_equal(loaded, df)
    assert mlops.load_dataset("wine@latest").loc[42, "x"] == -1.0
    assert mlops.load_dataset(f"wine@sha:{v2.digest[:10]}").loc[42, "x"] == -1.0


def test_schema_and_profile(project, mlops):
    v = mlops.version_dataset(frame(), "d")
    schema = {c["name"]: c for c in v.schema}
    assert schema["colour"]["categories"] == ["blue", "green", "red"]
    assert schema["maybe"]["nullable"] is True and schema["x"]["nullable"] is False
    assert schema["id"]["dtype"] == "int64"
    cols = v.profile["columns"]
    assert cols["maybe"]["missing"] == 10
    assert cols["x"]["min"] == 0.0 and cols["x"]["max"] == 49.5
    assert cols["x"]["sum"] == sum(i * 0.5 for i in range(100)) and cols["x"]["count"] == 100
    levels = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)  # exact, numpy's linear quantiles
    assert cols["x"]["quantiles"] == dict(zip(map(str, levels), np.quantile(
        np.arange(100) * 0.5, levels).tolist(), strict=True))
    assert cols["maybe"]["quantiles"]["0.5"] == 50.0 and "sketch" not in cols["x"]
    assert cols["colour"]["counts"] == {"red": 34, "green": 33, "blue": 33}


def test_files_csv_and_bytes(backend, mlops, project):
    csv = project / "data.csv"
    frame(20).to_csv(csv, index=False)
    v = mlops.version_dataset(csv, "table")
    assert (v.kind, v.format, v.rows) == ("file", "csv", 20)
    assert list(mlops.load_dataset("table@1").columns) == ["id", "x", "colour", "maybe"]
    path = mlops.load_dataset("table@1", as_path=True)
    assert Path(path).read_text() == csv.read_text()
    raw = project / "weights.bin"
    raw.write_bytes(b"\x00\x01" * 1000)
    b = mlops.version_dataset(raw, "weights")
    assert b.format == "bytes" and b.rows is None
    assert Path(mlops.load_dataset("weights@1")).read_bytes() == raw.read_bytes()
    assert mlops.version_dataset(raw, "weights") == b


def test_tampered_blob_is_detected(project, mlops):
    from jupyter_mlops.store import get_store

    raw = project / "f.bin"
    raw.write_bytes(b"precious")
    mlops.version_dataset(raw, "f")
    store = get_store()
    from blake3 import blake3

    blob = store.artifacts.path(blake3(b"precious").hexdigest())
    with open(blob, "wb") as fh:
        fh.write(b"tampered")
    with pytest.raises(IntegrityError, match="does not match its digest"):
        mlops.load_dataset("f@1")


def test_folder_of_many_files_one_change_stores_one_blob(project, mlops):
    folder = project / "images"
    folder.mkdir()
    for i in range(1000):
        (folder / f"{i:04d}.txt").write_text(f"file {i}")
    v1 = mlops.version_dataset(folder, "images")
    assert v1.kind == "folder" and v1.size == sum(len(f"file {i}") for i in range(1000))
    blobs = blob_count(mlops)
    assert mlops.version_dataset(folder, "images") == v1
    (folder / "0500.txt").write_text("changed")
    v2 = mlops.version_dataset(folder, "images")
    assert v2.version == 2 and blob_count(mlops) == blobs + 1
    out = mlops.load_dataset("images@1")
    assert (Path(out) / "0500.txt").read_text() == "file 500"
    assert (Path(mlops.load_dataset("images@2")) / "0500.txt").read_text() == "changed"


def test_no_copy_tracks_by_reference_and_notices_changes(project, mlops):
    big = project / "big.parquet"
    frame(50).to_parquet(big)
    blobs = blob_count(mlops)
    v = mlops.version_dataset(big, "big", copy=False)
    assert v.copied is False and blob_count(mlops) == blobs
    assert len(mlops.load_dataset("big@1")) == 50
    frame(60).to_parquet(big)
    with pytest.raises(IntegrityError, match="changed since big@1 was versioned"):
        mlops.load_dataset("big@1")


def test_versions_and_loads_are_run_inputs(backend, mlops):
    with mlops.start_run() as run:
        mlops.version_dataset(frame(), "train", role="train")
        mlops.version_dataset(frame(10), "test", role="test")
        mlops.version_dataset(frame(), "train", role="train")  # the same link once
    assert [(i.kind, i.ref, i.role) for i in run.inputs] == [
        ("dataset", "dataset:train@1", "train"), ("dataset", "dataset:test@1", "test")]
    with mlops.start_run() as reader:
        mlops.load_dataset("test@latest")
    assert [i.ref for i in reader.inputs] == ["dataset:test@1"]


def test_bad_input_is_refused_and_writes_nothing(backend, mlops, project):
    from jupyter_mlops.store.info import summary

    mlops.version_dataset(frame(), "ok")
    before = summary()
    with pytest.raises(MLOpsUsageError, match="cannot version a int"):
        mlops.version_dataset(123, "x")
    with pytest.raises(MLOpsUsageError, match="may not contain @"):
        mlops.version_dataset(frame(), "a@b")
    with pytest.raises(MLOpsUsageError, match="no file or folder"):
        mlops.version_dataset(project / "nope.csv", "x")
    with pytest.raises(MLOpsUsageError, match="copy=False is for files"):
        mlops.version_dataset(frame(), "x", copy=False)
    bad = project / "bad.parquet"
    bad.write_text("not parquet")
    with pytest.raises(MLOpsUsageError, match="does not read as parquet"):
        mlops.version_dataset(bad, "x")
    assert summary() == before
    with pytest.raises(NotFoundError, match="no dataset named 'nope'"):
        mlops.load_dataset("nope@1")
    with pytest.raises(NotFoundError, match="has no version 9"):
        mlops.load_dataset("ok@9")
    with pytest.raises(MLOpsUsageError, match="no aliases"):
        mlops.load_dataset("ok@production")
    with pytest.raises(MLOpsUsageError, match="not a dataset reference"):
        mlops.load_dataset("model:ok@1")


def test_frame_digest_is_layout_free_and_whole():
    import numpy as np

    from jupyter_mlops.data.fingerprint import frame_digest

    df = pd.DataFrame({"a": np.arange(1000.0), "s": pd.array([str(i) for i in range(1000)],
                                                             dtype="string[pyarrow]")})
    base = frame_digest(df)
    assert frame_digest(pd.concat([df.iloc[:300], df.iloc[300:]])) == base  # chunked
    assert frame_digest(df.iloc[100:].reset_index(drop=True)) != base
    tail = df.iloc[500:]
    assert frame_digest(tail) == frame_digest(tail.reset_index(drop=True))  # sliced buffers
    assert frame_digest(df, index=True) != frame_digest(df.set_index(df.index + 1), index=True)
    other = df.copy()
    other.loc[999, "s"] = "x"  # the very last value counts
    assert frame_digest(other) != base
    assert frame_digest(df.astype({"a": "float32"})) != base  # dtypes count


def test_keyed_diff_shows_exactly_the_changed_row(backend, mlops):
    df = frame()
    mlops.version_dataset(df, "d")
    changed = df.copy()
    changed.loc[7, "x"] = 99.0
    mlops.version_dataset(changed, "d")
    diff = mlops.diff_datasets("d@1", "d@2", key="id")
    assert len(diff.changed_rows) == 1 and diff.changed_rows["id"].tolist() == [7]
    assert diff.changed_rows[("d@2", "x")].tolist() == [99.0]
    assert diff.added_rows.empty and diff.removed_rows.empty
    assert "x" in diff.columns and diff.rows == (100, 100)
    assert "by id: 0 added, 0 removed, 1 changed" in str(diff)
    assert diff.to_dict()["changed_rows"] == 1
    assert len(diff.figure().data) == 4


def test_schema_and_row_changes(project, mlops):
    df = frame()
    mlops.version_dataset(df, "d")
    other = df.drop(columns=["maybe"]).assign(extra=1, x=df["x"].astype("float32"))
    other = pd.concat([other, other.tail(1).assign(id=100)], ignore_index=True)
    mlops.version_dataset(other, "d")
    diff = mlops.diff_datasets("d@1", "d@latest", key=["id"])
    assert diff.added_columns == ["extra"] and diff.removed_columns == ["maybe"]
    assert diff.retyped_columns == {"x": ("float64", "float32")}
    assert diff.rows == (100, 101) and diff.added_rows["id"].tolist() == [100]
    frame_ = diff.to_frame().set_index("column")
    assert frame_.loc["extra", "change"] == "added" and frame_.loc["x", "change"] == "retyped"
    with pytest.raises(MLOpsUsageError, match="has no key column nope"):
        mlops.diff_datasets("d@1", "d@2", key="nope")


def test_validate_names_each_faulty_column(backend, mlops):
    mlops.version_dataset(frame(), "ref")
    good = frame(50)
    assert mlops.validate(good, "ref@1").ok
    bad = frame(50).drop(columns=["id"]).assign(new=1)
    bad["x"] = bad["x"].astype("float32")
    bad.loc[3, "x"] = 1000.0
    bad["colour"] = bad["colour"].astype("string").replace("red", "purple")
    bad = bad.astype({"colour": "string"})
    bad.loc[0, "x"] = None
    report = mlops.validate(bad, "ref@1")
    assert not report.ok
    checks = {(c, k) for c, k, _ in report.problems}
    assert checks >= {("id", "missing column"), ("new", "extra column"), ("x", "dtype"),
                      ("x", "nulls"), ("x", "out of range"), ("colour", "unseen categories")}
    assert "purple" in str(report)
    with pytest.raises(mlops.MLOpsUsageError, match="in id, new, x, colour"):
        mlops.validate(bad, "ref@1", strict=True)
    with pytest.raises(MLOpsUsageError, match="takes a DataFrame"):
        mlops.validate([1, 2], "ref@1")


def test_a_file_that_changes_while_stored_is_refused(project, mlops):
    """Digests from the stat cache are checked as the bytes are copied."""
    from jupyter_mlops.store import get_store

    path = project / "moving.bin"
    path.write_bytes(b"now")
    store = get_store()
    with pytest.raises(IntegrityError, match="changed while it was being stored"):
        store.artifacts.put_files([(path, "0" * 64, 3)])
    assert not store.artifacts.exists("0" * 64)


def test_unchanged_file_is_not_read_again(project, mlops, monkeypatch):
    from jupyter_mlops.data import fingerprint

    path = project / "big.bin"
    path.write_bytes(b"x" * 10_000)
    first = mlops.version_dataset(path, "big")
    monkeypatch.setattr(fingerprint, "digest_file", lambda p: pytest.fail("read again"))
    assert mlops.version_dataset(path, "big") == first


def test_gc_keeps_dataset_blobs(project, mlops):
    folder = project / "f"
    folder.mkdir()
    (folder / "a.txt").write_text("a")
    mlops.version_dataset(frame(), "d")
    mlops.version_dataset(folder, "f")
    assert mlops.gc(grace=0).removed == 0
    assert len(mlops.load_dataset("d@1")) == 100
    assert (Path(mlops.load_dataset("f@1")) / "a.txt").read_text() == "a"


def test_json_lines_and_who_made_it(project, mlops):
    path = project / "events.jsonl"
    frame(5).to_json(path, orient="records", lines=True)
    with mlops.start_run() as run:
        v = mlops.version_dataset(path, "events", role="raw")
    assert (v.kind, v.format, v.rows, v.run_id) == ("file", "jsonl", 5, run.id)
    assert v.created_at > 0 and len(mlops.load_dataset("events@1")) == 5
    assert mlops.list_datasets("events")["run_id"].tolist() == [run.id]
