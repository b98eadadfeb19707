"""Proof of presence (issue 25): with an admin passphrase set, loosening security or destroying data asks for it,
through the CLI, the window and the admin API alike, against one vault; tightening never asks."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from PySide6.QtWidgets import QPushButton

from app.presence import ProofDialog
from edge_core import ops
from edge_core.errors import PresenceRequired, UsageError, WeakPassphrase
from edge_core.ops import confirmations, padtest, presence, settings, signin  # noqa: F401  (their use cases declare)
from edge_core.policy import rules
from tests.app.admin_drive import start_api
from tests.app.drive import LONG, answer_open_dialog, click, confirm, enrol_photos
from tests.conftest import REPO, cli_json, run_cli

PASSPHRASE = "owner at the desk"
WRONG = "somebody else"
NEWER = "tangerine mosaic driftwood"
ASKS = "admin passphrase"
HEADER = "X-FaceSeal-Admin-Passphrase"


def _events(kind: str) -> list[dict]:
    return [e for e in cli_json("audit", "list") if e["kind"] == kind]


def _set_passphrase() -> None:
    cli_json("admin-passphrase", "set", extra_env={"FACESEAL_NEW_ADMIN_PASSPHRASE": PASSPHRASE})


def _enrol(photos: dict[str, list[Path]], *names: str) -> None:
    many = [ps for ps in photos.values() if len(ps) >= 2]
    for name, person in zip(names, many):
        cli_json("enroll", "--consent", name, "--image", *map(str, person[:2]))


def _liveness_required() -> bool:
    return cli_json("policy", "show")["liveness_required"]


def test_every_loosening_use_case_is_declared_and_every_setting_is_classified() -> None:
    assert set(presence.DECLARED) == {"delete_identity", "threshold", "reset", "export_recovery_kit", "policy_set",
                                      "policy_reset", "signin_enable", "import_root_key", "move_root_to_keychain",
                                      "move_root_to_hsm", "move_root_to_tpm", "escrow_root_into_tpm", "generate_root_key",
                                      "enrol", "renew", "delete_recordings",
                                      "accept"}  # accept: an older copy of the data folder made the newest
    names = {field.name for field in dataclasses.fields(rules.Policy)}
    assert set(settings.LOOSER) | settings.NEVER_LOOSER == names, "a new setting must say when a change loosens"


def test_a_proof_holds_only_while_fresh_and_only_for_the_passphrase_it_proved(isolated: Path) -> None:
    with ops.open_vault() as vault:
        ops.set_admin_passphrase(vault, PASSPHRASE)
        proof = ops.prove(vault, PASSPHRASE)
        assert presence.holds(vault, proof)
        assert not presence.holds(vault, dataclasses.replace(proof, at=time.monotonic() - presence.FRESH_S - 1))
        with pytest.raises(UsageError, match="type the current admin passphrase"):  # a held proof is not enough
            ops.set_admin_passphrase(vault, NEWER)
        with pytest.raises(WeakPassphrase):
            ops.set_admin_passphrase(vault, "12345678910", PASSPHRASE)
        ops.set_admin_passphrase(vault, NEWER, PASSPHRASE)
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
    click(qtbot, page.admin_remove_button)  # without the current one typed: refused, whatever the window holds
    confirm(qtbot, page)
    qtbot.waitUntil(lambda: "type the current admin passphrase" in page.banner.text.text(), timeout=LONG)
    assert page.findChild(ProofDialog) is None and cli_json("status")["admin_passphrase"] is True
    qtbot.keyClicks(page.admin_current, PASSPHRASE)
    click(qtbot, page.admin_remove_button)
    confirm(qtbot, page)
    qtbot.waitUntil(lambda: page.admin_state.text().startswith("Not set"), timeout=LONG)
    assert page.admin_current.text() == ""
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
    section, port, token = start_api(qtbot, window, isolated)

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


def test_guesses_count_even_with_the_policy_file_edited_or_sent_at_once(models_env, isolated: Path) -> None:
    """Attack round: an edited policy.json made every wrong guess a PolicyTampered that was never counted, and 16
    guesses sent at once got 11 tries past a limit of 5."""
    _set_passphrase()
    cli_json("policy", "set", "lockout_attempts=3")
    guessers = [subprocess.Popen([sys.executable, "-m", "app.launcher", "admin-passphrase", "remove"],
                                 env={**os.environ, "FACESEAL_ADMIN_PASSPHRASE": f"{WRONG} {i}"},
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO) for i in range(8)]
    assert all(process.wait(timeout=300) != 0 for process in guessers)
    assert len(_events("presence_refused")) == 3 and len(_events("presence_locked_out")) == 1
    (isolated / "policy.json").write_text("{}")  # the lockout is "off" in a file nobody can verify
    with ops.open_vault() as vault, vault.writing() as tx:
        tx.execute("DELETE FROM meta WHERE key = 'lockout/admin-passphrase'")  # as if the lock had been waited out
    for i in range(6):
        run_cli("admin-passphrase", "remove", extra_env={"FACESEAL_ADMIN_PASSPHRASE": f"{WRONG} again {i}"},
                check_clean=False)
    result = run_cli("admin-passphrase", "remove", extra_env={"FACESEAL_ADMIN_PASSPHRASE": PASSPHRASE},
                     check_clean=False)
    assert result.returncode != 0 and cli_json("status")["admin_passphrase"] is True
    assert len(_events("presence_locked_out")) == 2, "the edited policy lifted the lockout"


def test_adding_samples_to_someone_asks_enrolling_someone_new_does_not(models_env, isolated: Path, api) -> None:
    """Attack round: ``enroll --add`` put an attacker's face into the owner's identity without any proof."""
    owner, stranger, bruno = np.random.default_rng(1).normal(size=(3, 3, 128)).astype(np.float32)
    for name, samples in (("owner", owner), ("stranger", stranger), ("bruno", bruno)):
        np.save(isolated.parent / f"{name}.npy", samples)
    cli_json("enroll", "--consent", "alice", "--embedding", str(isolated.parent / "owner.npy"))
    _set_passphrase()
    result = run_cli("enroll", "--consent", "alice", "--add", "--embedding", str(isolated.parent / "stranger.npy"))
    assert result.returncode == 2 and "add samples to someone enrolled" in result.stderr
    body = {"name": "alice", "add": True, "embeddings": stranger.tolist(), "pack": "external"}
    answer = api.post("/enrol", body)
    assert answer.status_code == 403 and answer.json()["kind"] == "PresenceRequired"
    assert [p["samples"] for p in cli_json("list")] == [3]
    cli_json("enroll", "--consent", "bruno", "--embedding", str(isolated.parent / "bruno.npy"))  # someone new: no proof
    assert api.post("/enrol", body, {HEADER: PASSPHRASE}).status_code == 200
    assert [p["samples"] for p in cli_json("list")] == [6, 3]


def test_replacing_the_root_asks(isolated: Path) -> None:
    """Attack round: ``key generate`` (every kit made so far stops working) and ``key move-to-hsm`` (the root into
    a token the person at the desk owns) asked nothing."""
    _set_passphrase()
    for command in (["key", "generate"], ["key", "move-to-hsm", "--module", "/nonexistent.so", "--token", "t"]):
        result = run_cli(*command, extra_env={"FACESEAL_HSM_PIN": "1234"})
        assert result.returncode == 2 and ASKS in result.stderr, result.stderr
    assert _events("root_key_generated") == []


def test_a_late_answer_never_approves_the_next_question(monkeypatch) -> None:
    """Attack round: an answer typed after the API gave up on one call approved the next call, and every one
    after it, each for the question before."""
    monkeypatch.setattr(confirmations, "ANSWER_WAIT_S", 0.5)
    window_end, child_end = confirmations.pair()
    asker, window = confirmations.Asker(child_end.detach()), confirmations.Answerer(window_end)
    with pytest.raises(PresenceRequired, match="in time"):
        asker.ask("lower a match threshold")
    first = window.read()
    assert isinstance(first, confirmations.Request) and first.action == "lower a match threshold"
    assert window.read() == confirmations.Cancel(first.id), "the window is told the question closed"
    window.answer(first.id, PASSPHRASE)  # typed too late
    answers: list[str | BaseException] = []

    def ask_again() -> None:
        try:
            answers.append(asker.ask("delete a person"))
        except PresenceRequired as refusal:
            answers.append(refusal)

    caller = threading.Thread(target=ask_again)
    caller.start()
    second = window.read()
    assert isinstance(second, confirmations.Request) and second.action == "delete a person"
    window.answer(second.id, None)  # the person refuses this one
    caller.join(5)
    assert isinstance(answers[0], PresenceRequired) and "declined" in str(answers[0])


def test_the_window_asks_before_adding_samples_and_keeps_the_ones_captured(qtbot, monkeypatch, models_env, window,
                                                                          photos) -> None:
    many = [ps for ps in photos.values() if len(ps) >= 4]
    person = many[0]
    enrol_photos(qtbot, monkeypatch, window, "Alice", person[:2])
    _set_passphrase()
    page = window.show_page("Enrol")
    click(qtbot, next(b for b in page.findChildren(QPushButton) if b.text() == "Enrol someone else"))
    page.add_samples.setChecked(True)
    page.name.clear()
    qtbot.keyClicks(page.name, "Alice")
    page.source.buttons["photos"].click()
    answer_open_dialog(monkeypatch, *person[2:4])
    click(qtbot, page.source.choose)
    qtbot.waitUntil(page.start_button.isEnabled, timeout=LONG)
    click(qtbot, page.start_button)
    assert "add samples to someone enrolled" in _answer_proof(qtbot, page, PASSPHRASE)
    qtbot.waitUntil(lambda: "is enrolled with 2 new" in page.result.text(), timeout=LONG)
    assert [p["samples"] for p in cli_json("list")] == [4]
