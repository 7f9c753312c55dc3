"""Shared fixtures: a real headless Chromium for what only a browser shows.

Debian's Chromium (``apt-get install chromium``) at /usr/bin/chromium, driven by
Playwright. Without it the browser tests are skipped with the reason printed; under CI
(``CI=true``) a missing browser fails them instead, so a green CI always means the
browser tests ran.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
# Without the networking flags Chromium stalls on a closed network (GUIDE.md §2).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]


def _missing_browser_reason() -> str | None:
    if not CHROMIUM.exists():
        return (f"browser tests skipped: no Chromium at {CHROMIUM} "
                "(install it with `apt-get install chromium`; .ci/run does)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "browser tests skipped: the playwright package is not installed"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    reason = _missing_browser_reason()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason.replace("skipped", "cannot run in CI"))
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def fresh_caches() -> Iterator[None]:
    """Streamlit's caches outlive an AppTest within one pytest run: clear them per test."""
    import streamlit as st

    st.cache_data.clear()
    yield
    st.cache_data.clear()
