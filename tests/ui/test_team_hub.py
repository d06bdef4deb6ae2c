"""A team on JupyterHub, end to end in the browser (issue 21): alice (contributor), bob and
dave (maintainers) and carol (viewer) log in through the Hub's login page, each in their own
browser context, and each gets their own JupyterLab, whose server reaches the team store with
that user's own PostgreSQL login (tests/hub.py).

The model `churn` has two versions, version 1 in `production`, which is protected (the default
policy: only an approved request moves it, approved by another person than the requester).
Alice asks for version 2 from a notebook cell; bob, whose model view is open, sees the request
appear without a reload and approves it; alice's model view shows production move to 2 without
a reload. Carol sees no write action, and a write she crafts from her session (her own XSRF
token, so only her role can refuse it) is refused with nothing changed in the store.

One hub for the module. JupyterLab loads the labextension installed in the environment, or
the one JUPYTER_PATH points at first (a checkout's own build: the servers inherit it)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest
from hub import jupyterhub, team_logins
from jupyter_process import shared_project

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

USERS = {"alice": "contributor", "bob": "maintainer", "dave": "maintainer", "carol": "viewer"}
MODEL = "churn"
NOTEBOOK = "alice.ipynb"  # an empty notebook alice types her request into
WAIT = 20_000  # ms: the change feed is polled each second; a live update may take a few


@contextmanager
def acting_as(team, user: str, artifacts: str) -> Iterator[None]:
    """This process's API on the team store, logged in as `user`'s own role."""
    from jupyter_mlops.store import reset
    from jupyter_mlops.tracking import writer

    os.environ["MLOPS_STORE_URI"] = team.stores[user]
    os.environ["MLOPS_ARTIFACT_URI"] = artifacts
    reset()
    try:
        yield
    finally:
        writer.forget_all()
        reset()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("team-hub")


@pytest.fixture(scope="module")
def team(scratch):
    with team_logins(USERS, scratch / "upgrade") as made:
        yield made


@pytest.fixture(scope="module")
def hub_project(scratch, team):
    """The project every user's server serves, with alice's notebook, and the model: alice
    registered two versions from runs that versioned their training data; production was set
    to version 1 by her request, which dave approved."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    import jupyter_mlops as mlops

    root = scratch / "project"
    root.mkdir()
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("")])
    notebook.metadata["kernelspec"] = {"name": "python3", "language": "python",
                                       "display_name": "Python 3"}
    nbformat.write(notebook, root / NOTEBOOK)
    artifacts = str(scratch / "artifacts")
    with shared_project(root):
        with acting_as(team, "alice", artifacts):
            for version, (f1, rows) in enumerate([(0.81, 40), (0.86, 60)], start=1):
                data = pd.DataFrame({"tenure": [float(i % 13) for i in range(rows)],
                                     "spend": [float(i % 7) * 3.5 for i in range(rows)],
                                     "churned": [int(i % 13 > 8) for i in range(rows)]})
                with mlops.start_run(name=f"churn-v{version}", experiment="churn"):
                    mlops.version_dataset(data, "churn-train", role="train")
                    mlops.log_params({"C": 1.0 / version, "rows": rows})
                    mlops.log_metrics({"f1": f1, "accuracy": f1 + 0.05})
                    model = LogisticRegression(C=1.0 / version).fit(
                        data[["tenure", "spend"]], data["churned"])
                    mlops.register_model(model, MODEL, signature=data[["tenure", "spend"]])
            first = mlops.request_promotion(f"{MODEL}@1", "production",
                                            comment="first release")
        with acting_as(team, "dave", artifacts):
            mlops.approve(first.id, comment="looks right")
        yield root


@pytest.fixture(scope="module")
def hub(scratch, hub_project, team):
    """The Hub, with JupyterLab's news pop-up off in every user's home."""
    for user in USERS:
        settings = (scratch / "home" / user / ".jupyter" / "lab" / "user-settings" /
                    "@jupyterlab" / "apputils-extension")
        settings.mkdir(parents=True)
        (settings / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    with jupyterhub(hub_project, scratch, team.stores, str(scratch / "artifacts")) as running:
        yield running
    assert not running.errors(), "the hub or a server logged errors:\n" + "\n".join(
        running.errors())


@pytest.fixture(scope="module")
def labs(browser, hub):
    """Each user logged in through the Hub's login page in their own browser context, their
    server started by the Hub: user → the page showing their JupyterLab. All log in at once,
    then each page is waited for."""
    contexts, pages = [], {}
    for user in USERS:
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.console = []
        page.on("console", lambda m, page=page: page.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e, page=page: page.console.append(f"pageerror: {e}"))
        page.goto(f"{hub.url}hub/login")
        page.fill("input[name=username]", user)
        page.fill("input[name=password]", hub.password)
        page.click("input[type=submit], button[type=submit]", no_wait_after=True)
        pages[user] = page
    try:
        for user, page in pages.items():
            page.wait_for_url(f"{hub.url}user/{user}/lab**", timeout=90_000)
            page.wait_for_selector("#jp-main-dock-panel", timeout=90_000)
        yield pages
    except Exception:
        for user, page in pages.items():
            page.screenshot(path=f"/tmp/mlops-hub-{user}.png")
            print(user, page.url, "\n".join(page.console), sep="\n")
        raise
    finally:
        for context in contexts:
            context.close()


def api(page, path: str, method: str = "GET", body=None) -> tuple[int, dict]:
    """A request from the page's own session to its user's mlops REST API, as a script in it
    could send: its cookies, and for a write the `_xsrf` cookie's value as X-XSRFToken."""
    return tuple(page.evaluate("""async ([path, method, body]) => {
        const base = location.pathname.split('/lab')[0] + '/mlops/api/';
        const xsrf = (document.cookie.match(/(?:^|; )_xsrf=([^;]*)/) || [])[1];
        const reply = await fetch(base + path, {method, credentials: 'same-origin',
            headers: {'Content-Type': 'application/json',
                      ...(xsrf ? {'X-XSRFToken': decodeURIComponent(xsrf)} : {})},
            body: body === null ? undefined : JSON.stringify(body)});
        return [reply.status, await reply.json()];
    }""", [path, method, body]))


def test_each_user_has_their_own_jupyterlab_as_their_own_role(labs, hub, team):
    for user, page in labs.items():
        assert page.url.startswith(f"{hub.url}user/{user}/lab"), page.url
        status, body = api(page, f"models/{MODEL}")
        assert status == 200, body
        assert body["aliases"] == {"production": 1}
