"""The three front ends side by side: the real window, a real ``faceseal serve``, the real CLI."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.app.conftest import photos, window  # noqa: F401  (fixtures: the real window, the shared photos)
from tests.conftest import REPO


@dataclass
class Api:
    base: str
    token: str

    def post(self, path: str, body: dict | None = None) -> httpx.Response:
        return httpx.post(f"{self.base}/api/v1{path}", json=body, timeout=120,
                          headers={"Authorization": f"Bearer {self.token}"})


@pytest.fixture
def api(isolated: Path) -> Iterator[Api]:
    """``faceseal serve`` on a free loopback port over the test's data folder, stopped afterwards."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "app.launcher", "serve", "--port", str(port)], cwd=REPO,
                               env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # bounded wait for the port to answer (no timing is asserted)
            try:
                httpx.get(base + "/api/v1/openapi.json", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read()
                time.sleep(0.1)
        yield Api(base, (isolated / "edge_token").read_text().strip())
    finally:
        process.terminate()
        process.wait(timeout=30)
