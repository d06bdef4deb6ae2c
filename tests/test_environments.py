"""Recorded environments, with real uv (packages from PyPI through uv's own cache): a run made in
a small venv that has other package versions than this one (six pinned older, a local package
installed from a folder) is rebuilt into a cached environment holding exactly those versions,
reused on the next call, with a kernelspec that starts a real kernel. Refusals: another
Python, an unresolvable package, a local install whose folder is gone."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import threading
from importlib.metadata import version
from pathlib import Path

import pytest
from packages import write_package

from jupyter_mlops.errors import EnvironmentBuildError, MLOpsUsageError
from jupyter_mlops.repro import environments, sources
from jupyter_mlops.repro.uv import run_uv
from jupyter_mlops.tracking.installed import normalize

OLD_SIX = "1.16.0"  # six as the recorded run had it: not this environment's
RUN_SCRIPT = textwrap.dedent("""\
    import jupyter_mlops as mlops
    import demo_local, six
    with mlops.start_run(name="recorded") as run:
        mlops.log_param("six", six.__version__)
    print(run.id)
""")


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without its PYTHONPATH (the source tree) and settings."""
    env = {k: v for k, v in os.environ.items()
           if k != "PYTHONPATH" and not k.startswith(("MLOPS_", "JPY_"))}
    return {**env, **extra}


def local_package(folder: Path, value: str = "from the local folder") -> Path:
    """A tiny package to install from its folder (a local, non-editable install)."""
    return write_package(folder, "demo-local", "0.2.0", f"VALUE = {value!r}\n")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """(project folder, the run's id, env cache, the local package's folder, the venv's python):
    a run made by a script in a small venv holding jupyter-mlops (this source tree's wheel, as
    the module builds it), its dependencies at this environment's versions, six at OLD_SIX and
    a package installed from a folder in the project."""
    assert version("six") != OLD_SIX
    from jupyter_mlops.tracking.installed import distributions

    tmp = tmp_path_factory.mktemp("recorded")
    cache, project, venv = tmp / "envs", tmp / "project", tmp / "venv"
    project.mkdir()
    pkg = local_package(project / "demo-local")
    mlops_wheel = sources.wheel(sources.running_package()[0], cache, lambda line: None)
    pins = tmp / "constraints.txt"  # this environment's versions: uv's cache already has them
    pins.write_text("".join(f"{name}=={item['version']}\n" for name, item in distributions().items()
                            if "direct_url" not in item and name != "six"))
    run_uv(["venv", "--python", sys.executable, str(venv)], lambda line: None, "venv")
    run_uv(["pip", "install", "--python", str(venv / "bin" / "python"), "-c", str(pins),
            str(mlops_wheel), f"six=={OLD_SIX}", str(pkg)], lambda line: None, "install")
    proc = subprocess.run([str(venv / "bin" / "python"), "-c", RUN_SCRIPT], capture_output=True,
                          text=True, cwd=project, env=clean_env(MLOPS_PROJECT_ROOT=str(project)))
    assert proc.returncode == 0, proc.stderr
    return project, proc.stdout.strip(), cache, pkg, venv / "bin" / "python"


@pytest.fixture
def run(recorded, monkeypatch):
    """The recorded run, read from its project's store (the env cache set to the module's)."""
    from conftest import ENV_KEYS, _forget

    import jupyter_mlops

    project, run_id, cache, *_ = recorded
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("MLOPS_PROJECT_ROOT", str(project))
    monkeypatch.setenv("MLOPS_ENV_CACHE", str(cache))
    monkeypatch.chdir(project)
    _forget()
    yield jupyter_mlops.get_run(run_id)
    _forget()


