"""Import laziness and discoverability: `import jupyter_mlops` and `%load_ext jupyter_mlops` load
none of the heavy modules; the public names resolve; the server extension is found and enabled."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("pandas", "sqlalchemy", "plotly", "sklearn", "papermill", "alembic", "numpy", "scipy",
         "duckdb", "pyarrow", "skops", "fsspec", "psycopg", "fastapi", "uvicorn", "joblib",
         "optuna", "redis", "nbformat", "nbdime", "jupyter_client", "uv", "filelock", "mlflow",
         "dask", "distributed", "datasketches")
SOURCE_TREE = str(Path(__file__).resolve().parent.parent)


def fresh_python(code: str, *, source_tree: bool = True) -> str:
    """Run `code` in a new interpreter (the source tree first on the path unless told not to);
    returns its stdout."""
    env = dict(os.environ)
    if source_tree:
        env["PYTHONPATH"] = SOURCE_TREE + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=SOURCE_TREE if source_tree else "/", timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


LOADED = f"import json, sys; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"


def test_import_loads_no_heavy_module():
    out = fresh_python(f"import jupyter_mlops\n{LOADED}\n")
    assert json.loads(out) == []


def test_load_ext_loads_no_heavy_module():
    out = fresh_python(
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "from traitlets.config import Config\n"
        "c = Config(); c.HistoryManager.hist_file = ':memory:'\n"
        "ip = InteractiveShell.instance(config=c)\n"
        "ip.run_line_magic('load_ext', 'jupyter_mlops')\n"
        "assert 'track' in ip.magics_manager.magics['line']\n"
        "assert 'track' in ip.magics_manager.magics['cell']\n"
        "ip.object_inspect_text('%track')  # %track? also stays light\n"
        f"{LOADED}\n"
    )
    assert json.loads(out) == []


def test_the_source_tree_is_what_was_imported():
    out = fresh_python("import jupyter_mlops; print(jupyter_mlops.__file__)")
    assert out.strip().startswith(SOURCE_TREE)


def test_public_names_resolve():
    import jupyter_mlops

    for name in jupyter_mlops.__all__:
        assert getattr(jupyter_mlops, name) is not None, name
    assert callable(jupyter_mlops.start_run) and callable(jupyter_mlops.search_runs)
    assert issubclass(jupyter_mlops.MLOpsUsageError, jupyter_mlops.MLOpsError)
    assert isinstance(jupyter_mlops.__version__, str)
    assert set(jupyter_mlops.__all__) <= set(dir(jupyter_mlops))


def test_a_submodule_never_hides_the_function_of_its_name():
    """`lineage` and `automl` are functions and modules: importing the module first (as %automl
    and the lineage providers do) leaves the public name meaning the function."""
    out = fresh_python(
        "import jupyter_mlops as m, jupyter_mlops.lineage, jupyter_mlops.automl.search\n"
        "from jupyter_mlops.automl import result\n"
        "from jupyter_mlops.automl import space\n"
        "print(callable(m.lineage), callable(m.automl), result.__name__, space.__name__)\n")
    assert out.split() == ["True", "True", "jupyter_mlops.automl.result",
                           "jupyter_mlops.automl.space"]


def test_unknown_attribute_is_an_attribute_error():
    import jupyter_mlops

    with pytest.raises(AttributeError, match="no attribute 'no_such_thing'"):
        jupyter_mlops.no_such_thing  # noqa: B018
    assert not hasattr(jupyter_mlops, "no_such_thing")
    with pytest.raises(ImportError):
        exec("from jupyter_mlops import no_such_thing", {})


def test_server_extension_points():
    import jupyter_mlops
    from jupyter_mlops.server.app import MLOpsApp

    points = jupyter_mlops._jupyter_server_extension_points()
    assert points == [{"module": "jupyter_mlops.server.app", "app": MLOpsApp}]


def test_server_extension_is_installed_and_enabled():
    """Needs the installed package (`pip install .` puts its jupyter-config file into
    etc/jupyter/jupyter_server_config.d)."""
    config = Path(sys.prefix) / "etc" / "jupyter" / "jupyter_server_config.d" / "jupyter_mlops.json"
    assert json.loads(config.read_text()) == {
        "ServerApp": {"jpserver_extensions": {"jupyter_mlops": True}}
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_CONFIG")}
    proc = subprocess.run([sys.executable, "-m", "jupyter", "server", "extension", "list"],
                          capture_output=True, text=True, env=env, cwd="/", timeout=120)
    assert proc.returncode == 0, proc.stderr
    text = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
    assert re.search(r"^\s*jupyter_mlops enabled\s*$", text, re.M), text
    assert re.search(r"^\s*- Validating jupyter_mlops\.\.\.\s*$", text, re.M), text
    assert re.search(r"^\s*jupyter_mlops \S+ OK\s*$", text, re.M), text


def test_labextension_is_prebuilt_and_enabled():
    """The wheel ships the built sidebar: `jupyter labextension list` finds it, no npm needed."""
    shipped = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "jupyter-mlops"
    assert (shipped / "package.json").is_file() and (shipped / "static" / "style.js").is_file()
    assert json.loads((shipped / "install.json").read_text())["packageName"] == "jupyter-mlops"
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_")}
    proc = subprocess.run([sys.executable, "-m", "jupyter", "labextension", "list"],
                          capture_output=True, text=True, env=env, cwd="/", timeout=120)
    assert proc.returncode == 0, proc.stderr
    text = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
    assert re.search(r"^\s*jupyter-mlops v\S+ enabled OK \(python, jupyter-mlops\)\s*$", text,
                     re.M), text
