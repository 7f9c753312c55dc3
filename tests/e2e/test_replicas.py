"""Past one machine, in real Chromium: the app as 2 replicas behind deploy/'s nginx file
(deploy/local_cluster.py, the file the compose deployment runs).

A student opens a share link, edits, and downloads the Export script, all through nginx;
nginx's access log then shows that every request of that browser (page, static files,
health checks, the websocket, the download from /media/) went to ONE replica, the one
its first response's cookie named. New browsers land on both replicas. Each browser
context gets its own user agent, so the log says which context sent what.

Needs Debian's nginx and Chromium: skipped without them, a failure under CI (CI=true).
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from deploy.local_cluster import COOKIE, Cluster, cluster, missing_nginx_reason, reached_replica
from tests.e2e.driver import node, open_app, set_program, set_text, tooltip_value, wait_for_graph
from ui.share import PlaygroundState, query_string

PROGRAM = "y = w * x\nz = torch.sin(y) * x\n"
EDITED = "y = w * x + 1\nz = torch.sin(y) * x\n"
MAX_BROWSERS = 20  # new browsers until both replicas are seen (see the test)
LOG_WAIT_S = 10.0  # nginx logs a websocket when it closes


@pytest.fixture(scope="module")
def replicated(browser) -> Iterator[Cluster]:
    """Depends on ``browser``: without Chromium no cluster is started to be skipped."""
    reason = missing_nginx_reason()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"the replica tests cannot run in CI: {reason}")
        pytest.skip(f"replica tests skipped: {reason}")
    with cluster(replicas=2) as c:
        yield c


def requests_of(c: Cluster, agent: str, until: str | None = None) -> list[dict[str, str]]:
    """nginx's log lines sent by the context with user agent ``agent``, once one of them
    requests ``until`` (a websocket's line is written when it closes)."""
    deadline = time.monotonic() + LOG_WAIT_S
    while True:
        lines = [line for line in c.requests() if line["agent"] == agent]
        if until is None or any(line["request"].split()[1].startswith(until)
                                for line in lines) or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)  # waiting on nginx's log file, not on the app


def z_of(w: float, x: float, plus: float = 0.0) -> tuple[float, float, float]:
    """z = sin(w·x + plus)·x and its gradients by hand: (z, dz/dw, dz/dx)."""
    y = w * x + plus
    return math.sin(y) * x, math.cos(y) * x * x, math.cos(y) * w * x + math.sin(y)


def check_graph(page: Page, w: float, x: float, plus: float = 0.0) -> None:
    """The redrawn graph shows z for these inputs (4 digits on the box, and the full
    value in its tooltip, against the formula)."""
    z, _, _ = z_of(w, x, plus)
    wait_for_graph(page, f"value {z:.4g}")
    assert tooltip_value(node(page, "z"), "value") == pytest.approx(z, rel=1e-5)


def download_script(page: Page, folder: Path) -> Path:
    page.get_by_role("button", name="Export").click()
    with page.expect_download() as event:
        page.get_by_role("button", name="Download .py").click()
    path = folder / event.value.suggested_filename
    event.value.save_as(path)
    page.keyboard.press("Escape")
    return path


def test_a_share_link_its_edits_and_its_download_stay_on_one_replica(replicated, browser,
                                                                     tmp_path):
    agent = "ae-replicas-student"
    context = browser.new_context(viewport={"width": 1280, "height": 900}, user_agent=agent)
    try:
        page = context.new_page()
        link = query_string(PlaygroundState(code=PROGRAM, values={"w": "0.5", "x": "3"}))
        open_app(page, f"{replicated.url}/?{link}")
        check_graph(page, 0.5, 3)
        set_text(page, "x", "2")
        check_graph(page, 0.5, 2)
        set_program(page, EDITED)
        check_graph(page, 0.5, 2, plus=1)

        # The Export script, served from /media/ by the replica holding the session, run
        # in a fresh Python: it prints the page's gradients (torch prints 4 decimals),
        # here against the formula.
        script = download_script(page, tmp_path)
        assert EDITED in script.read_text()
        printed = subprocess.run([sys.executable, str(script)], capture_output=True,
                                 text=True, timeout=120, check=True).stdout
        _, dz_dw, dz_dx = z_of(0.5, 2, plus=1)
        for name, value in (("w", dz_dw), ("x", dz_dx)):
            found = re.search(rf"^{name}\.grad = tensor\(([-\d.e+]+)\)", printed, re.M)
            assert found and float(found.group(1)) == pytest.approx(value, abs=5e-5), printed
        (cookie,) = [c["value"] for c in context.cookies() if c["name"] == COOKIE]
    finally:
        context.close()

    lines = requests_of(replicated, agent, until="/_stcore/stream")
    paths = [line["request"].split()[1] for line in lines]
    assert paths[0].startswith("/?") and lines[0]["cookie"] == ""  # the link, no cookie yet
    assert all(line["cookie"] == cookie for line in lines[1:])  # then always the cookie
    assert {line["key"] for line in lines} == {cookie}  # the first was hashed on it too
    for wanted in ("/static/", "/_stcore/health", "/_stcore/stream", "/media/"):
        assert any(p.startswith(wanted) for p in paths), (wanted, paths)
    streams = [line for line in lines if line["request"].split()[1] == "/_stcore/stream"]
    assert [(s["status"], s["upgrade"]) for s in streams] == [("101", "websocket")]
    reached = reached_replica(lines)  # not the static files nginx keeps in its cache
    assert len({line["upstream"] for line in reached}) == 1, lines
    assert reached[0]["upstream"] in {r.address for r in replicated.replicas}


def test_new_browsers_are_spread_over_both_replicas(replicated, browser):
    """New browsers (fresh contexts, no cookie) until both replicas have served one. Each
    lands on either with probability about 1/2 (a new random cookie, hashed), so this
    usually takes 2-3; all of MAX_BROWSERS on one replica would have probability about
    2**-19. Every one of them stays on its replica, websocket included."""
    seen: dict[str, str] = {}
    for n in range(MAX_BROWSERS):
        agent = f"ae-replicas-newcomer-{n}"
        context = browser.new_context(viewport={"width": 1280, "height": 900},
                                      user_agent=agent)
        try:
            open_app(context.new_page(), replicated.url)
        finally:
            context.close()
        lines = reached_replica(requests_of(replicated, agent, until="/_stcore/stream"))
        assert len({line["upstream"] for line in lines}) == 1, lines
        seen[agent] = lines[0]["upstream"]
        if len(set(seen.values())) == len(replicated.replicas):
            break
    assert set(seen.values()) == {r.address for r in replicated.replicas}, seen
