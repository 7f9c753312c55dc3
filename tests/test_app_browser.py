"""The app in real Chromium: what only a browser shows (layout and fonts of the graph)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """`streamlit run app.py` on a free port, health-polled, stopped after the module."""
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
