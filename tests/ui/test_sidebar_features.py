"""The sidebar's Features section in a real JupyterLab: each view with its versions, entities,
ttl and the freshness of its last materialization, live through the change feed, and a view's
versions, materializations, feature profile and distributions figure."""

from __future__ import annotations

import pandas as pd
import pytest
from feature_views import define

from ui.conftest import assert_readable

WAIT = 15_000  # ms


@pytest.fixture(scope="module")
def views(lab_project):
    """The shared views (feature_views.py) over 400 rows of 100 customers, the newest 2 days
    old; orders dated 3 hours ago."""
    import numpy as np

    import jupyter_mlops as mlops

    now = pd.Timestamp.now(tz="UTC").floor("s").tz_localize(None)
    rng = np.random.default_rng(0)
    n = 400
    customers = pd.DataFrame({
        "customer_id": np.arange(n) % 100,
        "ts": now - pd.to_timedelta(2 + rng.uniform(0, 20, n).round(3), unit="D"),
        "spend": rng.lognormal(3, 0.6, n), "visits": rng.poisson(4, n).astype(float),
        "segment": rng.choice(["retail", "pro", "trial"], n, p=[0.6, 0.3, 0.1])})
    customers.loc[0, "ts"] = now - pd.Timedelta(days=2)
    define(mlops, customers, now, orders_age=pd.Timedelta(hours=3))
    return mlops


def text(locator) -> str:
    """A locator's text, its non-breaking spaces (between a number and its unit) as spaces."""
    return locator.inner_text().replace("\xa0", " ")


@pytest.fixture
def page(open_lab, views):
    return open_lab(".jp-mlops-section-features .jp-mlops-item", height=1000,
                    section="features")


def test_features_section_and_view(page, views, shots):
    section = page.locator(".jp-mlops-section-features")
    item = section.locator('.jp-mlops-item[data-view="customers"]')
    assert section.locator(".jp-mlops-item .jp-mlops-name").all_inner_texts() == [
        "customers", "orders", "stale"]
    assert "@2 · 2 versions" in text(item)
    assert "by customer_id · 3 features · ttl 30 d" in text(item)
    assert "data 2 d old" in text(item)
    assert item.locator(".jp-mlops-badge-online").count() == 1
    assert item.locator(".jp-mlops-badge-drifted").count() == 0
    stale = section.locator('.jp-mlops-item[data-view="stale"]')
    assert stale.locator(".jp-mlops-badge-drifted").inner_text() == "expired"
    orders = section.locator('.jp-mlops-item[data-view="orders"]')
    assert "not materialized" in text(orders)
    assert_readable(page)  # badges and freshness fit the sidebar's default width
    page.locator("#jp-mlops-sidebar").screenshot(path=str(shots / "sidebar-features.png"))

    # live: a materialization in the test process reaches the open sidebar
    views.materialize("orders")
    page.wait_for_function(
        "document.querySelector('.jp-mlops-item[data-view=\"orders\"]').textContent"
        ".replace(/\\u00a0/g, ' ').includes('data 3 h old')", timeout=WAIT)

    item.click()
    view = page.locator(".jp-mlops-feature-view")
    view.wait_for(timeout=WAIT)
    assert view.locator("h2 .jp-mlops-name").inner_text() == "customers"
    assert "entities customer_id · time ts · ttl 30 d · python" in text(view)
    versions = view.locator("section").nth(0).locator("tbody tr")
    assert versions.count() == 2
    assert versions.nth(1).get_attribute("class") == "jp-mod-selected"
    done = view.locator("section").nth(1).locator("tbody tr")
    assert done.count() == 1
    assert done.locator("td").all_inner_texts()[1:2] == ["400"]
    assert "100 keys" in text(done)
    profile = view.locator("section").nth(2).locator("tbody tr td:first-child")
    assert profile.all_inner_texts() == ["spend", "visits", "segment"]
    view.locator(".js-plotly-plot").wait_for(timeout=WAIT)  # the distributions figure
    assert view.locator(".js-plotly-plot .boxlayer .trace").count() == 2
    assert view.locator(".js-plotly-plot .barlayer .trace").count() == 1
    assert "def customers():" in view.locator("pre.jp-mlops-code").inner_text()
    page.screenshot(path=str(shots / "feature-view.png"))

    # an older version: its own definition, never materialized
    versions.nth(0).locator("a").click()
    page.wait_for_function(
        "document.querySelector('.jp-mlops-feature-view h2').textContent.includes('@1')",
        timeout=WAIT)
    assert "ttl 7 d" in text(view)
    assert "never materialized: %feature materialize customers" in text(view)
    assert view.locator(".js-plotly-plot").count() == 0
    assert page.dialogs == []
