"""The app in headless Chromium: first navigation to a drawn graph, and an edit to the
redrawn graph (issue 6: "edit to graph under 1 s").

Times are read on the page's own clock (``performance.now()``: 0 is the start of the
navigation), not around Playwright calls, so Playwright's round trips to the browser do
not count. A script installed before any of the app's own (``add_init_script``) records
when Ctrl+Enter is pressed (the edit), when the page sends on the app's websocket, when a
condition first holds in the DOM (a MutationObserver checks after every change: a Graphviz
SVG whose node boxes contain a text, N plotly figures with drawn traces, or a drawn plot
that shows a text), when the frame after that was painted (``requestAnimationFrame``, then
a posted message, which runs after that frame's paint), and the main thread's long tasks
(over 50 ms).

The websocket's messages are timed by the browser's network layer (Chrome DevTools
Protocol ``Network.webSocketFrameReceived``), not by the page: while the page's main
thread is busy a message waits there, and the network time says when the server's part
was done. Python decodes the same frames with Streamlit's protobuf classes to say which
carried the graph and which was ``script_finished``; the network clock is mapped to the
page's by the page's sends on the socket, which both record.

A first visit is measured against a floor (issue 20): a bare Streamlit page
(bench/bare_page.py, its own server) with the Playground's default graph and one plot of
the same kind, visited by new browser contexts in the same rounds as the Playground, so
the ratio of the two is what the app adds to what Streamlit itself costs.

So an edit splits into: the browser sends the rerun request; the server runs the script
up to the graph (the graph's message arrives); the browser draws it (Graphviz lays it out
in WebAssembly, in the page); the server runs the rest (the curves) until
``script_finished``.
"""

from __future__ import annotations

import base64
import json
import math
import os
import statistics
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from bench.report import Section, Target
from bench.timing import ms, percentile
from tests.e2e.chromium import missing_browser_reason

TITLE = "The app in a browser"
TARGET_WHAT = "edit to redrawn graph, headless Chromium"
TARGET = "< 1 s"
VIEWPORT = {"width": 1280, "height": 900}
# A lesson with a graph and no plots: against the Playground (a graph and two plots) it
# shows what loading and drawing plotly costs the first graph.
LESSON = "vectors"
TIMEOUT_MS = 60_000
COLUMNS = ["measurement", "runs", "median ms", "p95 ms", "min ms"]
FULL_VISITS, QUICK_VISITS = 9, 1

# The Playground's default program (x = 4) edited to a new constant each time: every edit
# is a new program for the server (no cached curve or formula) and a new number in the graph.
EDIT = "y = x**2\nz = y * {c}\n"
DEFAULT_X = 4.0  # ui.share.PlaygroundState's default input

NAV = "Playground, first navigation → "
LESSON_NAV = "Lesson 3 (vectors: a graph, no plots), first navigation → "
# The floor (issue 20): a bare Streamlit page with the Playground's default graph and one
# plot of the same kind, served by its own server, visited in the same rounds.
BARE_SCRIPT = "bench/bare_page.py"
BARE_NAV = "Bare page (one graph, one plot), first navigation → "
BOTH = "graph and plots painted"
# The Playground as a self-hosted deployment serves it: through deploy/'s nginx file (one
# replica), which keeps Streamlit's static files after the first visit and gzips them.
PROXIED_NAV = "Playground through nginx (deploy/: static files cached), first navigation → "
PROXIED_WHAT = "first visit through nginx: Playground graph+plots painted / bare page's"
FIRST_VISIT_WHAT = "first visit: Playground graph+plots painted / bare page's"
FIRST_VISIT_TARGET = "≤ 1.3×"
FIRST_VISIT_LIMIT = 1.3
GRAPH_VS_BARE_WHAT = "first visit: Playground graph painted / bare page's graph painted"
GRAPH_VS_BARE_TARGET = "≤ 1× (aim)"
EDITED = "edit (Ctrl+Enter) → "
TARGET_ROW = EDITED + "redrawn graph painted"
BROWSER_PART = "edit: graph's message received → redrawn graph painted (browser part)"

