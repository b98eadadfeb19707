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


def test_a_new_token_restarts_the_api_on_its_port_after_it_closed_connections(isolated, people) -> None:
    """A connection the server closed waits a minute in TIME_WAIT on the API's port; uvicorn may listen there
    again (SO_REUSEADDR), so the restart a new token makes must not be refused as a port another program has."""
    import httpx

    enrol(people)
    server, port = ApiServer(), free_port()
    server.start(port)
    try:
        token = (isolated / "edge_token").read_text().strip()
        answer = httpx.get(f"http://127.0.0.1:{port}/api/v1/status", timeout=60,
                           headers={"Authorization": f"Bearer {token}", "Connection": "close"})
        assert answer.status_code == 200  # and the server closed the connection: its end now waits in TIME_WAIT
        rotation = server.rotate_token()
        assert rotation.restarted and server.state().running
        assert server.state().address == f"http://127.0.0.1:{port}/api/v1"
    finally:
        server.stop()
