"""`jupyter mlops datasets …`: what the adapter passes and prints."""

from __future__ import annotations

import json

import pandas as pd
from conftest import error_line

from jupyter_mlops.cli import main


def test_list_show_diff_pull(project, mlops, capsys, tmp_path):
    df = pd.DataFrame({"id": range(5), "x": [1.0, 2.0, 3.0, 4.0, 5.0]})
    mlops.version_dataset(df, "d")
    mlops.version_dataset(df.assign(x=df.x * 2), "d")
    assert main(["datasets", "list"]) == 0
    assert "d" in capsys.readouterr().out
    assert main(["datasets", "list", "d", "--format", "json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [json.loads(line)["version"] for line in lines] == [1, 2]
    assert main(["datasets", "show", "d@2"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["ref"] == "d@2" and shown["profile"]["x"]["max"] == 10.0
    assert "sketch" not in shown["profile"]["x"]
    assert main(["datasets", "diff", "d@1", "d@2", "--key", "id"]) == 0
    assert "5 changed" in capsys.readouterr().out
    assert main(["datasets", "pull", "d@1", str(tmp_path / "out.parquet")]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out.parquet"), df)


def test_errors_and_exit_codes(project, mlops, capsys):
    assert main(["datasets", "show", "nope@1"]) == 2
    err = capsys.readouterr().err
    assert "no dataset named 'nope'" in error_line(err)
    assert main(["datasets", "show", "bad@x@y"]) == 2
