"""The three front ends side by side: the real window, a real ``faceseal serve``, the real CLI."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.app.conftest import photos, window  # noqa: F401  (fixtures: the real window, the shared photos)
from tests.conftest import serve_api


@dataclass
class Api:
    base: str
    token: str

    def post(self, path: str, body: dict | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.send("POST", path, body, headers)

    def send(self, method: str, path: str, body: dict | None = None,
             headers: dict[str, str] | None = None) -> httpx.Response:
        return httpx.request(method, f"{self.base}/api/v1{path}", json=body, timeout=120,
                             headers={"Authorization": f"Bearer {self.token}", **(headers or {})})


@pytest.fixture
def api(isolated: Path) -> Iterator[Api]:
    """``faceseal serve`` on a free loopback port over the test's data folder, stopped afterwards."""
    with serve_api(isolated) as (base, token, _process):
        yield Api(base, token)
