"""``GET / PUT /api/v1/signin`` over real HTTP: the same settings as ``faceseal signin``, each way round; whether
this user's agent runs (a real ``faceseal agent run``) and the last attempt; strict bodies, nothing done on a
refusal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_core.agent.local import AgentProcess
from tests.adminapi.conftest import Server
from tests.conftest import cli_json, enrol, run_cli, serve_api, who_and_where


@pytest.fixture
def api(runtime_dir: Path, isolated: Path, people: dict) -> Iterator[Server]:
    """The admin API over two people, started after ``runtime_dir`` is set, so it asks the agent there."""
    enrol(people)
    with serve_api(isolated) as (base, token, process):
        yield Server(base, token, process, people)


def _signin_kinds() -> list[str]:
    return [e["kind"] for e in cli_json("audit", "list") if e["kind"].startswith("signin")]


def test_the_api_and_the_command_line_share_the_settings(api: Server) -> None:
    first = api.call("GET", "/signin")
    assert first.status_code == 200, first.text
    said = first.json()
    assert (said["identity"], said["services"], said["last_attempt"]) == (None, [], None)
    assert said["agent"]["running"] is False and "no FaceSeal agent is running" in said["agent"]["why"]

    enabled = api.call("PUT", "/signin", json={"service": "sudo", "enabled": True, "name": "alice"})
    assert enabled.status_code == 200 and who_and_where(enabled.json()) == {"identity": "alice", "services": ["sudo"]}
    assert enabled.json()["note"].startswith("sudo: the password still decides there")
    also = api.call("PUT", "/signin", json={"service": "su", "enabled": True})  # the person already chosen
    assert who_and_where(also.json()) == {"identity": "alice", "services": ["su", "sudo"]}
    assert who_and_where(cli_json("signin", "status")) == {"identity": "alice", "services": ["su", "sudo"]}

    assert run_cli("signin", "disable", "su").returncode == 0
    assert run_cli("signin", "enable", "polkit-1", "--name", "alice").returncode == 0
    back = api.call("GET", "/signin").json()
    assert (back["identity"], back["services"]) == ("alice", ["polkit-1", "sudo"])
    off = api.call("PUT", "/signin", json={"service": "sudo", "enabled": False})
    assert off.status_code == 200 and who_and_where(off.json()) == {"identity": "alice", "services": ["polkit-1"]}
    assert _signin_kinds() == ["signin_enabled"] * 2 + ["signin_disabled", "signin_enabled", "signin_disabled"]


def test_refusals_change_nothing(api: Server) -> None:
    assert api.call("PUT", "/signin", json={"service": "sudo", "enabled": True, "name": "alice"}).status_code == 200
    cases = [  # (body, status, kind, words)
        ({"service": "sudo", "enabled": "true"}, 422, "InvalidRequest", "enabled"),
        ({"service": "sudo", "enabled": 1}, 422, "InvalidRequest", "enabled"),
        ({"service": "login", "enabled": True}, 422, "InvalidRequest", "service"),
        ({"service": "sudo", "enabled": True, "name": ""}, 422, "InvalidRequest", "name"),
        ({"service": "sudo", "enabled": True, "who": "alice"}, 422, "InvalidRequest", "who"),
        ({"service": "su", "enabled": True, "name": "mallory"}, 404, "UnknownIdentity", "mallory"),
        ({"service": "su", "enabled": False}, 400, "UsageError", "not enabled for 'su'"),
        ({"service": "sudo", "enabled": False, "name": "bob"}, 422, "InvalidRequest", "a name goes with enabling only"),
    ]
    for body, status, kind, words in cases:
        answer = api.call("PUT", "/signin", json=body)
        assert (answer.status_code, answer.json()["kind"]) == (status, kind), (body, answer.text)
        assert words in answer.json()["error"], (body, answer.text)
    assert who_and_where(cli_json("signin", "status")) == {"identity": "alice", "services": ["sudo"]}
    assert _signin_kinds() == ["signin_enabled"]


def test_nobody_chosen_is_said_when_enabling_without_a_name(api: Server) -> None:
    answer = api.call("PUT", "/signin", json={"service": "sudo", "enabled": True})
    assert answer.status_code == 400 and "nobody is chosen yet" in answer.json()["error"], answer.text
    assert who_and_where(cli_json("signin", "status")) == {"identity": None, "services": []}


def test_the_agent_and_its_last_attempt(api: Server) -> None:
    agent = AgentProcess()
    agent.start()
    try:
        said = api.call("GET", "/signin").json()["agent"]
        assert said["running"] is True and said["status"]["pid"] == agent.child.pid
        assert said["status"]["busy"] is False and said["status"]["last"] is None
        tried = run_cli("signin", "try")  # nobody chosen: refused before the camera opens, and audited
        assert tried.returncode != 0 and "nobody is chosen" in tried.stderr
        last = api.call("GET", "/signin").json()["last_attempt"]
        assert (last["kind"], last["service"], last["outcome"]) == ("signin", "try-it-now", "refused")
        assert "score" not in str(last)
    finally:
        agent.stop()
    gone = api.call("GET", "/signin").json()["agent"]
    assert gone["running"] is False