PAGE_SCRIPT = r"""
(() => {
  if (window.__bench) return;
  const B = window.__bench = {sends: [], keys: [], seen: {}, watches: [], longtasks: []};
  const now = () => performance.now();
  const Socket = window.WebSocket;  // the app's stream: when the page sends on it
  window.WebSocket = class extends Socket {
    send(data) {
      if (String(this.url).includes('/_stcore/stream')) B.sends.push(now());
      return super.send(data);
    }
  };
  addEventListener('keydown', e => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) B.keys.push(now());
  }, true);
  const holds = {
    graph: text => [...document.querySelectorAll("[data-testid='stGraphVizChart'] svg")]
      .some(svg => svg.querySelector('g.node') && svg.textContent.includes(text)),
    plots: count => [...document.querySelectorAll(
      "[data-testid='stPlotlyChart'] .js-plotly-plot")].filter(
      g => g._fullData && g.querySelector('.scatterlayer .trace, .barlayer .trace')
    ).length >= count,
    plotText: text => [...document.querySelectorAll(
      "[data-testid='stPlotlyChart'] .js-plotly-plot")].some(
      g => g.querySelector('.scatterlayer .trace') && g.textContent.includes(text)),
  };
  const check = () => {
    for (const w of B.watches) {
      if (B.seen[w.name] || !holds[w.kind](w.arg)) continue;
      const seen = B.seen[w.name] = {dom: now()};
      requestAnimationFrame(() => {
        const channel = new MessageChannel();
        channel.port1.onmessage = () => { seen.painted = now(); };
        channel.port2.postMessage(null);
      });
    }
  };
  B.watch = (name, kind, arg) => { B.watches.push({name, kind, arg}); check(); };
  new MutationObserver(check).observe(document,
    {childList: true, subtree: true, characterData: true});
  try {
    new PerformanceObserver(list => list.getEntries().forEach(
      e => B.longtasks.push([e.startTime, e.duration]))).observe(
      {type: 'longtask', buffered: true});
  } catch (e) { /* no Long Tasks API: long-task rows stay empty */ }
  for (const [name, kind, arg] of __WATCHES__) B.watch(name, kind, arg);
})();
"""


def frame_kind(payload: bytes) -> str:
    """``graph:<dot source>``, ``plot``, ``finished`` (a run that was not interrupted by a
    rerun) or ``other``, from a ForwardMsg's bytes."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    message = ForwardMsg()
    message.ParseFromString(payload)
    kind = message.WhichOneof("type")
    if kind == "script_finished":
        interrupted = ForwardMsg.ScriptFinishedStatus.FINISHED_EARLY_FOR_RERUN
        return "other" if message.script_finished == interrupted else "finished"
    if kind == "delta" and message.delta.WhichOneof("type") == "new_element":
        element = message.delta.new_element
        if element.WhichOneof("type") == "graphviz_chart":
            return "graph:" + element.graphviz_chart.spec
        if element.WhichOneof("type") == "plotly_chart":
            return "plot"
    return "other"


@dataclass
class Socket:
    """The app's websocket as the browser's network layer saw it: when each frame was
    received (and what it carried) and sent, in milliseconds on the CDP's clock."""

    request: str | None = None
    received: list[tuple[float, str]] = field(default_factory=list)
    sent: list[float] = field(default_factory=list)

    def attach(self, cdp: Any) -> None:
        cdp.on("Network.webSocketCreated", self.on_created)
        cdp.on("Network.webSocketFrameReceived", self.on_received)
        cdp.on("Network.webSocketFrameSent", self.on_sent)
        cdp.send("Network.enable")

    def on_created(self, event: dict[str, Any]) -> None:
        if event["url"].endswith("/_stcore/stream"):
            self.request = event["requestId"]

    def on_received(self, event: dict[str, Any]) -> None:
        if event["requestId"] == self.request:
            frame = event["response"]
            kind = (frame_kind(base64.b64decode(frame["payloadData"]))
                    if frame["opcode"] == 2 else "other")
            self.received.append((event["timestamp"] * 1e3, kind))

    def on_sent(self, event: dict[str, Any]) -> None:
        if event["requestId"] == self.request:
            self.sent.append(event["timestamp"] * 1e3)

    def on_page_clock(self, page_sends: list[float]) -> list[tuple[float, str]] | None:
        """The received frames on the page's clock. Both clocks saw the page's sends; a
        send reaches the network layer after the page made it, never before, so the
        smallest difference is the offset (within the IPC hop, well under a millisecond
        when idle). None when there is nothing to map by."""
        pairs = list(zip(self.sent, page_sends))
        if not pairs:
            return None
        offset = min(network - page for network, page in pairs)
        return [(t - offset, kind) for t, kind in self.received]