@pytest.fixture(scope="module")
def built(recorded):
    """Two threads ask for the run's environment at once: (their RecordedEnvs, their progress
    messages)."""
    from conftest import ENV_KEYS, _forget

    import jupyter_mlops

    project, run_id, cache, *_ = recorded
    with pytest.MonkeyPatch.context() as mp:
        for key in ENV_KEYS:
            mp.delenv(key, raising=False)
        mp.setenv("MLOPS_PROJECT_ROOT", str(project))
        mp.setenv("MLOPS_ENV_CACHE", str(cache))
        _forget()
        results, messages, errors = {}, {0: [], 1: []}, []

        def ask(i: int) -> None:
            try:
                results[i] = environments.recorded_python(
                    jupyter_mlops.get_run(run_id), None,
                    progress=lambda phase, line: messages[i].append((phase, line)))
            except Exception as exc:  # re-raised below, in the test's thread
                errors.append(exc)

        threads = [threading.Thread(target=ask, args=(i,)) for i in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        _forget()
    if errors:
        raise errors[0]
    return [results[0], results[1]], [messages[0], messages[1]]


def in_env(python: Path, code: str) -> str:
    proc = subprocess.run([str(python), "-c", code], capture_output=True, text=True,
                          env=clean_env(), cwd="/")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_the_rebuilt_environment_has_the_versions_the_run_recorded(run, built):
    recorded = run.environment["distributions"]
    assert recorded["six"]["version"] == OLD_SIX
    assert recorded["demo-local"]["direct_url"]["dir_info"] == {}  # installed from its folder
    envs, messages = built
    assert envs[0].python == envs[1].python and envs[0].key == envs[1].key
    assert sorted(e.reused for e in envs) == [False, True]  # one built it, the other waited
    env = next(e for e in envs if not e.reused)
    builder = messages[envs.index(env)]
    assert builder and {phase for phase, _ in builder} == {"building environment"}
    assert any(line.startswith("Installed ") for _, line in builder)  # uv's own lines
    assert env.python.is_relative_to(Path(os.environ["MLOPS_ENV_CACHE"]) / env.key)
    assert f"six=={OLD_SIX}" in env.lock.splitlines()
    versions = {normalize(k): v for k, v in json.loads(in_env(env.python, (
        "import importlib.metadata as m, json\n"
        "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"))).items()}
    assert versions["six"] == OLD_SIX  # not this environment's six
    assert {n: versions.get(n) for n in recorded} == {n: i["version"] for n, i in recorded.items()}
    assert in_env(env.python, "import demo_local; print(demo_local.VALUE)") == "from the local folder"
    assert any(note.startswith("demo-local: installed from") and "as it is now" in note
               for note in env.notes)  # no checkout of the run's commit was given


def test_a_second_call_reuses_the_environment(run, built):
    again = environments.recorded_python(run)
    first = built[0][0]
    assert again.reused and again.key == first.key and again.python == first.python
    assert again.lock == first.lock


def test_a_different_lock_gets_a_different_key(run, built):
    """A run made here (this environment: six at its own version, pip in it) plans another key."""
    import jupyter_mlops

    with jupyter_mlops.start_run(name="here") as here:
        pass
    mine = environments.plan(here)
    assert mine.key != built[0][0].key
    theirs = {r.ident for r in environments.plan(run).requirements}
    assert f"six=={OLD_SIX}" in theirs - {r.ident for r in mine.requirements}
    assert any(note.startswith(f"left out pip {version('pip')}") for note in mine.notes)


def test_the_kernelspec_starts_a_kernel_in_the_environment(built, monkeypatch, tmp_path):
    """Started as papermill would (JUPYTER_PATH, the kernel name), with this source tree on
    PYTHONPATH: the kernel still imports the environment's own packages."""
    from jupyter_client.manager import start_new_kernel

    env = built[0][0]
    monkeypatch.setenv("JUPYTER_PATH", str(env.jupyter_path))
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parent.parent))
    km, kc = start_new_kernel(kernel_name=env.kernel_name, startup_timeout=60, cwd=str(tmp_path))
    out: list[str] = []
    try:
        kc.execute_interactive(
            "import sys, jupyter_mlops, six\nprint(sys.executable, jupyter_mlops.__file__, "
            "six.__version__)",
            output_hook=lambda msg: out.append(msg["content"].get("text", "")), timeout=60)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    executable, package, six_version = "".join(out).split()
    assert Path(executable) == env.python
    assert Path(package).is_relative_to(env.python.parent.parent)  # the env's own jupyter-mlops
    assert six_version == OLD_SIX


