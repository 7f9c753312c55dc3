"""bench/replicas.py: the quick classroom through nginx on 1 and on 2 replicas.

Structure only, never a time: every session loaded and made every edit (each checked in
the graph the server drew, through the proxy), nginx logged every session's websocket on
a replica of its cluster, and the table has a row per replica count. Needs Debian's nginx:
skipped without it, a failure under CI (CI=true), as the browser tests are.
"""

from __future__ import annotations

import os

import pytest

from bench import replicas
from deploy.local_cluster import missing_nginx_reason


@pytest.fixture(scope="module")
def measured() -> list:
    reason = missing_nginx_reason()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return replicas.measure(replicas.QUICK)


def test_every_session_made_every_edit_through_nginx(measured: list) -> None:
    assert [through.replicas for through, _ in measured] == list(replicas.COUNTS)
    for _, m in measured:
        (r,) = m.rounds
        assert r.size == replicas.QUICK.sizes[0]
        for student in r.students:
            assert student.problems == []
            assert len(student.edits_s) == m.plan.edits and student.burst_s is not None


def test_nginx_sent_every_session_to_one_of_the_replicas(measured: list) -> None:
    """K students and the classroom's first one: K + 1 websockets, each logged with the
    replica nginx chose (the replicas' own warm-up sessions bypass nginx)."""
    for through, m in measured:
        assert len(through.sessions) == through.replicas
        assert sum(through.sessions.values()) == m.rounds[0].size + 1


def test_the_section_has_a_row_per_replica_count(measured: list) -> None:
    section = replicas.section(measured)
    assert [row[0] for row in section.rows] == [str(n) for n in replicas.COUNTS]
    assert all(len(row) == len(section.columns) for row in section.rows)
    assert not section.notes  # no session had a problem to report
