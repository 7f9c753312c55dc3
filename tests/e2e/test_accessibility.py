"""WCAG 2.1 AA in a real browser: axe-core against a bare Streamlit app, and the keyboard.

axe-core (npm, pinned in tests/e2e/axe/package-lock.json; `make test` installs it) is
injected into each page and run with the WCAG 2.0/2.1 A and AA rules plus best practices.
Streamlit's own markup has serious violations we cannot fix from an app (its page menu's
list structure), so the same scan of a bare app with two trivial pages (bare_app.py, the
same theme) is the baseline: every serious or critical violation the app shows must also
be one the bare app shows, by rule and by where on the page (sidebar or main area).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.driver import IDLE, RUN_TIMEOUT_MS, open_app, wait_for_graph
from tests.e2e.screenshots import BCE, playground
from tests.e2e.server import ROOT, serve

AXE = ROOT / "tests" / "e2e" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
SCHEMES = ["light", "dark"]
SKIP_LINK = "stSkipToContent"
VIEWS = ["graph", "steps", "written", "zoom", "gradient"]
# What to scan: the Playground as a learner first sees it, each graph view of the BCE
# neuron, and a lesson (path, graphs drawn before the scan; the zoom view's graph is an
# iframe's own document).
PAGES = [("", 1), ("chain_rule", 1)] + [
    (playground(BCE, view=view), {"written": 2, "zoom": 0}.get(view, 1)) for view in VIEWS]


def _axe_or_skip() -> Path:
    if AXE.exists():
        return AXE
    reason = (f"axe-core is not installed at {AXE.relative_to(ROOT)} "
              "(`make test` runs `npm ci --prefix tests/e2e/axe`)")
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


Violations = set[tuple[str, str]]


def serious_violations(page: Page) -> dict[tuple[str, str], list[str]]:
    """The page's serious and critical axe violations: (rule id, sidebar|main) -> a
    readable line per violating element, for the failure message."""
    # Never mid-run: Streamlit fades the elements of a run in progress, and faded text
    # fails contrast for a moment.
    page.wait_for_selector(IDLE, state="attached", timeout=RUN_TIMEOUT_MS)
    expect(page.locator("[data-stale='true']")).to_have_count(0, timeout=RUN_TIMEOUT_MS)
    page.add_script_tag(path=str(_axe_or_skip()))
    found = page.evaluate("""async rules => {
        const result = await axe.run(document, {runOnly: rules, elementRef: true});
        return result.violations.filter(v => ['serious', 'critical'].includes(v.impact))
            .flatMap(v => v.nodes.map(n => ({
                rule: v.id,
                where: n.element?.closest("[data-testid='stSidebar']") ? 'sidebar' : 'main',
                target: n.target.join(' '), why: n.failureSummary})));
    }""", RULES)
    by_rule: dict[tuple[str, str], list[str]] = {}
    for v in found:
        by_rule.setdefault((v["rule"], v["where"]), []).append(f"{v['target']}: {v['why']}")
    return by_rule


@contextmanager
def _context_page(browser, scheme: str) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  color_scheme=scheme)
    yield context.new_page()
    context.close()


@pytest.fixture(scope="module")
def baseline(browser) -> dict[str, Violations]:
    """The bare app's serious violations per colour scheme, both of its pages."""
    _axe_or_skip()
    found: dict[str, Violations] = {}
    with serve(script="tests/e2e/bare_app.py") as url:
        for scheme in SCHEMES:
            found[scheme] = set()
            for path in ("", "second"):
                with _context_page(browser, scheme) as page:
                    open_app(page, f"{url}/{path}")
                    expect(page.get_by_role("heading").first).to_be_visible()
                    found[scheme] |= set(serious_violations(page))
    return found


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize(("path", "graphs"), PAGES,
                         ids=["playground", "chain_rule"] + [f"view-{v}" for v in VIEWS])
