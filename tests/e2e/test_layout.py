"""Layout only a browser shows: which app a first request gets, fonts inside the graph."""

from __future__ import annotations

import pytest

from tests.e2e.driver import GRAPH, open_app, wait_for_graph
from tests.e2e.server import serve


def test_a_lesson_link_on_a_fresh_server_gets_the_app(page):
    """The first request a new server ever gets is a lesson URL (a class opening the
    teacher's link after the app woke up): it must run app.py's navigation and layout,
    not a page on its own with Streamlit's auto-discovered menu ("app", "vectors", ...)."""
    with serve() as url:
        open_app(page, f"{url}/vectors")
        wait_for_graph(page)
        menu = page.locator("[data-testid='stSidebarNav']").inner_text()
        assert "3. Vectors" in menu and "Playground" in menu and "app" not in menu.split()
        assert page.locator(".streamlit-wide").count() == 1


def test_playground_graph_keeps_its_own_fonts(server, page):
    """st.graphviz_chart styles every SVG element with the app font at 9.6px; app.py
    reverts that, so each label row is drawn in the font and size it was laid out with
    (else text sits off-centre and the projector theme loses its large type)."""
    open_app(page, server)
    wait_for_graph(page, ".grad -7.661")
    rows = page.locator(GRAPH).first.evaluate("""svg => [...svg.querySelectorAll(
        "g.node text")].map(t => [t.textContent, t.getAttribute('font-size'),
        getComputedStyle(t).fontSize, t.getAttribute('font-family'),
        getComputedStyle(t).fontFamily])""")
    assert any(text == ".grad -7.661" for text, *_ in rows), rows
    for text, size, shown_size, family, shown_family in rows:
        assert float(shown_size.removesuffix("px")) == pytest.approx(float(size)), text
        assert shown_family.replace(" ", "").lower() == family.replace(" ", "").lower(), text
