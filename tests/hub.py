"""A real JupyterHub for the team-mode tests: the hub, its proxy (configurable-http-proxy) and
each user's single-user server, all on free loopback ports, everything under a scratch folder.

Set up as a deployment would be (docs/team.md, section JupyterHub), with the parts that only a
test may use: one password for everyone (SharedPasswordAuthenticator, which replaces
DummyAuthenticator's deprecated password) and the `simple` local-process spawner (no OS users;
the servers run as root, so `--allow-root`). What every user shares
(the project, the artifact store) is `c.Spawner.environment`; each user's own database
login is given by a `pre_spawn_hook` that reads it from a credentials file (mode 0600), as a
deployment reads a secret, never from the spawner's command.

The hub runs with this interpreter's environment first on PATH, so the `jupyterhub-singleuser`
it starts, the jupyter-mlops server extension and the kernels are the project's; PYTHONPATH is
kept by the spawner, so a test run from a checkout serves that checkout's code.

Every process the hub starts (proxy, servers, their kernels and pipeline runs) carries a
marker in its environment: on the way out the hub is stopped (it stops the servers and the
proxy), and any process still carrying the marker is a leak: killed, and reported as a
failure."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path

import pytest
import requests
from jupyter_process import _free_port

ROOT = Path(__file__).resolve().parent.parent
MARKER = "MLOPS_TEST_HUB"  # in the environment of every process a test hub starts

CONFIG = '''\
"""JupyterHub for a jupyter-mlops test: written by tests/hub.py."""
import json

c = get_config()  # noqa: F821 - given by JupyterHub when it reads this file

c.JupyterHub.bind_url = "http://127.0.0.1:{public}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api}"
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.JupyterHub.db_url = {db_url!r}
c.JupyterHub.cookie_secret_file = {cookie_secret!r}

# for tests only: one password for every user, servers as local processes without OS users
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = {password!r}
c.Authenticator.allowed_users = {users!r}
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {home!r}
c.Spawner.args = ["--allow-root"]
c.Spawner.notebook_dir = {project!r}
c.Spawner.start_timeout = {timeout}
c.Spawner.http_timeout = {timeout}

# what every user shares
c.Spawner.environment = {shared!r}


def give_store_credentials(spawner):
    """Each user's own database login, read from the credentials file when their server
    starts; a user without one gets no server."""
    with open({credentials!r}) as file:
        stores = json.load(file)
    if spawner.user.name not in stores:
        raise ValueError(f"no store credentials for {{spawner.user.name}}")
    spawner.environment = {{**spawner.environment,
                            "MLOPS_STORE_URI": stores[spawner.user.name]}}


c.Spawner.pre_spawn_hook = give_store_credentials
'''


def proxy_command() -> str:
    """configurable-http-proxy as scripts/validators.sh installed it (outside the clone):
    missing, the test is skipped, or fails under CI=true."""
    out = subprocess.run(["bash", str(ROOT / "scripts" / "validators.sh"), "--print", "proxy"],
                         capture_output=True, text=True, check=True).stdout
    found = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    if "MLOPS_HUB_PROXY" not in found:
        message = "no configurable-http-proxy: run `scripts/validators.sh proxy` (it installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; under CI=true a missing proxy is a failure")
        pytest.skip(message)
    return found["MLOPS_HUB_PROXY"]


def require_jupyterhub() -> None:
    """jupyterhub (the `test` extra) importable here, or a skip (a failure under CI=true)."""
    try:
        import jupyterhub  # noqa: F401
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("jupyterhub is not installed (the test extra); under CI=true it must be")
        pytest.skip("jupyterhub is not installed (pip install -e '.[test]')")


@dataclass
class Hub:
    url: str  # the public URL, through the proxy: "http://127.0.0.1:PORT/"
    password: str  # every user's (SharedPasswordAuthenticator)
    marker: str  # the value of MARKER in the environment of what this hub started
    log: Path  # what the hub, the proxy and the servers printed

    def login(self, user: str) -> requests.Session:
        """A session for `user`: an API token the Hub issues against the user's password
        (POST /hub/api/users/NAME/tokens with the credentials in the body), sent with every
        request, no cookies."""
        reply = requests.post(f"{self.url}hub/api/users/{user}/tokens", timeout=30, json={
            "auth": {"username": user, "password": self.password},
            "note": "jupyter-mlops test", "expires_in": 3600})
        assert reply.status_code == 201, f"login of {user}: {reply.status_code} {reply.text}"
        session = requests.Session()
        session.headers["Authorization"] = f"token {reply.json()['token']}"
        session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))  # the token alone
        return session

    def api(self, user: str) -> str:
        """The jupyter-mlops REST API of `user`'s server, through the proxy."""
        return f"{self.url}user/{user}/mlops/api/"

    def start(self, sessions: dict[str, requests.Session], timeout: float = 90) -> None:
        """Start each user's server (POST /hub/api/users/NAME/server, with the user's own
        session) and wait until every one is ready and its mlops API answers."""
        for user, session in sessions.items():
            reply = session.post(f"{self.url}hub/api/users/{user}/server", timeout=30)
            assert reply.status_code in (201, 202), (
                f"start of {user}'s server: {reply.status_code} {reply.text}")
        deadline = time.monotonic() + timeout
        waiting = dict(sessions)
        while waiting:
            for user, session in list(waiting.items()):
                model = session.get(f"{self.url}hub/api/users/{user}", timeout=30).json()
                server = model.get("servers", {}).get("")
                if server is None:
                    raise AssertionError(f"{user}'s server stopped while starting:\n"
                                         f"{self.tail()}")
                if server["ready"] and session.get(f"{self.api(user)}changes", timeout=30,
                                                   allow_redirects=False).status_code == 200:
                    del waiting[user]
            if waiting and time.monotonic() > deadline:
                raise AssertionError(f"servers of {', '.join(waiting)} not ready after "
                                     f"{timeout:.0f} s:\n{self.tail()}")
            if waiting:
                time.sleep(0.25)

    def server_process(self, user: str):
        """The psutil.Process of `user`'s single-user server (not its kernels)."""
        found = [p for p in self.processes()
                 if p.environ().get("JUPYTERHUB_USER") == user
                 and any("jupyterhub-singleuser" in part for part in p.cmdline())]
        assert len(found) == 1, f"{len(found)} server processes for {user}"
        return found[0]

    def processes(self) -> list:
        """The live processes carrying this hub's marker (psutil.Process)."""
        import psutil

        found = []
        for proc in psutil.process_iter():
            try:
                if proc.environ().get(MARKER) == self.marker:
                    found.append(proc)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        return found

    def errors(self) -> list[str]:
        """The lines of the log that report an exception."""
        return [line for line in self.log.read_text().splitlines()
                if "Traceback" in line or "Uncaught exception" in line]

    def tail(self, chars: int = 4000) -> str:
        return self.log.read_text()[-chars:]