def test_no_serious_violation_beyond_bare_streamlit(server, browser, baseline, scheme,
                                                   path, graphs):
    with _context_page(browser, scheme) as page:
        open_app(page, f"{server}/{path}")
        for index in range(graphs):
            wait_for_graph(page, index=index)
        if not graphs:  # the pan-and-zoom view: dot's SVG inside the iframe
            expect(page.frame_locator("iframe").first.locator("svg g.node").first
                   ).to_be_attached(timeout=RUN_TIMEOUT_MS)
        found = serious_violations(page)
    extra = {rule: found[rule] for rule in set(found) - baseline[scheme]}
    assert not extra, extra


def focused(page: Page) -> dict:
    """The focused element: its test id, text, label, and whether a focus ring is drawn
    (an outline or a box shadow) and it is shown (not transparent)."""
    return page.evaluate("""() => {
        const e = document.activeElement;
        const s = getComputedStyle(e);
        return {id: e.id, testid: e.dataset.testid ?? '', text: e.innerText?.trim() ?? '',
                label: e.getAttribute('aria-label') ?? '', tag: e.tagName,
                ring: (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0)
                      || s.boxShadow !== 'none',
                shown: parseFloat(s.opacity) > 0 && s.visibility !== 'hidden',
                inMain: !!e.closest("[data-testid='stMain']"),
                inPopover: !!e.closest("[data-testid='stPopoverBody']")};
    }""")


def words(focus: dict) -> list[str]:
    """The focused element's lines of text (a button's icon name is a line of its own)."""
    return [line.strip() for line in focus["text"].splitlines() if line.strip()]


def tab_until(page: Page, wanted, limit: int = 80) -> dict:
    """Press Tab until the focused element satisfies ``wanted``; each stop must show a
    focus ring."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(page)
        assert now["ring"], f"no visible focus ring on {now}"
        if wanted(now):
            return now
    raise AssertionError(f"Tab never reached it; last focus: {focused(page)}")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_skip_link_is_the_first_tab_stop_and_leads_to_the_main_content(server, browser,
                                                                      scheme):
    """Streamlit's own skip link (nothing of ours may come before it): hidden until
    focused, first on Tab, and Enter on it puts the next Tab in the main area, past the
    sidebar's page menu."""
    with _context_page(browser, scheme) as page:
        open_app(page, server)
        wait_for_graph(page)
        link = page.locator(f"[data-testid='{SKIP_LINK}']")
        assert not _on_screen(link)
        first = tab_until(page, lambda f: True, limit=1)
        assert first["testid"] == SKIP_LINK and first["text"] == "Skip to main content"
        assert _on_screen(link)
        page.keyboard.press("Enter")
        assert focused(page)["testid"] == "stMain"
        after = tab_until(page, lambda f: True, limit=1)
        assert after["inMain"], after


def _on_screen(locator) -> bool:
    box = locator.bounding_box()
    return box is not None and box["width"] > 1 and box["height"] > 1 and box["y"] >= 0 \
        and box["x"] >= 0


@pytest.mark.parametrize("menu", ["Share", "Export"])
def test_share_and_export_open_and_reach_their_buttons_by_keyboard(server, page, menu):
    """Tab reaches the menu's button, Enter opens it, Tab goes into it and reaches its
    buttons and the code block's copy button, which shows while it has the focus."""
    open_app(page, server)
    wait_for_graph(page)
    tab_until(page, lambda f: f["tag"] == "BUTTON" and menu in words(f))
    page.keyboard.press("Enter")
    expect(page.locator("[data-testid='stPopoverBody']")).to_be_visible()
    if menu == "Export":
        tab_until(page, lambda f: f["inPopover"] and "Download .py" in words(f))
        tab_until(page, lambda f: f["inPopover"] and "DOT (Graphviz source)" in words(f))
    copy = tab_until(page, lambda f: f["inPopover"] and f["label"] == "Copy to clipboard")
    assert copy["shown"], copy
    # Shift+Tab back to the first control and once more: the menu's own button again
    for _ in range(40):
        if page.evaluate("""() => document.activeElement.closest(
                "[data-testid='stPopoverBody']") === null"""):
            break
        page.keyboard.press("Shift+Tab")
    back = focused(page)
    assert back["tag"] == "BUTTON" and menu in words(back), back
