"""Browser tests: JupyterLab on a free loopback port, driven by Playwright with Debian's
chromium (never a downloaded browser). Without chromium the tests skip, except under CI=true,
where that is a failure (scripts/test installs it)."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path

import pytest
from jupyter_process import jupyter_server, shared_project

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is required under CI=true (apt-get install -y chromium)")
        pytest.skip(f"no {CHROMIUM}: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def lab_project(tmp_path_factory):
    """A project whose store the test process and the JupyterLab server share."""
    root = tmp_path_factory.mktemp("lab") / "project"
    root.mkdir()
    with shared_project(root):
        yield root


@pytest.fixture(scope="session")
def big_store(tmp_path_factory) -> dict:
    """A project whose store holds 10,000 runs (experiment `big`, 20 params and 10 metrics
    each) and an AutoML search with its trials as child runs (experiment `automl`), built
    once a session through the Python API (stores.fill). A module copies it into its own
    project before its server starts (stores.copy_store, see test_experiments.py); `root`
    is the template, with what `fill` returned."""
    from .stores import fill

    root = tmp_path_factory.mktemp("big-store") / "project"
    root.mkdir()
    with shared_project(root):
        made = fill()
    print(f"big store: {made['runs']:,} runs in {made['runs_s']:.1f} s, "
          f"AutoML in {made['automl_s']:.1f} s")
    return {"root": root, **made}


@contextmanager
def lab_server(root: Path, tmp_path_factory, env: dict[str, str] | None = None):
    """JupyterLab serving `root` (its news pop-up off, window.jupyterapp exposed for commands);
    yields (base URL, token)."""
    settings = tmp_path_factory.mktemp("lab-settings")
    notification = settings / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    env = {"JUPYTERLAB_SETTINGS_DIR": str(settings),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path_factory.mktemp("workspaces")), **(env or {})}
    with jupyter_server("jupyterlab", root, tmp_path_factory.mktemp("lab-server"),
                        "--LabApp.expose_app_in_browser=True", env=env,
                        base_url="/base/") as running:
        yield running.base, running.token


@pytest.fixture(scope="module")
def lab(lab_project, tmp_path_factory):
    """JupyterLab serving `lab_project`; yields (base URL, token)."""
    with lab_server(lab_project, tmp_path_factory) as running:
        yield running


def open_page(context, base: str, token: str, ready: str, timeout: int = 15_000,
              section: str | None = None):
    """JupyterLab in a new page of `context` with the sidebar shown (and `section` of it
    expanded), once `ready` (a CSS selector) shows; the page records dialogs (`page.dialogs`),
    and on failure a screenshot goes to /tmp/mlops-ui-failure.png with the console printed."""
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    page.dialogs = dialogs
    page.goto(f"{base}lab?token={token}")
    page.wait_for_selector("#jp-main-dock-panel", timeout=90_000)
    try:
        tab = page.locator('li[data-id="jp-mlops-sidebar"]')
        tab.wait_for(timeout=60_000)
        if not page.locator("#jp-mlops-sidebar").is_visible():  # the workspace may restore it
            tab.click()
        if section:  # one section is open at a time, the workspace remembers which
            title = page.locator(f".jp-mlops-section-{section} .jp-mlops-section-title")
            if title.get_attribute("aria-expanded", timeout=timeout) != "true":
                title.click()
        page.wait_for_selector(ready, timeout=timeout)
    except Exception:
        page.screenshot(path="/tmp/mlops-ui-failure.png")
        print("\n".join(console))
        raise
    return page


# every element of the sidebar that cuts its content (overflow hidden or clip) and has more
# content than width: its text, its title, what it is
CLIPPED = """root => [...root.querySelectorAll('*')].filter(el => {
  const style = getComputedStyle(el);
  return ['hidden', 'clip'].includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1;
}).map(el => ({text: el.textContent.trim(), title: el.title, what: el.className}))"""


def assert_readable(page) -> list[str]:
    """The sidebar, as it is now, holds nothing wider than itself, and every element that cuts
    its text has the whole text in its title; returns the texts cut."""
    sidebar = page.locator("#jp-mlops-sidebar")
    assert sidebar.evaluate("el => el.scrollWidth <= el.clientWidth"), "wider than the sidebar"
    cut = sidebar.evaluate(CLIPPED)
    for element in cut:
        assert element["text"] and element["title"] == element["text"], element
    return [element["text"] for element in cut]


@pytest.fixture
def open_lab(browser, lab):
    """A function opening JupyterLab (open_page) in a fresh browser context."""
    base, token = lab
    contexts = []

    def open_(ready: str, height: int = 900, timeout: int = 15_000, section: str | None = None):
        context = browser.new_context(viewport={"width": 1400, "height": height})
        contexts.append(context)
        return open_page(context, base, token, ready, timeout, section)

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def shots(request, tmp_path_factory):
    """Where a test saves its screenshots (UI_SCREENSHOTS to keep them somewhere)."""
    folder = Path(os.environ.get("UI_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder



# pytest-jupyter (loaded for the REST tests) gives every test a fresh asyncio loop and a
# server cleanup; Playwright's sync API runs its own loop, so browser tests opt out of both.
@pytest.fixture
def jp_asyncio_loop():
    yield None


@pytest.fixture
def jp_server_cleanup():
    yield