@contextmanager
def jupyterhub(project: Path, scratch: Path, stores: dict[str, str], artifact_uri: str,
               timeout: float = 60) -> Iterator[Hub]:
    """A JupyterHub whose users are the keys of `stores` (user → that user's
    MLOPS_STORE_URI), their servers on the project folder `project` with the artifact store
    `artifact_uri`; its files and log under `scratch`. Yielded once the hub answers; stopped
    afterwards with everything it started (a process left behind fails the test)."""
    require_jupyterhub()
    proxy = proxy_command()
    scratch.mkdir(parents=True, exist_ok=True)
    credentials = scratch / "store-credentials.json"
    credentials.touch(mode=0o600)
    credentials.write_text(json.dumps(stores))
    marker, password = uuid.uuid4().hex, uuid.uuid4().hex
    public = _free_port()
    config = scratch / "jupyterhub_config.py"
    config.write_text(CONFIG.format(
        public=public, hub=_free_port(), proxy_api=_free_port(), proxy=proxy,
        db_url=f"sqlite:///{scratch / 'jupyterhub.sqlite'}",
        cookie_secret=str(scratch / "cookie_secret"), password=password, users=set(stores),
        home=str(scratch / "home" / "{username}"), project=str(project), timeout=int(timeout),
        shared={"MLOPS_PROJECT_ROOT": str(project), "MLOPS_ARTIFACT_URI": artifact_uri,
                MARKER: marker, **_kept()},
        credentials=str(credentials)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLOPS_")}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env[MARKER] = marker  # the proxy inherits it; the servers get it from their environment
    log_path = scratch / "jupyterhub.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed below, after the process
    proc = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(config)], env=env,
                            cwd=scratch, stdout=log, stderr=subprocess.STDOUT)
    hub = Hub(f"http://127.0.0.1:{public}/", password, marker, log_path)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if requests.get(f"{hub.url}hub/api/", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                raise AssertionError(f"jupyterhub did not start:\n{hub.tail()}")
            time.sleep(0.2)
        yield hub
    finally:
        proc.send_signal(signal.SIGTERM)  # the hub stops the servers and the proxy
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        _no_strays(hub)


def _kept() -> dict[str, str]:
    """What the servers inherit from the test run besides PYTHONPATH: its JUPYTER_PATH, so a
    run that points it at a checkout's labextension build gets that build in every user's
    JupyterLab (the first labextension of a name found on the path wins)."""
    return {k: os.environ[k] for k in ("JUPYTER_PATH",) if k in os.environ}


@dataclass
class TeamLogins:
    owner: str  # the database owner's URI (postgres, no password: trust on this machine)
    database: str
    roles: dict[str, str]  # Hub user → PostgreSQL login role
    passwords: dict[str, str]  # Hub user → their role's password
    stores: dict[str, str]  # Hub user → MLOPS_STORE_URI, with the role's password

    def shown(self, user: str) -> str:
        """The user's store URI as the project prints it: the password redacted."""
        return f"postgresql://{self.roles[user]}:***@127.0.0.1:5432/{self.database}"


@contextmanager
def team_logins(users: dict[str, str], scratch: Path) -> Iterator[TeamLogins]:
    """A fresh store made a team store (`team init`), and a login role with a password per
    Hub user in the team role given (`team add ROLE --role ROLE`: NOSUPERUSER NOBYPASSRLS),
    named apart from the Hub name so that a value taken from the Hub or the OS cannot pass for
    it; the database and the roles are dropped afterwards."""
    import psycopg
    from conftest import PG_ADMIN, drop_pg_database, fresh_pg_database, require_postgres
    from psycopg import sql

    from jupyter_mlops.store import Store
    from jupyter_mlops.team import setup

    require_postgres()
    owner = fresh_pg_database()
    store = Store(owner, str(scratch), check=False)
    store.upgrade()
    database, suffix = owner.rsplit("/", 1)[1], uuid.uuid4().hex[:8]
    roles = {user: f"hub_{user}_{suffix}" for user in users}
    passwords = {user: uuid.uuid4().hex for user in users}
    try:
        setup.init(store)
        for user, role in users.items():
            setup.add(roles[user], role, password=passwords[user], store=store)
        store.engine.dispose()
        yield TeamLogins(owner, database, roles, passwords, {
            user: f"postgresql://{roles[user]}:{passwords[user]}@127.0.0.1:5432/{database}"
            for user in users})
    finally:
        store.engine.dispose()
        drop_pg_database(owner)
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            for role in roles.values():
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def _no_strays(hub: Hub, grace: float = 10) -> None:
    """Wait up to `grace` seconds for what the hub started to be gone; kill what is left and
    fail naming it."""
    import psutil

    left = hub.processes()
    _, alive = psutil.wait_procs(left, timeout=grace)
    if alive:
        names = [f"{p.pid} {' '.join(p.cmdline())[:120]}" for p in alive]
        for proc in alive:
            proc.kill()
        raise AssertionError("the hub left processes running:\n" + "\n".join(names))
