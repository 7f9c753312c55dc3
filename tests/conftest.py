"""Shared fixtures: a real headless Chromium for what only a browser shows.

Debian's Chromium (``apt-get install chromium``) at /usr/bin/chromium, driven by
Playwright. Without it the browser tests are skipped with the reason printed; under CI
(``CI=true``) a missing browser fails them instead, so a green CI always means the
browser tests ran.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.e2e.chromium import launch, missing_browser_reason

_skipped_browser: list[str] = []  # why the browser tests were skipped, for the summary


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    reason = missing_browser_reason()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser tests cannot run in CI: {reason}")
        _skipped_browser.append(reason)
        pytest.skip(f"browser tests skipped: {reason}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser context: its own cookies, so its own Streamlit session."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say once, at the end, loudly, that the browser tests did not run and why."""
    if _skipped_browser:
        terminalreporter.write_sep("!", "BROWSER TESTS SKIPPED", yellow=True, bold=True)
        terminalreporter.write_line(f"{_skipped_browser[0]}.")
        terminalreporter.write_line("They run under .ci/run (CI=true makes this a failure).")


@pytest.fixture
def fresh_caches() -> Iterator[None]:
    """Streamlit's caches outlive an AppTest within one pytest run: clear them per test."""
    import streamlit as st

    from ui import memo

    st.cache_data.clear()
    memo.clear()
    yield
    st.cache_data.clear()
    memo.clear()
