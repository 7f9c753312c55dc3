"""A classroom on one server: K real Streamlit sessions, each a student editing the
Playground, and the server's memory (issue 6, parts 4 and 5).

No browser: a load client speaks the browser's own websocket protocol to
``/_stcore/stream``, as Streamlit's frontend does (learned from its source and from the
frames a real Chromium sends, decoded with Streamlit's protobuf classes):

- it first GETs the page, as the browser does, and sends the cookies it was given with
  the websocket (behind nginx one of them keeps the session on one replica: deploy/);
- it connects with the subprotocols ``streamlit`` and ``PLACEHOLDER_AUTH_TOKEN`` (what the
  frontend offers when the page has no XSRF cookie; the token only guards auth cookies);
- every run is a ``BackMsg.rerun_script`` carrying the page's query string (the one the
  server last set with ``page_info_changed``, as the address bar would), the state of
  *every* widget the last run drew (the frontend keeps one value per widget id and drops
  the widgets a finished run did not draw), the page's script hash (empty on first load),
  the hashes of the large messages it has cached (``metadata.cacheable``, kept for
  ``max_cached_message_age`` runs, so the server sends a ``ref_hash`` instead) and the
  context (timezone, locale, URL, colour scheme);
- a widget's value is the server's (``set_value``) when it sends one, else the one the
  client already holds, else the widget's default.

An edit changes one widget's value and sends a rerun; its latency is from sending the
message to the server's ``script_finished``. The client then checks, in the graph the run
drew, that the program ran with the edit (the leaf ``x`` and the output ``z`` in the
node tooltips, at full precision); an edit not shown there counts as an error.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import itertools
import math
import os
import random
import re
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import websockets
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Element_pb2 import Element
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.NumberInput_pb2 import NumberInput
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.exceptions import WebSocketException

from bench.report import Section, Target
from bench.timing import ms, percentile
from tests.e2e.server import serve_process
from ui.share import PlaygroundState, query_string

FINISHED = ForwardMsg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY
SUBPROTOCOLS = ["streamlit", "PLACEHOLDER_AUTH_TOKEN"]
RUN_TIMEOUT_S = 180.0  # one run, however loaded the server: past it the session failed
SERVER_TIMEOUT_S = 120.0
SEED = 6
# The lecturer's share link: the Playground's default view (y = x**2, z = sin(y), x = 4).
LINK = query_string(PlaygroundState())
START_X, START_C = "4", ""
PROGRAM = "y = x**2{plus}\nz = torch.sin(y)\n"
TOLERANCE = 1e-4  # float32 in the worker against float64 here


@dataclass(frozen=True)
class Plan:
    """How big a class, how many edits each, and how long a student thinks in between."""

    sizes: tuple[int, ...]
    edits: int
    think_s: tuple[float, float]  # uniform, between a result and the next edit
    stagger_s: float  # sessions open over this long, as a class opening one link
    fresh_server: bool  # one server per class size: memory per session is not blurred
    settle_s: float  # after the last session closed, before reading memory again


FULL = Plan(sizes=(1, 10, 25, 50, 100), edits=5, think_s=(2.0, 8.0), stagger_s=2.0,
            fresh_server=True, settle_s=5.0)
# The same class at a lecture's pace: a student reruns about every 20 s (reading the graph
# and curves, thinking, typing), not every 5 s. Reported beside FULL, never instead of it:
# the target is judged on FULL.
LECTURE_PACE = Plan(sizes=(100,), edits=3, think_s=(10.0, 30.0), stagger_s=2.0,
                    fresh_server=True, settle_s=5.0)
QUICK = Plan(sizes=(1, 3), edits=2, think_s=(0.2, 0.6), stagger_s=0.5, fresh_server=False,
             settle_s=1.0)


# --- the browser's side of the protocol ----------------------------------------------------

def widget_key(widget_id: str) -> str:
    """The key a page gave a widget, from its id (``$$ID-<hash>-pg_in_x`` -> ``pg_in_x``)."""
    return widget_id.split("-", 2)[-1]


def _checkbox(p: Any, state: WidgetState) -> None:
    state.bool_value = p.value if p.set_value else p.default


def _text(p: Any, state: WidgetState) -> None:
    if p.set_value and p.HasField("value"):
        state.string_value = p.value
    elif not p.set_value and p.HasField("default"):
        state.string_value = p.default


def _selectbox(p: Any, state: WidgetState) -> None:
    if p.set_value and p.HasField("raw_value"):
        state.string_value = p.raw_value
    elif not p.set_value and p.HasField("default"):
        state.string_value = p.options[p.default]


def _multiselect(p: Any, state: WidgetState) -> None:
    state.string_array_value.SetInParent()  # the browser sends an empty list, not nothing
    state.string_array_value.data.extend(
        p.raw_values if p.set_value else [p.options[i] for i in p.default])


def _number(p: Any, state: WidgetState) -> None:
    source = "value" if p.set_value else "default"
    if p.HasField(source):
        value = getattr(p, source)
        if p.data_type == NumberInput.INT:
            state.int_value = int(value)
        else:
            state.double_value = value


# The widget kinds a Streamlit page can draw that the Playground uses; a kind missing
# here would be left out of the states sent, and the test of all pages would show it.
_READERS = {"checkbox": _checkbox, "text_input": _text, "text_area": _text,
            "selectbox": _selectbox, "multiselect": _multiselect, "number_input": _number}


def browser_widget_state(element: Element, held: WidgetState | None) -> WidgetState | None:
    """What the browser sends for ``element`` after drawing it (None: not a widget).

    The server's value wins when it sets one (``set_value``: the widget's key is in
    session_state); else the browser keeps the value it ``held``, else the default."""
    kind = element.WhichOneof("type")
    if kind not in _READERS:
        return None
    proto = getattr(element, kind)
    if not proto.set_value and held is not None:
        return held
    state = WidgetState(id=proto.id)
    _READERS[kind](proto, state)
    return state


_TOOLTIP = re.compile(r'tooltip="(\w+) \| [^|"]* \| [^|"]* \| value ([^ |"]+)')


def graph_values(dot: str) -> dict[str, float]:
    """Each graph node's value at full precision, from its tooltip (scalars only)."""
    values = {}
    for name, text in _TOOLTIP.findall(dot):
        try:
            values[name] = float(text)
        except ValueError:
            continue  # a tensor: ``value [1.0, 2.0]``
    return values