def first(arrivals: list[tuple[float, str]] | None, prefix: str, after: float = 0.0,
          contains: str = "") -> float | None:
    """Page time of the first frame of a kind (whose content has ``contains``) that
    arrived after ``after``; None when there is none or no arrivals to look in."""
    times = [t for t, kind in arrivals or [] if kind.startswith(prefix) and contains in kind
             and t >= after]
    return times[0] if times else None


def since(start: float | None, end: float | None) -> float | None:
    return None if start is None or end is None else end - start


@dataclass
class Visit:
    """One browser context (one new learner) with its page, socket and the page's record."""

    page: Any
    socket: Socket

    def record(self) -> dict[str, Any]:
        return self.page.evaluate("() => window.__bench")

    def watch(self, name: str, kind: str, arg: object) -> None:
        self.page.evaluate("([n, k, a]) => window.__bench.watch(n, k, a)", [name, kind, arg])

    def wait_painted(self, *names: str) -> dict[str, Any]:
        """Wait (on the page's record, no sleep) until every watch has been painted."""
        self.page.wait_for_function(
            "names => names.every(n => window.__bench.seen[n]?.painted !== undefined)",
            arg=list(names), timeout=TIMEOUT_MS)
        return self.record()

    def arrivals(self, record: dict[str, Any]) -> list[tuple[float, str]] | None:
        return self.socket.on_page_clock(record["sends"])

    def navigation_timing(self) -> dict[str, float]:
        """The page's JavaScript run (DOMContentLoaded) and when the graph's and plotly's
        code chunks (loaded when such an element first appears) were downloaded."""
        return self.page.evaluate("""() => {
            const nav = performance.getEntriesByType('navigation')[0];
            const chunk = name => performance.getEntriesByType('resource').find(
                r => r.name.split('/').pop().startsWith(name))?.responseEnd ?? null;
            return {dom: nav.domContentLoadedEventEnd, graph_js: chunk('GraphVizChart.'),
                    plot_js: chunk('PlotlyChart.')};
        }""")


@contextmanager
def visit(browser: Any, watches: list[list[object]]) -> Iterator[Visit]:
    """A fresh browser context (own cookies and cache: a new Streamlit session and nothing
    cached in the browser, like a student's first visit) recording ``watches``."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        context.add_init_script(PAGE_SCRIPT.replace("__WATCHES__", json.dumps(watches)))
        page = context.new_page()
        socket = Socket()
        socket.attach(context.new_cdp_session(page))
        yield Visit(page, socket)
    finally:
        context.close()


@dataclass
class Samples:
    """Measured milliseconds per row, rows in the order they were first measured."""

    values: dict[str, list[float]] = field(default_factory=dict)

    def add(self, label: str, value_ms: float | None) -> None:
        if value_ms is not None and math.isfinite(value_ms):
            self.values.setdefault(label, []).append(value_ms)


def long_tasks(record: dict[str, Any], start: float, end: float) -> list[float]:
    """Durations (ms) of the main thread's long tasks that started in [start, end]."""
    return [duration for begin, duration in record["longtasks"] if start <= begin <= end]


