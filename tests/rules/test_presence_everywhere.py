"""Proof of presence (issue 25): with an admin passphrase set, loosening security or destroying data asks for it,
through the CLI, the window and the admin API alike, against one vault; tightening never asks."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import httpx
import pytest

from app.presence import ProofDialog
from edge_core import ops
from edge_core.errors import PresenceRequired
from edge_core.ops import presence, settings, signin  # noqa: F401  (signin: its use cases declare themselves)
from edge_core.policy import rules
from tests.app.admin_drive import admin_section
from tests.app.drive import LONG, click, confirm
from tests.conftest import cli_json, free_port, run_cli

PASSPHRASE = "owner at the desk"
WRONG = "somebody else"
ASKS = "admin passphrase"
HEADER = "X-FaceSeal-Admin-Passphrase"


def _events(kind: str) -> list[dict]:
    return [e for e in cli_json("audit", "list") if e["kind"] == kind]


def _set_passphrase() -> None:
    cli_json("admin-passphrase", "set", extra_env={"FACESEAL_NEW_ADMIN_PASSPHRASE": PASSPHRASE})


def _enrol(photos: dict[str, list[Path]], *names: str) -> None:
    many = [ps for ps in photos.values() if len(ps) >= 2]
    for name, person in zip(names, many):
        cli_json("enroll", name, "--image", *map(str, person[:2]))


def _liveness_required() -> bool:
    return cli_json("policy", "show")["liveness_required"]


def test_every_loosening_use_case_is_declared_and_every_setting_is_classified() -> None:
    assert set(presence.DECLARED) == {"delete_identity", "threshold", "reset", "export_recovery_kit", "policy_set",
                                      "policy_reset", "signin_enable", "import_root_key", "move_root_to_keychain",
                                      "accept"}  # accept: an older copy of the data folder made the newest
    names = {field.name for field in dataclasses.fields(rules.Policy)}
    assert set(settings.LOOSER) | settings.NEVER_LOOSER == names, "a new setting must say when a change loosens"


def test_a_proof_holds_only_while_fresh_and_only_for_the_passphrase_it_proved(isolated: Path) -> None:
    with ops.open_vault() as vault:
        ops.set_admin_passphrase(vault, PASSPHRASE)
        proof = ops.prove(vault, PASSPHRASE)
        assert presence.holds(vault, proof)
        assert not presence.holds(vault, dataclasses.replace(proof, at=time.monotonic() - presence.FRESH_S - 1))
        ops.set_admin_passphrase(vault, "a newer passphrase", proof=proof)
        assert not presence.holds(vault, proof), "changing the passphrase voids earlier proofs"
        with pytest.raises(PresenceRequired):
            ops.policy_set(vault, {"liveness_required": False}, proof=proof)
        assert rules.liveness_required(vault)


def test_the_cli_asks_only_for_what_loosens(models_env, isolated: Path, photos) -> None:
    _enrol(photos, "alice")
    assert cli_json("status")["admin_passphrase"] is False
    _set_passphrase()
    assert cli_json("status")["admin_passphrase"] is True
    result = run_cli("policy", "set", "liveness_required=false")  # no terminal, no variable: nothing to ask with
    assert result.returncode == 2 and ASKS in result.stderr and _liveness_required()
    result = run_cli("policy", "set", "liveness_required=false", extra_env={"FACESEAL_ADMIN_PASSPHRASE": WRONG})
    assert result.returncode == 1 and "not the admin passphrase" in result.stderr and _liveness_required()
    assert WRONG not in result.stderr and len(_events("presence_refused")) == 1
    cli_json("policy", "set", "liveness_required=false", extra_env={"FACESEAL_ADMIN_PASSPHRASE": PASSPHRASE})
    assert not _liveness_required()
    cli_json("policy", "set", "liveness_required=true", "lockout_attempts=3")  # tightening asks nothing
    result = run_cli("delete-identity", "alice", "--yes")
    assert result.returncode == 2 and "to delete a person" in result.stderr
    assert [p["name"] for p in cli_json("list")] == ["alice"]
    result = run_cli("admin-passphrase", "remove")
    assert result.returncode == 2 and cli_json("status")["admin_passphrase"] is True
    for _ in range(3):  # the policy's lockout counts wrong passphrases as it counts failed verifications
        run_cli("delete-identity", "alice", "--yes", extra_env={"FACESEAL_ADMIN_PASSPHRASE": WRONG})
    result = run_cli("delete-identity", "alice", "--yes", extra_env={"FACESEAL_ADMIN_PASSPHRASE": PASSPHRASE})
    assert result.returncode == 1 and "too many failed admin passphrase attempts" in result.stderr
    assert [p["name"] for p in cli_json("list")] == ["alice"] and len(_events("presence_locked_out")) == 1
    assert PASSPHRASE not in " ".join(str(e) for e in cli_json("audit", "list"))


def test_a_reset_keeps_the_admin_passphrase(isolated: Path) -> None:
    _set_passphrase()
    assert run_cli("reset", "--yes").returncode == 2
    cli_json("reset", "--yes", extra_env={"FACESEAL_ADMIN_PASSPHRASE": PASSPHRASE})
    assert cli_json("status")["admin_passphrase"] is True, "a reset must not leave the next vault unguarded"


def test_the_api_takes_the_proof_per_call(models_env, isolated: Path, photos, api) -> None:
    _enrol(photos, "alice")
    _set_passphrase()
    loosen = {"changes": {"liveness_required": False}}
    answer = api.post("/policy", loosen)
    assert answer.status_code == 403 and answer.json()["kind"] == "PresenceRequired" and HEADER in answer.json()["error"]
    answer = api.post("/policy", loosen, {HEADER: WRONG})
    assert answer.status_code == 403 and answer.json()["kind"] == "PresenceRefused" and _liveness_required()
    assert api.post("/policy", loosen, {HEADER: PASSPHRASE}).status_code == 200 and not _liveness_required()
    assert api.post("/policy", {"changes": {"liveness_required": True}}).status_code == 200  # tightening
    assert api.send("DELETE", "/identities/alice").status_code == 403
    assert api.send("PUT", "/signin", {"service": "sudo", "enabled": True, "name": "alice"}).status_code == 403
    assert [p["name"] for p in cli_json("list")] == ["alice"]
    assert api.send("DELETE", "/identities/alice", headers={HEADER: PASSPHRASE}).status_code == 200
    assert cli_json("list") == []


def _answer_proof(qtbot, page, text: str | None) -> str:
    """Answer the admin passphrase dialog the page opened (``None``: Cancel); returns what it said."""
    qtbot.waitUntil(lambda: page.findChild(ProofDialog) is not None and page.findChild(ProofDialog).isVisible(),
                    timeout=LONG)
    dialog = page.findChild(ProofDialog)
    said = dialog.message
    if text is None:
        dialog.reject()
    else:
        qtbot.keyClicks(dialog.field, text)
        click(qtbot, dialog.ok_button)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    return said


def _ask_delete(qtbot, window, name: str):
    page = window.show_page("Identities")
    qtbot.waitUntil(lambda: name in page.names() and page.session.is_open, timeout=LONG)
    page.table.selectRow(page.names().index(name))
    click(qtbot, page.delete_button)
    confirm(qtbot, page)
    return page


def test_the_window_asks_once_and_then_runs_the_same_action(qtbot, models_env, window, photos) -> None:
    _enrol(photos, "alice", "bruno")
    _set_passphrase()
    window.session.notify()
    page = _ask_delete(qtbot, window, "alice")
    assert "To delete a person" in _answer_proof(qtbot, page, None)
    qtbot.waitUntil(lambda: "Cancelled" in page.banner.text.text(), timeout=LONG)
    assert page.delete_button.isEnabled() and "alice" in page.names()
    page = _ask_delete(qtbot, window, "alice")
    _answer_proof(qtbot, page, WRONG)
    qtbot.waitUntil(lambda: "not the admin passphrase" in page.banner.text.text(), timeout=LONG)
    assert [p["name"] for p in cli_json("list")] == ["alice", "bruno"]
    page = _ask_delete(qtbot, window, "alice")
    _answer_proof(qtbot, page, PASSPHRASE)
    qtbot.waitUntil(lambda: "alice was deleted" in page.banner.text.text(), timeout=LONG)
    page = _ask_delete(qtbot, window, "bruno")  # the proof holds a while: no second question
    qtbot.waitUntil(lambda: "bruno was deleted" in page.banner.text.text(), timeout=LONG)
    assert page.findChild(ProofDialog) is None and cli_json("list") == []
    window.session.lock()  # a lock forgets the proof
    assert window.session._proof is None


def test_the_security_page_sets_changes_and_removes_it(qtbot, window) -> None:
    page = window.show_page("Security")
    qtbot.waitUntil(lambda: "Not set" in page.admin_state.text(), timeout=LONG)
    assert not page.admin_remove_button.isEnabled()
    qtbot.keyClicks(page.admin_new, PASSPHRASE)
    qtbot.keyClicks(page.admin_again, PASSPHRASE + "x")
    click(qtbot, page.admin_set_button)
    assert "differ" in page.banner.text.text() and cli_json("status")["admin_passphrase"] is False
    page.admin_again.clear()
    qtbot.keyClicks(page.admin_again, PASSPHRASE)
    click(qtbot, page.admin_set_button)
    qtbot.waitUntil(lambda: page.admin_state.text().startswith("Set"), timeout=LONG)
    assert page.admin_remove_button.isEnabled() and page.admin_new.text() == ""
    window.session.lock()
    window.session.open(lift=True)
    qtbot.waitUntil(lambda: window.session.is_open, timeout=LONG)
    click(qtbot, page.admin_remove_button)
    confirm(qtbot, page)
    _answer_proof(qtbot, page, PASSPHRASE)
    qtbot.waitUntil(lambda: page.admin_state.text().startswith("Not set"), timeout=LONG)
    assert cli_json("status")["admin_passphrase"] is False
    assert [e["kind"] for e in cli_json("audit", "list") if e["kind"].startswith("admin_passphrase")] == [
        "admin_passphrase_set", "admin_passphrase_removed"]


def test_a_reset_in_the_window_asks_first_and_keeps_the_vault_open_until_given(qtbot, window) -> None:
    _set_passphrase()
    page = window.show_page("Security")
    qtbot.waitUntil(lambda: page.admin_state.text().startswith("Set"), timeout=LONG)
    click(qtbot, page.reset_button)
    confirm(qtbot, page)
    assert "To reset the vault" in _answer_proof(qtbot, page, PASSPHRASE)
    qtbot.waitUntil(lambda: "Everything was reset" in page.banner.text.text(), timeout=LONG)
    assert len(_events("vault_reset")) == 1


def test_an_apps_call_through_the_windows_api_waits_for_the_person_at_the_window(qtbot, models_env, window, photos,
                                                                                  isolated: Path) -> None:
    """The API the window started asks the window for the proof a call does not bring (issue 25: "the API with a
    per-call confirmation the window shows"); the passphrase typed there is checked by the API, per call."""
    _enrol(photos, "alice")
    _set_passphrase()
    section = admin_section(window, "Admin API")
    port = free_port()
    section.port.setValue(port)
    click(qtbot, section.start_button)
    qtbot.waitUntil(lambda: "answers at" in section.banner.text.text(), timeout=LONG * 2)
    token = (isolated / "edge_token").read_text().strip()

    def delete_alice(typed: str | None) -> httpx.Response:
        answers: list[httpx.Response] = []
        call = threading.Thread(target=lambda: answers.append(httpx.delete(
            f"http://127.0.0.1:{port}/api/v1/identities/alice", headers={"Authorization": f"Bearer {token}"},
            timeout=60)))
        call.start()
        qtbot.waitUntil(lambda: section.proof_dialog is not None and section.proof_dialog.isVisible(), timeout=LONG)
        dialog = section.proof_dialog
        assert "An app using the admin API asks to delete a person" in dialog.message
        if typed is None:
            dialog.reject()
        else:
            qtbot.keyClicks(dialog.field, typed)
            click(qtbot, dialog.ok_button)
        call.join(60)
        return answers[0]

    declined = delete_alice(None)
    assert declined.status_code == 403 and "declined" in declined.json()["error"]
    assert "refused" in section.banner.text.text()
    wrong = delete_alice(WRONG)
    assert wrong.status_code == 403 and wrong.json()["kind"] == "PresenceRefused"
    assert [p["name"] for p in cli_json("list")] == ["alice"]
    assert delete_alice(PASSPHRASE).status_code == 200 and cli_json("list") == []
