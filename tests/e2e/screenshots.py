"""Screenshots of the app for the README: ``python -m tests.e2e.screenshots``.

Starts the real server, opens each view in headless Chromium (light or dark, as the
browser asks the app), waits until the graph is laid out and the plots are drawn, and
writes ``docs/<name>.png``. Run it after a visible change and commit the pictures.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.chromium import launch, missing_browser_reason
from tests.e2e.driver import open_app, plots, wait_for_graph
from tests.e2e.server import ROOT, serve
from tests.test_modules_views import LEGENDRE
from ui.examples import BCE_CODE, TRAINING_CODE
from ui.share import PlaygroundState, query_string

DOCS = ROOT / "docs"
BCE = PlaygroundState(code=BCE_CODE, values={"x": "6.7", "y": "0"},
                      constants=frozenset({"x", "y"}))
NO_GRAD = PlaygroundState(code="with torch.no_grad():\n    y = x**2\nz = y + x\n",
                          values={"x": "2"})
TRAINING = PlaygroundState(code=TRAINING_CODE, values={})
DIVERGING = PlaygroundState(code="y = x**2\n", values={"x": "2"}, descend="sgd",
                            descend_lr=1.5)


def playground(state: PlaygroundState, **changes: object) -> str:
    """The Playground's address for ``state`` with ``changes`` (a share link)."""
    return "?" + query_string(PlaygroundState(**{**state.__dict__, **changes}))


@dataclass(frozen=True)
class Shot:
    """One picture: which view, in which colour scheme, how tall a window."""

    name: str
    path: str
    scheme: str = "light"
    graphs: int = 1
    plots: int = 2
    height: int = 1500
    width: int = 1440
    top: str | None = None  # scroll this heading to the top of the window first


SHOTS = [
    # The default view: sin(x**2) at 4, the seed's first chain rule; graph and plots fit.
    Shot("playground-light", "", height=1700),
    Shot("playground-dark", "", scheme="dark", height=1700),
    Shot("lesson-chain-rule", "chain_rule", height=1700),
    Shot("lesson-stopping-gradients", "stopping_gradients", graphs=3, plots=0, height=1450),
    # Issue 7's views: the BCE neuron's backward at the sigmoid, and no_grad side by side.
    Shot("playground-steps", playground(BCE, view="steps", step=9), plots=0, height=1300,
         top="Autograd graph"),
    Shot("playground-written", playground(NO_GRAD, view="written"), graphs=2, plots=0,
         height=1000, top="Autograd graph"),
    # Issue 17: backward reaches the program's own autograd.Function and runs its code.
    Shot("playground-custom-backward", playground(PlaygroundState(
        code=LEGENDRE, view="steps", step=2)), plots=0, height=1300, top="Autograd graph"),
    # Issue 18: the neuron's 200-step loop (its steps, and its path across the contours),
    # Descend overshooting y = x**2 at lr 1.5, and lesson 7 with its two mistakes.
    Shot("playground-training", playground(TRAINING), height=1600, top="Training"),
    Shot("playground-descend-diverging", playground(DIVERGING), height=1600,
         top="Training"),
    Shot("lesson-training-loop", "training_loop", plots=4, height=1500),
    Shot("lesson-training-loop-zero", "training_loop", plots=4, height=1450,
         top="(a) Forgetting zero_()"),
    Shot("lesson-training-loop-no-grad", "training_loop", plots=4, height=820,
         top="(b) Updating outside torch.no_grad()"),
    # Issue 19: presenting. The step view on a 1280x720 projector (the page has followed
    # the running node; the explanation and its buttons stay beside it), and on a phone.
    Shot("presenter-projector-steps", playground(BCE, view="steps", step=9, projector=True),
         plots=0, width=1280, height=720),
    Shot("presenter-phone-steps", playground(BCE, view="steps", step=9), plots=0,
         width=390, height=844, top="Autograd graph"),
]


def take(shots: list[Shot], out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    written = []
    with serve() as url, sync_playwright() as playwright:
        browser = launch(playwright)
        for shot in shots:
            context = browser.new_context(viewport={"width": shot.width, "height": shot.height},
                                          color_scheme=shot.scheme)
            page = context.new_page()
            open_app(page, f"{url}/{shot.path}")
            for index in range(shot.graphs):
                wait_for_graph(page, index=index)
            if shot.plots:
                plots(page, shot.plots)
            if shot.top:
                page.get_by_role("heading", name=shot.top).evaluate(
                    "h => h.scrollIntoView({block: 'start'})")
            page.evaluate("() => document.fonts.ready.then(() => true)")
            path = out / f"{shot.name}.png"
            page.screenshot(path=path)
            written.append(path)
            context.close()
        browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOCS, help="folder for the PNG files")
    parser.add_argument("names", nargs="*", help="only these shots (default: all)")
    args = parser.parse_args(argv)
    if reason := missing_browser_reason():
        print(f"cannot take screenshots: {reason}", file=sys.stderr)
        return 1
    shots = [s for s in SHOTS if not args.names or s.name in args.names]
    args.out.mkdir(parents=True, exist_ok=True)
    for path in take(shots, args.out):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
