"""The app in real Chromium: what only a browser shows (layout and fonts of the graph)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve() -> Iterator[str]:
    """`streamlit run app.py` on a free port, health-polled, stopped afterwards."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.fileWatcherType", "none",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("the Streamlit server did not become healthy in 60 s")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve() as url:
        yield url


def test_a_lesson_link_on_a_fresh_server_gets_the_app(page):
    """The first request a new server ever gets is a lesson URL (a class opening the
    teacher's link after the app woke up): it must run app.py's navigation and layout,
    not a page on its own with Streamlit's auto-discovered menu ("app", "vectors", ...)."""
    with serve() as url:
        page.goto(f"{url}/vectors")
        page.wait_for_selector("[data-testid='stGraphVizChart'] svg g.node", timeout=60_000)
        page.wait_for_selector(IDLE)
        menu = page.locator("[data-testid='stSidebarNav']").inner_text()
        assert "3. Vectors" in menu and "Playground" in menu and "app" not in menu.split()
        assert page.locator(".streamlit-wide").count() == 1


def test_playground_graph_keeps_its_own_fonts(server, page):
    """st.graphviz_chart styles every SVG element with the app font at 9.6px; app.py
    reverts that, so each label row is drawn in the font and size it was laid out with
    (else text sits off-centre and the projector theme loses its large type)."""
    page.goto(server)
    page.wait_for_selector("[data-testid='stGraphVizChart'] svg g.node", timeout=60_000)
    page.wait_for_selector(IDLE)
    rows = page.evaluate("""() => [...document.querySelectorAll(
        "[data-testid='stGraphVizChart'] svg g.node text")].map(t => [t.textContent,
        t.getAttribute('font-size'), getComputedStyle(t).fontSize,
        t.getAttribute('font-family'), getComputedStyle(t).fontFamily])""")
    assert any(text == ".grad -7.661" for text, *_ in rows), rows
    for text, size, shown_size, family, shown_family in rows:
        assert float(shown_size.removesuffix("px")) == pytest.approx(float(size)), text
        assert shown_family.replace(" ", "").lower() == family.replace(" ", "").lower(), text
