"""Past one machine (issue 20, part 3): the classroom through nginx, on 1 replica and on 2.

The same class as bench/classroom.py's full plan (K students opening the lecturer's link,
editing every 2-8 s, then a burst) goes through deploy/'s nginx file (deploy/local_cluster.py:
the sticky cookie, the websocket upgrade) in front of 1 replica, then of 2, each started
fresh. Both rows pay for the proxy, so the difference between them is what the second
replica buys. On one machine the replicas share its cores: a second replica can only help
as far as one server leaves cores idle (its interpreter lock, its program workers); on
separate machines each brings its own.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from bench import classroom
from bench.classroom import MB_PER_MIB, Measurement, problem_notes, tree_cpu_s
from bench.report import Section
from bench.timing import ms, percentile
from deploy.local_cluster import cluster

FULL = replace(classroom.FULL, sizes=(100,))
QUICK = replace(classroom.QUICK, sizes=(3,))
COUNTS = (1, 2)
COLUMNS = ["replicas", "sessions", "sessions per replica", "edits applied / planned",
           "sessions with errors", "first load p50 / p95 ms", "edit p50 ms", "edit p95 ms",
           "burst p95 ms", "server CPU per run ms", "nginx CPU s",
           "RSS, all replicas with workers MB"]


@dataclass
class Through:
    """``replicas`` fresh servers behind nginx for each class (a ``classroom.Servers``),
    and what nginx saw of the last one."""

    replicas: int
    sessions: Counter[str] = field(default_factory=Counter)  # websockets per replica
    nginx_cpu_s: float = 0.0

    @contextmanager
    def __call__(self, timeout_s: float) -> Iterator[tuple[str, list[int]]]:
        with cluster(self.replicas, timeout_s=timeout_s) as c:
            # Every replica warmed as the single server is (its program workers start with
            # its first session): one session on each, directly, not through nginx.
            plan = classroom.Plan((1,), 1, (0, 0), 0, False, 0)
            with ThreadPoolExecutor(1) as pool:  # the caller may be in an event loop
                for r in c.replicas:
                    pool.submit(asyncio.run, classroom.one_session(
                        r.url, [r.process.pid], Measurement(plan))).result()
            yield c.url, [r.process.pid for r in c.replicas]
            self.nginx_cpu_s = tree_cpu_s(c.nginx.pid)
            # Every replica counts, one that got no session too.
            self.sessions = Counter({r.address: 0 for r in c.replicas})
            self.sessions.update(line["upstream"] for line in c.requests()
                                 if line["request"].startswith("GET /_stcore/stream "))


def _p(values: list[float], p: float) -> str:
    return ms(percentile(values, p)) if values else "–"


def row(through: Through, m: Measurement) -> list[str]:
    r = m.rounds[-1]
    loads = [s.first_load_s for s in r.students if s.first_load_s is not None]
    edits = [t for s in r.students for t in s.edits_s]
    bursts = [s.burst_s for s in r.students if s.burst_s is not None]
    return [str(through.replicas), str(r.size),
            " / ".join(str(n) for n in through.sessions.values()),
            f"{len(edits) + len(bursts)} / {r.size * (m.plan.edits + 1)}",
            str(sum(bool(s.problems) for s in r.students)),
            f"{_p(loads, 50)} / {_p(loads, 95)}", _p(edits, 50), _p(edits, 95),
            _p(bursts, 95), ms(r.server_cpu_s / max(r.runs, 1)),
            f"{through.nginx_cpu_s:.2f}", f"{r.connected.total * MB_PER_MIB:.0f}"]


def measure(plan: classroom.Plan) -> list[tuple[Through, Measurement]]:
    done = []
    for count in COUNTS:
        through = Through(count)
        done.append((through, classroom.measure(plan, through)))
    return done


def section(done: list[tuple[Through, Measurement]]) -> Section:
    plan = done[0][1].plan
    lo, hi = plan.think_s
    size = plan.sizes[-1]
    shortened = " (shortened: a quick run is a check)" if hi < 2 else ""
    about = (
        f"The classroom above (K={size}, thinking {lo:g}–{hi:g} s{shortened}, "
        f"{plan.edits} edits and a burst, every run checked in its graph) through nginx "
        "(deploy/nginx/autograd_explorer.conf.template, the file the compose deployment "
        "runs; started by deploy/local_cluster.py) in front of 1 replica, then 2 fresh "
        "ones, each `streamlit run app.py` with its own program workers, on this machine. "
        "The load client fetches the page first and carries nginx's replica cookie, as a "
        "browser does. Every replica is warmed first by one session of its own (its "
        "program workers start then), as the single server is. Sessions per replica: "
        "websockets nginx sent to each (its access log; K and the classroom's first "
        "student). RSS: every replica and "
        "its workers with the class connected. nginx CPU: its master and worker, whole run.")
    notes = problem_notes([f"{through.replicas} replica(s), session {s.index}: {p}"
                           for through, m in done
                           for r in m.rounds for s in r.students for p in s.problems])
    return Section("Past one machine: 1 vs 2 replicas behind nginx", about, COLUMNS,
                   [row(t, m) for t, m in done], notes)


def run(quick: bool) -> list[Section]:
    """The side-by-side section (bench.__main__ calls this)."""
    return [section(measure(QUICK if quick else FULL))]
