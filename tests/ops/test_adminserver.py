"""The window's admin API child (edge_core/ops/adminserver.py over ops/children.py, which the sign-in agent shares): a
start that fails is the start's to explain.

The window starts ``faceseal serve`` in a worker thread and, every second, asks
``ended`` whether a running API stopped on its own. A start on a locked vault
ends with the child refusing; were ``ended`` to reap that child first, the window
would say the API "stopped without being asked" instead of why it never started
(and the start itself would fail on the child gone from under it).
"""

from __future__ import annotations

import threading

import pytest

from edge_core.ops.adminserver import ApiServer
from edge_core.ops.children import ChildNotStarted
from tests.conftest import enrol, free_port, run_cli


def test_a_start_refused_on_a_locked_vault_says_so_whatever_the_watch_asks_meanwhile(isolated, people) -> None:
    enrol(people)
    assert run_cli("lock").returncode == 0
    server = ApiServer()
    done = threading.Event()
    answers: list[str | None] = []

    def watch() -> None:  # the window's once-a-second watch, asked as often as a thread can
        while not done.is_set():
            answers.append(server.ended())

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with pytest.raises(ChildNotStarted, match="locked"):
            server.start(free_port())
    finally:
        done.set()
        watcher.join()
    assert answers and set(answers) == {None}, "a start's own child is never reported as an API that stopped"
    assert not server.state().running
