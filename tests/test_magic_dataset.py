"""`%dataset` through IPython: an adapter over the data API (behaviour is tested there)."""

from __future__ import annotations

import pandas as pd
import pytest
from IPython.core.error import UsageError


def cell(ip, source: str):
    result = ip.run_cell(source, store_history=True)
    if result.error_in_exec is not None:
        raise result.error_in_exec
    return result.result


@pytest.fixture
def frame_in(ip):
    ip.user_ns["df"] = pd.DataFrame({"id": range(10), "x": [float(i) for i in range(10)]})
    return ip


def test_save_load_list_show(frame_in, mlops):
    ip = frame_in
    version = cell(ip, "%dataset save df --name d --role train")
    assert (version.name, version.version) == ("d", 1)
    loaded = cell(ip, "%dataset load d@latest")
    pd.testing.assert_frame_equal(loaded, ip.user_ns["df"])
    cell(ip, "%dataset load d@1 --into copy")
    pd.testing.assert_frame_equal(ip.user_ns["copy"], ip.user_ns["df"])
    assert cell(ip, "%dataset list")["name"].tolist() == ["d"]
    assert cell(ip, "%dataset list d")["version"].tolist() == [1]
    table = cell(ip, "%dataset show d@1")
    assert table["column"].tolist() == ["id", "x"] and table.loc[1, "max"] == 9.0


def test_save_a_file_without_copy(ip, mlops, project):
    path = project / "raw.bin"
    path.write_bytes(b"abc")
    version = cell(ip, f"%dataset save {path} --name raw --no-copy")
    assert version.copied is False


def test_diff_and_validate(frame_in, mlops):
    ip = frame_in
    cell(ip, "%dataset save df --name d")
    cell(ip, "df2 = df.copy(); df2.loc[3, 'x'] = 3.5")
    cell(ip, "%dataset save df2 --name d")
    diff = cell(ip, "%dataset diff d@1 d@2 --key id")
    assert diff.changed_rows["id"].tolist() == [3]
    report = cell(ip, "%dataset validate df2 --against d@1")
    assert report.ok
    cell(ip, "df3 = df.assign(extra=1)")
    assert cell(ip, "%dataset validate df3 --against d@1").columns == ["extra"]


@pytest.mark.parametrize("line, fragment", [
    ("%dataset frobnicate", "unknown subcommand 'frobnicate'"),
    ("%dataset save df", "the following arguments are required: --name"),
    ("%dataset save nothing_here --name d", "no file or folder at nothing_here"),
    ("%dataset save df --name a@b", "may not contain @"),
    ("%dataset load d@0", "versions start at 1"),
    ("%dataset load nope@1", "no dataset named 'nope'"),
    ("%dataset load d@1 --into 2x", "--into takes a variable name"),
    ("%dataset validate missing --against d@1", "no variable named 'missing'"),
])
def test_bad_input_is_one_usage_error_and_writes_nothing(frame_in, mlops, line, fragment):
    from jupyter_mlops.store.info import summary

    before = summary()
    with pytest.raises(UsageError) as info:
        cell(frame_in, line)
    assert fragment in str(info.value) and "usage: %dataset" in str(info.value)
    assert summary() == before


def test_help(ip, capsys):
    assert cell(ip, "%dataset --help") is None
    assert "%dataset save VAR|PATH" in capsys.readouterr().out
    assert cell(ip, "%dataset save --help") is None
    assert "usage: %dataset save VAR|PATH --name NAME" in capsys.readouterr().out
