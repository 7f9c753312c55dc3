"""deploy/'s nginx file for real: Debian's nginx in front of 2 real replicas of the app
(deploy/local_cluster.py), spoken to over HTTP and the app's own websocket protocol.

What is checked is what a class needs from the proxy: the first response sets the replica
cookie; every later request carrying it (page, static file, health, the websocket
upgrade) reaches the same replica; browsers without it spread over both; the websocket
runs the lecturer's program through the proxy; Streamlit's origin check still refuses a
foreign page. Which replica served what is read from nginx's own access log. Needs nginx:
skipped without it, a failure under CI (CI=true), as the browser tests are.
"""

from __future__ import annotations

import asyncio
import gzip
import http.client
import http.cookiejar
import os
import re
import time
import urllib.request
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.cookies import SimpleCookie
from typing import Any, TypeVar

import pytest

from bench.classroom import Client, Student, check, descendants
from deploy.local_cluster import (
    COOKIE,
    Cluster,
    cluster,
    missing_nginx_reason,
    reached_replica,
)

T = TypeVar("T")

DEADLINE_S = 10.0  # nginx logs a websocket when it closes: wait for that line this long


def on_its_own_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run the coroutine on a new event loop in its own thread: the browser tests' sync
    Playwright keeps a loop running in this thread for the whole session, and asyncio
    refuses to start a second one inside it."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@pytest.fixture(scope="module")
def running() -> Iterator[Cluster]:
    reason = missing_nginx_reason()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    with cluster(replicas=2) as c:
        yield c


class Browser:
    """What matters of a browser here: it keeps the cookies it is given."""

    def __init__(self, base: str) -> None:
        self.base, self.jar = base, http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> tuple[str, str]:
        with self.opener.open(self.base + path, timeout=30) as response:
            return response.headers.get("Set-Cookie", ""), response.read().decode()

    @property
    def cookie(self) -> str:
        return next(c.value for c in self.jar if c.name == COOKIE)