def test_the_project_package_comes_from_the_checkout_of_the_runs_commit(run, built, tmp_path):
    """demo-local was installed from a folder inside the project: given the project as it was
    at the run (`project_dir`), the environment has that version of it, under another key."""
    checkout = tmp_path / "checkout"
    local_package(checkout / "demo-local", value="as at the commit")
    env = environments.recorded_python(run, checkout)
    assert env.key != built[0][0].key and not env.reused
    assert in_env(env.python, "import demo_local; print(demo_local.VALUE)") == "as at the commit"
    assert f"demo-local: installed from {checkout / 'demo-local'}, the project at the run's " \
        "commit" in " ".join(env.notes)
    with pytest.raises(EnvironmentBuildError, match="the run's commit has no pyproject.toml"):
        environments.recorded_python(run, tmp_path / "empty")
    # a checkout whose pyproject.toml names a package the run had from the registry
    (checkout / "pyproject.toml").write_text('[project]\nname = "Six"\nversion = "9"\n')
    six = next(r for r in environments.plan(run, checkout).requirements if r.name == "six")
    assert six.tree == checkout and six.spec is None


def test_an_installed_jupyter_mlops_is_installed_from_where_it_came_from(recorded):
    """In the small venv jupyter-mlops runs from its installed wheel (no source tree): that
    wheel is what a recorded environment gets; once it is gone, a clear refusal."""
    python = recorded[4]
    code = ("import json\nfrom jupyter_mlops.errors import EnvironmentBuildError\n"
            "from jupyter_mlops.repro import sources\ntry:\n"
            "    req, version, origin = sources.running_package()\n"
            "    print(json.dumps([req.spec, origin]))\n"
            "except EnvironmentBuildError as exc:\n    print(json.dumps(['refused', str(exc)]))")
    wheel = sources.wheel(sources.running_package()[0], recorded[2], lambda line: None)
    assert json.loads(in_env(python, code)) == [f"jupyter-mlops @ {wheel.as_uri()}", wheel.as_uri()]
    moved = wheel.with_name("moved.whl")
    wheel.rename(moved)
    try:
        refused, message = json.loads(in_env(python, code))
    finally:
        moved.rename(wheel)
    assert refused == "refused"
    assert message.startswith(f"the running jupyter-mlops was installed from {wheel.as_uri()}, "
                              "which no longer exists, and it does not run from a source tree")


def recorded_as(monkeypatch, environment: dict):
    """A run made here whose recorded environment is `environment` (for the refusals)."""
    import jupyter_mlops
    from jupyter_mlops.tracking import capture

    monkeypatch.setattr(capture, "environment", lambda: json.dumps(environment))
    with jupyter_mlops.start_run(name="faked") as made:
        pass
    return made


def test_another_python_is_refused_naming_both(run, monkeypatch):
    import platform

    other = {**run.environment, "python": "3.9.18"}
    faked = recorded_as(monkeypatch, other)
    with pytest.raises(MLOpsUsageError) as err:
        environments.recorded_python(faked)
    assert "3.9.18" in str(err.value) and platform.python_version() in str(err.value)


def test_a_run_without_recorded_distributions_is_refused(run, monkeypatch):
    older = {k: v for k, v in run.environment.items() if k != "distributions"}
    with pytest.raises(MLOpsUsageError, match="recorded no installed packages"):
        environments.recorded_python(recorded_as(monkeypatch, older))


def test_an_unresolvable_package_fails_naming_it_and_caches_nothing(run, monkeypatch, capsys):
    dists = {**run.environment["distributions"], "six": {"version": "9999.0"}}
    faked = recorded_as(monkeypatch, {**run.environment, "distributions": dists})
    cache = Path(os.environ["MLOPS_ENV_CACHE"])
    before = set(cache.iterdir())
    with pytest.raises(EnvironmentBuildError) as err:
        environments.recorded_python(faked)  # no progress callback: a tqdm bar
    assert "six==9999.0" in str(err.value) and "\n" not in str(err.value)
    assert "building environment" in capsys.readouterr().err  # the bar got as far as uv
    assert set(cache.iterdir()) == before  # no environment, no half-built folder
    key = environments.plan(faked).key
    assert not any(p.name.startswith(key) for p in cache.iterdir())


def test_a_local_install_whose_folder_is_gone_fails_naming_it(run, recorded):
    pkg = recorded[3]
    moved = pkg.with_name("moved-away")
    pkg.rename(moved)
    try:
        with pytest.raises(EnvironmentBuildError,
                           match=re.escape(f"demo-local 0.2.0 was installed from {pkg}, which no")):
            environments.recorded_python(run)
    finally:
        moved.rename(pkg)
