"""Schemathesis fuzzes the admin API from its own served document, over real HTTP, as an outside client would.

Positive and negative data, the coverage phase and every check (tests/fuzz.py),
against a real ``faceseal serve`` on a scratch vault of two people: the
destructive routes (reset, delete, rotate, lock, policy) run for real. Two
statuses are accepted beyond schemathesis' defaults, each for a documented
reason, and 422 is never accepted for schema-valid data: what the document
calls valid the server must not call malformed. After the run the vault must
still be whole.
"""

from __future__ import annotations

import json
from urllib.parse import unquote, urlsplit

from tests.adminapi.conftest import Server
from tests.conftest import all_verify, cli_json, run_cli
from tests.fuzz import schemathesis

CHECKS = {
    # 503 is the documented answer of a locked vault: the fuzzer itself calls POST /lock.
    "not_a_server_error": ["2xx", "3xx", "4xx", "503"],
    # 400: a rule no JSON schema states (a threshold outside the policy in force, an all-zero embedding, a probe
    # of another pack than the person's templates); 404: a name nobody has; 409/503: the vault's state.
    "positive_data_acceptance": ["2xx", "400", "401", "404", "409", "503"],
}
PEOPLE = """
[dictionaries.people]
values = ["alice", "bob"]

[parameters]
"path.name" = { dictionary = "people", probability = 0.5 }
"body.name" = { dictionary = "people", probability = 0.5 }
"""
"""Half the names the fuzzer sends are the people enrolled, so verify and delete reach real identities."""


def _enrolled_by_a_success(run, name: str) -> bool:
    """Whether a 2xx enrolment named ``name`` (after a deletion, that person is someone else now)."""
    for exchange in run.exchanges:
        if 200 <= exchange.status < 300 and urlsplit(exchange.url).path.endswith("/enrol"):
            try:
                if json.loads(exchange.request_body).get("name") == name:
                    return True
            except (ValueError, AttributeError):
                continue
    return False


def _deleted_by_a_success(run, name: str) -> bool:
    """Whether a 2xx answer removed ``name``: their own deletion, or a reset of everyone."""
    for exchange in run.exchanges:
        path = unquote(urlsplit(exchange.url).path)
        if 200 <= exchange.status < 300 and (
                path.endswith(("/admin/reset", "/settings/delete_identity"))
                or (exchange.method, path) in {("DELETE", f"/api/v1/identities/{name}"),
                                               ("POST", f"/api/v1/identities/{name}/delete")}):
            return True
    return False


def test_the_admin_api_keeps_its_contract_under_schemathesis(server: Server, tmp_path) -> None:
    run = schemathesis(server.base + "/api/v1/openapi.json", tmp_path / "fuzz", checks=CHECKS,
                       headers=server.headers(), config=PEOPLE)
    assert run.returncode == 0, run.explain()
    operations = {(e.method, urlsplit(e.url).path.split("/")[3]) for e in run.exchanges}
    assert len(operations) >= 12 and len(run.exchanges) > 300, operations  # it reached the whole API

    assert run_cli("unlock").returncode == 0  # the run may have ended locked
    assert cli_json("audit", "verify")["status"] == "intact"
    remaining = {identity["name"] for identity in cli_json("list")}
    for name in set(server.people) - remaining:
        assert _deleted_by_a_success(run, name), f"{name} is gone, but no request that deleted them succeeded"
    # Everyone no successful request deleted or enrolled again (seed 77031 reset the vault, then enrolled a new
    # "alice" of another pack) must still verify with the samples first enrolled.
    untouched = {name for name in remaining if not _enrolled_by_a_success(run, name)}
    all_verify({name: vectors for name, vectors in server.people.items() if name in untouched})