def navigation_rows(samples: Samples, prefix: str, v: Visit, record: dict[str, Any]) -> None:
    """Rows for a first navigation, from its start (page time 0)."""
    timing = v.navigation_timing()
    graph, plots = record["seen"]["graph"], record["seen"].get("plots")
    arrivals = v.arrivals(record)
    samples.add(prefix + "app's JavaScript run (DOMContentLoaded)", timing["dom"])
    samples.add(prefix + "graph's message received", first(arrivals, "graph:"))
    samples.add(prefix + "script_finished received", first(arrivals, "finished"))
    samples.add(prefix + "graph's code chunk downloaded", timing["graph_js"])
    samples.add(prefix + "plotly's code chunk downloaded", timing["plot_js"])  # None: none
    samples.add(prefix + "graph in the page (SVG laid out)", graph["dom"])
    samples.add(prefix + "graph painted", graph["painted"])
    end = graph["painted"]
    if plots is not None:
        samples.add(prefix + "plots painted", plots["painted"])
        end = max(end, plots["painted"])
        samples.add(prefix + BOTH, end)
    tasks = long_tasks(record, 0.0, end)
    samples.add(prefix + "main thread in long tasks until all painted", sum(tasks))
    samples.add(prefix + "longest main-thread task until then", max(tasks, default=0.0))


def edit_rows(samples: Samples, v: Visit, record: dict[str, Any], value: str) -> None:
    """Rows for an edit, from the Ctrl+Enter keydown."""
    key = record["keys"][-1]
    edited = record["seen"]["edited"]
    arrivals = v.arrivals(record)
    graph_at = first(arrivals, "graph:", key, contains=value)
    sent = next((t for t in record["sends"] if t >= key), None)
    samples.add(EDITED + "rerun request sent", since(key, sent))
    samples.add(EDITED + "graph's message received (server ran the script to it)",
                since(key, graph_at))
    samples.add(EDITED + "graph in the page (SVG laid out)", edited["dom"] - key)
    samples.add(TARGET_ROW, edited["painted"] - key)
    samples.add(EDITED + "redrawn plots painted", record["seen"]["replotted"]["painted"] - key)
    samples.add(EDITED + "script_finished received (server ran the whole script)",
                since(key, first(arrivals, "finished", key)))
    samples.add(BROWSER_PART, since(graph_at, edited["painted"]))
    samples.add(EDITED + "main thread in long tasks until the graph was painted",
                sum(long_tasks(record, key, edited["painted"])))


def edit_texts(c: float) -> tuple[str, str]:
    """What the edited program shows, to 4 significant digits computed in float32 as the
    app does: z = x**2 * c in the output's graph node, dz/dx = 2xc in the legend of the
    derivative's plot."""
    import torch

    from engine.running.summary import format_number

    x = torch.tensor(DEFAULT_X, requires_grad=True)
    z = x**2 * c
    z.backward()
    return f"value {format_number(float(z.detach()))}", f"x.grad = {float(x.grad):.4g}"


def playground_visit(browser: Any, url: str, index: int, samples: Samples | None) -> None:
    """A new learner opens the Playground and waits for its graph and plots, then edits
    the program, presses Ctrl+Enter and waits for the redrawn graph. ``samples`` None:
    a warm-up, not recorded."""
    from tests.e2e.driver import open_app, set_program

    with visit(browser, [["graph", "graph", ""], ["plots", "plots", 2]]) as v:
        open_app(v.page, url)
        record = v.wait_painted("graph", "plots")
        if samples is not None:
            navigation_rows(samples, NAV, v, record)
        c = 1.26 + 0.01 * index
        value, legend = edit_texts(c)
        v.watch("edited", "graph", value)
        v.watch("replotted", "plotText", legend)
        set_program(v.page, EDIT.format(c=c))
        record = v.wait_painted("edited", "replotted")
        if samples is not None:
            edit_rows(samples, v, record, value)


def first_visit(browser: Any, url: str, nav: str, plots: int,
                samples: Samples | None) -> None:
    """A new visitor opens ``url`` and waits for its graph and its ``plots`` plots (none:
    the graph alone); recorded as ``nav`` rows unless ``samples`` is None (a warm-up)."""
    from tests.e2e.driver import open_app

    watches = [["graph", "graph", ""]] + ([["plots", "plots", plots]] if plots else [])
    with visit(browser, watches) as v:
        open_app(v.page, url)
        record = v.wait_painted(*(name for name, _, _ in watches))
        if samples is not None:
            navigation_rows(samples, nav, v, record)