@dataclass
class Run:
    """What one script run sent back, as far as the benchmark reads it."""

    seconds: float = 0.0
    status: int | None = None
    widgets: dict[str, WidgetState] = field(default_factory=dict)
    graphs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Client:
    """One browser tab on the app: its websocket, its widget states and message cache."""

    def __init__(self, url: str, link: str = LINK) -> None:
        self.url, self.query = url, link
        self.page_url = f"{url}/" + (f"?{link}" if link else "")
        self.page_hash = ""  # empty on first load: the server picks the default page
        self.widgets: dict[str, WidgetState] = {}
        self.cache: dict[str, tuple[ForwardMsg, int]] = {}  # hash -> (message, last run)
        self.max_age = 2
        self.runs = 0
        self.socket: websockets.ClientConnection | None = None
        self.cookies = http.cookiejar.CookieJar()

    def load_page(self) -> None:
        """GET the page as the browser does before it opens the websocket, keeping the
        cookies set (nginx's replica cookie; Streamlit sets none on the page)."""
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        with opener.open(self.page_url, timeout=RUN_TIMEOUT_S) as response:
            response.read()

    async def connect(self) -> None:
        await asyncio.to_thread(self.load_page)
        cookies = "; ".join(f"{c.name}={c.value}" for c in self.cookies)
        # The browser offers permessage-deflate and sends no pings; open_timeout is long
        # because a loaded server is slow to accept, which the first load's time shows.
        self.socket = await websockets.connect(
            re.sub("^http", "ws", self.url) + "/_stcore/stream", subprotocols=SUBPROTOCOLS,
            origin=self.url, max_size=None, ping_interval=None, open_timeout=RUN_TIMEOUT_S,
            additional_headers={"Cookie": cookies} if cookies else None)

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()

    def rerun_message(self) -> BackMsg:
        """The ``rerun_script`` the frontend sends: every widget's state, and the rest."""
        msg = BackMsg()
        rerun = msg.rerun_script
        rerun.query_string = self.query
        rerun.widget_states.SetInParent()
        rerun.widget_states.widgets.extend(self.widgets.values())
        rerun.page_script_hash = self.page_hash
        rerun.cached_message_hashes.extend(self.cache)
        context = rerun.context_info
        context.timezone, context.timezone_offset = "UTC", 0
        context.locale, context.url = "en-US", self.page_url
        context.is_embedded, context.color_scheme = False, "light"
        return msg

    def set(self, key: str, value: str) -> None:
        """Type ``value`` into the text widget with ``key`` (sent with the next rerun)."""
        found = [i for i in self.widgets if widget_key(i) == key]
        if not found:
            raise KeyError(f"the last run drew no widget {key!r}")
        self.widgets[found[0]] = WidgetState(id=found[0], string_value=value)

    async def rerun(self) -> Run:
        """Send a rerun and read what comes back until the run has finished."""
        run = Run()
        started = time.perf_counter()
        await self.socket.send(self.rerun_message().SerializeToString())
        async with asyncio.timeout(RUN_TIMEOUT_S):
            while run.status is None:
                self._take(ForwardMsg.FromString(await self.socket.recv()), run)
        run.seconds = time.perf_counter() - started
        self._finish(run)
        return run

    def _take(self, msg: ForwardMsg, run: Run) -> None:
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            self.page_hash = msg.new_session.page_script_hash
            self.max_age = msg.new_session.config.max_cached_message_age or self.max_age
        elif kind == "navigation":  # the page that ran (new_session names app.py)
            self.page_hash = msg.navigation.page_script_hash
        elif kind == "page_info_changed":
            self.query = msg.page_info_changed.query_string
        elif kind == "script_finished":
            run.status = msg.script_finished
        elif kind == "ref_hash":
            if msg.ref_hash not in self.cache:
                run.errors.append("the server referred to a message the client never had")
                return
            self.cache[msg.ref_hash] = (self.cache[msg.ref_hash][0], self.runs)
            self._element(self.cache[msg.ref_hash][0], run)
        elif kind == "delta":
            if msg.metadata.cacheable:
                self.cache[msg.hash] = (msg, self.runs)
            self._element(msg, run)

    def _element(self, msg: ForwardMsg, run: Run) -> None:
        if msg.delta.WhichOneof("type") != "new_element":
            return
        element = msg.delta.new_element
        kind = element.WhichOneof("type")
        if kind is None:
            return
        state = browser_widget_state(
            element, self.widgets.get(getattr(getattr(element, kind), "id", "")))
        if state is not None:
            run.widgets[state.id] = state
        elif kind == "graphviz_chart":
            run.graphs.append(element.graphviz_chart.spec)
        elif kind == "exception":
            run.errors.append(f"exception: {element.exception.message}")
        elif kind == "alert" and element.alert.format == Alert.ERROR:
            run.errors.append(f"error shown: {element.alert.body}")

    def _finish(self, run: Run) -> None:
        """What the frontend does when a run ends: forget the widgets it did not draw,
        and the cached messages not used for ``max_age`` runs."""
        if run.status == FINISHED:
            self.widgets = run.widgets
        else:
            self.widgets |= run.widgets
        self.runs += 1
        self.cache = {h: (m, seen) for h, (m, seen) in self.cache.items()
                      if self.runs - seen <= self.max_age}


