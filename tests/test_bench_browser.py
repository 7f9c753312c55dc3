"""The browser benchmark still runs and reports what it should: a check of its structure
(rows of positive, finite times and the issue's target), never of how fast anything is."""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from bench import browser
from bench.report import Section
from tests.e2e.chromium import missing_browser_reason


@pytest.fixture(scope="module")
def sections() -> list[Section]:
    """``run(quick=True)`` once for every test here, in a thread of its own: Playwright's
    sync API refuses to start while another instance drives this thread (the e2e tests'
    session browser is still open when this file runs after them)."""
    reason = missing_browser_reason()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser benchmark cannot run in CI: {reason}")
        pytest.skip(f"browser benchmark skipped: {reason}")
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(browser.run, quick=True).result()


def test_one_section_with_the_measured_rows(sections):
    assert [s.title for s in sections] == [browser.TITLE]
    section = sections[0]
    assert section.columns == browser.COLUMNS and section.about
    labels = [row[0] for row in section.rows]
    assert len(labels) == len(set(labels))
    for label in (browser.TARGET_ROW, browser.NAV + "graph painted",
                  browser.NAV + "plots painted", browser.BROWSER_PART):
        assert label in labels, labels


def test_every_time_is_a_positive_finite_number(sections):
    for row in sections[0].rows:
        assert len(row) == len(browser.COLUMNS)
        assert int(row[1]) >= 1, row
        for cell in row[2:]:
            assert math.isfinite(float(cell)) and float(cell) > 0, row


def test_the_issue_target_is_reported(sections):
    (target,) = sections[0].targets
    assert target.what == browser.TARGET_WHAT and target.target == "< 1 s"
    assert target.measured.endswith("ms)") and isinstance(target.met, bool)


def test_without_a_browser_the_section_says_why(monkeypatch):
    monkeypatch.setattr(browser, "missing_browser_reason", lambda: "no Chromium here")
    (section,) = browser.run(quick=True)
    assert section.rows == [] and "no Chromium here" in section.about
    (target,) = section.targets
    assert target.measured == "not run: no Chromium here" and target.met is False