def logged(c: Cluster, key: str, count: int) -> list[dict[str, str]]:
    """nginx's log lines hashed on ``key``, once there are ``count`` of them."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        lines = [line for line in c.requests() if line["key"] == key]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)  # nginx writes a websocket's line when it closes


def test_the_first_response_sets_the_cookie_and_every_later_request_stays(
        running: Cluster) -> None:
    browser = Browser(running.url)
    set_cookie, html = browser.get("/")
    morsel = SimpleCookie(set_cookie)[COOKIE]
    assert re.fullmatch(r"[0-9a-f]{32}", morsel.value)  # nginx's $request_id
    assert morsel["path"] == "/" and morsel["httponly"] and morsel["samesite"] == "Lax"
    assert not morsel["max-age"] and not morsel["expires"]  # ends with the browser
    script = re.search(r'src="\./(static/js/[^"]+\.js)"', html).group(1)
    for path in ("/_stcore/health", "/_stcore/host-config", f"/{script}"):
        browser.get(path)
    lines = logged(running, browser.cookie, 4)
    assert [line["request"].split()[1] for line in lines] == [
        "/", "/_stcore/health", "/_stcore/host-config", f"/{script}"]
    assert [line["cookie"] for line in lines] == [""] + [browser.cookie] * 3
    assert all(line["status"] == "200" for line in lines)
    reached = reached_replica(lines)
    assert len({line["upstream"] for line in reached}) == 1
    assert reached[0]["upstream"] in {r.address for r in running.replicas}


def test_static_files_are_kept_by_nginx_and_compressed(running: Cluster) -> None:
    """Streamlit's build files come from a replica once, then from nginx's cache (to any
    browser, on either replica's cookie), gzipped when asked, byte for byte the replica's
    file; the page itself and the health check are never cached."""
    html = Browser(running.url).get("/")[1]
    script = "/" + re.search(r'src="\./(static/js/[^"]+\.js)"', html).group(1)
    direct = urllib.request.urlopen(running.replicas[0].url + script, timeout=30).read()
    seen = []
    for _ in range(3):
        browser = Browser(running.url)
        browser.get("/_stcore/health")
        request = urllib.request.Request(running.url + script,
                                         headers={"Accept-Encoding": "gzip"})
        request.add_header("Cookie", f"{COOKIE}={browser.cookie}")
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.headers["Content-Encoding"] == "gzip"
            body = response.read()
        assert gzip.decompress(body) == direct
        assert len(body) < len(direct) / 2
        seen += [line for line in logged(running, browser.cookie, 2)
                 if line["request"].split()[1] == script]
    assert [line["cache"] for line in seen][1:] == ["HIT", "HIT"]
    assert all(line["upstream"] == "" for line in seen[1:])
    for line in running.requests():
        if not line["request"].split()[1].startswith("/static/"):
            assert line["cache"] == "", line


def test_browsers_without_the_cookie_spread_over_both_replicas(running: Cluster) -> None:
    """40 new browsers: each lands on the replica its new cookie hashes to (both are used;
    all 40 on one would happen with probability about 2 * 2**-40) and stays there."""
    browsers = [Browser(running.url) for _ in range(40)]
    for browser in browsers:
        browser.get("/_stcore/health")
        browser.get("/_stcore/health")
    chosen = {}
    for browser in browsers:
        lines = logged(running, browser.cookie, 2)
        assert [line["cookie"] for line in lines] == ["", browser.cookie]
        assert lines[0]["upstream"] == lines[1]["upstream"]
        chosen[browser.cookie] = lines[0]["upstream"]
    assert set(chosen.values()) == {r.address for r in running.replicas}


def test_the_websocket_upgrades_on_the_cookies_replica_and_runs_the_program(
        running: Cluster) -> None:
    """The load client as a browser: the page, then the websocket with the cookie; the
    lecturer's link runs (x = 4, z = sin(16) in the graph, independently computed)."""
    client, student = Client(running.url), Student(0)

    async def load() -> list[str]:
        await client.connect()
        try:
            return check(await client.rerun(), student.expected())
        finally:
            await client.close()

    assert on_its_own_loop(load()) == []
    cookie = next(c.value for c in client.cookies if c.name == COOKIE)
    page, stream = logged(running, cookie, 2)
    assert page["request"].startswith("GET /?code=") and page["cookie"] == ""
    assert stream["request"].startswith("GET /_stcore/stream ")
    assert (stream["status"], stream["upgrade"], stream["cookie"]) == ("101", "websocket",
                                                                        cookie)
    assert stream["upstream"] == page["upstream"]


def upgrade_status(c: Cluster, host: str, origin: str) -> int:
    """The status of a websocket handshake to the app through nginx, as a page at
    ``origin`` reaching the app by the name ``host`` would send it."""
    connection = http.client.HTTPConnection(c.url.removeprefix("http://"), timeout=30)
    try:
        connection.putrequest("GET", "/_stcore/stream", skip_host=True)
        for name, value in {"Host": host, "Origin": origin, "Upgrade": "websocket",
                            "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                            "Sec-WebSocket-Protocol": "streamlit"}.items():
            connection.putheader(name, value)
        connection.endheaders()
        return connection.getresponse().status
    finally:
        connection.close()


def test_streamlits_origin_check_still_works_through_nginx(running: Cluster) -> None:
    """nginx passes the Host with its port, so a page on the name the class uses is the
    same origin to Streamlit (CORS and XSRF protection stay on) and a foreign one is not."""
    port = running.url.rsplit(":", 1)[1]
    host = f"classroom.example:{port}"
    assert upgrade_status(running, host, f"http://{host}") == 101
    assert upgrade_status(running, host, "http://elsewhere.example") == 403


def test_nginx_does_not_run_as_root(running: Cluster) -> None:
    for pid in (running.nginx.pid, *descendants(running.nginx.pid)):
        with open(f"/proc/{pid}/status") as f:
            uids = next(line for line in f if line.startswith("Uid:")).split()[1:]
        assert "0" not in uids

