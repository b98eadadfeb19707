"""The admin API's fixture: a real ``faceseal serve`` subprocess on 127.0.0.1, with two people enrolled."""

from __future__ import annotations

import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.conftest import enrol, serve_api


@dataclass
class Server:
    base: str
    token: str
    process: subprocess.Popen
    people: dict

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token if token is None else token}"}

    def call(self, method: str, path: str, **kw) -> httpx.Response:
        """``method`` on ``/api/v1{path}`` with the right token."""
        return httpx.request(method, f"{self.base}/api/v1{path}", headers=self.headers(), timeout=120, **kw)

    def consent(self) -> dict:
        """The ``consent`` an enrolment sends: the terms in force as ``GET /consent`` shows them to the person."""
        return consent_given(self.call)


def consent_given(call) -> dict:
    """The ``consent`` of an enrolment request, read from ``GET /consent`` through ``call(method, path)``."""
    terms = call("GET", "/consent").json()
    return {"sha256": terms["sha256"], "retention_days": terms["retention_days"]}


@pytest.fixture
def server(isolated, people) -> Iterator[Server]:
    enrol(people)
    with serve_api(isolated) as (base, token, process):
        assert stat.S_IMODE((isolated / "edge_token").stat().st_mode) == 0o600
        yield Server(base, token, process, people)