# --- a student ---------------------------------------------------------------------------

@dataclass
class Student:
    """One session: what it did, how long each run took, and what went wrong."""

    index: int
    x: str = START_X
    c: str = START_C  # the constant the student's program adds to x**2 ("" at first)
    first_load_s: float | None = None
    edits_s: list[float] = field(default_factory=list)
    burst_s: float | None = None
    problems: list[str] = field(default_factory=list)
    client: Client | None = None

    def next_edit(self, n: int) -> tuple[str, str]:
        """The ``n``-th edit of the whole benchmark, unique so that no result is cached:
        even edits type a new x, odd ones change the program's constant."""
        if len(self.edits_s) % 2 == 0:
            self.x = f"{1 + n / 10_000:.4f}"
            return "pg_in_x", self.x
        self.c = f"{n / 1000:.3f}"
        return "pg_code", PROGRAM.format(plus=f" + {self.c}")

    def expected(self) -> dict[str, float]:
        x = float(self.x)
        return {"x": x, "z": math.sin(x * x + float(self.c or 0))}


def check(run: Run, expected: dict[str, float]) -> list[str]:
    """Why ``run`` does not show the student's program with their values ([] if it does)."""
    if run.status != FINISHED:
        return [f"the run ended with status {run.status}", *run.errors]
    if run.errors:
        return run.errors
    if not run.graphs:
        return ["the run drew no graph"]
    shown = graph_values(run.graphs[0])
    return [f"edit not applied: {name} is {shown.get(name)}, expected {value:.7g}"
            for name, value in expected.items()
            if name not in shown or abs(shown[name] - value) > TOLERANCE * max(1, abs(value))]


