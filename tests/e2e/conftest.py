"""One real server for the browser tests (tests that need a fresh one start their own)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.server import serve


@pytest.fixture(scope="session")
def server(browser) -> Iterator[str]:
    """The app's base URL. Depends on ``browser`` so that, without Chromium, no server is
    started just to be skipped."""
    with serve() as url:
        yield url
