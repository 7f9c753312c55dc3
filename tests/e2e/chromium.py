"""Debian's Chromium, driven by Playwright: where it is, how to start it, why it cannot.

`npx playwright install` needs the network, so the tests use the distribution's browser
(``apt-get install chromium``, which .ci/run does) at /usr/bin/chromium.
"""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
# Without the networking flags Chromium stalls on a closed network (GUIDE.md §2).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]


def missing_browser_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists():
        return (f"no Chromium at {CHROMIUM} (install it with `apt-get install chromium`, "
                "as .ci/run does, or point CHROMIUM at one)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -r requirements-dev.txt)"
    return None


def launch(playwright: object) -> object:
    """A headless Chromium browser from a ``sync_playwright()`` instance."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                      args=CHROMIUM_ARGS)
