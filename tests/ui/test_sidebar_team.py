"""The model view on a team store, one JupyterLab per team role (each server connects as its
user's database role, as on JupyterHub): a contributor requests a promotion, a maintainer sees
it appear with the gate's values and approves, everyone sees the alias move; a viewer sees no
write action. The end-to-end proof through JupyterHub's login is tests/test_hub.py's."""

from __future__ import annotations

import re
import socket
import uuid
from contextlib import ExitStack

import pytest
from jupyter_process import shared_project

from ui.conftest import lab_server, open_page

WAIT = 15_000
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
ROLES = ("viewer", "contributor", "maintainer")


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    """A team store (a fresh PostgreSQL database) with a model `churn` of two versions that
    its contributor registered, and a gate on production; yields (TeamStore, project root)."""
    import os

    import psycopg

    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=2).close()
    except OSError:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL on 127.0.0.1:5432 is required under CI=true")
        pytest.skip("no PostgreSQL on 127.0.0.1:5432")
    from team_store import drop_users, make_team_store

    name = f"mlops_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    uri = f"postgresql://postgres@127.0.0.1:5432/{name}"
    root = tmp_path_factory.mktemp("team") / "project"
    root.mkdir()
    artifacts = str(root / "artifacts")
    try:
        with shared_project(root):
            import jupyter_mlops as mlops
            from jupyter_mlops.store import Store

            Store(uri, artifacts, check=False).upgrade()
            made = make_team_store(uri, artifacts)
            os.environ["MLOPS_ARTIFACT_URI"] = artifacts
            import pandas as pd
            from sklearn.linear_model import LogisticRegression

            X = pd.DataFrame({"x": [i / 10 for i in range(20)]})
            y = [int(i >= 10) for i in range(20)]
            with made.acting_as(made.users["contributor"]):
                for f1 in (0.8, 0.9):
                    with mlops.start_run(name=f"churn-{f1}", experiment="churn"):
                        mlops.log_metric("f1", f1)
                        mlops.register_model(LogisticRegression().fit(X, y), "churn", signature=X)
            with made.acting_as(made.users["maintainer"]):
                mlops.set_alias_policy("churn", "production", gate="metrics.f1 >= 0.5")
            yield made, root
            drop_users(made)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def labs(team, tmp_path_factory):
    """One JupyterLab per role, each connecting to the store as that role's user."""
    made, root = team
    with ExitStack() as stack:
        yield {role: stack.enter_context(lab_server(root, tmp_path_factory, env={
            "MLOPS_PROJECT_ROOT": str(root), "MLOPS_STORE_URI": made.uri_of(made.users[role]),
            "MLOPS_ARTIFACT_URI": made.artifacts})) for role in ROLES}


def model_view(browser, labs, role: str):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    base, token = labs[role]
    page = open_page(context, base, token, ".jp-mlops-section-models .jp-mlops-item",
                     section="models")
    page.locator(".jp-mlops-section-models .jp-mlops-item", has_text="churn").click()
    view = page.locator(".jp-mlops-model-view")
    view.locator(".jp-mlops-policies").wait_for(timeout=WAIT)
    return context, page, view


def test_roles_see_their_actions_and_requests_live(browser, labs, team, shots):
    made, _ = team
    opened = {role: model_view(browser, labs, role) for role in ROLES}
    try:
        _, _, viewer = opened["viewer"]
        _, contributor_page, contributor = opened["contributor"]
        _, maintainer_page, maintainer = opened["maintainer"]
        assert "viewer" in viewer.locator(".jp-mlops-me").inner_text()
        assert viewer.locator(".jp-mlops-promote").count() == 0  # no write action
        assert "metrics.f1 >= 0.5" in viewer.locator(".jp-mlops-policies").inner_text()

        form = contributor.locator(".jp-mlops-promote")
        assert form.locator("button").inner_text() == "Request promotion"  # production is protected
        form.locator("select").select_option("2")
        form.locator("button").click()
        answer = form.locator("[role=status]")
        answer.wait_for(timeout=WAIT)
        assert re.fullmatch(r"request \d+ opened: churn@2 → production", answer.inner_text())

        for view in (maintainer, viewer):  # live, without a reload
            view.locator(".jp-mlops-request-item").wait_for(timeout=WAIT)
            item = view.locator(".jp-mlops-request-item")
            assert "v2 → @production" in item.inner_text()
            assert "metrics.f1 = 0.9" in item.locator(".jp-mlops-gate-values").inner_text()
            assert made.users["contributor"] in item.inner_text()
        assert viewer.locator(".jp-mlops-approve").count() == 0
        assert contributor.locator(".jp-mlops-approve").count() == 0
        line = maintainer_page.locator(".jp-mlops-section-models .jp-mlops-section-line")
        page_wait_text(maintainer_page, line, "Models · 1 · 1 request open")

        promote = maintainer.locator(".jp-mlops-promote")
        assert promote.locator("button").inner_text() == "Request promotion"
        promote.locator("input").first.fill("staging")  # not protected: a maintainer promotes
        assert promote.locator("button").inner_text() == "Promote"
        maintainer_page.screenshot(path=str(shots / "model-view-team.png"))

        maintainer.locator(".jp-mlops-approve").click()
        for view in (contributor, viewer, maintainer):  # the alias moved, for everyone
            view.locator(".jp-mlops-alias", has_text="@production → 2").wait_for(timeout=WAIT)
        assert maintainer.locator(".jp-mlops-request-item").count() == 0
        assert contributor_page.dialogs == [] and maintainer_page.dialogs == []
    finally:
        for context, _, _ in opened.values():
            context.close()


def page_wait_text(page, locator, text: str) -> None:
    """Wait until `locator`'s text is `text`."""
    handle = locator.element_handle(timeout=WAIT)
    page.wait_for_function("([el, text]) => el.textContent === text", arg=[handle, text],
                           timeout=WAIT)
