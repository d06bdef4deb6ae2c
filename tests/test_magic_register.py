"""`%register` through IPython: an adapter over the registry API (behaviour is tested there)."""

from __future__ import annotations

import pandas as pd
import pytest
from IPython.core.error import UsageError
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def cell(ip, source: str):
    result = ip.run_cell(source, store_history=True)
    if result.error_in_exec is not None:
        raise result.error_in_exec
    return result.result


@pytest.fixture
def trained(ip, mlops):
    """Two versions of `clf` registered from %%track cells (f1 0.9 then 0.8)."""
    frame = load_wine(as_frame=True).frame
    ip.user_ns.update(frame=frame, X=frame.drop(columns="target"), y=frame["target"],
                      make=lambda: make_pipeline(StandardScaler(), LogisticRegression()))
    for f1 in (0.9, 0.8):
        cell(ip, f"%%track -n fit\n%dataset save frame --name wine --role train\n"
                 f"model = make().fit(X, y)\n%track metric f1={f1}\n%register model --name clf")
    return ip


def test_register_list_show_alias_promote_history_compare(trained, mlops, capsys):
    ip = trained
    assert mlops.list_models("clf")["version"].tolist() == [1, 2]
    version = cell(ip, "%register model --name other --alias staging --description 'first try'")
    assert (version.ref, version.aliases, version.description) == ("other@1", ("staging",),
                                                                   "first try")
    assert cell(ip, "%register list")["name"].tolist() == ["clf", "other"]
    assert cell(ip, "%register list clf")["version"].tolist() == [1, 2]
    assert cell(ip, "%register show clf").version == 2
    assert cell(ip, "%register show clf/1").version == 1
    cell(ip, "%register alias clf production 1 --comment 'go live'")
    assert "clf@1 is now production" in capsys.readouterr().out
    assert cell(ip, "%register show clf@production").version == 1
    cell(ip, '%register promote clf 2 --alias production --require "metrics.f1 >= production.metrics.f1"')
    err = capsys.readouterr().err
    assert "clf@2 was not promoted to production: metrics.f1 = 0.8 is not >=" in err
    assert err.count("\n") == 1
    assert cell(ip, "%register show clf@production").version == 1
    cell(ip, '%register promote clf 2 --alias staging --require "metrics.f1 > 0.5"')
    history = cell(ip, "%register history clf")
    assert history["to_version"].tolist() == [1, 2]
    assert history["comment"].tolist()[0] == "go live"
    comparison = cell(ip, "%register compare clf production 2")
    assert comparison.to_frame().loc["metrics.f1"].tolist() == [0.9, 0.8]


@pytest.mark.parametrize("line, fragment", [
    ("%register", None),
    ("%register missing --name clf", "no variable named 'missing' holds a model"),
    ("%register model", "the following arguments are required: --name"),
    ("%register model --name a/b", "may not contain /"),
    ("%register model --name clf --alias Prod", "alias 'Prod' must match"),
    ("%register model --name clf --signature nothing", "no variable named 'nothing'"),
    ("%register notamodel --name clf", "has no predict()"),
    ("%register show ghost", "no model named 'ghost'"),
    ("%register alias clf production 9", "has no version 9"),
    ("%register alias clf production two", "invalid int value: 'two'"),
    ("%register promote clf 2", "the following arguments are required: --alias"),
    ("%register promote clf 2 --alias production --require 'metrics.f1 >>'", "expected a value"),
    ("%register compare clf", "the following arguments are required: versions"),
    ("%register history ghost", "no model named 'ghost'"),
])
def test_bad_input_is_one_usage_error_and_writes_nothing(trained, mlops, line, fragment, capsys):
    from jupyter_mlops.store.info import summary

    trained.user_ns["notamodel"] = pd.DataFrame({"a": [1]})
    before = summary()
    if fragment is None:  # no arguments: the help, and nothing else
        assert cell(trained, line) is None
        assert "%register VAR --name NAME" in capsys.readouterr().out
    else:
        with pytest.raises(UsageError) as info:
            cell(trained, line)
        assert fragment in str(info.value) and "usage: %register" in str(info.value)
    assert summary() == before


def test_help(ip, capsys):
    assert cell(ip, "%register --help") is None
    assert "%register promote NAME VERSION --alias ALIAS" in capsys.readouterr().out
    assert cell(ip, "%register promote --help") is None
    assert "usage: %register promote NAME VERSION --alias ALIAS" in capsys.readouterr().out
    ip.run_line_magic("pinfo", "%register")
    assert "Register models and move their aliases" in capsys.readouterr().out
