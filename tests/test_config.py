"""Settings: environment beats pyproject.toml beats defaults; project discovery; redaction."""

from __future__ import annotations

import pytest

from jupyter_mlops import config
from jupyter_mlops.errors import MLOpsUsageError


def test_precedence_and_sources(project, monkeypatch):
    (project / "pyproject.toml").write_text(
        '[tool.jupyter-mlops]\nexperiment = "from-toml"\nflush-interval = 0.25\n')
    s = config.load()
    assert s.experiment == "from-toml" and s.flush_interval == 0.25
    assert s.sources["experiment"].startswith("pyproject.toml")
    assert s.sources["heartbeat_timeout"] == "default"
    assert s.store_uri == f"sqlite:///{project / '.mlops' / 'mlops.db'}"
    monkeypatch.setenv("MLOPS_EXPERIMENT", "from-env")
    s = config.load()
    assert s.experiment == "from-env" and s.sources["experiment"] == "env MLOPS_EXPERIMENT"


def test_bad_settings_are_named(project, monkeypatch):
    (project / "pyproject.toml").write_text('[tool.jupyter-mlops]\nstore = "x"\n')
    with pytest.raises(MLOpsUsageError, match="unknown setting.*store"):
        config.load()
    (project / "pyproject.toml").write_text("")
    monkeypatch.setenv("MLOPS_FLUSH_INTERVAL", "soon")
    with pytest.raises(MLOpsUsageError, match="MLOPS_FLUSH_INTERVAL must be a float"):
        config.load()


def test_project_root_discovery(tmp_path, monkeypatch):
    monkeypatch.delenv("MLOPS_PROJECT_ROOT", raising=False)
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    deep = tmp_path / "repo" / "a" / "b"
    deep.mkdir(parents=True)
    assert config.find_project_root(deep) == tmp_path / "repo"
    (tmp_path / "repo" / "a" / ".mlops").mkdir()
    assert config.find_project_root(deep) == tmp_path / "repo" / "a"  # .mlops/ wins
    lone = tmp_path / "lone"
    lone.mkdir()
    monkeypatch.chdir(lone)
    assert config.find_project_root() == lone


def test_secrets_redacted():
    assert config.redact("postgresql://bob:hunter2@db:5432/x") == "postgresql://bob:***@db:5432/x"
    assert config.redact("s3://b/p?token=abc&x=1") == "s3://b/p?token=***&x=1"
    assert "hunter2" not in repr(config.Settings({"store_uri": "postgresql://u:hunter2@h/d"},
                                                 {"store_uri": "env"}).rows())
