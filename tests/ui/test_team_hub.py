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
import re
import time
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


@pytest.fixture(autouse=True)
def pages_on_failure(request, labs):
    """When a test fails: each user's page to /tmp/mlops-hub-USER.png, their consoles
    printed."""
    failed = request.session.testsfailed
    yield
    if request.session.testsfailed > failed:
        for user, page in labs.items():
            page.screenshot(path=f"/tmp/mlops-hub-{user}.png")
            print(f"--- {user} ({page.url})", *page.console[-20:], sep="\n")


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
    """Each page is its user's JupyterLab, whose server reaches the store as that user's
    role (GET me: the database's session user and the team role it holds)."""
    for user, page in labs.items():
        assert page.url.startswith(f"{hub.url}user/{user}/lab"), page.url
        status, me = api(page, "me")
        assert status == 200, me
        assert (me["user"], me["team"], me["role"]) == (team.roles[user], True, USERS[user])
        assert me["may"]["approve"] == (USERS[user] == "maintainer")
        assert me["may"]["request"] == (USERS[user] != "viewer")
        status, body = api(page, f"models/{MODEL}")
        assert status == 200, body
        assert body["aliases"] == {"production": 1}


WRITE_ACTIONS = re.compile(r"^\s*(Request promotion|Approve|Reject|Promote)\b")


def open_model_view(page):
    """The model's view, opened from the sidebar's models section; returns its locator."""
    tab = page.locator('li[data-id="jp-mlops-sidebar"]')
    tab.wait_for(timeout=60_000)
    if not page.locator("#jp-mlops-sidebar").is_visible():
        tab.click()
    title = page.locator(".jp-mlops-section-models .jp-mlops-section-title")
    if title.get_attribute("aria-expanded", timeout=WAIT) != "true":  # one section open
        title.click()
    page.locator(f'.jp-mlops-section-models .jp-mlops-item[data-model="{MODEL}"]').click()
    view = page.locator(".jp-mlops-model-view")
    view.wait_for(timeout=WAIT)
    return view


def show_tab(page, label: str) -> None:
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=label).first.click()


@pytest.fixture(scope="module")
def views(labs):
    """Every user's model view, open before anything happens; each page marked, so that a
    reload would show (the mark would be gone)."""
    out = {user: open_model_view(page) for user, page in labs.items()}
    for page in labs.values():
        page.evaluate("window.__mlopsNoReload = true")
    return out


def not_reloaded(page) -> bool:
    return page.evaluate("window.__mlopsNoReload === true")


def in_store(team) -> dict:
    """The model's aliases, alias moves, requests and registry events, read as the database's
    owner with the driver alone."""
    import psycopg

    with psycopg.connect(team.owner) as conn:
        [model_id] = conn.execute("SELECT id FROM models WHERE name = %s", (MODEL,)).fetchone()
        aliases = dict(conn.execute("SELECT alias, version FROM model_aliases "
                                    "WHERE model_id = %s", (model_id,)).fetchall())
        [moves] = conn.execute("SELECT count(*) FROM alias_events WHERE model_id = %s",
                               (model_id,)).fetchone()
        requests = conn.execute("SELECT id, version, alias, state, requested_by, decided_by "
                                "FROM promotion_requests WHERE model_id = %s ORDER BY id",
                                (model_id,)).fetchall()
        [events] = conn.execute("SELECT count(*) FROM registry_events WHERE model_id = %s",
                                (model_id,)).fetchone()
    return {"aliases": aliases, "moves": moves, "requests": requests, "events": events}


def shoot(page, view, path: Path) -> None:
    """The page down to the end of the model view (not the empty space below it)."""
    bottom = view.bounding_box()
    height = min(900, int(bottom["y"] + bottom["height"]) + 24) if bottom else 900
    page.screenshot(path=str(path), clip={"x": 0, "y": 0, "width": 1400, "height": height})


def write_actions(view) -> list[str]:
    return [b.strip() for b in view.locator("button").all_inner_texts()
            if WRITE_ACTIONS.match(b)]


def test_each_role_sees_only_its_write_actions(labs, views, shots):
    """Before any request: whoever may ask for production (protected) sees Request promotion,
    a maintainer typing an unprotected alias sees Promote instead, a viewer sees no write
    action at all (nor the form)."""
    for user, view in views.items():
        view.locator(".jp-mlops-policies").get_by_text("@production").wait_for(timeout=WAIT)
        assert view.locator(".jp-mlops-versions tbody tr").count() == 2  # the view is loaded
        assert view.locator(".jp-mlops-me").inner_text().endswith(USERS[user])
        expected = [] if USERS[user] == "viewer" else ["Request promotion"]
        assert write_actions(view) == expected, user
    assert views["carol"].locator("form, input:not([type=checkbox])").count() == 0
    shoot(labs["carol"], views["carol"], shots / "team-viewer.png")
    alias = views["bob"].locator(".jp-mlops-promote").get_by_label("alias")
    alias.fill("staging")
    assert write_actions(views["bob"]) == ["Promote"]
    alias.fill("production")
    alias.blur()
    assert write_actions(views["bob"]) == ["Request promotion"]