def lesson_visit(browser: Any, url: str, samples: Samples | None) -> None:
    """A new learner opens a lesson's link and waits for its graph."""
    first_visit(browser, f"{url}/{LESSON}", LESSON_NAV, 0, samples)


def bare_visit(browser: Any, url: str, samples: Samples | None) -> None:
    """A new visitor opens the bare page and waits for its graph and its plot."""
    first_visit(browser, url, BARE_NAV, 1, samples)


def proxied_visit(browser: Any, url: str, samples: Samples | None) -> None:
    """A new learner opens the Playground through nginx and waits for its graph and plots."""
    first_visit(browser, url, PROXIED_NAV, 2, samples)


def rows(samples: Samples) -> list[list[str]]:
    return [[label, str(len(values)), ms(statistics.median(values) / 1e3),
             ms(percentile(values, 95) / 1e3), ms(min(values) / 1e3)]
            for label, values in samples.values.items()]


def target(samples: Samples) -> Target:
    values = samples.values.get(TARGET_ROW, [])
    if not values:
        return Target(TARGET_WHAT, TARGET, "not measured", False)
    median = statistics.median(values)
    return Target(TARGET_WHAT, TARGET, f"{ms(median / 1e3)} ms (median of {len(values)}, "
                  f"slowest {ms(max(values) / 1e3)} ms)", median < 1e3)


def ratio(samples: Samples, what: str, target_text: str, limit: float, row: str,
          floor: str) -> Target:
    """The median of ``row`` over the median of ``floor``, both measured in the same
    rounds (interleaved visits, the same Chromium): a ratio that load on the machine moves
    far less than either time. The median of each round's own ratio (the two visits one
    after the other) is given beside it: when the two disagree, the load changed during
    the run."""
    values, floors = samples.values.get(row, []), samples.values.get(floor, [])
    if not values or not floors:
        return Target(what, target_text, "not measured", False)
    mine, bare = statistics.median(values), statistics.median(floors)
    measured = (f"{mine / bare:.2f}× ({ms(mine / 1e3)} ms / {ms(bare / 1e3)} ms, medians "
                f"of {len(values)} and {len(floors)}")
    if len(values) == len(floors) > 1:  # one value each per round, in the rounds' order
        paired = statistics.median(a / b for a, b in zip(values, floors, strict=True))
        measured += f"; round by round {paired:.2f}×"
    return Target(what, target_text, measured + ")", mine / bare <= limit)


def targets(samples: Samples) -> list[Target]:
    return [target(samples),
            ratio(samples, FIRST_VISIT_WHAT, FIRST_VISIT_TARGET, FIRST_VISIT_LIMIT,
                  NAV + BOTH, BARE_NAV + BOTH),
            ratio(samples, GRAPH_VS_BARE_WHAT, GRAPH_VS_BARE_TARGET, 1.0,
                  NAV + "graph painted", BARE_NAV + "graph painted")]


def proxied_note(samples: Samples) -> list[str]:
    """Through nginx against the bare page served directly: not the target (which compares
    Streamlit with Streamlit), what a self-hosted class gets from deploy/."""
    if not samples.values.get(PROXIED_NAV + BOTH):
        return []
    through = ratio(samples, PROXIED_WHAT, "", 1.0, PROXIED_NAV + BOTH, BARE_NAV + BOTH)
    return [f"{PROXIED_WHAT}: {through.measured}. The bare page is served by Streamlit "
            "itself; nginx serves the Playground's static files from its cache (filled by "
            "the unmeasured first visit, as by a class's first student) and compressed."]


