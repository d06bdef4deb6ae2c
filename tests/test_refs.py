"""The reference grammar shared by every entry point."""

from __future__ import annotations

import pytest

from jupyter_mlops import refs
from jupyter_mlops.errors import MLOpsUsageError


@pytest.mark.parametrize("text, expected", [
    ("wine@3", refs.Ref("wine", version=3)),
    ("wine/3", refs.Ref("wine", version=3)),
    ("wine@latest", refs.Ref("wine", latest=True)),
    ("wine@sha:1A2B3C4D", refs.Ref("wine", digest="1a2b3c4d")),
    ("wine@production", refs.Ref("wine", alias="production")),
    ("dataset:wine@3", refs.Ref("wine", kind="dataset", version=3)),
    ("model:wine@champion", refs.Ref("wine", kind="model", alias="champion")),
    ("1a2b3c4d5e", refs.Ref("1a2b3c4d5e", kind="run")),
    ("run:ABCDEF12", refs.Ref("abcdef12", kind="run")),
    ("wine", refs.Ref("wine")),
])
def test_parse(text, expected):
    assert refs.parse(text) == expected


@pytest.mark.parametrize("text, fragment", [
    ("", "empty reference"),
    ("wine@0", "versions start at 1"),
    ("wine@9223372036854775808", "end at 9223372036854775807"),  # past the version columns
    ("wine/99999999999999999999", "end at 9223372036854775807"),
    ("wine@\u00b2", "alias '\u00b2'"),  # a digit to str.isdigit, not a version
    ("wine/\u0663", "version number"),
    ("wine@sha:12", "at least 8 hex"),
    ("wine@Prod", "alias 'Prod'"),
    ("wine/x", "version number"),
    ("thing:wine", "unknown kind 'thing'"),
    ("run:wine", "not a run id"),
    ("a@b@c", "alias 'b@c'"),
    ("wi\x00ne@1", "may not contain control characters"),
])
def test_errors(text, fragment):
    with pytest.raises(MLOpsUsageError, match=fragment):
        refs.parse(text)


def test_round_trip_and_names():
    for text in ("wine@3", "wine@latest", "wine@sha:1a2b3c4d", "dataset:wine@prod"):
        assert str(refs.parse(text)) == text
    with pytest.raises(MLOpsUsageError, match="may not contain"):
        refs.check_name("a/b")
    with pytest.raises(MLOpsUsageError):
        refs.check_alias("latest")


@pytest.mark.parametrize("value", [
    "data/", "./data", "/abs/data", "part-*.parquet", "data/*/x.parquet", "s3://bucket/prefix",
    "file:///tmp/x", "gs://b/p", "abfs+x.y-z://c/p", "./wine@3", "/wine/3",
])
def test_paths(value):
    from pathlib import Path, PurePosixPath

    assert refs.is_path(value)
    assert refs.is_path(Path(value)) and refs.is_path(PurePosixPath("wine@3"))


@pytest.mark.parametrize("value", [
    "wine@3", "wine/3", "model:wine@production", "wine", "data.csv", "wine@sha:1a2b3c4d",
    "1a2b3c4d5e", "dataset:wine@latest", "S3://x", "3s://x", "s3:/x", None, 3, b"./x",
])
def test_references_and_other_values_are_not_paths(value):
    assert not refs.is_path(value)
