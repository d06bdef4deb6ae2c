"""`jupyter mlops models …`: what the adapter passes and prints, and its exit codes."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from jupyter_mlops.cli import main


@pytest.fixture
def clf(mlops):
    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    for f1 in (0.7, 0.9):
        with mlops.start_run(name=f"fit-{f1}"):
            mlops.log_metric("f1", f1)
            mlops.register_model(LogisticRegression().fit(X, [0, 0, 1, 1]), "clf", signature=X)
    return X


def test_list_show_alias_promote_history_compare(project, mlops, clf, capsys):
    assert main(["models", "list"]) == 0
    assert "clf" in capsys.readouterr().out
    assert main(["models", "list", "clf", "--format", "json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [json.loads(line)["version"] for line in lines] == [1, 2]
    assert main(["models", "alias", "clf", "production", "1", "--comment", "ship"]) == 0
    assert capsys.readouterr().out.strip() == "clf@1 is now production"
    assert main(["models", "show", "clf@production"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["version"] == 1 and shown["signature"]["inputs"] == [{"name": "a", "type": "float"}]
    assert main(["models", "promote", "clf", "2", "--alias", "production",
                 "--require", "metrics.f1 > production.metrics.f1"]) == 0
    assert capsys.readouterr().out.strip() == "clf@2 is now production"
    assert main(["models", "history", "clf", "--format", "csv"]) == 0
    history = capsys.readouterr().out
    assert "ship" in history and "metrics.f1 > production.metrics.f1" in history
    assert main(["models", "compare", "clf", "1", "production"]) == 0
    assert "metrics.f1" in capsys.readouterr().out
    assert main(["models", "alias", "clf", "production", "--delete"]) == 0
    assert mlops.alias_history("clf")["to_version"].isna().tolist() == [False, False, True]


def test_errors_and_exit_codes(project, mlops, clf, capsys):
    from jupyter_mlops.store.info import summary

    main(["models", "alias", "clf", "production", "2"])
    capsys.readouterr()
    before = summary()
    assert main(["models", "promote", "clf", "1", "--alias", "production",
                 "--require", "metrics.f1 > production.metrics.f1"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "metrics.f1 = 0.7 is not > production.metrics.f1 = 0.9" in err
    for argv, message in (
        (["models", "show", "ghost"], "no model named 'ghost'"),
        (["models", "alias", "clf", "production", "7"], "has no version 7"),
        (["models", "alias", "clf", "production"], "give the VERSION"),
        (["models", "promote", "clf", "1", "--alias", "production", "--require", "f1 >"],
         "unknown field 'f1'"),
    ):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err, err
    with pytest.raises(SystemExit) as info:
        main(["models", "alias", "clf", "production", "x"])
    assert info.value.code == 2
    assert summary() == before