def about(visits: int, quick: bool) -> str:
    if quick:
        runs = ("Quick run, a check and not a measurement: one Playground visit and one "
                "of the bare page, with no warm-up (it also waits for the server to start "
                "its workers)")
    else:
        runs = (f"One unmeasured visit of each kind first (the server's workers and caches "
                f"warm up), then {visits} rounds of a Playground visit, a visit of the bare "
                f"page and a visit of lesson /{LESSON} (a graph and no plots: against the "
                "Playground it shows what plotly costs the first graph) and, when nginx "
                "is installed, a Playground visit through deploy/'s nginx file in front "
                "of one more `streamlit run app.py` (deploy/local_cluster.py); the "
                "Playground and the bare page take turns going first")
    return (
        "A real `streamlit run app.py` and headless Chromium driven by Playwright, "
        f"viewport {VIEWPORT['width']}x{VIEWPORT['height']}. {runs}. Every visit is a new "
        "browser context: a new student, with a new Streamlit session and an empty "
        "browser cache. A Playground visit waits for the graph and both plots, then "
        "changes the program (a new constant each time, so the server has nothing cached "
        "for it) and presses Ctrl+Enter. Times are on the page's clock "
        "(`performance.now()`): a navigation from its start, an edit from the Ctrl+Enter "
        "keydown. A MutationObserver notes when the graph's SVG (laid out by Graphviz in "
        "WebAssembly, in the page) shows the expected text and when the plotly traces are "
        "drawn (after an edit: show the new gradient); 'painted' is after the next frame. "
        "Websocket messages are timed on arrival by the browser's network layer (CDP) and "
        "identified by decoding them with Streamlit's protobuf classes. Long tasks are "
        "the main thread's tasks over 50 ms (Long Tasks API). p95 is nearest-rank: with "
        "fewer than 20 runs, the slowest run. The bare page (`bench/bare_page.py`, its "
        "own `streamlit run`) is the floor Streamlit itself sets for a first visit: "
        "`st.set_page_config` wide, a title, one `st.graphviz_chart` of the Playground's "
        "default graph (the same DOT) and one `st.plotly_chart` of its f plot, nothing "
        "else.")


def not_run(reason: str) -> list[Section]:
    return [Section(TITLE, f"Not run: {reason}.", COLUMNS, targets=[
        Target(what, goal, f"not run: {reason}", False) for what, goal in
        ((TARGET_WHAT, TARGET), (FIRST_VISIT_WHAT, FIRST_VISIT_TARGET),
         (GRAPH_VS_BARE_WHAT, GRAPH_VS_BARE_TARGET))])]


def run(quick: bool) -> list[Section]:
    """The section and its target; without Chromium, a section saying why it did not run."""
    reason = missing_browser_reason()
    if reason:
        return not_run(reason)
    from playwright.sync_api import sync_playwright

    from deploy.local_cluster import cluster, find_nginx
    from tests.e2e.chromium import launch
    from tests.e2e.server import serve

    visits = QUICK_VISITS if quick else FULL_VISITS
    samples = Samples()
    load_before = os.getloadavg()[0]
    with ExitStack() as stack:
        url = stack.enter_context(serve())
        bare_url = stack.enter_context(serve(script=BARE_SCRIPT))
        proxied = stack.enter_context(cluster(replicas=1)).url if find_nginx() else None
        browser = launch(stack.enter_context(sync_playwright()))
        stack.callback(browser.close)
        if not quick:
            playground_visit(browser, url, 0, None)
            bare_visit(browser, bare_url, None)
            lesson_visit(browser, url, None)
            if proxied:
                proxied_visit(browser, proxied, None)
        for index in range(1, visits + 1):
            # Taking turns: neither page always follows the other's visit.
            if index % 2 == 0:
                bare_visit(browser, bare_url, samples)
            playground_visit(browser, url, index, samples)
            if index % 2 == 1:
                bare_visit(browser, bare_url, samples)
            if not quick:  # quick: seconds, not a measurement; the same code path
                lesson_visit(browser, url, samples)
            if proxied:
                proxied_visit(browser, proxied, samples)
    # The machine is shared: a load well above its cores during the run says the times
    # (less so the ratios) are the machine's and not the app's.
    load = (f"Load average (1 min) on this machine: {load_before:.1f} when the run started, "
            f"{os.getloadavg()[0]:.1f} when it ended, on {os.cpu_count()} cores.")
    return [Section(TITLE, about(visits, quick), COLUMNS, rows(samples),
                    notes=[load, *proxied_note(samples)], targets=targets(samples))]