async def edit(student: Student, n: int) -> float | None:
    """One edit and its rerun: the latency, or None (and a problem noted) if it failed."""
    key, value = student.next_edit(n)
    student.client.set(key, value)
    run = await student.client.rerun()
    problems = check(run, student.expected())
    student.problems += problems
    return None if problems else run.seconds


# What ends one session's part in the benchmark (noted as its error), not the benchmark.
_FAILURES = (OSError, TimeoutError, KeyError, WebSocketException)


async def study(student: Student, url: str, delay: float, plan: Plan, counter: Iterator[int],
                ) -> None:
    """Open the link after ``delay``, then edit ``plan.edits`` times, thinking between."""
    rng = random.Random(SEED * 1000 + student.index)
    await asyncio.sleep(delay)
    client = Client(url)
    started = time.perf_counter()
    try:
        await client.connect()
        student.client = client
        load = await client.rerun()
        problems = check(load, student.expected())
        student.problems += problems
        if problems:
            return
        student.first_load_s = time.perf_counter() - started
        for _ in range(plan.edits):
            await asyncio.sleep(rng.uniform(*plan.think_s))
            seconds = await edit(student, next(counter))
            if seconds is None:
                return
            student.edits_s.append(seconds)
    except _FAILURES as exc:
        student.problems.append(f"{type(exc).__name__}: {exc}")


async def burst(student: Student, n: int) -> None:
    """The lecturer says "now press Ctrl+Enter": one more edit, sent with everyone's."""
    try:
        student.burst_s = await edit(student, n)
    except _FAILURES as exc:
        student.problems.append(f"burst: {type(exc).__name__}: {exc}")


# --- the server's memory and CPU, from /proc ------------------------------------------------

def _parents() -> dict[int, int]:
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # the process ended while we looked
    return parents