def test_a_viewers_crafted_write_is_refused_with_nothing_changed(labs, views, team):
    """Carol's session sends what a write action would, with her XSRF token: the server
    accepts the request as hers, and her role refuses it; without the token it is refused
    before that, for the missing token."""
    page = labs["carol"]
    before = in_store(team)
    status, body = api(page, f"models/{MODEL}/aliases", "POST",
                       {"alias": "staging", "version": 2, "comment": "carol was here"})
    assert status == 403, (status, body)
    assert "role viewer" in body["error"] and "Nothing was changed" in body["error"], body
    # the protected alias: refused to anyone without an approved request
    status, body = api(page, f"models/{MODEL}/aliases", "POST",
                       {"alias": "production", "version": 2})
    assert status == 403 and "Nothing was changed" in body["error"], (status, body)
    status, body = page.evaluate("""async (path) => {
        const reply = await fetch(location.pathname.split('/lab')[0] + '/mlops/api/' + path,
            {method: 'POST', headers: {'Content-Type': 'application/json'},
             body: JSON.stringify({alias: 'staging', version: 2})});
        return [reply.status, await reply.json()];
    }""", f"models/{MODEL}/aliases")
    assert status == 403 and "xsrf" in body["error"].lower(), (status, body)
    assert in_store(team) == before


def test_a_request_from_a_cell_approved_by_another_maintainer_moves_the_alias_live(
        labs, views, team, shots):
    """Alice types and runs `%register request` in her notebook; the request appears in
    everyone's open model view (Approve for bob and dave only), alice's own approval is
    refused, bob approves, and production moves to 2 in alice's and carol's views; no page
    was reloaded."""
    alice, bob = labs["alice"], labs["bob"]
    before = in_store(team)
    assert before["aliases"] == {"production": 1}
    assert write_actions(views["bob"]).count("Approve") == 0  # nothing to approve yet
    # alice: her notebook, from the file browser; the request typed into its cell and run
    if not alice.locator("#filebrowser").is_visible():
        alice.locator('li[data-id="filebrowser"]').click()
    alice.locator(".jp-DirListing-content").get_by_text(NOTEBOOK, exact=True).dblclick()
    # its kernel started and idle (before that the status says "No Kernel | Initializing")
    alice.locator(".jp-StatusBar-TextItem").get_by_text(
        re.compile(r"\(ipykernel\) \| Idle")).wait_for(timeout=60_000)
    alice.locator(".jp-Notebook .jp-Cell .cm-content").first.click()
    alice.keyboard.insert_text(f"%load_ext jupyter_mlops\n%register request {MODEL}@2 "
                               f"--alias production --comment \"f1 0.86, up from 0.81\"")
    alice.keyboard.press("Shift+Enter")
    output = alice.locator(".jp-OutputArea-output").first
    output.wait_for(timeout=60_000)
    asked = time.monotonic()
    assert re.search(rf"request \d+: {MODEL}@2 to become production", output.inner_text()), (
        output.inner_text())
    [*_, request] = in_store(team)["requests"]
    assert request[1:5] == (2, "production", "open", team.roles["alice"]), request
    show_tab(alice, f"Model {MODEL}")  # back to her model view, open since before
    # bob and dave (the maintainers) see the request appear in their open views
    approve = views["bob"].get_by_role("button", name="Approve")
    approve.wait_for(timeout=WAIT)
    seen = time.monotonic() - asked
    views["dave"].get_by_role("button", name="Approve").wait_for(timeout=WAIT)
    for user in ("alice", "carol"):
        views[user].locator(f'.jp-mlops-request-item[data-request="{request[0]}"]').wait_for(
            timeout=WAIT)
    assert write_actions(views["carol"]) == []  # a request open, still nothing to do
    assert write_actions(views["alice"]) == ["Request promotion"]  # she may not approve
    status, body = api(alice, f"requests/{request[0]}/approve", "POST", {})  # nor craft it
    assert status == 403 and "role contributor" in body["error"], (status, body)
    assert in_store(team)["requests"][-1] == request
    shoot(bob, views["bob"], shots / "team-maintainer.png")
    approve.click()
    approved = time.monotonic()
    # alice (and carol) see production move to 2 without a reload
    moved_to_2 = ("() => [...document.querySelectorAll('.jp-mlops-model-view .jp-mlops-alias')]"
                  ".some(a => /production\\s*→\\s*2\\b/.test(a.textContent))")
    alice.wait_for_function(moved_to_2, timeout=WAIT)
    moved = time.monotonic() - approved
    labs["carol"].wait_for_function(moved_to_2, timeout=WAIT)
    shoot(alice, views["alice"], shots / "team-contributor.png")
    after = in_store(team)
    assert after["aliases"] == {"production": 2}
    assert after["requests"][-1][3:] == ("approved", team.roles["alice"], team.roles["bob"])
    assert after["moves"] == before["moves"] + 1
    for user, page in labs.items():
        assert not_reloaded(page), f"{user}'s page was reloaded"
    print(f"live: the request in bob's view {seen:.2f} s after alice's cell printed it; "
          f"the alias moved in alice's view {moved:.2f} s after bob clicked Approve")