def descendants(pid: int) -> list[int]:
    """Every process started by ``pid``, its children's children included."""
    parents = _parents()
    found, frontier = [], [pid]
    while frontier:
        children = [p for p, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def rss_kib(pid: int) -> int:
    """Resident memory of one process (VmRSS), 0 if it has ended."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) one process has used, 0 if it has ended."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Memory:
    """The server's resident memory alone and with its program workers, in MiB."""

    server: float
    workers: float

    @property
    def total(self) -> float:
        return self.server + self.workers

    @classmethod
    def of(cls, *pids: int) -> Memory:
        """Of the servers ``pids`` (one, or every replica behind nginx) and their workers."""
        return cls(sum(rss_kib(p) for p in pids) / 1024,
                   sum(rss_kib(w) for p in pids for w in descendants(p)) / 1024)


def tree_cpu_s(*pids: int) -> float:
    return sum(cpu_s(p) + sum(cpu_s(w) for w in descendants(p)) for p in pids)


# --- a class, and the benchmark -----------------------------------------------------------

@dataclass
class Round:
    """One class of ``size`` students on one server, and what the server used for it."""

    size: int
    students: list[Student]
    before: Memory  # before the first student of this class connected
    connected: Memory  # the whole class still connected, after the burst
    server_cpu_s: float
    client_cpu_s: float
    seconds: float

    @property
    def runs(self) -> int:
        return sum((s.first_load_s is not None) + len(s.edits_s) + (s.burst_s is not None)
                   for s in self.students)

    @property
    def per_session_mib(self) -> float:
        return (self.connected.total - self.before.total) / self.size


@dataclass
class Measurement:
    plan: Plan
    rounds: list[Round] = field(default_factory=list)
    memory: list[tuple[str, int, Memory]] = field(default_factory=list)  # the last server's


async def classroom(url: str, pids: list[int], size: int, plan: Plan,
                    counter: Iterator[int]) -> Round:
    """``size`` students open the link within ``plan.stagger_s``, edit, then all press
    Ctrl+Enter at once; memory is read while every session is still connected."""
    before = Memory.of(*pids)
    cpu0, client0, started = tree_cpu_s(*pids), time.process_time(), time.perf_counter()
    rng = random.Random(SEED + size)
    delays = sorted(rng.uniform(0, plan.stagger_s) for _ in range(size))
    students = [Student(i) for i in range(size)]
    await asyncio.gather(*(study(s, url, d, plan, counter) for s, d in zip(students, delays)))
    ready = [s for s in students if s.client is not None and not s.problems]
    await asyncio.gather(*(burst(s, next(counter)) for s in ready))
    connected = Memory.of(*pids)
    result = Round(size, students, before, connected, tree_cpu_s(*pids) - cpu0,
                   time.process_time() - client0, time.perf_counter() - started)
    await asyncio.gather(*(s.client.close() for s in students if s.client is not None),
                         return_exceptions=True)
    return result


async def one_session(url: str, pids: list[int], measurement: Measurement) -> None:
    """The first student: one load and one edit, memory read while still connected. On a
    fresh server this also starts the program workers, which every later class shares."""
    student = Student(-1)
    plan = Plan(sizes=(1,), edits=1, think_s=(0, 0), stagger_s=0, fresh_server=False,
                settle_s=0)
    await study(student, url, 0.0, plan, itertools.count(0))
    if student.problems:
        raise RuntimeError(f"one session on a fresh server failed: {student.problems}")
    measurement.memory.append(("after one session (one load, one edit)", 1, Memory.of(*pids)))
    await student.client.close()


async def _on_server(url: str, pids: list[int], sizes: tuple[int, ...],
                     measurement: Measurement, counter: Iterator[int]) -> None:
    measurement.memory[:] = [("after start (health ok, no session)", 0, Memory.of(*pids))]
    await one_session(url, pids, measurement)
    for size in sizes:
        measurement.rounds.append(
            await classroom(url, pids, size, measurement.plan, counter))
    last = measurement.rounds[-1]
    measurement.memory.append((f"after the classroom (K={last.size}, connected)",
                               last.size, last.connected))
    await asyncio.sleep(measurement.plan.settle_s)
    measurement.memory.append(
        (f"all disconnected, {measurement.plan.settle_s:g} s later", 0, Memory.of(*pids)))


# Starts what the class connects to: its URL and the pids of the servers behind it.
Servers = Callable[[float], AbstractContextManager[tuple[str, list[int]]]]


@contextmanager
def one_server(timeout_s: float) -> Iterator[tuple[str, list[int]]]:
    """A fresh ``streamlit run app.py``, connected to directly."""
    with serve_process(timeout_s) as (url, process):
        yield url, [process.pid]


def measure(plan: Plan, servers: Servers = one_server) -> Measurement:
    """Every class of ``plan``, each on fresh ``servers`` or all on one; the memory rows
    come from the last (the largest class). ``servers``: one server by default;
    bench/replicas.py passes replicas behind nginx."""
    measurement = Measurement(plan)
    counter = itertools.count(1)  # edit numbers: every edit of the run is a new one
    groups = [(k,) for k in plan.sizes] if plan.fresh_server else [plan.sizes]
    for sizes in groups:
        with servers(SERVER_TIMEOUT_S) as (url, pids):
            # In a thread of its own: the caller may be running an event loop already
            # (Playwright's sync API keeps one in pytest's thread while a browser is open).
            with ThreadPoolExecutor(1) as pool:
                pool.submit(asyncio.run, _on_server(url, pids, sizes, measurement,
                                                    counter)).result()
    return measurement


# --- the report ----------------------------------------------------------------------------

COLUMNS = ["sessions", "edits applied / planned", "sessions with errors",
           "first load p50 / p95 ms", "edit p50 ms", "edit p95 ms", "edit max ms",
           "burst p50 / p95 ms", "server CPU per run ms", "RSS server / with workers MB",
           "memory per session MB"]
MEMORY_COLUMNS = ["moment", "sessions connected", "server MB", "workers MB", "total MB"]
MB_PER_MIB = 2**20 / 1e6


def _p(values: list[float], p: float) -> str:
    return ms(percentile(values, p)) if values else "–"


def _mb(mib: float) -> str:
    return f"{mib * MB_PER_MIB:.0f}"


def _edits(r: Round) -> list[float]:
    return [t for s in r.students for t in s.edits_s]


def _bursts(r: Round) -> list[float]:
    return [s.burst_s for s in r.students if s.burst_s is not None]


def _errors(r: Round) -> int:
    return sum(bool(s.problems) for s in r.students)


def _row(r: Round, plan: Plan) -> list[str]:
    loads = [s.first_load_s for s in r.students if s.first_load_s is not None]
    edits, bursts = _edits(r), _bursts(r)
    return [str(r.size), f"{len(edits) + len(bursts)} / {r.size * (plan.edits + 1)}",
            str(_errors(r)), f"{_p(loads, 50)} / {_p(loads, 95)}", _p(edits, 50),
            _p(edits, 95), _p(edits, 100), f"{_p(bursts, 50)} / {_p(bursts, 95)}",
            ms(r.server_cpu_s / max(r.runs, 1)),
            f"{_mb(r.connected.server)} / {_mb(r.connected.total)}",
            f"{r.per_session_mib * MB_PER_MIB:.2f}"]


def problem_notes(found: list[str], most: int = 5) -> list[str]:
    """The first ``most`` of the sessions' problems, and where to find their cause."""
    if not found:
        return []
    return (found[:most] + ([f"... and {len(found) - most} more"] if len(found) > most else [])
            + ["The server logs what a student saw as an error, with its traceback: run the "
               "benchmark with `AE_SERVER_LOG_DIR=folder` to keep each server's log there."])


def _problems(m: Measurement) -> list[str]:
    return problem_notes([f"K={r.size}, session {s.index}: {p}"
                          for r in m.rounds for s in r.students for p in s.problems])


def classroom_section(m: Measurement, title: str = "A classroom",
                      judged: bool = True) -> Section:
    """The class sizes of ``m`` as rows; with ``judged`` the issue's target too."""
    plan, last = m.plan, m.rounds[-1]
    lo, hi = plan.think_s
    servers = ("a fresh `streamlit run app.py` for each class size (so memory per session "
               "is not blurred by the classes before)" if plan.fresh_server else
               "one `streamlit run app.py` for every class size in turn")
    shortened = " (shortened: a quick run is a check)" if hi < 2 else ""
    about = (
        f"K real Streamlit sessions on {servers}, each opened by a load client in the "
        "benchmark's process that speaks the browser's websocket protocol (module "
        "docstring; no browser, so drawing is not included). The class opens the "
        f"lecturer's share link (the default program, the same for all) within "
        f"{plan.stagger_s:g} s; then each student makes {plan.edits} edits, thinking "
        f"{lo:g}–{hi:g} s{shortened} (uniform, seeded) before each: reading the graph "
        "and curves, typing. Even edits type a new x, odd ones change the constant the "
        "program adds (`y = x**2 + c`); every value is new in the whole run, so no curve "
        "or formula comes from a cache. Then all press Ctrl+Enter at the same instant "
        "(burst: one more edit each). An edit's latency is from sending its rerun to the "
        "server's `script_finished`; a first load's from requesting the page. Every run "
        "is checked in the graph it drew (x and z at full precision); a run that fails or "
        "does not show the edit is an error. Memory per session: (RSS of the server and "
        "its program workers with the whole class connected, after the burst, minus "
        "before the class) / K. Server CPU per run: CPU seconds of the server and its "
        "workers during the class over the runs it served.")
    edits = _edits(last)
    p95 = percentile(edits, 95) if edits else math.inf
    errors = sum(_errors(r) for r in m.rounds)
    offered = last.size / ((lo + hi) / 2)
    notes = [f"The load client ran on the same {os.cpu_count()}-core machine: at K="
             f"{last.size} it used {last.client_cpu_s:.1f} CPU s in {last.seconds:.0f} s "
             f"(the server and workers: {last.server_cpu_s:.1f} CPU s).",
             f"At K={last.size} the class asks for about {offered:.1f} runs/s (K over the "
             f"mean think time); at {ms(last.server_cpu_s / max(last.runs, 1))} ms of "
             "server CPU per run that is "
             f"{offered * last.server_cpu_s / max(last.runs, 1):.2f} cores' worth.",
             *_problems(m)]
    loads = [s.first_load_s for s in last.students if s.first_load_s is not None]
    load_p95 = percentile(loads, 95) if loads else math.inf
    cpu_per_run = last.server_cpu_s / max(last.runs, 1)
    large = last.size >= 100
    targets = [
        Target("100 sessions, p95 edit latency", "< 1 s",
               f"{ms(p95)} ms at K={last.size} (burst p95 {_p(_bursts(last), 95)} ms; "
               f"{errors} sessions with errors)", large and errors == 0 and p95 < 1.0),
        Target("100 sessions, p95 first load", "< 3 s",
               f"{ms(load_p95)} ms at K={last.size}", large and load_p95 < 3.0),
        Target("server and worker CPU per run, 100 sessions", "≤ 35 ms",
               f"{ms(cpu_per_run)} ms at K={last.size}", large and cpu_per_run <= 0.035),
    ]
    return Section(title, about, COLUMNS, [_row(r, plan) for r in m.rounds], notes,
                   targets if judged else [])


def memory_section(m: Measurement) -> Section:
    last = m.rounds[-1]
    rows = [[moment, str(n), _mb(mem.server), _mb(mem.workers), _mb(mem.total)]
            for moment, n, mem in m.memory]
    per = last.per_session_mib * MB_PER_MIB
    about = ("Resident memory (VmRSS, from /proc) of the server process alone and of the "
             "program workers it starts (engine/sandbox/pool.py; they are started by the first "
             "session), on the server the largest class ran on. Community Cloud's limit "
             "(2.7 GB) counts them all. MB are 10^6 bytes.")
    server = (last.connected.server - last.before.server) / last.size * MB_PER_MIB
    notes = [f"Memory per session at K={last.size}: {per:.2f} MB (server alone: "
             f"{server:.2f} MB).",
             "After the last session closes Streamlit keeps each session for reconnection "
             "(at most 128, for 2 minutes, evicted only when another session connects), "
             "and CPython rarely returns freed memory to the system, so RSS stays near "
             "its peak after a class: the next class reuses it."]
    target = Target("memory per session", "< 5 MB",
                    f"{per:.2f} MB (server + workers, K={last.size})", per < 5)
    return Section("Memory", about, MEMORY_COLUMNS, rows, notes, [target])


def sections(m: Measurement) -> list[Section]:
    return [classroom_section(m), memory_section(m)]


def run(quick: bool) -> list[Section]:
    """The classroom and memory sections (bench.__main__ calls this); a full run adds the
    same class at a lecture's pace."""
    if quick:
        return sections(measure(QUICK))
    harsh = sections(measure(FULL))
    pace = classroom_section(measure(LECTURE_PACE), "A classroom at a lecture's pace",
                             judged=False)
    return [harsh[0], pace, harsh[1]]
